// Package infer runs trained Tiny Recursive Models: Predictor answers user
// inputs ("3 + 7", a Sudoku grid) with a model and its task, and Evaluate
// scores a model on a task's examples, with all N_sup supervision steps (as
// the published numbers) and with early exit, step by step.
//
// Both run batches without gradients through the model's supervision
// steps and stop each sample by the halting rule of package trm
// (trm.ShouldHalt, trm.HaltMode).
package infer
