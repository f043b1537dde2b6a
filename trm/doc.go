// Package trm implements Tiny Recursive Models (Jolicoeur-Martineau et al.,
// "Less is More: Recursive Reasoning with Tiny Networks", arXiv 2510.04871):
// the model, the recursion, deep supervision with halting, training,
// evaluation, checkpoints and the tasks it is trained on.
package trm
