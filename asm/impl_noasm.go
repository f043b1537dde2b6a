//go:build (!amd64 && !arm64) || purego || !gc

package asm

// Every kernel is the generic reference here; impl_simd.go is the
// counterpart with assembly. The rest of the SGEMM dispatch (kernelN and
// its variants, kernelNarrow, packing, GemmImpl) is in gemm_noavx.go,
// shared with arm64.

// Impl reports the active kernel implementation: "avx2+fma", "neon" or "generic".
func Impl() string { return "generic" }

func kernel(k int, ap, bp, c []float32, ldc int) { kernelGeneric(k, ap, bp, c, ldc) }

func dot(x, y []float32) float32                      { return dotGeneric(x, y) }
func axpy(alpha float32, x, y []float32)              { axpyGeneric(alpha, x, y) }
func scale(dst []float32, alpha float32, x []float32) { scaleGeneric(dst, alpha, x) }
func add(dst, x, y []float32)                         { addGeneric(dst, x, y) }
func mul(dst, x, y []float32)                         { mulGeneric(dst, x, y) }
func sum(x []float32) float32                         { return sumGeneric(x) }
func max32(x []float32) float32                       { return maxGeneric(x) }

func adamATan2(w, m, v, g []float32, b1, b2, decay float32, stepSize, invBC2 float64) {
	adamATan2Generic(w, m, v, g, b1, b2, decay, stepSize, invBC2)
}

func exp(dst, x []float32)                          { expGeneric(dst, x) }
func silu(dst, x []float32)                         { siluGeneric(dst, x) }
func siluGrad(dst, x []float32)                     { siluGradGeneric(dst, x) }
func swiglu(dst, gate, up []float32)                { swigluGeneric(dst, gate, up) }
func swigluGrad(dgate, dup, dy, gate, up []float32) { swigluGradGeneric(dgate, dup, dy, gate, up) }
func rmsnorm(dst, x []float32, eps float32) float32 { return rmsnormGeneric(dst, x, eps) }
func softmax(dst, x []float32)                      { softmaxGeneric(dst, x) }

func transpose(dst []float32, ldd int, src []float32, lds int, r, c int) {
	transposeGeneric(dst, ldd, src, lds, r, c)
}
