//go:build amd64 && gc && !purego

package asm

// The AVX2 kernels (vec_amd64.s) walk the length of their first slice
// argument; the exported functions have checked that the others are as long.

func dot(x, y []float32) float32 {
	if useAVX2 {
		return dotAVX2(x, y)
	}
	return dotGeneric(x, y)
}

func axpy(alpha float32, x, y []float32) {
	if useAVX2 {
		axpyAVX2(alpha, x, y)
		return
	}
	axpyGeneric(alpha, x, y)
}

func scale(dst []float32, alpha float32, x []float32) {
	if useAVX2 {
		scaleAVX2(dst, alpha, x)
		return
	}
	scaleGeneric(dst, alpha, x)
}

func add(dst, x, y []float32) {
	if useAVX2 {
		addAVX2(dst, x, y)
		return
	}
	addGeneric(dst, x, y)
}

func mul(dst, x, y []float32) {
	if useAVX2 {
		mulAVX2(dst, x, y)
		return
	}
	mulGeneric(dst, x, y)
}

func sum(x []float32) float32 {
	if useAVX2 {
		return sumAVX2(x)
	}
	return sumGeneric(x)
}

func max32(x []float32) float32 {
	if useAVX2 {
		return maxAVX2(x)
	}
	return maxGeneric(x)
}
