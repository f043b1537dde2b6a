package asm

import "math"

// expGeneric evaluates e^x with the same algorithm as the SIMD kernels:
// x = k·ln2 + r with |r| ≤ ln2/2, e^r by a degree-6 polynomial, then scaling
// by 2^k through the exponent bits.
func expGeneric(dst, x []float32) {
	for i, v := range x {
		dst[i] = exp1(v)
	}
}

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

func exp1(v float32) float32 {
	switch {
	case v != v:
		return v
	case v > expHi:
		return float32(math.Inf(1))
	case v < expLo:
		return 0
	}
	k := float32(math.Floor(float64(v*log2e + 0.5)))
	r := v - k*ln2Hi
	r = r - k*ln2Lo
	p := float32(expC7)
	p = p*r + expC6
	p = p*r + expC5
	p = p*r + expC4
	p = p*r + expC3
	p = p*r + expC2
	p = p*r*r + r + 1
	return p * math.Float32frombits(uint32(int32(k)+127)<<23)
}

func sigmoid1(v float32) float32 { return 1 / (1 + exp1(-v)) }

func siluGeneric(dst, x []float32) {
	for i, v := range x {
		dst[i] = v * sigmoid1(v)
	}
}

func siluGradGeneric(dst, x []float32) {
	for i, v := range x {
		s := sigmoid1(v)
		dst[i] = s * (1 + v*(1-s))
	}
}

func swigluGeneric(dst, gate, up []float32) {
	for i, g := range gate {
		dst[i] = g * sigmoid1(g) * up[i]
	}
}

func swigluGradGeneric(dgate, dup, dy, gate, up []float32) {
	for i, g := range gate {
		s := sigmoid1(g)
		d := dy[i]
		dgate[i] = d * up[i] * s * (1 + g*(1-s))
		dup[i] = d * g * s
	}
}

func rmsnormGeneric(dst, x []float32, eps float32) float32 {
	var ss float32
	for _, v := range x {
		ss += v * v
	}
	r := float32(1 / math.Sqrt(float64(ss/float32(len(x))+eps)))
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
