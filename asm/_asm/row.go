package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The constants of e^x. They must be the float32 values of the constants of
// the same names in ../row_generic.go (exp1), which documents them.
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

// rowUnroll is the number of vectors per iteration of the exp-based loops.
// Each vector is a dependency chain of ~20 instructions; the out-of-order
// core overlaps the chains of consecutive vectors, so unrolling further only
// saves loop overhead.
const rowUnroll = 2

func genRow() {
	for _, v := range []isa{avx2, avx512} {
		genUnary(v, "exp", "e^x[i]", v.exp)
		genUnary(v, "silu", "x[i]·σ(x[i])", func(x VecVirtual) VecVirtual {
			s := v.sigmoid(x)
			VMULPS(s, x, s)
			return s
		})
		genUnary(v, "siluGrad", "σ(x)·(1 + x·(1−σ(x)))", func(x VecVirtual) VecVirtual {
			return v.siluGrad(x, v.sigmoid(x))
		})
		genSwiGLU(v)
		genSwiGLUGrad(v)
	}
	genSoftmax()
}

// isa is one vector instruction set the exp-based row ops are generated
// for: its function-name suffix, its element loop and its exp, σ and silu'
// on one register. The AVX-512 functions (row512.go) are the AVX2 ones
// (below) instruction for instruction on ZMM registers.
type isa struct {
	suffix   string
	forEach  func(name string, n GPVirtual, ps []GPVirtual, unroll int, body func(b rowBlock))
	exp      func(x VecVirtual) VecVirtual
	sigmoid  func(x VecVirtual) VecVirtual
	siluGrad func(x, s VecVirtual) VecVirtual
}

// rowBlock is what the row ops' loop bodies need of a block (loops.go) or a
// block512 (row512.go).
type rowBlock interface {
	count() int // vectors in the block
	in(p GPVirtual, i int) Op
	load(p GPVirtual, i int) VecVirtual
	store(v VecVirtual, p GPVirtual, i int)
}

// avx2 is the isa of the AVX2 row ops.
var avx2 = isa{
	suffix: "AVX2",
	forEach: func(name string, n GPVirtual, ps []GPVirtual, unroll int, body func(b rowBlock)) {
		forEach(name, n, ps, unroll, func(b block) { body(b) })
	},
	exp: exp8, sigmoid: sigmoid8, siluGrad: siluGrad8,
}

// one returns a register holding 1.0 in every lane.
func one() VecVirtual {
	v := YMM()
	VMOVUPS(splatF("one", 1), v)
	return v
}

// exp8 returns e^x for the eight lanes of x (preserved), with the algorithm
// of exp1 in row_generic.go, step for step:
//
//	k = floor(x·log2e + 0.5)                      fused
//	r = x − k·ln2Hi − k·ln2Lo                     two fused steps
//	p = c2 + r(c3 + r(c4 + r(c5 + r(c6 + r·c7))))  Horner, fused
//	p = (p·r)·r + r + 1
//	e^x = p·2^k                                   k added to the exponent bits of p
//
// Out of range: x > expHi gives +Inf, x < expLo gives 0; NaN stays NaN (it
// flows through every step: the converted k of a NaN, 0x80000000, shifts to 0).
func exp8(x VecVirtual) VecVirtual {
	k, r, p := YMM(), YMM(), YMM()
	VMOVUPS(splatF("half", 0.5), k)
	VFMADD231PS(splatF("log2e", log2e), x, k) // k = x·log2e + 0.5
	VROUNDPS(U8(1), k, k)                     // floor
	VMOVAPS(x, r)
	VFNMADD231PS(splatF("ln2hi", ln2Hi), k, r) // r = x − k·ln2Hi (exact)
	VFNMADD231PS(splatF("ln2lo", ln2Lo), k, r) // r −= k·ln2Lo
	VMOVUPS(splatF("expc7", expC7), p)
	VFMADD213PS(splatF("expc6", expC6), r, p) // p = p·r + c6
	VFMADD213PS(splatF("expc5", expC5), r, p)
	VFMADD213PS(splatF("expc4", expC4), r, p)
	VFMADD213PS(splatF("expc3", expC3), r, p)
	VFMADD213PS(splatF("expc2", expC2), r, p)
	VMULPS(r, p, p)                // p·r
	VFMADD213PS(r, r, p)           // (p·r)·r + r
	VADDPS(splatF("one", 1), p, p) // + 1
	Comment("scale by 2^k: add k to the exponent field of p")
	VCVTPS2DQ(k, k)
	VPSLLD(U8(23), k, k)
	VPADDD(k, p, p)
	Comment("x > expHi: +Inf; x < expLo: 0 (the comparison keeps NaN lanes)")
	VCMPPS(U8(cmpGTOQ), splatF("exphi", expHi), x, r)
	VBLENDVPS(r, splat("posinf", 0x7f800000), p, p)
	VCMPPS(U8(cmpNLTUQ), splatF("explo", expLo), x, r)
	VANDPS(r, p, p)
	return p
}

// sigmoid8 returns σ(x) = 1/(1 + e^(−x)) for the eight lanes of x
// (preserved), as sigmoid1 in row_generic.go.
func sigmoid8(x VecVirtual) VecVirtual {
	nx := YMM()
	VXORPS(splat("signbit", 0x80000000), x, nx) // −x
	e := exp8(nx)
	o := one()
	VADDPS(o, e, e)
	VDIVPS(e, o, e) // 1/(1 + e^(−x))
	return e
}

// siluGrad8 returns silu'(x) = s·(1 + x·(1 − s)) given s = σ(x); both
// inputs are preserved.
func siluGrad8(x, s VecVirtual) VecVirtual {
	o := one()
	t := YMM()
	VSUBPS(s, o, t) // 1 − s
	VMULPS(x, t, t) // x·(1 − s)
	VADDPS(o, t, t) // 1 + x·(1 − s)
	VMULPS(s, t, t) // s·(1 + x·(1 − s))
	return t
}

// genUnary emits func name+v.suffix(dst, x []float32) computing
// dst[i] = f(x[i]).
func genUnary(v isa, name, what string, f func(x VecVirtual) VecVirtual) {
	name += v.suffix
	TEXT(name, NOSPLIT, "func(dst, x []float32)")
	Pragma("noescape")
	Doc(name + " computes dst[i] = " + what + "; len(x) >= len(dst). dst may be x.")
	n := length("dst")
	p := ptrs("dst", "x")
	v.forEach("unary", n, p, rowUnroll, func(b rowBlock) {
		for i := 0; i < b.count(); i++ {
			b.store(f(b.load(p[1], i)), p[0], i)
		}
	})
	VZEROUPPER()
	RET()
}

// genSwiGLU emits swiglu+v.suffix: dst[i] = (g·σ(g))·up[i] with g = gate[i].
func genSwiGLU(v isa) {
	name := "swiglu" + v.suffix
	TEXT(name, NOSPLIT, "func(dst, gate, up []float32)")
	Pragma("noescape")
	Doc(name+" computes dst[i] = silu(gate[i])·up[i]; len(gate), len(up) >= len(dst).",
		"dst may alias gate or up.")
	n := length("dst")
	p := ptrs("dst", "gate", "up")
	v.forEach("swiglu", n, p, rowUnroll, func(b rowBlock) {
		for i := 0; i < b.count(); i++ {
			g := b.load(p[1], i)
			s := v.sigmoid(g)
			VMULPS(g, s, s)             // silu(g)
			VMULPS(b.in(p[2], i), s, s) // · up
			b.store(s, p[0], i)
		}
	})
	VZEROUPPER()
	RET()
}

// genSwiGLUGrad emits swigluGrad+v.suffix, the backward pass of SwiGLU:
//
//	dgate[i] = (dy·up)·silu'(g),  dup[i] = dy·silu(g),  g = gate[i]
//
// All inputs of a block are loaded before either output is stored, so dgate
// and dup may alias dy.
func genSwiGLUGrad(v isa) {
	name := "swigluGrad" + v.suffix
	TEXT(name, NOSPLIT, "func(dgate, dup, dy, gate, up []float32)")
	Pragma("noescape")
	Doc(name+" is the backward pass of swiglu"+v.suffix+"; see SwiGLUGrad.",
		"All slices are at least len(dy) long.")
	n := length("dy")
	p := ptrs("dgate", "dup", "dy", "gate", "up")
	v.forEach("swiglugrad", n, p, rowUnroll, func(b rowBlock) {
		for i := 0; i < b.count(); i++ {
			d := b.load(p[2], i)
			g := b.load(p[3], i)
			u := b.load(p[4], i)
			s := v.sigmoid(g)
			dg := v.siluGrad(g, s)
			VMULPS(d, u, u)   // dy·up
			VMULPS(dg, u, dg) // (dy·up)·silu'(g)
			VMULPS(g, s, s)   // silu(g)
			VMULPS(d, s, s)   // dy·silu(g)
			b.store(dg, p[0], i)
			b.store(s, p[1], i)
		}
	})
	VZEROUPPER()
	RET()
}

// genSoftmax emits softmaxAVX2 in three passes over the row, like
// softmaxGeneric: m = max x; dst = e^(x−m) and s = Σ dst; dst ·= 1/s.
func genSoftmax() {
	TEXT("softmaxAVX2", NOSPLIT, "func(dst, x []float32)")
	Pragma("noescape")
	Doc("softmaxAVX2 computes dst = exp(x − max x) / Σ exp(x − max x); len(x) >= len(dst) > 0.",
		"dst may be x.")

	Comment("pass 1: m = max x")
	acc := maxAccumulators(vecUnroll)
	x := ptrs("x")
	forEach("max", length("dst"), x, vecUnroll, func(b block) { maxStep(b, x[0], acc) })
	m := YMM()
	VBROADCASTSS(hmax(maxAll(acc)), m)

	Comment("pass 2: dst = e^(x − m), sums in two accumulators")
	sums := zeros(rowUnroll)
	p := ptrs("dst", "x")
	forEach("exp", length("dst"), p, rowUnroll, func(b block) {
		for i := 0; i < b.vecs; i++ {
			v := b.load(p[1], i)
			VSUBPS(m, v, v)
			e := exp8(v)
			b.store(e, p[0], i)
			if b.masked() {
				VANDPS(b.mask, e, e) // lanes outside the row must not count
			}
			VADDPS(e, sums[i], sums[i])
		}
	})

	Comment("pass 3: dst ·= 1/s")
	inv := XMM()
	VMOVSS(splatF("one", 1), inv)
	VDIVSS(hsum(addAll(sums)), inv, inv)
	scale := YMM()
	VBROADCASTSS(inv, scale)
	d := ptrs("dst")
	forEach("scale", length("dst"), d, vecUnroll, func(b block) {
		for i := 0; i < b.vecs; i++ {
			v := YMM()
			VMULPS(b.in(d[0], i), scale, v)
			b.store(v, d[0], i)
		}
	})
	VZEROUPPER()
	RET()
}
