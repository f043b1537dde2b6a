//go:build arm64 && gc && !purego

package asm

// kernelSIMD is Kernel's SIMD version for the shared dispatch
// (impl_simd.go). The rest of the SGEMM dispatch is in gemm_noavx.go.
func kernelSIMD(k int, ap, bp, c []float32, ldc int) { kernelNEON(k, ap, bp, c, ldc) }

// kernelNEON is the 6×16 NEON micro-kernel (gemm_arm64.s). The caller
// (Kernel) has checked k > 0 and the slice lengths.
//
//go:noescape
func kernelNEON(k int, ap, bp, c []float32, ldc int)
