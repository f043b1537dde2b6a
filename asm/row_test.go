package asm

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// expSweep returns a dense sweep of [lo, hi] with about n points.
func expSweep(lo, hi float32, n int) []float32 {
	x := make([]float32, 0, n+1)
	for i := 0; i <= n; i++ {
		x = append(x, lo+(hi-lo)*float32(i)/float32(n))
	}
	return x
}

// TestExp1Accuracy checks the generic reference against math.Exp over a
// dense sweep of [-87, 88] and every float32 near the ends of its range
// (it is within 1 ulp on the whole of [expLo, expHi]; an exhaustive check
// takes minutes and is not run here).
func TestExp1Accuracy(t *testing.T) {
	points := 200_000
	if testing.Short() {
		points = 20_000
	}
	x := expSweep(-87, 88, points)
	for _, end := range []float32{expLo, expHi, 0} {
		v := end
		for i := 0; i < 2000; i++ {
			x = append(x, v)
			v = math.Nextafter32(v, 0)
		}
		v = end
		for i := 0; i < 2000; i++ {
			v = math.Nextafter32(v, float32(math.Copysign(1, float64(-end))))
			x = append(x, v)
		}
	}
	var worst int64
	for _, v := range x {
		if v < expLo || v > expHi {
			continue
		}
		want := float32(math.Exp(float64(v)))
		d := ulps(exp1(v), want)
		if d > 1 {
			require.Failf(t, "mismatch", "exp1(%v) = %v, math.Exp gives %v", v, exp1(v), want)
		}
		worst = max(worst, d)
	}
	t.Logf("exp1: at most %d ulp from math.Exp on %d points", worst, len(x))
}

// TestExpAccuracy checks the dispatched Exp against math.Exp: within 2 ulp
// (the documented bound) on [-87, 88], and the out-of-range cases.
func TestExpAccuracy(t *testing.T) {
	x := expSweep(-87, 88, 100_003)
	got := make([]float32, len(x))
	Exp(got, x)
	var worst int64
	for i, v := range x {
		want := float32(math.Exp(float64(v)))
		d := ulps(got[i], want)
		if d > 2 {
			require.Failf(t, "mismatch", "Exp(%v) = %v, math.Exp gives %v", v, got[i], want)
		}
		worst = max(worst, d)
	}
	t.Logf("Exp (%s): at most %d ulp from math.Exp on [-87, 88]", Impl(), worst)
}

func TestExpSpecial(t *testing.T) {
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	cases := []struct{ x, want float32 }{
		{0, 1},
		{float32(math.Copysign(0, -1)), 1},
		{inf, inf},
		{-inf, 0},
		{math.MaxFloat32, inf},
		{-math.MaxFloat32, 0},
		{1e30, inf},
		{-1e30, 0},
		{100, inf},
		{-100, 0},
		{math.Nextafter32(expHi, 100), inf},
		{math.Nextafter32(expLo, -100), 0},
		{1e-30, 1},
		{-1e-30, 1},
	}
	// Each case at every position of a 19-element row, so that it is seen by
	// the unrolled loop, the single-vector loop and the masked tail.
	for _, c := range cases {
		for at := 0; at < 19; at++ {
			x := make([]float32, 19)
			x[at] = c.x
			got := make([]float32, len(x))
			Exp(got, x)
			require.Equal(t, c.want, got[at], "Exp(%v) at %d", c.x, at)
			require.Equal(t, c.want, exp1(c.x), "exp1(%v)", c.x)
		}
	}
	// Finite up to expHi, where the scaling 2^k has k = 128.
	for _, v := range []float32{88, 88.4, 88.72, expHi} {
		got := make([]float32, 9)
		Exp(got, []float32{v, v, v, v, v, v, v, v, v})
		want := float32(math.Exp(float64(v)))
		assert.LessOrEqual(t, ulps(got[0], want), int64(2), "Exp(%v) = %v, want %v", v, got[0], want)
		assert.LessOrEqual(t, ulps(got[8], want), int64(2), "Exp(%v) = %v in the tail, want %v", v, got[8], want)
		assert.LessOrEqual(t, ulps(exp1(v), want), int64(1), "exp1(%v)", v)
	}
	// NaN in, NaN out, everywhere in the row.
	for at := 0; at < 19; at++ {
		x := make([]float32, 19)
		x[at] = nan
		got := make([]float32, len(x))
		Exp(got, x)
		require.True(t, got[at] != got[at], "Exp(NaN) at %d = %v", at, got[at])
		require.Equal(t, float32(1), got[(at+1)%19])
	}
	assert.True(t, exp1(nan) != exp1(nan))
}

func TestExp(t *testing.T) {
	elementwise{
		name: "Exp", nin: 1, nout: 1, lo: -100, hi: 100,
		run: func(out, in [][]float32) { Exp(out[0], in[0]) },
		ref: func(out, in [][]float32) { expGeneric(out[0], in[0]) },
		scale: func(in [][]float32, o, i int) float64 {
			return math.Exp(float64(in[0][i]))
		},
		tol:   2,
		alias: [][2]int{{0, 0}},
	}.check(t, 11)
}

func TestSiLU(t *testing.T) {
	elementwise{
		name: "SiLU", nin: 1, nout: 1, lo: -30, hi: 30,
		run:   func(out, in [][]float32) { SiLU(out[0], in[0]) },
		ref:   func(out, in [][]float32) { siluGeneric(out[0], in[0]) },
		scale: func(in [][]float32, o, i int) float64 { return abs(in[0][i]) },
		tol:   4,
		alias: [][2]int{{0, 0}},
	}.check(t, 12)
}

func TestSiLUGrad(t *testing.T) {
	elementwise{
		name: "SiLUGrad", nin: 1, nout: 1, lo: -30, hi: 30,
		run: func(out, in [][]float32) { SiLUGrad(out[0], in[0]) },
		ref: func(out, in [][]float32) { siluGradGeneric(out[0], in[0]) },
		// s·(1 + x·(1−s)) is a difference of terms up to 1 + |x|.
		scale: func(in [][]float32, o, i int) float64 { return 1 + abs(in[0][i]) },
		tol:   4,
		alias: [][2]int{{0, 0}},
	}.check(t, 13)
}

func TestSwiGLU(t *testing.T) {
	elementwise{
		name: "SwiGLU", nin: 2, nout: 1, lo: -12, hi: 12,
		run:   func(out, in [][]float32) { SwiGLU(out[0], in[0], in[1]) },
		ref:   func(out, in [][]float32) { swigluGeneric(out[0], in[0], in[1]) },
		scale: func(in [][]float32, o, i int) float64 { return abs(in[0][i] * in[1][i]) },
		tol:   4,
		alias: [][2]int{{0, 0}, {0, 1}},
	}.check(t, 14)
}

func TestSwiGLUGrad(t *testing.T) {
	// in: dy, gate, up; out: dgate, dup.
	elementwise{
		name: "SwiGLUGrad", nin: 3, nout: 2, lo: -12, hi: 12,
		run: func(out, in [][]float32) { SwiGLUGrad(out[0], out[1], in[0], in[1], in[2]) },
		ref: func(out, in [][]float32) { swigluGradGeneric(out[0], out[1], in[0], in[1], in[2]) },
		scale: func(in [][]float32, o, i int) float64 {
			dy, g, up := in[0][i], in[1][i], in[2][i]
			if o == 0 {
				return abs(dy*up) * (1 + abs(g))
			}
			return abs(dy * g)
		},
		tol:   4,
		alias: [][2]int{{0, 0}, {1, 0}}, // dgate or dup may be dy
	}.check(t, 15)
}

// TestActivationsSpecial checks the activations at infinities, NaN and the
// saturated ends, where exp over- or underflows.
func TestActivationsSpecial(t *testing.T) {
	inf := float32(math.Inf(1))
	x := []float32{0, 1, -1, 50, -50, 100, -100, 1e30, -1e30, inf, -inf, float32(math.NaN()), 88.5, -88.5, 1e-40}
	n := len(x)
	up := make([]float32, n)
	dy := make([]float32, n)
	for i := range up {
		up[i] = float32(i%3) - 0.5
		dy[i] = 0.25 * float32(i%5+1)
	}
	type op struct {
		name     string
		run, ref func(out [][]float32)
		nout     int
	}
	ops := []op{
		{"Exp", func(o [][]float32) { Exp(o[0], x) }, func(o [][]float32) { expGeneric(o[0], x) }, 1},
		{"SiLU", func(o [][]float32) { SiLU(o[0], x) }, func(o [][]float32) { siluGeneric(o[0], x) }, 1},
		{"SiLUGrad", func(o [][]float32) { SiLUGrad(o[0], x) }, func(o [][]float32) { siluGradGeneric(o[0], x) }, 1},
		{"SwiGLU", func(o [][]float32) { SwiGLU(o[0], x, up) }, func(o [][]float32) { swigluGeneric(o[0], x, up) }, 1},
		{"SwiGLUGrad", func(o [][]float32) { SwiGLUGrad(o[0], o[1], dy, x, up) },
			func(o [][]float32) { swigluGradGeneric(o[0], o[1], dy, x, up) }, 2},
	}
	for _, c := range ops {
		got := [][]float32{make([]float32, n), make([]float32, n)}
		want := [][]float32{make([]float32, n), make([]float32, n)}
		c.run(got)
		c.ref(want)
		for o := 0; o < c.nout; o++ {
			for i := range x {
				g, w := got[o][i], want[o][i]
				if (g == g || w == w) && ulps(g, w) > 2 {
					require.Failf(t, "mismatch", "%s(%v) output %d: got %v, want %v", c.name, x[i], o, g, w)
				}
			}
		}
	}
	// Values that follow from the definitions.
	s := make([]float32, n)
	SiLU(s, x)
	assert.Equal(t, float32(0), s[0])
	assert.Equal(t, float32(100), s[5])
	assert.Equal(t, float32(0), s[6]) // −100·σ(−100) rounds to −0
	assert.Equal(t, inf, s[9])
	SiLUGrad(s, x)
	assert.Equal(t, float32(0.5), s[0])
	assert.Equal(t, float32(1), s[5])
	assert.Equal(t, float32(0), s[6])
}

func TestRMSNorm(t *testing.T) {
	r := newRand(16)
	for _, eps := range []float32{1e-6, 0.5} {
		forLengths(func(n, off int) {
			xb := randBuffer(r, n, off, -3, 3)
			db := newBuffer(n, (off+3)%8)
			x, dst := xb.s(), db.s()
			want := make([]float32, n)
			var wantR float32
			if n > 0 {
				wantR = rmsnormGeneric(want, x, eps)
			}
			gotR := RMSNorm(dst, x, eps)
			// Σx² in another order: relative error up to n·2⁻²⁴, halved by
			// the square root.
			tol := float64(n)/2 + 4
			require.True(t, near(gotR, wantR, float64(wantR), tol), "RMSNorm n=%d off=%d eps=%v: r = %v, want %v", n, off, eps, gotR, wantR)
			for i := range want {
				if !near(dst[i], want[i], abs(want[i]), tol) {
					require.Failf(t, "mismatch", "RMSNorm n=%d off=%d [%d]: got %v, want %v", n, off, i, dst[i], want[i])
				}
			}
			xb.check(t, "RMSNorm x")
			db.check(t, "RMSNorm dst")

			// In place.
			y := clone(x)
			require.Equal(t, gotR, RMSNorm(y, y, eps))
			require.Equal(t, dst, y)
		})
	}
	assert.Equal(t, float32(0), RMSNorm(nil, nil, 1e-6))
	zero := make([]float32, 11)
	assert.InDelta(t, 1/math.Sqrt(1e-6), RMSNorm(zero, zero, 1e-6), 1)
	assert.Equal(t, make([]float32, 11), zero)
}

func TestSoftmax(t *testing.T) {
	r := newRand(17)
	for _, span := range []float32{1, 30} {
		forLengths(func(n, off int) {
			xb := randBuffer(r, n, off, -span, span)
			db := newBuffer(n, (off+5)%8)
			x, dst := xb.s(), db.s()
			want := make([]float32, n)
			if n > 0 {
				softmaxGeneric(want, x)
			}
			Softmax(dst, x)
			// The sum in another order: relative error up to n·2⁻²³.
			tol := float64(n) + 4
			var total float64
			for i := range want {
				if !near(dst[i], want[i], float64(want[i]), tol) {
					require.Failf(t, "mismatch", "Softmax n=%d off=%d [%d]: got %v, want %v", n, off, i, dst[i], want[i])
				}
				total += float64(dst[i])
			}
			if n > 0 {
				require.InDelta(t, 1, total, 1e-5*float64(n+1), "Softmax n=%d: Σ = %v", n, total)
			}
			xb.check(t, "Softmax x")
			db.check(t, "Softmax dst")

			y := clone(x)
			Softmax(y, y)
			require.Equal(t, dst, y, "Softmax in place n=%d", n)
		})
	}
}

func TestSoftmaxSpecial(t *testing.T) {
	inf := float32(math.Inf(1))
	for n := 1; n <= 20; n++ {
		// Equal values: exactly uniform up to rounding of 1/n.
		x := make([]float32, n)
		for i := range x {
			x[i] = 3
		}
		Softmax(x, x)
		for i := range x {
			require.InDelta(t, 1/float64(n), float64(x[i]), 1e-7, "n=%d", n)
		}
		// One large value and the rest masked out with −Inf.
		for at := 0; at < n; at++ {
			x := make([]float32, n)
			for i := range x {
				x[i] = -inf
			}
			x[at] = 1e30
			Softmax(x, x)
			for i := range x {
				want := float32(0)
				if i == at {
					want = 1
				}
				require.Equal(t, want, x[i], "n=%d at=%d i=%d", n, at, i)
			}
		}
	}
}

func TestRowPanics(t *testing.T) {
	a, b := make([]float32, 4), make([]float32, 5)
	assert.Panics(t, func() { Exp(a, b) })
	assert.Panics(t, func() { SiLU(a, b) })
	assert.Panics(t, func() { SiLUGrad(a, b) })
	assert.Panics(t, func() { SwiGLU(a, a, b) })
	assert.Panics(t, func() { SwiGLUGrad(a, a, a, a, b) })
	assert.Panics(t, func() { RMSNorm(a, b, 1) })
	assert.Panics(t, func() { Softmax(a, b) })
}
