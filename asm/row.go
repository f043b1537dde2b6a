package asm

// Exp computes dst[i] = e^x[i], within 2 ulp of float32(math.Exp) for x in
// [-87, 88]; below that range it returns 0 (or a denormal), above it +Inf.
// dst may be x.
func Exp(dst, x []float32) {
	checkLen("Exp", len(dst), x)
	exp(dst, x)
}

// SiLU computes dst[i] = x[i]·σ(x[i]) with σ the logistic sigmoid. dst may be x.
func SiLU(dst, x []float32) {
	checkLen("SiLU", len(dst), x)
	silu(dst, x)
}

// SiLUGrad computes the derivative of SiLU, dst[i] = σ(x)·(1 + x·(1 − σ(x))).
// dst may be x.
func SiLUGrad(dst, x []float32) {
	checkLen("SiLUGrad", len(dst), x)
	siluGrad(dst, x)
}

// SwiGLU computes dst[i] = silu(gate[i])·up[i]. dst may alias gate or up.
func SwiGLU(dst, gate, up []float32) {
	checkLen("SwiGLU", len(dst), gate, up)
	swiglu(dst, gate, up)
}

// SwiGLUGrad is the backward pass of SwiGLU: given the upstream gradient dy,
// it writes dgate[i] = dy[i]·up[i]·silu'(gate[i]) and dup[i] = dy[i]·silu(gate[i]).
// dgate and dup must not alias gate, up or each other; they may alias dy.
func SwiGLUGrad(dgate, dup, dy, gate, up []float32) {
	checkLen("SwiGLUGrad", len(dy), dgate, dup, gate, up)
	swigluGrad(dgate, dup, dy, gate, up)
}

// RMSNorm computes dst = x / sqrt(mean(x²) + eps) (no learned weight) and
// returns the factor 1/sqrt(mean(x²)+eps) for the backward pass. An empty row
// returns 0. dst may be x.
func RMSNorm(dst, x []float32, eps float32) float32 {
	checkLen("RMSNorm", len(dst), x)
	if len(x) == 0 {
		return 0
	}
	return rmsnorm(dst, x, eps)
}

// Softmax computes dst = exp(x − max x) / Σ exp(x − max x). dst may be x.
func Softmax(dst, x []float32) {
	checkLen("Softmax", len(dst), x)
	if len(x) == 0 {
		return
	}
	softmax(dst, x)
}
