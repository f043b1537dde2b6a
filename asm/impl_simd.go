//go:build (amd64 || arm64) && gc && !purego

package asm

// The dispatch shared by the architectures with assembly (impl_noasm.go is
// its counterpart without). Each kernel runs its SIMD version when useSIMD
// is set and the generic reference otherwise. useSIMD is the feature bool
// of impl_amd64.go (useAVX2) or impl_arm64.go (useNEON), set once at
// start-up from golang.org/x/sys/cpu. The SIMD versions, xSIMD for kernel
// x, are defined per architecture in x_amd64.go and x_arm64.go: a call of
// the assembly stub, or on amd64 a choice between the AVX-512 and AVX2
// stubs. The exported functions have checked the arguments before any of
// this runs.
//
// Each kernel has a dispatcher of its own rather than an entry in a table
// of function values: a call through a function value makes the slices
// passed in escape (see kernelNDispatch in gemm_amd64.go).

// Impl reports the active kernel implementation: "avx2+fma", "neon" or "generic".
// On amd64 the SGEMM kernels and the exp-based row ops may use more (see
// GemmImpl and RowImpl).
func Impl() string {
	if useSIMD {
		return simdImpl
	}
	return "generic"
}

func kernel(k int, ap, bp, c []float32, ldc int) {
	if useSIMD {
		kernelSIMD(k, ap, bp, c, ldc)
		return
	}
	kernelGeneric(k, ap, bp, c, ldc)
}

func adamATan2(w, m, v, g []float32, b1, b2, decay float32, stepSize, invBC2 float64) {
	if useSIMD {
		adamATan2SIMD(w, m, v, g, b1, b2, decay, stepSize, invBC2)
		return
	}
	adamATan2Generic(w, m, v, g, b1, b2, decay, stepSize, invBC2)
}

func dot(x, y []float32) float32 {
	if useSIMD {
		return dotSIMD(x, y)
	}
	return dotGeneric(x, y)
}

func axpy(alpha float32, x, y []float32) {
	if useSIMD {
		axpySIMD(alpha, x, y)
		return
	}
	axpyGeneric(alpha, x, y)
}

func scale(dst []float32, alpha float32, x []float32) {
	if useSIMD {
		scaleSIMD(dst, alpha, x)
		return
	}
	scaleGeneric(dst, alpha, x)
}

func add(dst, x, y []float32) {
	if useSIMD {
		addSIMD(dst, x, y)
		return
	}
	addGeneric(dst, x, y)
}

func mul(dst, x, y []float32) {
	if useSIMD {
		mulSIMD(dst, x, y)
		return
	}
	mulGeneric(dst, x, y)
}

func sum(x []float32) float32 {
	if useSIMD {
		return sumSIMD(x)
	}
	return sumGeneric(x)
}

func max32(x []float32) float32 {
	if useSIMD {
		return maxSIMD(x)
	}
	return maxGeneric(x)
}

func exp(dst, x []float32) {
	if useSIMD {
		expSIMD(dst, x)
		return
	}
	expGeneric(dst, x)
}

func silu(dst, x []float32) {
	if useSIMD {
		siluSIMD(dst, x)
		return
	}
	siluGeneric(dst, x)
}

func siluGrad(dst, x []float32) {
	if useSIMD {
		siluGradSIMD(dst, x)
		return
	}
	siluGradGeneric(dst, x)
}

func swiglu(dst, gate, up []float32) {
	if useSIMD {
		swigluSIMD(dst, gate, up)
		return
	}
	swigluGeneric(dst, gate, up)
}

func swigluGrad(dgate, dup, dy, gate, up []float32) {
	if useSIMD {
		swigluGradSIMD(dgate, dup, dy, gate, up)
		return
	}
	swigluGradGeneric(dgate, dup, dy, gate, up)
}

func rmsnorm(dst, x []float32, eps float32) float32 {
	if useSIMD {
		return rmsnormSIMD(dst, x, eps)
	}
	return rmsnormGeneric(dst, x, eps)
}

func softmax(dst, x []float32) {
	if useSIMD {
		softmaxSIMD(dst, x)
		return
	}
	softmaxGeneric(dst, x)
}

func transpose(dst []float32, ldd int, src []float32, lds int, r, c int) {
	if useSIMD {
		transposeSIMD(dst, ldd, src, lds, r, c)
		return
	}
	transposeGeneric(dst, ldd, src, lds, r, c)
}
