//go:build arm64 && gc && !purego

package asm

// The SIMD versions of the row ops for the shared dispatch (impl_simd.go):
// the NEON kernels declared below.

func expSIMD(dst, x []float32)                          { expNEON(dst, x) }
func siluSIMD(dst, x []float32)                         { siluNEON(dst, x) }
func siluGradSIMD(dst, x []float32)                     { siluGradNEON(dst, x) }
func swigluSIMD(dst, gate, up []float32)                { swigluNEON(dst, gate, up) }
func swigluGradSIMD(dgate, dup, dy, gate, up []float32) { swigluGradNEON(dgate, dup, dy, gate, up) }
func rmsnormSIMD(dst, x []float32, eps float32) float32 { return rmsnormNEON(dst, x, eps) }
func softmaxSIMD(dst, x []float32)                      { softmaxNEON(dst, x) }

// The NEON kernels (row_arm64.s). Lengths are checked in Go before the call
// (all slices as long as the first one; rmsnorm and softmax get at least one
// element). Each processes a whole row in one call, four lanes at a time,
// and runs the same vector code on the last len%4 elements one by one.

//go:noescape
func expNEON(dst, x []float32)

//go:noescape
func siluNEON(dst, x []float32)

//go:noescape
func siluGradNEON(dst, x []float32)

//go:noescape
func swigluNEON(dst, gate, up []float32)

//go:noescape
func swigluGradNEON(dgate, dup, dy, gate, up []float32)

//go:noescape
func rmsnormNEON(dst, x []float32, eps float32) float32

//go:noescape
func softmaxNEON(dst, x []float32)
