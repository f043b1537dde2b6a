package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// Loop unrolling of the vector primitives: 4 vectors (32 floats) per
// iteration, and as many independent accumulators in the reductions, which
// hides the 3–4 cycle latency of VADDPS/VFMADD.
const vecUnroll = 4

func genVec() {
	genDot()
	genSumSquares()
	genSum()
	genMax()
	genAxpy()
	genScale()
	genBinary("addAVX2", "dst[i] = x[i] + y[i]", func(y Op, x, dst VecVirtual) { VADDPS(y, x, dst) })
	genBinary("mulAVX2", "dst[i] = x[i] · y[i]", func(y Op, x, dst VecVirtual) { VMULPS(y, x, dst) })
	genTranspose()
	genAdamATan2()
}

// genDot emits dotAVX2: Σ x[i]·y[i] with one FMA accumulator per unrolled
// vector. Masked tail loads read zeros, which add nothing.
func genDot() {
	TEXT("dotAVX2", NOSPLIT, "func(x, y []float32) float32")
	Pragma("noescape")
	Doc("dotAVX2 returns Σ x[i]·y[i]; len(y) >= len(x).")
	n := length("x")
	p := ptrs("x", "y")
	acc := zeros(vecUnroll)
	forEach("dot", n, p, vecUnroll, func(b block) {
		for i := 0; i < b.vecs; i++ {
			x := b.load(p[0], i)
			VFMADD231PS(b.in(p[1], i), x, acc[i])
		}
	})
	Store(hsum(addAll(acc)), ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// genSumSquares emits sumSquaresAVX2: Σ x[i]², the first half of RMSNorm.
func genSumSquares() {
	TEXT("sumSquaresAVX2", NOSPLIT, "func(x []float32) float32")
	Pragma("noescape")
	Doc("sumSquaresAVX2 returns Σ x[i]².")
	n := length("x")
	p := ptrs("x")
	acc := zeros(vecUnroll)
	forEach("sumsq", n, p, vecUnroll, func(b block) {
		for i := 0; i < b.vecs; i++ {
			x := b.load(p[0], i)
			VFMADD231PS(x, x, acc[i])
		}
	})
	Store(hsum(addAll(acc)), ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// genSum emits sumAVX2: Σ x[i].
func genSum() {
	TEXT("sumAVX2", NOSPLIT, "func(x []float32) float32")
	Pragma("noescape")
	Doc("sumAVX2 returns Σ x[i].")
	n := length("x")
	p := ptrs("x")
	acc := zeros(vecUnroll)
	forEach("sum", n, p, vecUnroll, func(b block) {
		for i := 0; i < b.vecs; i++ {
			VADDPS(b.in(p[0], i), acc[i], acc[i])
		}
	})
	Store(hsum(addAll(acc)), ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// genMax emits maxAVX2: the largest x[i], -Inf for an empty row. In the
// masked tail the lanes outside the row are replaced by acc[0]'s own lanes
// (VBLENDVPS), so they cannot change the maximum.
func genMax() {
	TEXT("maxAVX2", NOSPLIT, "func(x []float32) float32")
	Pragma("noescape")
	Doc("maxAVX2 returns the largest x[i], or -Inf when x is empty.")
	n := length("x")
	p := ptrs("x")
	acc := maxAccumulators(vecUnroll)
	forEach("max", n, p, vecUnroll, func(b block) { maxStep(b, p[0], acc) })
	Store(hmax(maxAll(acc)), ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// maxAccumulators returns n registers holding -Inf in every lane.
func maxAccumulators(n int) []VecVirtual {
	negInf := splat("neginf", 0xff800000)
	acc := make([]VecVirtual, n)
	for i := range acc {
		acc[i] = YMM()
		VMOVUPS(negInf, acc[i])
	}
	return acc
}

// maxStep folds one block of the row at p into the max accumulators.
func maxStep(b block, p GPVirtual, acc []VecVirtual) {
	if b.masked() {
		x := b.load(p, 0)
		VBLENDVPS(b.mask, x, acc[0], x) // x = mask ? x : acc[0]
		VMAXPS(x, acc[0], acc[0])
		return
	}
	for i := 0; i < b.vecs; i++ {
		VMAXPS(b.in(p, i), acc[i], acc[i])
	}
}

// maxAll folds the max accumulators into acc[0] and returns it.
func maxAll(acc []VecVirtual) VecVirtual {
	for i := 1; i < len(acc); i++ {
		VMAXPS(acc[i], acc[0], acc[0])
	}
	return acc[0]
}

// genAxpy emits axpyAVX2: y[i] += alpha·x[i], fused (one rounding).
func genAxpy() {
	TEXT("axpyAVX2", NOSPLIT, "func(alpha float32, x, y []float32)")
	Pragma("noescape")
	Doc("axpyAVX2 computes y[i] += alpha·x[i]; len(y) >= len(x).")
	alpha := YMM()
	VBROADCASTSS(Load(Param("alpha"), XMM()), alpha)
	n := length("x")
	p := ptrs("x", "y")
	forEach("axpy", n, p, vecUnroll, func(b block) {
		for i := 0; i < b.vecs; i++ {
			y := b.load(p[1], i)
			VFMADD231PS(b.in(p[0], i), alpha, y)
			b.store(y, p[1], i)
		}
	})
	VZEROUPPER()
	RET()
}

// genScale emits scaleAVX2: dst[i] = alpha·x[i].
func genScale() {
	TEXT("scaleAVX2", NOSPLIT, "func(dst []float32, alpha float32, x []float32)")
	Pragma("noescape")
	Doc("scaleAVX2 computes dst[i] = alpha·x[i]; len(x) >= len(dst).")
	alpha := YMM()
	VBROADCASTSS(Load(Param("alpha"), XMM()), alpha)
	n := length("dst")
	p := ptrs("dst", "x")
	forEach("scale", n, p, vecUnroll, func(b block) {
		for i := 0; i < b.vecs; i++ {
			v := YMM()
			VMULPS(b.in(p[1], i), alpha, v)
			b.store(v, p[0], i)
		}
	})
	VZEROUPPER()
	RET()
}

// genBinary emits an element-wise function of two rows,
// func(dst, x, y []float32), where op(y, x, dst) computes one vector.
func genBinary(name, what string, op func(y Op, x, dst VecVirtual)) {
	TEXT(name, NOSPLIT, "func(dst, x, y []float32)")
	Pragma("noescape")
	Doc(name+" computes "+what+"; len(x), len(y) >= len(dst).", "dst may alias x or y.")
	n := length("dst")
	p := ptrs("dst", "x", "y")
	forEach("binary", n, p, vecUnroll, func(b block) {
		for i := 0; i < b.vecs; i++ {
			x := b.load(p[1], i)
			op(b.in(p[2], i), x, x)
			b.store(x, p[0], i)
		}
	})
	VZEROUPPER()
	RET()
}
