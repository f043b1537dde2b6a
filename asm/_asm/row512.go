package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The AVX-512 versions of the exp-based row ops: the same instructions as the
// AVX2 ones (row.go), lane for lane, on ZMM registers — so every lane's
// result is bitwise that of the AVX2 kernel and of the generic code — with
// the constants as embedded broadcasts of the AVX2 kernels' tables, mask
// registers where the AVX2 code blends with a vector mask, and the row's
// tail under a lane mask in a k register. They use AVX512F only.

// lanes512 is the number of float32 values in one ZMM register.
const lanes512 = 16

func genRow512() {
	genUnary512("expAVX512", "e^x[i]", func(x VecVirtual) VecVirtual { return exp16(x) })
	genUnary512("siluAVX512", "x[i]·σ(x[i])", func(x VecVirtual) VecVirtual {
		s := sigmoid16(x)
		VMULPS(s, x, s)
		return s
	})
	genUnary512("siluGradAVX512", "σ(x)·(1 + x·(1−σ(x)))", func(x VecVirtual) VecVirtual {
		return siluGrad16(x, sigmoid16(x))
	})
	genSwiGLU512()
	genSwiGLUGrad512()
}

// one16 returns a ZMM register holding 1.0 in every lane.
func one16() VecVirtual {
	v := ZMM()
	VBROADCASTSS(splatF("one", 1), v)
	return v
}

// exp16 is exp8 (row.go) on the sixteen lanes of x (preserved), instruction
// for instruction: VRNDSCALEPS $1 is the floor that VROUNDPS $1 is, and the
// two range fixes blend under k masks instead of vector masks.
func exp16(x VecVirtual) VecVirtual {
	k, r, p := ZMM(), ZMM(), ZMM()
	VBROADCASTSS(splatF("half", 0.5), k)
	VFMADD231PS_BCST(splatF("log2e", log2e), x, k) // k = x·log2e + 0.5
	VRNDSCALEPS(U8(1), k, k)                       // floor
	VMOVAPS(x, r)
	VFNMADD231PS_BCST(splatF("ln2hi", ln2Hi), k, r) // r = x − k·ln2Hi (exact)
	VFNMADD231PS_BCST(splatF("ln2lo", ln2Lo), k, r) // r −= k·ln2Lo
	VBROADCASTSS(splatF("expc7", expC7), p)
	VFMADD213PS_BCST(splatF("expc6", expC6), r, p) // p = p·r + c6
	VFMADD213PS_BCST(splatF("expc5", expC5), r, p)
	VFMADD213PS_BCST(splatF("expc4", expC4), r, p)
	VFMADD213PS_BCST(splatF("expc3", expC3), r, p)
	VFMADD213PS_BCST(splatF("expc2", expC2), r, p)
	VMULPS(r, p, p)                     // p·r
	VFMADD213PS(r, r, p)                // (p·r)·r + r
	VADDPS_BCST(splatF("one", 1), p, p) // + 1
	Comment("scale by 2^k: add k to the exponent field of p")
	VCVTPS2DQ(k, k)
	VPSLLD(U8(23), k, k)
	VPADDD(k, p, p)
	Comment("x > expHi: +Inf; x < expLo: 0 (the comparison keeps NaN lanes)")
	m := K()
	VCMPPS_BCST(U8(cmpGTOQ), splatF("exphi", expHi), x, m)
	VBLENDMPS_BCST(splat("posinf", 0x7f800000), p, m, p)
	VCMPPS_BCST(U8(cmpNLTUQ), splatF("explo", expLo), x, m)
	VMOVAPS_Z(p, m, p)
	return p
}

// sigmoid16 is sigmoid8 on sixteen lanes.
func sigmoid16(x VecVirtual) VecVirtual {
	nx := ZMM()
	VPXORD_BCST(splat("signbit", 0x80000000), x, nx) // −x
	e := exp16(nx)
	o := one16()
	VADDPS(o, e, e)
	VDIVPS(e, o, e) // 1/(1 + e^(−x))
	return e
}

// siluGrad16 is siluGrad8 on sixteen lanes.
func siluGrad16(x, s VecVirtual) VecVirtual {
	o := one16()
	t := ZMM()
	VSUBPS(s, o, t) // 1 − s
	VMULPS(x, t, t) // x·(1 − s)
	VADDPS(o, t, t) // 1 + x·(1 − s)
	VMULPS(s, t, t) // s·(1 + x·(1 − s))
	return t
}

// block512 is block (loops.go) for ZMM vectors: vecs vectors of sixteen
// float32s, or in the tail one vector of which the lanes set in the k
// register mask are in bounds. Masked loads zero the other lanes and masked
// stores leave their memory untouched; neither faults on them.
type block512 struct {
	vecs int
	mask OpmaskVirtual // nil except in the masked tail
}

func (b block512) masked() bool { return b.mask != nil }

// in returns vector i of the row at p as a source operand.
func (b block512) in(p GPVirtual, i int) Op {
	if !b.masked() {
		return Mem{Base: p, Disp: 64 * i}
	}
	return b.load(p, i)
}

// load returns vector i of the row at p in a register.
func (b block512) load(p GPVirtual, i int) VecVirtual {
	v := ZMM()
	m := Mem{Base: p, Disp: 64 * i}
	if b.masked() {
		VMOVUPS_Z(m, b.mask, v)
	} else {
		VMOVUPS(m, v)
	}
	return v
}

// store writes v to vector i of the row at p.
func (b block512) store(v VecVirtual, p GPVirtual, i int) {
	m := Mem{Base: p, Disp: 64 * i}
	if b.masked() {
		VMOVUPS(v, b.mask, m)
	} else {
		VMOVUPS(v, m)
	}
}

// forEach512 is forEach (loops.go) for ZMM vectors: blocks of unroll
// vectors, then single vectors, then one block for the last 1..15 elements
// under the k mask (1<<n)−1, built with SHLX (BMI2: present on every CPU
// with AVX-512F; the dispatch checks it too).
func forEach512(name string, n GPVirtual, ps []GPVirtual, unroll int, body func(b block512)) {
	advance := func(vecs int) {
		for _, p := range ps {
			ADDQ(U32(64*vecs), p)
		}
		SUBQ(U32(lanes512*vecs), n)
	}
	Commentf("%s: %d vectors (%d elements) per iteration", name, unroll, unroll*lanes512)
	CMPQ(n, U32(unroll*lanes512))
	JB(LabelRef(name + "_single"))
	Label(name + "_unrolled")
	body(block512{vecs: unroll})
	advance(unroll)
	CMPQ(n, U32(unroll*lanes512))
	JAE(LabelRef(name + "_unrolled"))

	Label(name + "_single")
	Commentf("%s: one vector per iteration", name)
	CMPQ(n, U32(lanes512))
	JB(LabelRef(name + "_tail"))
	body(block512{vecs: 1})
	advance(1)
	JMP(LabelRef(name + "_single"))

	Label(name + "_tail")
	Commentf("%s: the last 1..15 elements under a lane mask", name)
	TESTQ(n, n)
	JZ(LabelRef(name + "_done"))
	bitsReg := GP32()
	MOVL(U32(1), bitsReg)
	SHLXL(n.As32(), bitsReg, bitsReg) // 1<<n (BMI2, which every AVX-512 CPU has)
	DECL(bitsReg)
	mask := K()
	KMOVW(bitsReg, mask)
	body(block512{vecs: 1, mask: mask})
	Label(name + "_done")
}

// genUnary512 is genUnary for ZMM vectors.
func genUnary512(name, what string, f func(x VecVirtual) VecVirtual) {
	TEXT(name, NOSPLIT, "func(dst, x []float32)")
	Pragma("noescape")
	Doc(name + " computes dst[i] = " + what + "; len(x) >= len(dst). dst may be x.")
	n := length("dst")
	p := ptrs("dst", "x")
	forEach512("unary", n, p, rowUnroll, func(b block512) {
		for i := 0; i < b.vecs; i++ {
			b.store(f(b.load(p[1], i)), p[0], i)
		}
	})
	VZEROUPPER()
	RET()
}

// genSwiGLU512 is genSwiGLU for ZMM vectors.
func genSwiGLU512() {
	TEXT("swigluAVX512", NOSPLIT, "func(dst, gate, up []float32)")
	Pragma("noescape")
	Doc("swigluAVX512 computes dst[i] = silu(gate[i])·up[i]; len(gate), len(up) >= len(dst).",
		"dst may alias gate or up.")
	n := length("dst")
	p := ptrs("dst", "gate", "up")
	forEach512("swiglu", n, p, rowUnroll, func(b block512) {
		for i := 0; i < b.vecs; i++ {
			g := b.load(p[1], i)
			s := sigmoid16(g)
			VMULPS(g, s, s)             // silu(g)
			VMULPS(b.in(p[2], i), s, s) // · up
			b.store(s, p[0], i)
		}
	})
	VZEROUPPER()
	RET()
}

// genSwiGLUGrad512 is genSwiGLUGrad for ZMM vectors.
func genSwiGLUGrad512() {
	TEXT("swigluGradAVX512", NOSPLIT, "func(dgate, dup, dy, gate, up []float32)")
	Pragma("noescape")
	Doc("swigluGradAVX512 is the backward pass of swigluAVX512; see SwiGLUGrad.",
		"All slices are at least len(dy) long.")
	n := length("dy")
	p := ptrs("dgate", "dup", "dy", "gate", "up")
	forEach512("swiglugrad", n, p, rowUnroll, func(b block512) {
		for i := 0; i < b.vecs; i++ {
			d := b.load(p[2], i)
			g := b.load(p[3], i)
			u := b.load(p[4], i)
			s := sigmoid16(g)
			dg := siluGrad16(g, s)
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
