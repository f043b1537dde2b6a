// Package tensor provides float32 tensors (a shape over contiguous,
// row-major storage) and the operations on them that the nn package builds
// on: a blocked, packed, multi-threaded SGEMM over the asm micro-kernels,
// element-wise ops, reductions, gathers, transposes and concatenation. It
// has no autodiff; that lives in nn.
//
// Parallel work (Gemm, GemmPacked, Parallel) runs on a pool of helper
// goroutines, at most Workers() per call, or the count a Team names
// (Team(1).Gemm is the caller alone). Every worker count gives
// bit-identical results. A Tuner picks the Team unit of work by unit of
// work, from the time whole units took: on a machine where another process
// holds a core, a call split over every core waits for the helper whose
// core was taken, and fewer workers are then faster.
package tensor
