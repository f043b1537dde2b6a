// Package checkpoints embeds the trained models shipped with trm, so the
// binary can answer without any file beside it.
package checkpoints
