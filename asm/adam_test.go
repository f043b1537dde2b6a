package asm

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// fusesMultiplyAdd reports whether this build compiles the generic loop's
// multiply-adds fused (one rounding: arm64, amd64 at GOAMD64=v3 and above):
// it runs the loop's first-moment update on random values and compares it
// with the same sum of explicitly rounded products.
func fusesMultiplyAdd() bool {
	const n = 256
	r := rand.New(rand.NewPCG(9, 9))
	w, m, v, g := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range n {
		m[i], g[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
	}
	m0 := slices.Clone(m)
	b1 := float32(0.9)
	c1 := 1 - b1
	adamATan2Generic(w, m, v, g, b1, 0.95, 1, 0, 1)
	for i := range n {
		if m[i] != float32(b1*m0[i])+float32(c1*g[i]) {
			return true
		}
	}
	return false
}

// AdamATan2 (the SIMD version where there is one) gives the generic loop's
// bits, on random values and on the special ones of math.Atan2 (zeros of
// both signs, subnormals, overflow to infinity, infinities, NaN), for every
// length up to a few groups of four and a long one.
func TestAdamATan2MatchesGeneric(t *testing.T) {
	if fusesMultiplyAdd() {
		t.Skip("this build fuses multiply-adds in Go code: the generic loop's bits are not the kernel's")
	}
	rng := rand.New(rand.NewPCG(3, 5))
	specials := []float32{0, float32(math.Copysign(0, -1)), 1e-45, -1e-45, 1e-38, 1e-25, -1e-25,
		1e20, -1e20, 3e38, -3e38, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	draw := func(n int, nonneg bool) []float32 {
		x := make([]float32, n)
		for i := range x {
			switch rng.IntN(6) {
			case 0:
				x[i] = specials[rng.IntN(len(specials))]
			default:
				x[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(12)-8)))
			}
			if nonneg && !(x[i] >= 0) && !math.IsNaN(float64(x[i])) {
				x[i] = -x[i]
			}
		}
		return x
	}
	lengths := []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 1000}
	for trial := range 20 {
		for _, n := range lengths {
			w, m, v, g := draw(n, false), draw(n, false), draw(n, true), draw(n, false)
			w2, m2, v2 := slices.Clone(w), slices.Clone(m), slices.Clone(v)
			b1, b2, decay := float32(0.9), float32(0.95), float32(1-1e-4*float64(trial))
			stepSize, invBC2 := 1e-4/(1-math.Pow(0.9, float64(trial+1))), 1/(1-math.Pow(0.95, float64(trial+1)))
			adamATan2Generic(w, m, v, g, b1, b2, decay, stepSize, invBC2)
			AdamATan2(w2, m2, v2, g, b1, b2, decay, stepSize, invBC2)
			for i := range n {
				require.Equal(t, math.Float32bits(m[i]), math.Float32bits(m2[i]), "trial %d n %d m[%d]", trial, n, i)
				require.Equal(t, math.Float32bits(v[i]), math.Float32bits(v2[i]), "trial %d n %d v[%d]", trial, n, i)
				require.Equal(t, math.Float32bits(w[i]), math.Float32bits(w2[i]),
					"trial %d n %d w[%d]: generic %v, kernel %v (m %v, v %v, g %v)", trial, n, i, w[i], w2[i], m[i], v[i], g[i])
			}
		}
	}
	require.Panics(t, func() {
		AdamATan2(make([]float32, 3), make([]float32, 2), make([]float32, 3), make([]float32, 3), 0, 0, 0, 0, 0)
	})
}

// The update itself, by hand: θ = 1, m = v = 0, g = 0.5, β = (0.9, 0.95),
// bias corrections of step 1: m = 0.05, v = 0.0125, atan2(0.05,
// √(0.0125/0.05)) = atan(0.1).
func TestAdamATan2ByHand(t *testing.T) {
	for _, n := range []int{1, 4, 9} {
		w, m, v, g := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range n {
			w[i], g[i] = 1, 0.5
		}
		AdamATan2(w, m, v, g, 0.9, 0.95, 0.999, 0.1/0.1, 1/0.05)
		for i := range n {
			require.InDelta(t, 0.999-math.Atan(0.1), w[i], 1e-6)
			require.InDelta(t, 0.05, m[i], 1e-7)
			require.InDelta(t, 0.0125, v[i], 1e-8)
		}
	}
}

// Every length and alignment, with guards: the kernel writes w, m and v
// inside their slices only, and gives the generic loop's bits.
func TestAdamATan2Guards(t *testing.T) {
	fused := fusesMultiplyAdd()
	r := newRand(43)
	forLengths(func(n, off int) {
		bw, bm := randBuffer(r, n, off, -1, 1), randBuffer(r, n, off, -1e-3, 1e-3)
		bv, bg := randBuffer(r, n, off, 0, 1e-5), randBuffer(r, n, off, -1e-2, 1e-2)
		w, m, v := clone(bw.s()), clone(bm.s()), clone(bv.s())
		adamATan2Generic(w, m, v, bg.s(), 0.9, 0.95, 1-1e-5, 1e-4, 1.05)
		AdamATan2(bw.s(), bm.s(), bv.s(), bg.s(), 0.9, 0.95, 1-1e-5, 1e-4, 1.05)
		for _, b := range []*buffer{bw, bm, bv, bg} {
			b.check(t, "AdamATan2")
		}
		if fused {
			return
		}
		for i := range n {
			require.Equal(t, math.Float32bits(w[i]), math.Float32bits(bw.s()[i]), "n %d off %d w[%d]", n, off, i)
			require.Equal(t, math.Float32bits(m[i]), math.Float32bits(bm.s()[i]), "n %d off %d m[%d]", n, off, i)
			require.Equal(t, math.Float32bits(v[i]), math.Float32bits(bv.s()[i]), "n %d off %d v[%d]", n, off, i)
		}
	})
}
