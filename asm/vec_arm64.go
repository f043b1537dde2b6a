//go:build arm64 && gc && !purego

package asm

func dot(x, y []float32) float32 {
	if useNEON {
		return dotNEON(x, y)
	}
	return dotGeneric(x, y)
}

func axpy(alpha float32, x, y []float32) {
	if useNEON {
		axpyNEON(alpha, x, y)
		return
	}
	axpyGeneric(alpha, x, y)
}

func scale(dst []float32, alpha float32, x []float32) {
	if useNEON {
		scaleNEON(dst, alpha, x)
		return
	}
	scaleGeneric(dst, alpha, x)
}

func add(dst, x, y []float32) {
	if useNEON {
		addNEON(dst, x, y)
		return
	}
	addGeneric(dst, x, y)
}

func mul(dst, x, y []float32) {
	if useNEON {
		mulNEON(dst, x, y)
		return
	}
	mulGeneric(dst, x, y)
}

func sum(x []float32) float32 {
	if useNEON {
		return sumNEON(x)
	}
	return sumGeneric(x)
}

func max32(x []float32) float32 {
	if useNEON {
		return maxNEON(x)
	}
	return maxGeneric(x)
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
