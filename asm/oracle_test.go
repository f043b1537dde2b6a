package asm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Independent oracles.
//
// Most tests in this package compare the dispatched kernels with the
// *Generic references. Under -tags purego those are the same code, so a
// bug in a reference passes wherever nothing else pins the result down.
// The tests in this file check every exported kernel, and every *Generic
// reference directly, against oracles that share no code with the package:
//
//   - the defining formula evaluated in float64 by a plain loop written
//     here (math.Exp for the exponential, math.Sqrt for RMSNorm);
//   - known answers: small inputs whose outputs are exact and written down.
//
// The only package code a test here calls is the code under test (for the
// GEMM kernels, the packing routines of the same implementation, which
// TestOraclePack checks against their definition); besides that it uses
// only the test helpers of helpers_test.go (guarded buffers, ulps).
//
// The tolerances are error bounds, derived in the comments from the
// rounding steps the kernels document, not fitted to observed errors.
// roundoff is u = 2⁻²⁴, the unit roundoff of float32: rounding a normal
// value v to float32 moves it by at most u·|v|.
const roundoff = 0x1p-24

const (
	// expRel bounds the relative error of Exp and of the e^x inside every
	// exp-based kernel: Exp is documented to be within 2 ulp of
	// float32(math.Exp) on [-87, 88], and that is within ½ ulp of e^x; one
	// ulp of v is at most 2⁻²³·|v| = 2u·|v|.
	expRel = 2.5 * 2 * roundoff
	// sigRel bounds the relative error of σ(v) = 1/(1 + e^−v) as the
	// kernels evaluate it: e^−v (expRel, damped by e/(1+e) ≤ 1 in the sum),
	// then 1 + e and 1/(1 + e), one rounding each.
	sigRel = expRel + 2*roundoff
	// secondOrder covers what the first-order bounds leave out: products
	// of two relative errors (below (8u)² < 2⁻⁴¹) and the float64 rounding
	// of the oracles (2⁻⁵³ per step). It is added as secondOrder·(magnitude
	// of the terms).
	secondOrder = 0x1p-40
	// tinyNormal is the smallest normal float32. Where e^x or σ(x)
	// underflows (x below about −87) the kernels return 0 or a subnormal,
	// with an absolute error below tinyNormal times the factor applied to it.
	tinyNormal = 0x1p-126
)

// oracleLengths are the row lengths the oracle tests try: every length up
// to 40 (each SIMD width, its unrolled loop and every tail) and some larger
// ones around powers of two. -short (the arm64 run under qemu) keeps three
// of the larger ones.
func oracleLengths() []int {
	var ns []int
	for n := 0; n <= 40; n++ {
		ns = append(ns, n)
	}
	if testing.Short() {
		return append(ns, 64, 129, 257)
	}
	return append(ns, 63, 64, 65, 127, 128, 129, 255, 256, 257, 1000, 1025)
}

// kernelSet is one implementation of the row and vector kernels: the
// dispatched API (whatever the build and the CPU select) or the generic
// references called directly.
type kernelSet struct {
	name       string
	dot        func(x, y []float32) float32
	sum, max   func(x []float32) float32
	axpy       func(alpha float32, x, y []float32)
	scale      func(dst []float32, alpha float32, x []float32)
	add, mul   func(dst, x, y []float32)
	exp        func(dst, x []float32)
	silu       func(dst, x []float32)
	siluGrad   func(dst, x []float32)
	swiglu     func(dst, gate, up []float32)
	swigluGrad func(dgate, dup, dy, gate, up []float32)
	rmsnorm    func(dst, x []float32, eps float32) float32
	softmax    func(dst, x []float32)
	transpose  func(dst []float32, ldd int, src []float32, lds int, r, c int)
	packA      func(dst, a []float32, lda int, trans bool, mc, kc int, alpha float32)
	packB      func(dst, b []float32, ldb int, trans bool, kc, nc int)
}

var kernelSets = []kernelSet{
	{
		name: "dispatched",
		dot:  Dot, sum: Sum, max: Max, axpy: Axpy, scale: Scale, add: Add, mul: Mul,
		exp: Exp, silu: SiLU, siluGrad: SiLUGrad, swiglu: SwiGLU, swigluGrad: SwiGLUGrad,
		rmsnorm: RMSNorm, softmax: Softmax, transpose: Transpose, packA: PackA, packB: PackB,
	},
	{
		name: "generic",
		dot:  dotGeneric, sum: sumGeneric, max: maxGeneric, axpy: axpyGeneric, scale: scaleGeneric,
		add: addGeneric, mul: mulGeneric,
		exp: expGeneric, silu: siluGeneric, siluGrad: siluGradGeneric, swiglu: swigluGeneric,
		swigluGrad: swigluGradGeneric, rmsnorm: rmsnormGeneric, softmax: softmaxGeneric,
		transpose: transposeGeneric, packA: packAGeneric, packB: packBGeneric,
	},
}

// accept reports whether got is within bound of the exact value want; a
// zero bound asks for the float32 nearest want, bitwise (sign of zero
// included). A NaN want needs a NaN, an infinite want that infinity.
func accept(got float32, want, bound float64) bool {
	switch {
	case math.IsNaN(want):
		return got != got
	case math.IsInf(want, 0):
		return float64(got) == want
	case bound == 0:
		return math.Float32bits(got) == math.Float32bits(float32(want))
	}
	return math.Abs(float64(got)-want) <= bound
}

// sigmoid64 is σ(v) = 1/(1 + e^−v) in float64.
func sigmoid64(v float64) float64 { return 1 / (1 + math.Exp(-v)) }

// siluGradBound bounds the absolute error of silu'(v) = s·(1 + v·(1 − s))
// evaluated as the kernels do, from s = σ(v) (relative error sigRel), each
// of 1 − s, v·(…), 1 + (…) and s·(…) rounding once. With s the exact σ(v),
// the error of s reaches the result through the last product
// (s·(1+|v|)·sigRel) and through 1 − s (s·|v|·sigRel); the four roundings
// add s·(|v|, |v|, 1+|v|, 1+|v|)·u. In all s·(sigRel + 2u)·(1 + 2|v|).
// Below v ≈ −87, σ underflows: the error is then below (1+|v|)·tinyNormal.
func siluGradBound(v float64) float64 {
	s := sigmoid64(v)
	return s*(sigRel+2*roundoff)*(1+2*math.Abs(v)) + secondOrder*s*(1+2*math.Abs(v)) + 2*tinyNormal*(1+math.Abs(v))
}

// checkExp checks one value of Exp against what its documentation promises:
// within 2 ulp of float32(math.Exp(x)) on [-87, 88]; above, +Inf (or the
// finite value, within 2 ulp, up to ln(MaxFloat32)); below, 0 or a
// subnormal (so within tinyNormal of e^x, and not negative).
func checkExp(got float32, x float64) (bool, string) {
	want := float32(math.Exp(x))
	switch {
	case x >= -87 && x <= 88:
		return ulps(got, want) <= 2, "2 ulp of float32(math.Exp)"
	case x > 88:
		return math.IsInf(float64(got), 1) || ulps(got, want) <= 2, "+Inf or 2 ulp of float32(math.Exp)"
	default:
		return got >= 0 && math.Abs(float64(got)-math.Exp(x)) <= tinyNormal, "0 or subnormal within 2⁻¹²⁶ of e^x"
	}
}

// An elementwiseOracle is an elementwise kernel and its oracle.
type elementwiseOracle struct {
	name      string
	nin, nout int
	ranges    [][2]float32 // input j is uniform in [ranges[j][0], ranges[j][1])
	// run returns the kernel of s, taking outputs and inputs as rows.
	run func(s kernelSet) func(out, in [][]float32)
	// want is the exact output o for one element; x holds that element of
	// each input.
	want func(x []float64, o int) float64
	// check reports whether got is an acceptable output o for want and
	// describes the bound it applies.
	check func(got float32, want float64, x []float64, o int) (bool, string)
}

// within returns a check that accepts |got − want| ≤ bound(x, want, o).
func within(bound func(x []float64, want float64, o int) float64) func(float32, float64, []float64, int) (bool, string) {
	return func(got float32, want float64, x []float64, o int) (bool, string) {
		b := bound(x, want, o)
		if b == 0 {
			return accept(got, want, 0), "correctly rounded"
		}
		return accept(got, want, b), fmt.Sprintf("±%.3g", b)
	}
}

// nearest is the check of a kernel whose every output is one correctly
// rounded operation on its inputs: an IEEE multiply or add, which the
// kernels use for Scale, Add and Mul. The float64 result of one operation
// on two float32 values rounds to the correctly rounded float32 (float64
// has more than 2·24+2 bits, so the double rounding is innocuous).
var nearest = within(func([]float64, float64, int) float64 { return 0 })

// elementwiseOracles lists the elementwise kernels with their oracles.
func elementwiseOracles() []elementwiseOracle {
	var ops []elementwiseOracle
	for _, alpha := range []float32{0, 1, -0.75, 3.5, 1e-3} {
		a := float64(alpha)
		ops = append(ops,
			elementwiseOracle{
				name: fmt.Sprintf("Scale/alpha=%v", alpha), nin: 1, nout: 1,
				ranges: [][2]float32{{-2, 2}},
				run: func(s kernelSet) func(out, in [][]float32) {
					return func(out, in [][]float32) { s.scale(out[0], alpha, in[0]) }
				},
				want:  func(x []float64, _ int) float64 { return a * x[0] },
				check: nearest,
			},
			elementwiseOracle{
				// y + α·x: the product rounds (u·|αx|) or not (FMA), the sum
				// rounds once (u·|y + fl(αx)|), in all at most
				// u·|y| + (2u + u²)·|αx|.
				name: fmt.Sprintf("Axpy/alpha=%v", alpha), nin: 2, nout: 1,
				ranges: [][2]float32{{-2, 2}, {-2, 2}},
				run: func(s kernelSet) func(out, in [][]float32) {
					return func(out, in [][]float32) {
						copy(out[0], in[1])
						s.axpy(alpha, in[0], out[0])
					}
				},
				want: func(x []float64, _ int) float64 { return x[1] + a*x[0] },
				check: within(func(x []float64, _ float64, _ int) float64 {
					ax, y := math.Abs(a*x[0]), math.Abs(x[1])
					return roundoff*y + 2*roundoff*ax + secondOrder*(ax+y)
				}),
			})
	}
	ops = append(ops,
		elementwiseOracle{
			name: "Add", nin: 2, nout: 1, ranges: [][2]float32{{-2, 2}, {-1e3, 1e3}},
			run: func(s kernelSet) func(out, in [][]float32) {
				return func(out, in [][]float32) { s.add(out[0], in[0], in[1]) }
			},
			want:  func(x []float64, _ int) float64 { return x[0] + x[1] },
			check: nearest,
		},
		elementwiseOracle{
			name: "Mul", nin: 2, nout: 1, ranges: [][2]float32{{-2, 2}, {-1e3, 1e3}},
			run: func(s kernelSet) func(out, in [][]float32) {
				return func(out, in [][]float32) { s.mul(out[0], in[0], in[1]) }
			},
			want:  func(x []float64, _ int) float64 { return x[0] * x[1] },
			check: nearest,
		},
	)

	// The exp-based kernels, on [-20, 20] and on [-100, 100] (which takes
	// e^x and σ through over- and underflow).
	for _, r := range [][2]float32{{-20, 20}, {-100, 100}} {
		ops = append(ops,
			elementwiseOracle{
				name: fmt.Sprintf("Exp/%v", r), nin: 1, nout: 1, ranges: [][2]float32{r},
				run: func(s kernelSet) func(out, in [][]float32) {
					return func(out, in [][]float32) { s.exp(out[0], in[0]) }
				},
				want: func(x []float64, _ int) float64 { return math.Exp(x[0]) },
				check: func(got float32, _ float64, x []float64, _ int) (bool, string) {
					return checkExp(got, x[0])
				},
			},
			elementwiseOracle{
				// x·σ(x): σ's error and one more rounding.
				name: fmt.Sprintf("SiLU/%v", r), nin: 1, nout: 1, ranges: [][2]float32{r},
				run: func(s kernelSet) func(out, in [][]float32) {
					return func(out, in [][]float32) { s.silu(out[0], in[0]) }
				},
				want: func(x []float64, _ int) float64 { return x[0] * sigmoid64(x[0]) },
				check: within(func(x []float64, want float64, _ int) float64 {
					return (sigRel+roundoff+secondOrder)*math.Abs(want) + 2*tinyNormal*math.Abs(x[0])
				}),
			},
			elementwiseOracle{
				name: fmt.Sprintf("SiLUGrad/%v", r), nin: 1, nout: 1, ranges: [][2]float32{r},
				run: func(s kernelSet) func(out, in [][]float32) {
					return func(out, in [][]float32) { s.siluGrad(out[0], in[0]) }
				},
				want: func(x []float64, _ int) float64 {
					// 1 − σ(x) = σ(−x), without cancellation.
					return sigmoid64(x[0]) * (1 + x[0]*sigmoid64(-x[0]))
				},
				check: within(func(x []float64, _ float64, _ int) float64 { return siluGradBound(x[0]) }),
			},
			elementwiseOracle{
				// silu(g)·up: SiLU's error and one more rounding.
				name: fmt.Sprintf("SwiGLU/%v", r), nin: 2, nout: 1, ranges: [][2]float32{r, {-4, 4}},
				run: func(s kernelSet) func(out, in [][]float32) {
					return func(out, in [][]float32) { s.swiglu(out[0], in[0], in[1]) }
				},
				want: func(x []float64, _ int) float64 { return x[0] * sigmoid64(x[0]) * x[1] },
				check: within(func(x []float64, want float64, _ int) float64 {
					return (sigRel+2*roundoff+secondOrder)*math.Abs(want) + 2*tinyNormal*math.Abs(x[0]*x[1])
				}),
			},
			elementwiseOracle{
				// in: dy, gate, up; out: dgate = dy·up·silu'(g), dup = dy·silu(g).
				// dgate: silu' (siluGradBound) times fl(dy·up), then one
				// rounding: |dy·up|·(siluGradBound + 2u·|silu'|). dup: as SwiGLU.
				name: fmt.Sprintf("SwiGLUGrad/%v", r), nin: 3, nout: 2, ranges: [][2]float32{{-3, 3}, r, {-4, 4}},
				run: func(s kernelSet) func(out, in [][]float32) {
					return func(out, in [][]float32) { s.swigluGrad(out[0], out[1], in[0], in[1], in[2]) }
				},
				want: func(x []float64, o int) float64 {
					dy, g, up := x[0], x[1], x[2]
					if o == 0 {
						return dy * up * sigmoid64(g) * (1 + g*sigmoid64(-g))
					}
					return dy * g * sigmoid64(g)
				},
				check: within(func(x []float64, want float64, o int) float64 {
					dy, g, up := x[0], x[1], x[2]
					if o == 0 {
						grad := sigmoid64(g) * (1 + g*sigmoid64(-g))
						return math.Abs(dy*up)*(siluGradBound(g)+(2*roundoff+secondOrder)*math.Abs(grad)) + 2*tinyNormal*math.Abs(dy*up)
					}
					return (sigRel+2*roundoff+secondOrder)*math.Abs(want) + 2*tinyNormal*math.Abs(dy*g)
				}),
			})
	}
	return ops
}

// TestOracleElementwise checks the elementwise kernels of every kernel set
// against their float64 definitions, on every length up to 40 and some
// larger ones, with slices at every alignment and guarded against writes
// past their ends.
func TestOracleElementwise(t *testing.T) {
	for _, op := range elementwiseOracles() {
		t.Run(op.name, func(t *testing.T) {
			for _, set := range kernelSets {
				t.Run(set.name, func(t *testing.T) {
					op.sweep(t, set)
				})
			}
		})
	}
}

func (op elementwiseOracle) sweep(t *testing.T, set kernelSet) {
	r := newRand(0x0c1e)
	run := op.run(set)
	x := make([]float64, op.nin)
	for _, n := range oracleLengths() {
		in := make([]*buffer, op.nin)
		ins := make([][]float32, op.nin)
		for j := range in {
			in[j] = randBuffer(r, n, (n+3*j)%8, op.ranges[j][0], op.ranges[j][1])
			ins[j] = in[j].s()
		}
		saved := make([][]float32, op.nin)
		for j := range ins {
			saved[j] = clone(ins[j])
		}
		out := make([]*buffer, op.nout)
		outs := make([][]float32, op.nout)
		for o := range out {
			out[o] = newBuffer(n, (n+5*o+1)%8)
			outs[o] = out[o].s()
		}
		run(outs, ins)
		for o := range outs {
			for i := 0; i < n; i++ {
				for j := range x {
					x[j] = float64(ins[j][i])
				}
				want := op.want(x, o)
				if ok, bound := op.check(outs[o][i], want, x, o); !ok {
					t.Fatalf("%s (%s) n=%d output %d [%d]: got %v, want %v (%s; inputs %v)",
						op.name, set.name, n, o, i, outs[o][i], want, bound, x)
				}
			}
			out[o].check(t, op.name+" output")
		}
		for j := range in {
			in[j].check(t, op.name+" input")
			for i := range ins[j] {
				if math.Float32bits(ins[j][i]) != math.Float32bits(saved[j][i]) {
					t.Fatalf("%s (%s) n=%d: input %d [%d] changed", op.name, set.name, n, j, i)
				}
			}
		}
	}
}

// TestOracleReductions checks Dot, Sum and Max against float64 loops. A
// float32 sum of n terms in any order (the SIMD kernels use several
// accumulators and a tree at the end) puts each term through at most n − 1
// roundings, plus one for the product in Dot (none with FMA), so the error
// is at most γₙ·Σ|terms| with γₙ = n·u/(1 − n·u) ≤ (n+1)·u for n ≤ 4096.
// Max must be exact.
func TestOracleReductions(t *testing.T) {
	type reduction struct {
		name   string
		ranges [][2]float32
		run    func(s kernelSet, x, y []float32) float32
		// want returns the exact result and Σ|terms|.
		want  func(x, y []float32) (float64, float64)
		exact bool
	}
	dot := func(x, y []float32) (float64, float64) {
		var s, m float64
		for i := range x {
			p := float64(x[i]) * float64(y[i])
			s += p
			m += math.Abs(p)
		}
		return s, m
	}
	sum := func(x, _ []float32) (float64, float64) {
		var s, m float64
		for _, v := range x {
			s += float64(v)
			m += math.Abs(float64(v))
		}
		return s, m
	}
	maxOf := func(x, _ []float32) (float64, float64) {
		m := math.Inf(-1)
		for _, v := range x {
			if float64(v) > m {
				m = float64(v)
			}
		}
		return m, 0
	}
	runDot := func(s kernelSet, x, y []float32) float32 { return s.dot(x, y) }
	runSum := func(s kernelSet, x, _ []float32) float32 { return s.sum(x) }
	runMax := func(s kernelSet, x, _ []float32) float32 { return s.max(x) }
	reductions := []reduction{
		{"Dot", [][2]float32{{-1, 1}, {-1, 1}}, runDot, dot, false},
		{"Dot/positive", [][2]float32{{0, 2}, {1, 3}}, runDot, dot, false},
		{"Sum", [][2]float32{{-1, 1}, {0, 0}}, runSum, sum, false},
		{"Sum/positive", [][2]float32{{1e3, 1e4}, {0, 0}}, runSum, sum, false},
		{"Max/negative", [][2]float32{{-3, -1}, {0, 0}}, runMax, maxOf, true},
		{"Max", [][2]float32{{-1, 1}, {0, 0}}, runMax, maxOf, true},
		{"Max/huge", [][2]float32{{1e30, 3e38}, {0, 0}}, runMax, maxOf, true},
	}
	for _, red := range reductions {
		t.Run(red.name, func(t *testing.T) {
			for _, set := range kernelSets {
				t.Run(set.name, func(t *testing.T) {
					r := newRand(0x5e0)
					for _, n := range oracleLengths() {
						xb := randBuffer(r, n, n%8, red.ranges[0][0], red.ranges[0][1])
						yb := randBuffer(r, n, (n+3)%8, red.ranges[1][0], red.ranges[1][1])
						got := red.run(set, xb.s(), yb.s())
						want, terms := red.want(xb.s(), yb.s())
						bound := float64(n+1) * roundoff * terms
						if red.exact {
							bound = 0
						}
						if !accept(got, want, bound) {
							t.Fatalf("%s (%s) n=%d: got %v, want %v (±%.3g)", red.name, set.name, n, got, want, bound)
						}
						xb.check(t, red.name+" x")
						yb.check(t, red.name+" y")
					}
				})
			}
		})
	}
}

// TestOracleRMSNorm checks RMSNorm against r = 1/√(Σx²/n + eps) and
// dst = x·r in float64. Σx² of positive terms has a relative error of at
// most n·u (as in TestOracleReductions); /n and +eps add u each; the square
// root halves the relative error; 1/√ and the conversion to float32 add u.
// So r is within ((n+2)/2 + 1)·u relative, and dst one rounding more.
func TestOracleRMSNorm(t *testing.T) {
	for _, set := range kernelSets {
		t.Run(set.name, func(t *testing.T) {
			r := newRand(0x2e5)
			for _, eps := range []float32{1e-6, 0.5} {
				for _, n := range oracleLengths() {
					if n == 0 {
						continue // the empty row is the exported function's case (TestOracleKnownAnswers)
					}
					xb := randBuffer(r, n, n%8, -3, 3)
					db := newBuffer(n, (n+3)%8)
					x, dst := xb.s(), db.s()
					gotR := set.rmsnorm(dst, x, eps)
					var ss float64
					for _, v := range x {
						ss += float64(v) * float64(v)
					}
					wantR := 1 / math.Sqrt(ss/float64(n)+float64(eps))
					relR := (float64(n+2)/2+1)*roundoff + secondOrder
					if !accept(gotR, wantR, relR*wantR) {
						t.Fatalf("RMSNorm (%s) n=%d eps=%v: returned %v, want %v (±%.3g)", set.name, n, eps, gotR, wantR, relR*wantR)
					}
					for i, v := range x {
						want := float64(v) * wantR
						if bound := (relR + roundoff) * math.Abs(want); !accept(dst[i], want, bound) {
							t.Fatalf("RMSNorm (%s) n=%d eps=%v [%d]: got %v, want %v (±%.3g)", set.name, n, eps, i, dst[i], want, bound)
						}
					}
					xb.check(t, "RMSNorm x")
					db.check(t, "RMSNorm dst")
				}
			}
		})
	}
}

// TestOracleSoftmax checks Softmax against e^(xᵢ−m)/Σⱼe^(xⱼ−m) in float64.
// The relative error of dst[i], in the steps the kernels take:
//
//	d = fl(xᵢ − m)       u·|xᵢ−m| absolute, so u·|xᵢ−m| relative in e^d
//	e = exp(d)           expRel
//	s = Σ e              the largest relative error of a term, plus (n−1)·u
//	dst = e·fl(1/s)      2u (or e/s: u)
//
// Terms with xⱼ − m below −87 underflow to 0 or a subnormal: they are off by
// less than tinyNormal each, against s ≥ 1, and are left out of the largest
// relative error.
func TestOracleSoftmax(t *testing.T) {
	for _, set := range kernelSets {
		t.Run(set.name, func(t *testing.T) {
			r := newRand(0x50f)
			for _, span := range []float32{1, 30, 100} {
				for _, n := range oracleLengths() {
					if n == 0 {
						continue // the empty row is the exported function's case (TestOracleKnownAnswers)
					}
					xb := randBuffer(r, n, n%8, -span, span)
					db := newBuffer(n, (n+5)%8)
					x, dst := xb.s(), db.s()
					set.softmax(dst, x)
					m := math.Inf(-1)
					for _, v := range x {
						m = math.Max(m, float64(v))
					}
					var s, worst float64
					for _, v := range x {
						d := float64(v) - m
						s += math.Exp(d)
						if d > -87 {
							worst = math.Max(worst, roundoff*math.Abs(d)+expRel)
						}
					}
					for i, v := range x {
						d := float64(v) - m
						want := math.Exp(d) / s
						rel := roundoff*math.Abs(d) + expRel + worst + float64(n-1)*roundoff + 2*roundoff + secondOrder
						bound := rel*want + float64(n+1)*tinyNormal
						if !accept(dst[i], want, bound) {
							t.Fatalf("Softmax (%s) n=%d span=%v [%d]: got %v, want %v (±%.3g)", set.name, n, span, i, dst[i], want, bound)
						}
					}
					xb.check(t, "Softmax x")
					db.check(t, "Softmax dst")
				}
			}
		})
	}
}

// TestOracleTranspose checks Transpose against the index loop
// dst[j][i] = src[i][j], bitwise, with strides wider than the rows: the
// padding of src is NaN (a kernel that moved it would be seen) and the
// padding of dst must stay untouched.
func TestOracleTranspose(t *testing.T) {
	dims := []int{1, 2, 3, 4, 5, 7, 8, 9, 12, 16, 17, 31, 33}
	if testing.Short() {
		dims = []int{1, 3, 4, 5, 8, 9, 17, 33}
	}
	for _, set := range kernelSets {
		t.Run(set.name, func(t *testing.T) {
			rng := newRand(0x7a5)
			for _, r := range dims {
				for _, c := range dims {
					lds, ldd := c+3, r+5
					sb := newBuffer((r-1)*lds+c, (r+c)%8)
					src := sb.s()
					for i := range r {
						for j := range c {
							src[i*lds+j] = 2*rng.Float32() - 1
						}
					}
					db := newBuffer((c-1)*ldd+r, (r*c)%8)
					dst := db.s()
					set.transpose(dst, ldd, src, lds, r, c)
					for j := range c {
						for i := range ldd {
							at := j*ldd + i
							if at >= len(dst) {
								break
							}
							want := math.Float32frombits(guardBits) // padding: untouched
							if i < r {
								want = src[i*lds+j]
							}
							if math.Float32bits(dst[at]) != math.Float32bits(want) {
								t.Fatalf("Transpose (%s) %d×%d lds=%d ldd=%d: dst[%d][%d] = %v, want %v", set.name, r, c, lds, ldd, j, i, dst[at], want)
							}
						}
					}
					sb.check(t, "Transpose src")
					db.check(t, "Transpose dst")
				}
			}
		})
	}
}

// TestOraclePack checks PackA and PackB against the layouts their
// documentation gives, bitwise: alpha·op(A) is one IEEE multiply, so the
// float64 product rounded to float32. The padding of the sources is NaN, and
// the padding rows and columns of the panels must be zeros.
func TestOraclePack(t *testing.T) {
	dims := []int{1, 2, 5, 6, 7, 13, 16, 17, 33}
	for _, set := range kernelSets {
		t.Run(set.name, func(t *testing.T) {
			r := newRand(0x9ac)
			for _, trans := range []bool{false, true} {
				for _, m := range dims {
					for _, k := range dims {
						alpha := []float32{1, -0.375, 0.3}[(m+k)%3]
						a, lda := nanMatrix(r, m, k, trans, 3, false)
						panels := (m + MR - 1) / MR
						dst := newBuffer(panels*MR*k, m%8)
						set.packA(dst.s(), a, lda, trans, m, k, alpha)
						for q := 0; q < panels; q++ {
							for p := 0; p < k; p++ {
								for i := 0; i < MR; i++ {
									want := 0.0
									if row := q*MR + i; row < m {
										want = float64(alpha) * float64(opAt(a, lda, trans, row, p))
									}
									if got := dst.s()[q*k*MR+p*MR+i]; !accept(got, want, 0) {
										t.Fatalf("PackA (%s) trans=%v %d×%d lda=%d alpha=%v: panel %d p=%d i=%d: got %v, want %v", set.name, trans, m, k, lda, alpha, q, p, i, got, want)
									}
								}
							}
						}
						dst.check(t, "PackA dst")

						// PackB of a k×m op(B).
						b, ldb := nanMatrix(r, k, m, trans, 5, false)
						panels = (m + NR - 1) / NR
						dst = newBuffer(panels*NR*k, k%8)
						set.packB(dst.s(), b, ldb, trans, k, m)
						for q := 0; q < panels; q++ {
							for p := 0; p < k; p++ {
								for j := 0; j < NR; j++ {
									var want float32
									if col := q*NR + j; col < m {
										want = opAt(b, ldb, trans, p, col)
									}
									if got := dst.s()[q*k*NR+p*NR+j]; math.Float32bits(got) != math.Float32bits(want) {
										t.Fatalf("PackB (%s) trans=%v %d×%d ldb=%d: panel %d p=%d j=%d: got %v, want %v", set.name, trans, k, m, ldb, q, p, j, got, want)
									}
								}
							}
						}
						dst.check(t, "PackB dst")
					}
				}
			}
		})
	}
}

// nanMatrix returns a rows×cols matrix op(X), stored transposed when trans
// is set, with a row stride pad wider than the stored rows and NaN in the
// padding: random values in [-1, 1), or small integers in [-4, 4] when ints
// is set.
func nanMatrix(r *rand.Rand, rows, cols int, trans bool, pad int, ints bool) ([]float32, int) {
	sr, sc := rows, cols
	if trans {
		sr, sc = cols, rows
	}
	ld := sc + pad
	if sr == 0 || sc == 0 {
		return nil, ld
	}
	x := make([]float32, (sr-1)*ld+sc)
	for i := range x {
		x[i] = float32(math.NaN())
	}
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			v := 2*r.Float32() - 1
			if ints {
				v = float32(r.IntN(9) - 4)
			}
			x[opIndex(ld, trans, i, j)] = v
		}
	}
	return x, ld
}

// opIndex is the index of op(X)[i][j] in a matrix with row stride ld.
func opIndex(ld int, trans bool, i, j int) int {
	if trans {
		return j*ld + i
	}
	return i*ld + j
}

// opAt returns op(X)[i][j].
func opAt(x []float32, ld int, trans bool, i, j int) float32 { return x[opIndex(ld, trans, i, j)] }

// elementKnown is a known answer of an elementwise kernel: the outputs for
// a short pattern of inputs, which TestOracleKnownAnswers repeats to fill
// rows of every length up to 40, so that each value passes through the
// vector loops and the tails.
type elementKnown struct {
	name string
	run  func(s kernelSet) func(out, in [][]float32)
	in   [][]float32
	want [][]float32
}

func elementKnowns() []elementKnown {
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	negZero := float32(math.Copysign(0, -1))
	return []elementKnown{
		{"Axpy(2, [1 2 -3], [3 4 5])", func(s kernelSet) func(out, in [][]float32) {
			return func(out, in [][]float32) { copy(out[0], in[1]); s.axpy(2, in[0], out[0]) }
		}, [][]float32{{1, 2, -3}, {3, 4, 5}}, [][]float32{{5, 8, -1}}},
		{"Scale(0.5, [2 4 -6])", func(s kernelSet) func(out, in [][]float32) {
			return func(out, in [][]float32) { s.scale(out[0], 0.5, in[0]) }
		}, [][]float32{{2, 4, -6}}, [][]float32{{1, 2, -3}}},
		{"Add([1.5 -2], [2.25 2])", func(s kernelSet) func(out, in [][]float32) {
			return func(out, in [][]float32) { s.add(out[0], in[0], in[1]) }
		}, [][]float32{{1.5, -2}, {2.25, 2}}, [][]float32{{3.75, 0}}},
		{"Mul([1.5 -4], [-4 0.25])", func(s kernelSet) func(out, in [][]float32) {
			return func(out, in [][]float32) { s.mul(out[0], in[0], in[1]) }
		}, [][]float32{{1.5, -4}, {-4, 0.25}}, [][]float32{{-6, -1}}},
		{"Exp", func(s kernelSet) func(out, in [][]float32) {
			return func(out, in [][]float32) { s.exp(out[0], in[0]) }
		}, [][]float32{{0, negZero, inf, -inf, 100, -100, nan}}, [][]float32{{1, 1, inf, 0, inf, 0, nan}}},
		{"SiLU", func(s kernelSet) func(out, in [][]float32) {
			return func(out, in [][]float32) { s.silu(out[0], in[0]) }
		}, [][]float32{{0, 50, 1e30}}, [][]float32{{0, 50, 1e30}}},
		{"SiLUGrad", func(s kernelSet) func(out, in [][]float32) {
			return func(out, in [][]float32) { s.siluGrad(out[0], in[0]) }
		}, [][]float32{{0, 50}}, [][]float32{{0.5, 1}}},
		{"SwiGLU", func(s kernelSet) func(out, in [][]float32) {
			return func(out, in [][]float32) { s.swiglu(out[0], in[0], in[1]) }
		}, [][]float32{{0, 50}, {5, -3}}, [][]float32{{0, -150}}},
		{"SwiGLUGrad", func(s kernelSet) func(out, in [][]float32) {
			return func(out, in [][]float32) { s.swigluGrad(out[0], out[1], in[0], in[1], in[2]) }
		}, [][]float32{{2, -1}, {0, 50}, {3, 4}}, [][]float32{{3, -4}, {0, -50}}},
	}
}

// TestOracleKnownAnswers checks every kernel of every kernel set on inputs
// whose results are exact and written down here (or follow from a closed
// formula): integer sums below 2²⁴, products and sums of a few binary
// fractions, e⁰ = 1, σ(0) = ½, and the documented special values.
func TestOracleKnownAnswers(t *testing.T) {
	for _, set := range kernelSets {
		t.Run(set.name, func(t *testing.T) {
			t.Run("Dot", func(t *testing.T) {
				if got := set.dot([]float32{1, 2, 3}, []float32{4, 5, 6}); got != 32 {
					t.Fatalf("Dot (%s)([1 2 3], [4 5 6]) = %v, want 32", set.name, got)
				}
				// Σ i² for i < n = (n−1)·n·(2n−1)/6: every partial sum in any
				// order is an integer below 2²⁴, so exact.
				for n := 0; n <= 300; n++ {
					x := make([]float32, n)
					for i := range x {
						x[i] = float32(i)
					}
					want := float32((n - 1) * n * (2*n - 1) / 6)
					if got := set.dot(x, x); got != want {
						t.Fatalf("Dot (%s) of [0 1 … %d] with itself = %v, want %v", set.name, n-1, got, want)
					}
				}
			})
			t.Run("Sum", func(t *testing.T) {
				if got := set.sum([]float32{1, 2, 3, 4}); got != 10 {
					t.Fatalf("Sum (%s)([1 2 3 4]) = %v, want 10", set.name, got)
				}
				for n := 0; n <= 300; n++ {
					x := make([]float32, n)
					for i := range x {
						x[i] = float32(i + 1)
					}
					if got, want := set.sum(x), float32(n*(n+1)/2); got != want {
						t.Fatalf("Sum (%s)([1 … %d]) = %v, want %v", set.name, n, got, want)
					}
				}
			})
			t.Run("Max", func(t *testing.T) {
				if got := set.max([]float32{-1, 5, 3}); got != 5 {
					t.Fatalf("Max (%s)([-1 5 3]) = %v, want 5", set.name, got)
				}
				if got := set.max(nil); !math.IsInf(float64(got), -1) {
					t.Fatalf("Max (%s)([]) = %v, want -Inf", set.name, got)
				}
				// A peak of -1 among lower negative values, at every position.
				for n := 1; n <= 40; n++ {
					for peak := 0; peak < n; peak++ {
						x := make([]float32, n)
						for i := range x {
							x[i] = -1 - float32((i-peak)*(i-peak))
						}
						if got := set.max(x); got != -1 {
							t.Fatalf("Max (%s) n=%d, peak -1 at %d: got %v", set.name, n, peak, got)
						}
					}
				}
			})
			for _, k := range elementKnowns() {
				t.Run(k.name, func(t *testing.T) {
					run := k.run(set)
					for n := 1; n <= 40; n++ {
						in := make([][]float32, len(k.in))
						for j, pat := range k.in {
							in[j] = make([]float32, n)
							for i := range in[j] {
								in[j][i] = pat[i%len(pat)]
							}
						}
						out := make([][]float32, len(k.want))
						for o := range out {
							out[o] = make([]float32, n)
						}
						run(out, in)
						for o, pat := range k.want {
							for i, got := range out[o] {
								if want := pat[i%len(pat)]; !accept(got, float64(want), 0) {
									t.Fatalf("%s (%s) n=%d output %d [%d]: got %v, want %v", k.name, set.name, n, o, i, got, want)
								}
							}
						}
					}
				})
			}
			t.Run("RMSNorm", func(t *testing.T) {
				// A row of ±2: mean square 4, r = ½, dst = ±1; zeros with
				// eps = ¼: r = 2, dst = 0.
				for n := 1; n <= 40; n++ {
					for _, c := range []struct{ v, eps, r, out float32 }{{2, 0, 0.5, 1}, {-2, 0, 0.5, -1}, {0, 0.25, 2, 0}} {
						x := make([]float32, n)
						for i := range x {
							x[i] = c.v
						}
						dst := make([]float32, n)
						if got := set.rmsnorm(dst, x, c.eps); got != c.r {
							t.Fatalf("RMSNorm (%s) of %d×%v, eps=%v: returned %v, want %v", set.name, n, c.v, c.eps, got, c.r)
						}
						for i, got := range dst {
							if got != c.out {
								t.Fatalf("RMSNorm (%s) of %d×%v, eps=%v: [%d] = %v, want %v", set.name, n, c.v, c.eps, i, got, c.out)
							}
						}
					}
				}
				// [1 7]: mean square 25, r = 1/5 rounded once.
				if got := set.rmsnorm(make([]float32, 2), []float32{1, 7}, 0); got != 0.2 {
					t.Fatalf("RMSNorm (%s)([1 7]) returned %v, want float32(0.2)", set.name, got)
				}
			})
			t.Run("Softmax", func(t *testing.T) {
				// Equal values: e⁰ = 1 each, Σ = n, dst = 1/n rounded once.
				for n := 1; n <= 40; n++ {
					x := make([]float32, n)
					for i := range x {
						x[i] = 3
					}
					set.softmax(x, x)
					for i, got := range x {
						if want := float32(1 / float64(n)); got != want {
							t.Fatalf("Softmax (%s) of %d equal values: [%d] = %v, want %v", set.name, n, i, got, want)
						}
					}
				}
				inf := float32(math.Inf(1))
				for _, c := range []struct{ x, want []float32 }{
					{[]float32{0, 0, 0, 0}, []float32{0.25, 0.25, 0.25, 0.25}},
					{[]float32{-inf, 0}, []float32{0, 1}},
					{[]float32{1e30, -inf, -inf, 5}, []float32{1, 0, 0, 0}},
				} {
					dst := make([]float32, len(c.x))
					set.softmax(dst, c.x)
					for i := range dst {
						if dst[i] != c.want[i] {
							t.Fatalf("Softmax (%s)(%v) = %v, want %v", set.name, c.x, dst, c.want)
						}
					}
				}
			})
			t.Run("Transpose", func(t *testing.T) {
				dst := make([]float32, 6)
				set.transpose(dst, 2, []float32{1, 2, 3, 4, 5, 6}, 3, 2, 3)
				want := []float32{1, 4, 2, 5, 3, 6}
				for i := range want {
					if dst[i] != want[i] {
						t.Fatalf("Transpose (%s) of [[1 2 3] [4 5 6]] = %v, want %v", set.name, dst, want)
					}
				}
			})
		})
	}
	// The empty row is handled by the exported functions only.
	if got := RMSNorm(nil, nil, 1e-6); got != 0 {
		t.Fatalf("RMSNorm of an empty row returned %v, want 0", got)
	}
	Softmax(nil, nil)
}
