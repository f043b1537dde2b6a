//go:build arm64 && gc && !purego

package asm

func exp(dst, x []float32) {
	if useNEON {
		expNEON(dst, x)
		return
	}
	expGeneric(dst, x)
}

func silu(dst, x []float32) {
	if useNEON {
		siluNEON(dst, x)
		return
	}
	siluGeneric(dst, x)
}

func siluGrad(dst, x []float32) {
	if useNEON {
		siluGradNEON(dst, x)
		return
	}
	siluGradGeneric(dst, x)
}

func swiglu(dst, gate, up []float32) {
	if useNEON {
		swigluNEON(dst, gate, up)
		return
	}
	swigluGeneric(dst, gate, up)
}

func swigluGrad(dgate, dup, dy, gate, up []float32) {
	if useNEON {
		swigluGradNEON(dgate, dup, dy, gate, up)
		return
	}
	swigluGradGeneric(dgate, dup, dy, gate, up)
}

func rmsnorm(dst, x []float32, eps float32) float32 {
	if useNEON {
		return rmsnormNEON(dst, x, eps)
	}
	return rmsnormGeneric(dst, x, eps)
}

func softmax(dst, x []float32) {
	if useNEON {
		softmaxNEON(dst, x)
		return
	}
	softmaxGeneric(dst, x)
}

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
