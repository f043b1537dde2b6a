//go:build arm64 && gc && !purego

package asm

// The SIMD versions of the vector primitives for the shared dispatch
// (impl_simd.go): the NEON kernels declared below.

func dotSIMD(x, y []float32) float32                      { return dotNEON(x, y) }
func axpySIMD(alpha float32, x, y []float32)              { axpyNEON(alpha, x, y) }
func scaleSIMD(dst []float32, alpha float32, x []float32) { scaleNEON(dst, alpha, x) }
func addSIMD(dst, x, y []float32)                         { addNEON(dst, x, y) }
func mulSIMD(dst, x, y []float32)                         { mulNEON(dst, x, y) }
func sumSIMD(x []float32) float32                         { return sumNEON(x) }
func maxSIMD(x []float32) float32                         { return maxNEON(x) }

// adamATan2SIMD is the generic loop: there is no NEON AdamATan2 (its float64
// atan2 would have to give Go's bits, and Go fuses multiply-adds on arm64).
func adamATan2SIMD(w, m, v, g []float32, b1, b2, decay float32, stepSize, invBC2 float64) {
	adamATan2Generic(w, m, v, g, b1, b2, decay, stepSize, invBC2)
}

// The NEON kernels (vec_arm64.s). Lengths are checked in Go before the call:
// every kernel walks len of its first slice argument.

//go:noescape
func dotNEON(x, y []float32) float32

//go:noescape
func axpyNEON(alpha float32, x, y []float32)

//go:noescape
func scaleNEON(dst []float32, alpha float32, x []float32)

//go:noescape
func addNEON(dst, x, y []float32)

//go:noescape
func mulNEON(dst, x, y []float32)

//go:noescape
func sumNEON(x []float32) float32

//go:noescape
func maxNEON(x []float32) float32
