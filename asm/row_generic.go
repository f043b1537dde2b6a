package asm

import "math"

// expGeneric evaluates e^x with the same algorithm as the SIMD kernels:
// x = k·ln2 + r with |r| ≤ ln2/2, e^r by a degree-7 polynomial, then scaling
// by 2^k through the exponent bits.
func expGeneric(dst, x []float32) {
	for i, v := range x {
		dst[i] = exp1(v)
	}
}

// The constants of exp1. expHi and expLo bound the arguments for which e^x
// is a normal float32: ln(MaxFloat32) and ln(2⁻¹²⁶). ln2Hi + ln2Lo = ln 2,
// with ln2Hi short enough (9 significant bits) that k·ln2Hi is exact for
// every |k| ≤ 255. expC2..expC7 are the coefficients of the polynomial
// e^r ≈ 1 + r + r²·(c2 + c3·r + … + c7·r⁵) on |r| ≤ ln2/2 (relative error
// below 2⁻²⁸).
const (
	expHi = 88.72283
	expLo = -87.33654
	log2e = 1.44269504088896341
	ln2Hi = 0.693359375
	ln2Lo = -2.12194440e-4
	expC2 = 0.5
	expC3 = 1.6666665e-1
	expC4 = 4.1666654e-2
	expC5 = 8.333452e-3
	expC6 = 1.3881717e-3
	expC7 = 1.9730887e-4
)

// fma32 returns a·b + c computed with a single rounding to float32 (up to a
// double rounding through float64 in rare ties). The generic kernels use it
// wherever the SIMD kernels use a fused multiply-add, so that their results
// agree and do not depend on whether the compiler fuses a*b+c (it does on
// arm64, and on amd64 with GOAMD64=v3).
func fma32(a, b, c float32) float32 {
	return float32(math.FMA(float64(a), float64(b), float64(c)))
}

// exp1 returns e^v: within 1 ulp of float32(math.Exp(float64(v))) on
// [expLo, expHi] (checked exhaustively), +Inf above expHi, 0 below expLo
// and NaN for NaN. The steps, each one rounding:
//
//	k = floor(v·log2e + 0.5)                     (fused)
//	r = v − k·ln2Hi − k·ln2Lo                    (two fused steps)
//	p = c2 + r(c3 + r(c4 + r(c5 + r(c6 + r·c7))))  (Horner, fused)
//	p = (p·r)·r + r + 1                          (one product, one fused step, one add)
//	e^v = p·2^k, adding k to the exponent bits of p
//
// Adding k to the exponent (rather than multiplying by 2^k built from k+127)
// keeps e^v finite up to expHi, where k = 128 but p < 1.
func exp1(v float32) float32 {
	switch {
	case v != v:
		return v
	case v > expHi:
		return float32(math.Inf(1))
	case v < expLo:
		return 0
	}
	k := float32(math.Floor(float64(fma32(v, log2e, 0.5))))
	r := fma32(-k, ln2Hi, v)
	r = fma32(-k, ln2Lo, r)
	p := fma32(expC7, r, expC6)
	p = fma32(p, r, expC5)
	p = fma32(p, r, expC4)
	p = fma32(p, r, expC3)
	p = fma32(p, r, expC2)
	p = fma32(float32(p*r), r, r) + 1
	return math.Float32frombits(math.Float32bits(p) + uint32(int32(k))<<23)
}

func sigmoid1(v float32) float32 { return 1 / (1 + exp1(-v)) }

// The activations round every product on its own (float32(a*b) is an
// explicit conversion, which the compiler may not fuse into an FMA), as the
// SIMD kernels do.

func siluGeneric(dst, x []float32) {
	for i, v := range x {
		dst[i] = v * sigmoid1(v)
	}
}

// siluGrad1 returns silu'(v) = s·(1 + v·(1 − s)) given s = σ(v).
func siluGrad1(v, s float32) float32 { return s * (1 + float32(v*(1-s))) }

func siluGradGeneric(dst, x []float32) {
	for i, v := range x {
		dst[i] = siluGrad1(v, sigmoid1(v))
	}
}

func swigluGeneric(dst, gate, up []float32) {
	for i, g := range gate {
		dst[i] = float32(g*sigmoid1(g)) * up[i]
	}
}

func swigluGradGeneric(dgate, dup, dy, gate, up []float32) {
	for i, g := range gate {
		s := sigmoid1(g)
		d := dy[i]
		dgate[i] = float32(d*up[i]) * siluGrad1(g, s)
		dup[i] = d * float32(g*s)
	}
}

// rmsInv returns 1/sqrt(ss/n + eps), the factor RMSNorm scales by, given
// ss = Σ x² over a row of n > 0 values.
func rmsInv(ss float32, n int, eps float32) float32 {
	return float32(1 / math.Sqrt(float64(ss/float32(n)+eps)))
}

func rmsnormGeneric(dst, x []float32, eps float32) float32 {
	var ss float32
	for _, v := range x {
		ss += float32(v * v)
	}
	r := rmsInv(ss, len(x), eps)
	for i, v := range x {
		dst[i] = v * r
	}
	return r
}

func softmaxGeneric(dst, x []float32) {
	m := maxGeneric(x)
	var s float32
	for i, v := range x {
		e := exp1(v - m)
		dst[i] = e
		s += e
	}
	inv := 1 / s
	for i := range dst {
		dst[i] *= inv
	}
}
