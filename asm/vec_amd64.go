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
