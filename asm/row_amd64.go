//go:build amd64 && gc && !purego

package asm

// The AVX2 and AVX-512 kernels (row_amd64.s) walk the length of their first
// slice argument; the exported functions have checked that the others are as long
// and that rmsnorm and softmax get at least one element.

func exp(dst, x []float32) {
	if useAVX512Row {
		expAVX512(dst, x)
		return
	}
	if useAVX2 {
		expAVX2(dst, x)
		return
	}
	expGeneric(dst, x)
}

func silu(dst, x []float32) {
	if useAVX512Row {
		siluAVX512(dst, x)
		return
	}
	if useAVX2 {
		siluAVX2(dst, x)
		return
	}
	siluGeneric(dst, x)
}

func siluGrad(dst, x []float32) {
	if useAVX512Row {
		siluGradAVX512(dst, x)
		return
	}
	if useAVX2 {
		siluGradAVX2(dst, x)
		return
	}
	siluGradGeneric(dst, x)
}

func swiglu(dst, gate, up []float32) {
	if useAVX512Row {
		swigluAVX512(dst, gate, up)
		return
	}
	if useAVX2 {
		swigluAVX2(dst, gate, up)
		return
	}
	swigluGeneric(dst, gate, up)
}

func swigluGrad(dgate, dup, dy, gate, up []float32) {
	if useAVX512Row {
		swigluGradAVX512(dgate, dup, dy, gate, up)
		return
	}
	if useAVX2 {
		swigluGradAVX2(dgate, dup, dy, gate, up)
		return
	}
	swigluGradGeneric(dgate, dup, dy, gate, up)
}

// rmsnorm is two passes of vector primitives: Σ x² (sumSquaresAVX2) and the
// scaling (scaleAVX2); the scalar step between them is rmsInv, shared with
// the generic code.
func rmsnorm(dst, x []float32, eps float32) float32 {
	if useAVX2 {
		r := rmsInv(sumSquaresAVX2(x), len(x), eps)
		scaleAVX2(dst, r, x)
		return r
	}
	return rmsnormGeneric(dst, x, eps)
}

func softmax(dst, x []float32) {
	if useAVX2 {
		softmaxAVX2(dst, x)
		return
	}
	softmaxGeneric(dst, x)
}
