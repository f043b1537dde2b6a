//go:build (!amd64 && !arm64) || purego || !gc

package asm

// kernelN loops the generic 6×16 kernel over the panels (see KernelN).
func kernelN(panels, k int, ap, bp, c []float32, ldc int) {
	kernelNLoop(panels, k, ap, bp, c, ldc)
}

// kernelNSet is kernelN for KernelNSet.
func kernelNSet(panels, k int, ap, bp, c []float32, ldc int) {
	kernelNSetLoop(panels, k, ap, bp, c, ldc)
}

// kernelNW loops the generic kernel (see KernelNW).
func kernelNW(panels, k int, ap, bp, c []float32, ldc int) {
	kernelNWLoop(panels, k, ap, bp, c, ldc)
}

// kernelNWSet is kernelNW for KernelNWSet.
func kernelNWSet(panels, k int, ap, bp, c []float32, ldc int) {
	kernelNWSetLoop(panels, k, ap, bp, c, ldc)
}

// GemmImpl reports the implementation of the SGEMM micro-kernels: always
// "generic" without assembly.
func GemmImpl() string { return "generic" }

// RowImpl reports the implementation of the exp-based row ops: always
// "generic" without assembly.
func RowImpl() string { return "generic" }

// kernelNarrow goes through KernelNSet's kernels (see kernelNarrowLoop).
func kernelNarrow(panels, k, nr int, ap, bp, out []float32) {
	kernelNarrowLoop(panels, k, nr, ap, bp, out)
}
