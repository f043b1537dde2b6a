//go:build !amd64 || !gc || purego

package asm

// The SGEMM dispatch of every build without the amd64 assembly: arm64 with
// NEON and the builds without assembly (the complement of gemm_amd64.go's
// constraint). The 6×16 micro-kernel behind Kernel is the only one: kernel
// (impl_simd.go or impl_noasm.go) dispatches it, and the wider entry points
// loop it. With 32 128-bit registers NEON has no room for a wider tile.

// kernelN loops the dispatched 6×16 kernel over the panels (see KernelN).
func kernelN(panels, k int, ap, bp, c []float32, ldc int) {
	kernelNLoop(panels, k, ap, bp, c, ldc)
}

// kernelNSet is kernelN for KernelNSet.
func kernelNSet(panels, k int, ap, bp, c []float32, ldc int) {
	kernelNSetLoop(panels, k, ap, bp, c, ldc)
}

// kernelNW runs kernelN on each B panel (see KernelNW).
func kernelNW(panels, k int, ap, bp, c []float32, ldc int) {
	kernelNWLoop(panels, k, ap, bp, c, ldc)
}

// kernelNWSet is kernelNW for KernelNWSet.
func kernelNWSet(panels, k int, ap, bp, c []float32, ldc int) {
	kernelNWSetLoop(panels, k, ap, bp, c, ldc)
}

// kernelNarrow goes through KernelNSet's kernels (see kernelNarrowLoop).
func kernelNarrow(panels, k, nr int, ap, bp, out []float32) {
	kernelNarrowLoop(panels, k, nr, ap, bp, out)
}

// Packing is memory-bound and runs once per panel, not once per tile: the
// generic code is kept.

func packA(dst, a []float32, lda int, trans bool, mc, kc int, alpha float32) {
	packAGeneric(dst, a, lda, trans, mc, kc, alpha)
}

func packB(dst, b []float32, ldb int, trans bool, kc, nc int) {
	packBGeneric(dst, b, ldb, trans, kc, nc)
}

// GemmImpl reports the implementation of the SGEMM micro-kernels (Kernel
// and KernelN): the same as Impl without the amd64 assembly.
func GemmImpl() string { return Impl() }

// RowImpl reports the implementation of the exp-based row ops (Exp, SiLU,
// SiLUGrad, SwiGLU, SwiGLUGrad): the same as Impl without the amd64
// assembly.
func RowImpl() string { return Impl() }
