//go:build amd64 && gc && !purego

package asm

// The SIMD versions of the row ops for the shared dispatch (impl_simd.go),
// which calls them when useAVX2 is set: the AVX-512 kernels (row_amd64.s)
// where useAVX512Row is set too, else the AVX2 ones. The kernels walk the
// length of their first slice argument; the exported functions have checked
// that the others are as long and that rmsnorm and softmax get at least one
// element.

func expSIMD(dst, x []float32) {
	if useAVX512Row {
		expAVX512(dst, x)
		return
	}
	expAVX2(dst, x)
}

func siluSIMD(dst, x []float32) {
	if useAVX512Row {
		siluAVX512(dst, x)
		return
	}
	siluAVX2(dst, x)
}

func siluGradSIMD(dst, x []float32) {
	if useAVX512Row {
		siluGradAVX512(dst, x)
		return
	}
	siluGradAVX2(dst, x)
}

func swigluSIMD(dst, gate, up []float32) {
	if useAVX512Row {
		swigluAVX512(dst, gate, up)
		return
	}
	swigluAVX2(dst, gate, up)
}

func swigluGradSIMD(dgate, dup, dy, gate, up []float32) {
	if useAVX512Row {
		swigluGradAVX512(dgate, dup, dy, gate, up)
		return
	}
	swigluGradAVX2(dgate, dup, dy, gate, up)
}

// rmsnormSIMD is two passes of vector primitives: Σ x² (sumSquaresAVX2) and
// the scaling (scaleAVX2); the scalar step between them is rmsInv, shared
// with the generic code.
func rmsnormSIMD(dst, x []float32, eps float32) float32 {
	r := rmsInv(sumSquaresAVX2(x), len(x), eps)
	scaleAVX2(dst, r, x)
	return r
}

func softmaxSIMD(dst, x []float32) { softmaxAVX2(dst, x) }
