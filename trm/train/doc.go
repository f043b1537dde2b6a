// Package train trains Tiny Recursive Models with deep supervision: the
// Trainer (the official persistent batch carry or an explicit N_sup loop,
// the halting rule with exploration, the optimizers, the learning-rate
// warm-up, EMA), the Train loop with logging, periodic evaluation and
// checkpoints, the run folder a run saves into and resumes from
// bit-identically, the metrics log, and the presets (the official recipes
// and this project's CPU-sized one).
package train
