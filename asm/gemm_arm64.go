//go:build arm64 && gc && !purego

package asm

func kernel(k int, ap, bp, c []float32, ldc int) {
	if useNEON {
		kernelNEON(k, ap, bp, c, ldc)
		return
	}
	kernelGeneric(k, ap, bp, c, ldc)
}

// kernelN loops the NEON 6×16 kernel over the panels: with 32 128-bit
// registers there is no room for a wider tile.
func kernelN(panels, k int, ap, bp, c []float32, ldc int) {
	kernelNLoop(panels, k, ap, bp, c, ldc)
}

// kernelNSet is kernelN for KernelNSet.
func kernelNSet(panels, k int, ap, bp, c []float32, ldc int) {
	kernelNSetLoop(panels, k, ap, bp, c, ldc)
}

// kernelNW runs the NEON KernelN on each B panel (see KernelNW).
func kernelNW(panels, k int, ap, bp, c []float32, ldc int) {
	kernelNWLoop(panels, k, ap, bp, c, ldc)
}

// kernelNWSet is kernelNW for KernelNWSet.
func kernelNWSet(panels, k int, ap, bp, c []float32, ldc int) {
	kernelNWSetLoop(panels, k, ap, bp, c, ldc)
}

// GemmImpl reports the implementation of the SGEMM micro-kernels: the same
// as Impl on arm64.
func GemmImpl() string { return Impl() }

// Packing is memory-bound and runs once per panel, not once per tile: the
// generic code is kept.

func packA(dst, a []float32, lda int, trans bool, mc, kc int, alpha float32) {
	packAGeneric(dst, a, lda, trans, mc, kc, alpha)
}

func packB(dst, b []float32, ldb int, trans bool, kc, nc int) {
	packBGeneric(dst, b, ldb, trans, kc, nc)
}

// kernelNEON is the 6×16 NEON micro-kernel (gemm_arm64.s). The caller
// (Kernel) has checked k > 0 and the slice lengths.
//
//go:noescape
func kernelNEON(k int, ap, bp, c []float32, ldc int)

// RowImpl reports the implementation of the exp-based row ops: the same as
// Impl on arm64.
func RowImpl() string { return Impl() }

// kernelNarrow goes through KernelNSet's kernels (see kernelNarrowLoop).
func kernelNarrow(panels, k, nr int, ap, bp, out []float32) {
	kernelNarrowLoop(panels, k, nr, ap, bp, out)
}
