// Package tensor provides float32 tensors (a shape over contiguous,
// row-major storage) and the operations on them that the nn package builds
// on: a blocked, packed, multi-threaded SGEMM over the asm micro-kernels,
// element-wise ops, reductions, gathers, transposes and concatenation. It
// has no autodiff; that lives in nn.
package tensor
