//go:build amd64 && gc && !purego

package asm

// The SIMD versions of the vector primitives for the shared dispatch
// (impl_simd.go): the AVX2 kernels (vec_amd64.s, stubs in
// vec_stubs_amd64.go). They walk the length of their first slice argument;
// the exported functions have checked that the others are as long.

func dotSIMD(x, y []float32) float32                      { return dotAVX2(x, y) }
func axpySIMD(alpha float32, x, y []float32)              { axpyAVX2(alpha, x, y) }
func scaleSIMD(dst []float32, alpha float32, x []float32) { scaleAVX2(dst, alpha, x) }
func addSIMD(dst, x, y []float32)                         { addAVX2(dst, x, y) }
func mulSIMD(dst, x, y []float32)                         { mulAVX2(dst, x, y) }
func sumSIMD(x []float32) float32                         { return sumAVX2(x) }
func maxSIMD(x []float32) float32                         { return maxAVX2(x) }

// adamATan2SIMD runs the AVX2 kernel on whole groups of four and the
// generic loop on the rest.
func adamATan2SIMD(w, m, v, g []float32, b1, b2, decay float32, stepSize, invBC2 float64) {
	n := len(w) &^ 3
	if n > 0 {
		adamATan2AVX2(w[:n], m, v, g, b1, 1-b1, b2, 1-b2, decay, stepSize, invBC2)
	}
	adamATan2Generic(w[n:], m[n:], v[n:], g[n:], b1, b2, decay, stepSize, invBC2)
}
