// Package trm is the Tiny Recursive Model (Jolicoeur-Martineau et al.,
// "Less is More: Recursive Reasoning with Tiny Networks", arXiv
// 2510.04871): one small network applied recursively to an input x, an
// answer y and a latent z.
//
// It holds the model and nothing else: its configuration (Config =
// ModelConfig + TrainConfig, the official JSON names), its tensors
// (TensorSpecs, the official state-dict names, shapes and inits), one
// supervision step (Model.Step: T−1 cycles without gradient, one with;
// n latent updates z = net(z, y + x) and one answer update y = net(y, z)
// per cycle), the loss of a step (Model.Loss: stablemax cross-entropy plus
// the halting BCE), the halting rule (ShouldHalt, HaltMode) and the
// checkpoints that save and restore it (SaveCheckpoint, LoadCheckpoint).
//
// The packages around it:
//
//	trm/task         the tasks (arith, Sudoku, maze): data, encoding, the registry
//	trm/train        deep-supervision training, run folders, metrics, presets
//	trm/infer        Predictor (answer text) and Evaluate (score a model)
//	trm/puzzle       Sudoku and maze generators, solvers, CSV formats
//	trm/safetensors  the file format of checkpoints
//	trm/torchfile    PyTorch torch.save files: official checkpoints in (ImportTorch), out (ExportTorch)
//
// The paper's names are used in the code: n = L_cycles, T = H_cycles,
// N_sup = halt_max_steps; y is the official z_H and z the official z_L.
package trm
