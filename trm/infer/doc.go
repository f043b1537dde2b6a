// Package infer runs trained Tiny Recursive Models: Predictor answers user
// inputs ("3 + 7", a Sudoku grid) with a model and its task, and Evaluate
// scores a model on a task's examples, with all N_sup supervision steps (as
// the published numbers) and with early exit, step by step.
//
// Both run batches without gradients through the model's supervision
// steps and stop each sample by the halting rule of package trm
// (trm.ShouldHalt, trm.HaltMode). Both stop with the context's error once
// it is cancelled (Predictor.PredictContext, Evaluate), looking between
// supervision steps. Each Prediction says whether its answer is valid, as
// the task judges it from the input alone (task.CheckAnswer), since user
// input has no label to compare with.
package infer
