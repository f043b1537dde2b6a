//go:build arm64 && gc && !purego

package asm

// Checks of the hand-written NEON kernels (files *_arm64.s) against the
// generic references. They call the NEON functions directly, so they test the
// assembly even when GODEBUG=cpu.asimd=off routes the API to the generic code.
// Every output lives inside a NaN-filled guard region that must not change,
// every length from 0 up past the widest unrolled loop is tried, and slices
// start at every offset of 0..7 floats into their (16-byte aligned) buffer.

import (
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	neonEps   = 1.0 / (1 << 23) // float32 machine epsilon
	neonGuard = 8               // guard floats on each side of an output
	neonMaxN  = 75              // covers the 32-, 16- and 4-wide loops and their tails
)

// neonSentinel is a NaN with a payload the kernels never produce.
var neonSentinel = math.Float32frombits(0x7fc0dead)

// neonSlice returns a slice of n floats starting off floats into a fresh
// buffer (Go aligns those of 16 bytes or more to 16), surrounded by guard regions filled with neonSentinel, and a
// function that fails the test if a guard has been written.
func neonSlice(t *testing.T, n, off int) ([]float32, func()) {
	t.Helper()
	buf := make([]float32, neonGuard+off+n+neonGuard)
	for i := range buf {
		buf[i] = neonSentinel
	}
	s := buf[neonGuard+off : neonGuard+off+n : neonGuard+off+n]
	check := func() {
		t.Helper()
		for i, v := range buf {
			if i >= neonGuard+off && i < neonGuard+off+n {
				continue
			}
			if math.Float32bits(v) != 0x7fc0dead {
				t.Fatalf("n=%d off=%d: guard element %d overwritten with %v", n, off, i-neonGuard-off, v)
			}
		}
	}
	return s, check
}

// neonFill returns a guarded slice holding n uniform values in [lo, hi).
func neonFill(t *testing.T, r *rand.Rand, n, off int, lo, hi float32) ([]float32, func()) {
	s, check := neonSlice(t, n, off)
	for i := range s {
		s[i] = lo + (hi-lo)*r.Float32()
	}
	return s, check
}

// neonULP returns the distance between a and b in units in the last place
// (0 when both are the same infinity or both NaN).
func neonULP(a, b float32) int64 {
	if a != a || b != b {
		if a != a && b != b {
			return 0
		}
		return math.MaxInt64
	}
	key := func(v float32) int64 {
		u := int64(math.Float32bits(v))
		if u&0x80000000 != 0 {
			return -(u & 0x7fffffff)
		}
		return u
	}
	d := key(a) - key(b)
	if d < 0 {
		d = -d
	}
	return d
}

// neonClose reports whether got is within tol of want, where tol is
// relative to scale (the magnitude of the terms that produced want).
func neonClose(want, got, scale, tol float64) bool {
	if math.IsNaN(want) || math.IsNaN(got) {
		return math.IsNaN(want) && math.IsNaN(got)
	}
	if math.IsInf(want, 0) || math.IsInf(got, 0) {
		return want == got
	}
	return math.Abs(want-got) <= tol*scale+1e-37
}

func TestNEONSelected(t *testing.T) {
	if strings.Contains(os.Getenv("GODEBUG"), "cpu.asimd=off") {
		require.False(t, useNEON)
		require.Equal(t, "generic", Impl())
		return
	}
	require.True(t, useNEON, "every arm64 CPU has Advanced SIMD")
	require.Equal(t, "neon", Impl())
}

func TestNEONDotSum(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n <= neonMaxN; n++ {
		for off := 0; off < 8; off++ {
			x, cx := neonFill(t, r, n, off, -1, 1)
			y, cy := neonFill(t, r, n, (off+3)%8, -1, 1)
			var absDot, absSum float64
			for i := range x {
				absDot += math.Abs(float64(x[i] * y[i]))
				absSum += math.Abs(float64(x[i]))
			}
			tol := float64(n+1) * neonEps
			got, want := dotNEON(x, y), dotGeneric(x, y)
			require.True(t, neonClose(float64(want), float64(got), absDot, tol), "dot n=%d off=%d: got %v, want %v", n, off, got, want)
			got, want = sumNEON(x), sumGeneric(x)
			require.True(t, neonClose(float64(want), float64(got), absSum, tol), "sum n=%d off=%d: got %v, want %v", n, off, got, want)
			cx()
			cy()
		}
	}
	// The API routes to the kernels: same bits as the direct call.
	x := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}
	if useNEON {
		assert.Equal(t, dotNEON(x, x), Dot(x, x))
		assert.Equal(t, sumNEON(x), Sum(x))
	}
	assert.Equal(t, float32(285), Dot(x, x))
	assert.Equal(t, float32(45), Sum(x))
}

func TestNEONMax(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for n := 0; n <= neonMaxN; n++ {
		for off := 0; off < 8; off++ {
			x, cx := neonFill(t, r, n, off, -100, 100)
			require.Equal(t, maxGeneric(x), maxNEON(x), "n=%d off=%d", n, off)
			// The maximum at every position, so that each loop and the tail
			// are shown to look at every element.
			for i := range x {
				save := x[i]
				x[i] = 1000
				require.Equal(t, float32(1000), maxNEON(x), "n=%d off=%d max at %d", n, off, i)
				x[i] = -1000
				if n > 1 {
					require.Equal(t, maxGeneric(x), maxNEON(x))
				}
				x[i] = save
			}
			cx()
		}
	}
	assert.Equal(t, float32(math.Inf(-1)), maxNEON(nil))
	assert.Equal(t, float32(-3), maxNEON([]float32{-5, -3, -4, -7, -9}))
}

func TestNEONElementwise(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for n := 0; n <= neonMaxN; n++ {
		for off := 0; off < 8; off++ {
			x, cx := neonFill(t, r, n, off, -4, 4)
			y, cy := neonFill(t, r, n, (off+5)%8, -4, 4)
			dst, cd := neonSlice(t, n, (off+1)%8)
			want := make([]float32, n)
			alpha := r.Float32()*4 - 2

			// One rounding per element: these must agree bit for bit.
			scaleNEON(dst, alpha, x)
			scaleGeneric(want, alpha, x)
			require.Equal(t, want, append([]float32{}, dst...), "scale n=%d off=%d", n, off)
			addNEON(dst, x, y)
			addGeneric(want, x, y)
			require.Equal(t, want, append([]float32{}, dst...), "add n=%d off=%d", n, off)
			mulNEON(dst, x, y)
			mulGeneric(want, x, y)
			require.Equal(t, want, append([]float32{}, dst...), "mul n=%d off=%d", n, off)

			// axpy is fused in NEON (one rounding instead of two).
			copy(dst, y)
			copy(want, y)
			axpyNEON(alpha, x, dst)
			axpyGeneric(alpha, x, want)
			for i := range want {
				scale := math.Abs(float64(y[i])) + math.Abs(float64(alpha*x[i]))
				require.True(t, neonClose(float64(want[i]), float64(dst[i]), scale, 2*neonEps),
					"axpy n=%d off=%d i=%d: got %v, want %v", n, off, i, dst[i], want[i])
			}
			cx()
			cy()
			cd()
		}
	}
}

func TestNEONElementwiseAlias(t *testing.T) {
	x := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}
	y := make([]float32, len(x))
	for i := range y {
		y[i] = float32(i) - 0.5
	}
	wx, wy := append([]float32{}, x...), append([]float32{}, y...)
	addGeneric(wx, wx, wy)
	addNEON(x, x, y)
	require.Equal(t, wx, x)
	mulGeneric(wy, wx, wy)
	mulNEON(y, x, y)
	require.Equal(t, wy, y)
	scaleGeneric(wx, 0.5, wx)
	scaleNEON(x, 0.5, x)
	require.Equal(t, wx, x)
}

func TestNEONKernel(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, k := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 16, 31, 64} {
		for _, ldc := range []int{NR, NR + 1, NR + 5, 2 * NR} {
			ap, _ := neonFill(t, r, k*MR, 0, -1, 1)
			bp, _ := neonFill(t, r, k*NR, 0, -1, 1)
			n := (MR-1)*ldc + NR
			c, cc := neonFill(t, r, n, 0, -1, 1)
			// The gaps between the rows of the tile are guards too.
			for i := 0; i < MR-1; i++ {
				for j := NR; j < ldc; j++ {
					c[i*ldc+j] = neonSentinel
				}
			}
			want := append([]float32{}, c...)
			kernelGeneric(k, ap, bp, want, ldc)
			kernelNEON(k, ap, bp, c, ldc)
			for i := 0; i < MR; i++ {
				for j := 0; j < ldc && i*ldc+j < n; j++ {
					got := c[i*ldc+j]
					if j >= NR {
						require.Equal(t, uint32(0x7fc0dead), math.Float32bits(got), "k=%d ldc=%d: gap C[%d][%d] written", k, ldc, i, j)
						continue
					}
					scale := 0.0
					for p := 0; p < k; p++ {
						scale += math.Abs(float64(ap[p*MR+i] * bp[p*NR+j]))
					}
					scale += math.Abs(float64(want[i*ldc+j]))
					require.True(t, neonClose(float64(want[i*ldc+j]), float64(got), scale, float64(k+2)*neonEps),
						"k=%d ldc=%d C[%d][%d]: got %v, want %v", k, ldc, i, j, got, want[i*ldc+j])
				}
			}
			cc()
		}
	}
}

func TestNEONKernelExact(t *testing.T) {
	// Small integers: every partial sum is exact, so the result is too.
	const k = 11
	ap := make([]float32, k*MR)
	bp := make([]float32, k*NR)
	for i := range ap {
		ap[i] = float32(i%7 - 3)
	}
	for i := range bp {
		bp[i] = float32(i%5 - 2)
	}
	c := make([]float32, MR*NR)
	for i := range c {
		c[i] = float32(i)
	}
	want := append([]float32{}, c...)
	kernelGeneric(k, ap, bp, want, NR)
	Kernel(k, ap, bp, c, NR)
	require.Equal(t, want, c)
	Kernel(0, nil, nil, c, NR) // k = 0 leaves C alone
	require.Equal(t, want, c)
}

// neonExpInputs returns the special values of exp and a dense sweep of
// [-90, 90].
func neonExpInputs() []float32 {
	in := []float32{
		0, float32(math.Copysign(0, -1)), 1, -1, 0.5, -0.5, 1e-30, -1e-30, 1e-45, -1e-45,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), neonSentinel,
		math.MaxFloat32, -math.MaxFloat32, 1e30, -1e30,
		expHi, expLo, 88, -87, 88.3, 88.4, 88.72, -87.3, -87.4, -88, -100, 100,
		math.Nextafter32(expHi, 0), math.Nextafter32(expHi, 100),
		math.Nextafter32(expLo, 0), math.Nextafter32(expLo, -100),
		float32(math.Ln2) / 2, -float32(math.Ln2) / 2, float32(math.Ln2), 10 * float32(math.Ln2),
	}
	for v := float32(-90); v <= 90; v += 0.0137 {
		in = append(in, v)
	}
	return in
}

func TestNEONExpAccuracy(t *testing.T) {
	x := neonExpInputs()
	got := make([]float32, len(x))
	want := make([]float32, len(x))
	expNEON(got, x)
	expGeneric(want, x)
	differ := 0
	for i, v := range x {
		g, w := got[i], want[i]
		switch {
		case v != v:
			require.True(t, g != g, "exp(NaN) = %v", g)
		case w == 0 || math.IsInf(float64(w), 1):
			require.Equal(t, w, g, "exp(%v)", v)
		default:
			// The same operations with the same roundings; only the
			// generic fma32 (through float64) may round a tie twice.
			require.LessOrEqual(t, neonULP(g, w), int64(1), "exp(%v): neon %v, generic %v", v, g, w)
			if g != w {
				differ++
			}
		}
		if v >= -87 && v <= 88 {
			exact := float32(math.Exp(float64(v)))
			require.LessOrEqual(t, neonULP(g, exact), int64(2), "exp(%v) = %v, math.Exp says %v", v, g, exact)
		}
	}
	t.Logf("NEON exp differs from expGeneric (by 1 ulp) at %d of %d points", differ, len(x))
}

func TestNEONExpLengths(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for n := 0; n <= 21; n++ {
		for off := 0; off < 8; off++ {
			x, cx := neonFill(t, r, n, off, -20, 20)
			dst, cd := neonSlice(t, n, (off+2)%8)
			want := make([]float32, n)
			expNEON(dst, x)
			expGeneric(want, x)
			for i := range want {
				require.LessOrEqual(t, neonULP(dst[i], want[i]), int64(2), "n=%d off=%d i=%d", n, off, i)
			}
			expNEON(x, x) // in place
			assert.Equal(t, append([]float32{}, dst...), append([]float32{}, x...))
			cx()
			cd()
		}
	}
}

// neonRowCase runs one row kernel on n elements starting at offset off and
// compares it with the generic reference.
type neonRowCase struct {
	name string
	// inputs are generated uniform in [lo, hi).
	lo, hi float32
	// run computes the outputs of the NEON and the generic kernel.
	run func(in [][]float32, neon, generic [][]float32)
	// nin and nout are the number of input and output slices.
	nin, nout int
	// scale returns the magnitude against which output o at index i is
	// compared.
	scale func(in [][]float32, o, i int) float64
}

func TestNEONRows(t *testing.T) {
	abs := func(v float32) float64 { return math.Abs(float64(v)) }
	cases := []neonRowCase{
		{
			name: "silu", lo: -30, hi: 30, nin: 1, nout: 1,
			run: func(in, a, b [][]float32) { siluNEON(a[0], in[0]); siluGeneric(b[0], in[0]) },
			scale: func(in [][]float32, _, i int) float64 {
				return abs(in[0][i]) * abs(sigmoid1(in[0][i]))
			},
		},
		{
			name: "siluGrad", lo: -30, hi: 30, nin: 1, nout: 1,
			run: func(in, a, b [][]float32) { siluGradNEON(a[0], in[0]); siluGradGeneric(b[0], in[0]) },
			scale: func(in [][]float32, _, i int) float64 {
				s := float64(sigmoid1(in[0][i]))
				return s * (1 + abs(in[0][i])*(1-s))
			},
		},
		{
			name: "swiglu", lo: -12, hi: 12, nin: 2, nout: 1,
			run: func(in, a, b [][]float32) { swigluNEON(a[0], in[0], in[1]); swigluGeneric(b[0], in[0], in[1]) },
			scale: func(in [][]float32, _, i int) float64 {
				return abs(in[0][i]) * abs(sigmoid1(in[0][i])) * abs(in[1][i])
			},
		},
		{
			name: "swigluGrad", lo: -12, hi: 12, nin: 3, nout: 2,
			run: func(in, a, b [][]float32) {
				swigluGradNEON(a[0], a[1], in[0], in[1], in[2])
				swigluGradGeneric(b[0], b[1], in[0], in[1], in[2])
			},
			scale: func(in [][]float32, o, i int) float64 {
				dy, g, up := abs(in[0][i]), in[1][i], abs(in[2][i])
				s := float64(sigmoid1(g))
				if o == 0 {
					return dy * up * s * (1 + abs(g)*(1-s))
				}
				return dy * abs(g) * s
			},
		},
	}
	r := rand.New(rand.NewPCG(11, 12))
	differ, total := 0, 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for n := 0; n <= 21; n++ {
				for off := 0; off < 8; off++ {
					in := make([][]float32, tc.nin)
					var checks []func()
					for j := range in {
						var c func()
						in[j], c = neonFill(t, r, n, (off+j)%8, tc.lo, tc.hi)
						checks = append(checks, c)
					}
					a := make([][]float32, tc.nout)
					b := make([][]float32, tc.nout)
					for j := range a {
						var c func()
						a[j], c = neonSlice(t, n, (off+3+j)%8)
						checks = append(checks, c)
						b[j] = make([]float32, n)
					}
					tc.run(in, a, b)
					for o := range a {
						for i := range a[o] {
							total++
							if math.Float32bits(a[o][i]) != math.Float32bits(b[o][i]) {
								differ++
							}
							require.True(t, neonClose(float64(b[o][i]), float64(a[o][i]), tc.scale(in, o, i), 4*neonEps),
								"n=%d off=%d out %d [%d] (in %v): neon %v, generic %v", n, off, o, i, in[0][i], a[o][i], b[o][i])
						}
					}
					for _, c := range checks {
						c()
					}
				}
			}
		})
	}
	// The kernels follow the generic code step by step, so most results are
	// bitwise equal; the tolerance allows for the rare double rounding of
	// the generic fma32.
	t.Logf("activations: %d of %d NEON results differ from the generic ones", differ, total)
}

func TestNEONRowAlias(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	const n = 23
	fill := func() []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = r.Float32()*16 - 8
		}
		return s
	}
	near := func(want, got []float32, what string) {
		t.Helper()
		for i := range want {
			require.LessOrEqual(t, neonULP(want[i], got[i]), int64(16), "%s [%d]: %v vs %v", what, i, got[i], want[i])
		}
	}
	x := fill()
	want := make([]float32, n)
	siluNEON(want, x)
	siluNEON(x, x)
	near(want, x, "silu in place")

	x = fill()
	siluGradNEON(want, x)
	siluGradNEON(x, x)
	near(want, x, "siluGrad in place")

	g, up := fill(), fill()
	swigluNEON(want, g, up)
	g2 := append([]float32{}, g...)
	swigluNEON(g2, g2, up)
	near(want, g2, "swiglu dst=gate")
	up2 := append([]float32{}, up...)
	swigluNEON(up2, g, up2)
	near(want, up2, "swiglu dst=up")

	dy := fill()
	wantG, wantU := make([]float32, n), make([]float32, n)
	swigluGradNEON(wantG, wantU, dy, g, up)
	dy2, dup := append([]float32{}, dy...), make([]float32, n)
	swigluGradNEON(dy2, dup, dy2, g, up)
	near(wantG, dy2, "swigluGrad dgate=dy")
	near(wantU, dup, "swigluGrad dup")
	dy2, dgate := append([]float32{}, dy...), make([]float32, n)
	swigluGradNEON(dgate, dy2, dy2, g, up)
	near(wantG, dgate, "swigluGrad dgate")
	near(wantU, dy2, "swigluGrad dup=dy")

	x = fill()
	wr := rmsnormNEON(want, x, 1e-6)
	gr := rmsnormNEON(x, x, 1e-6)
	require.Equal(t, wr, gr)
	near(want, x, "rmsnorm in place")

	x = fill()
	softmaxNEON(want, x)
	softmaxNEON(x, x)
	near(want, x, "softmax in place")
}

func TestNEONRMSNorm(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for n := 1; n <= neonMaxN; n++ {
		for off := 0; off < 8; off++ {
			x, cx := neonFill(t, r, n, off, -3, 3)
			dst, cd := neonSlice(t, n, (off+5)%8)
			want := make([]float32, n)
			eps := float32(1e-5)
			gotR := rmsnormNEON(dst, x, eps)
			wantR := rmsnormGeneric(want, x, eps)
			require.InEpsilon(t, wantR, gotR, float64(n+2)*neonEps, "n=%d off=%d", n, off)
			for i := range want {
				require.True(t, neonClose(float64(want[i]), float64(dst[i]), abs64(want[i]), float64(n+4)*neonEps),
					"n=%d off=%d [%d]: %v vs %v", n, off, i, dst[i], want[i])
			}
			cx()
			cd()
		}
	}
	// An all-zero row: r = 1/sqrt(eps), the output stays zero.
	x := make([]float32, 9)
	dst := make([]float32, 9)
	assert.InEpsilon(t, 1/math.Sqrt(1e-4), float64(rmsnormNEON(dst, x, 1e-4)), 1e-6)
	assert.Equal(t, x, dst)
	// Dispatch from the API.
	if useNEON {
		y := []float32{3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
		d1, d2 := make([]float32, len(y)), make([]float32, len(y))
		assert.Equal(t, rmsnormNEON(d1, y, 0), RMSNorm(d2, y, 0))
		assert.Equal(t, d1, d2)
		assert.InDelta(t, 3/math.Sqrt(1), float64(d1[0]), 1e-6) // mean(x²) = 25/25
	}
}

func abs64(v float32) float64 { return math.Abs(float64(v)) }

func TestNEONSoftmax(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	for n := 1; n <= neonMaxN; n++ {
		for off := 0; off < 8; off++ {
			x, cx := neonFill(t, r, n, off, -15, 15)
			if n > 2 {
				x[n/2] = float32(math.Inf(-1)) // contributes 0
			}
			dst, cd := neonSlice(t, n, (off+3)%8)
			want := make([]float32, n)
			softmaxNEON(dst, x)
			softmaxGeneric(want, x)
			var total float64
			for i := range want {
				total += float64(dst[i])
				require.True(t, neonClose(float64(want[i]), float64(dst[i]), abs64(want[i]), float64(n+8)*neonEps),
					"n=%d off=%d [%d]: %v vs %v", n, off, i, dst[i], want[i])
			}
			require.InDelta(t, 1, total, float64(2*n+4)*neonEps, "n=%d off=%d", n, off)
			cx()
			cd()
		}
	}
	// Large inputs do not overflow (the maximum is subtracted first).
	x := []float32{1e30, 1e30, 0, -1e30, 1e30}
	dst := make([]float32, len(x))
	softmaxNEON(dst, x)
	assert.Equal(t, []float32{1.0 / 3, 1.0 / 3, 0, 0, 1.0 / 3}, dst)
}

func TestNEONRowDispatch(t *testing.T) {
	if !useNEON {
		t.Skip("NEON disabled")
	}
	x := []float32{-3, -1, 0, 0.5, 2, 7, 9}
	a, b := make([]float32, len(x)), make([]float32, len(x))
	for _, f := range []struct {
		name     string
		api, raw func(dst, x []float32)
	}{
		{"Exp", Exp, expNEON}, {"SiLU", SiLU, siluNEON}, {"SiLUGrad", SiLUGrad, siluGradNEON}, {"Softmax", Softmax, softmaxNEON},
	} {
		f.api(a, x)
		f.raw(b, x)
		assert.Equal(t, b, a, f.name)
	}
	SwiGLU(a, x, x)
	swigluNEON(b, x, x)
	assert.Equal(t, b, a, "SwiGLU")
}

// FuzzNEONExp compares the NEON exp with the generic one on four lanes and a
// scalar tail (run with -fuzz; the seeds run as a normal test).
func FuzzNEONExp(f *testing.F) {
	for _, v := range []float32{0, 1, -1, expHi, expLo, 88.5, -87.5, 1e-8} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float32) {
		x := []float32{v, -v, v / 2, v * 2, v + 1}
		got, want := make([]float32, len(x)), make([]float32, len(x))
		expNEON(got, x)
		expGeneric(want, x)
		for i := range x {
			if want[i] == 0 || math.IsInf(float64(want[i]), 0) || want[i] != want[i] {
				if want[i] == want[i] {
					require.Equal(t, want[i], got[i], "exp(%v)", x[i])
				} else {
					require.True(t, got[i] != got[i], "exp(%v)", x[i])
				}
				continue
			}
			require.LessOrEqual(t, neonULP(got[i], want[i]), int64(2), "exp(%v): %v vs %v", x[i], got[i], want[i])
		}
	})
}
