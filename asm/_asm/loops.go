package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// lanes is the number of float32 values in one YMM register.
const lanes = 8

// Comparison predicates of VCMPPS (the imm8 operand).
const (
	cmpNLTUQ = 0x15 // !(a < b), true when either operand is NaN
	cmpGTOQ  = 0x1e // a > b, false when either operand is NaN
)

// consts holds the read-only vectors emitted so far in the current file, by
// name, so that each is defined once.
var consts = map[string]Mem{}

// splat returns a 32-byte read-only vector holding bits in all eight lanes.
func splat(name string, bits uint32) Mem {
	if m, ok := consts[name]; ok {
		return m
	}
	m := GLOBL(name, RODATA|NOPTR)
	for i := 0; i < lanes; i++ {
		DATA(4*i, U32(bits))
	}
	consts[name] = m
	return m
}

// splatF returns a 32-byte read-only vector holding v in all eight lanes.
func splatF(name string, v float32) Mem { return splat(name, math.Float32bits(v)) }

// tailMask loads the lane mask for the last n (1..7) elements of a row: lanes
// 0..n-1 all ones, the rest zero. It reads eight entries of a 16-entry table
// (8 × all-ones, then 8 × zero) starting at entry 8-n. n is clobbered.
func tailMask(n GPVirtual) VecVirtual {
	table, ok := consts["tailmask"]
	if !ok {
		table = GLOBL("tailmask", RODATA|NOPTR)
		for i := 0; i < 2*lanes; i++ {
			v := uint32(0)
			if i < lanes {
				v = 0xffffffff
			}
			DATA(4*i, U32(v))
		}
		consts["tailmask"] = table
	}
	base := GP64()
	LEAQ(table.Offset(4*lanes), base)
	NEGQ(n)
	mask := YMM()
	VMOVDQU(Mem{Base: base, Index: n, Scale: 4}, mask)
	return mask
}

// A block is one step of an element-wise loop: vecs consecutive vectors of
// eight float32s, or, in the tail of a row, a single vector of which only the
// lanes set in mask are in bounds. Loads in the tail read zeros outside the
// mask and stores leave memory outside the mask untouched (VMASKMOVPS), so no
// access ever leaves the row.
type block struct {
	vecs int
	mask VecVirtual // nil except in the masked tail
}

func (b block) masked() bool { return b.mask != nil }

func (b block) count() int { return b.vecs }

// in returns vector i of the row at p as a source operand of an arithmetic
// instruction: a memory operand in full blocks, a masked load in the tail.
func (b block) in(p GPVirtual, i int) Op {
	if !b.masked() {
		return Mem{Base: p, Disp: 32 * i}
	}
	return b.load(p, i)
}

// load returns vector i of the row at p in a register.
func (b block) load(p GPVirtual, i int) VecVirtual {
	v := YMM()
	m := Mem{Base: p, Disp: 32 * i}
	if b.masked() {
		VMASKMOVPS(m, b.mask, v)
	} else {
		VMOVUPS(m, v)
	}
	return v
}

// store writes v to vector i of the row at p.
func (b block) store(v VecVirtual, p GPVirtual, i int) {
	m := Mem{Base: p, Disp: 32 * i}
	if b.masked() {
		VMASKMOVPS(v, b.mask, m)
	} else {
		VMOVUPS(v, m)
	}
}

// forEach emits a loop over the n float32s of one or more rows whose
// pointers are ps: blocks of unroll vectors while at least unroll×8 elements
// remain, then single vectors, then one masked block for the last 1..7
// elements. body emits the work of one block. n and the pointers are
// clobbered. name prefixes the labels, so a function may hold several loops.
func forEach(name string, n GPVirtual, ps []GPVirtual, unroll int, body func(b block)) {
	advance := func(vecs int) {
		for _, p := range ps {
			ADDQ(U32(32*vecs), p)
		}
		SUBQ(U32(lanes*vecs), n)
	}
	if unroll > 1 {
		Commentf("%s: %d vectors (%d elements) per iteration", name, unroll, unroll*lanes)
		CMPQ(n, U32(unroll*lanes))
		JB(LabelRef(name + "_single"))
		Label(name + "_unrolled")
		body(block{vecs: unroll})
		advance(unroll)
		CMPQ(n, U32(unroll*lanes))
		JAE(LabelRef(name + "_unrolled"))
	}
	Label(name + "_single")
	Commentf("%s: one vector per iteration", name)
	CMPQ(n, U32(lanes))
	JB(LabelRef(name + "_tail"))
	body(block{vecs: 1})
	advance(1)
	JMP(LabelRef(name + "_single"))

	Label(name + "_tail")
	Commentf("%s: the last 1..7 elements under a lane mask", name)
	TESTQ(n, n)
	JZ(LabelRef(name + "_done"))
	body(block{vecs: 1, mask: tailMask(n)})
	Label(name + "_done")
}

// zeros returns n YMM registers set to zero.
func zeros(n int) []VecVirtual {
	vs := make([]VecVirtual, n)
	for i := range vs {
		vs[i] = YMM()
		VXORPS(vs[i], vs[i], vs[i])
	}
	return vs
}

// addAll folds the accumulators into vs[0], pairwise, and returns it.
func addAll(vs []VecVirtual) VecVirtual {
	for len(vs) > 1 {
		for i := 0; i+1 < len(vs); i += 2 {
			VADDPS(vs[i+1], vs[i], vs[i])
		}
		half := vs[:0:0]
		for i := 0; i < len(vs); i += 2 {
			half = append(half, vs[i])
		}
		vs = half
	}
	return vs[0]
}

// hsum adds the eight lanes of v (clobbered) and returns the sum in lane 0 of
// an XMM register.
func hsum(v VecVirtual) VecVirtual {
	return hreduce(v, func(a, b, dst Op) { VADDPS(a, b, dst) }, func(a, b, dst Op) { VADDSS(a, b, dst) })
}

// hmax returns the largest of the eight lanes of v (clobbered) in lane 0 of an
// XMM register.
func hmax(v VecVirtual) VecVirtual {
	return hreduce(v, func(a, b, dst Op) { VMAXPS(a, b, dst) }, func(a, b, dst Op) { VMAXSS(a, b, dst) })
}

// hreduce folds the eight lanes of v with op: high half onto low half, then
// lanes 2,3 onto 0,1, then lane 1 onto lane 0 (opss).
func hreduce(v VecVirtual, op, opss func(a, b, dst Op)) VecVirtual {
	t := XMM()
	x := v.AsX()
	VEXTRACTF128(U8(1), v, t)
	op(t, x, x) // 4 lanes
	VMOVHLPS(x, x, t)
	op(t, x, x) // 2 lanes
	VMOVSHDUP(x, t)
	opss(t, x, x) // 1 lane
	return x.(VecVirtual)
}

// ptrs loads the base pointers of the named slice parameters.
func ptrs(names ...string) []GPVirtual {
	ps := make([]GPVirtual, len(names))
	for i, name := range names {
		ps[i] = GP64()
		Load(Param(name).Base(), ps[i])
	}
	return ps
}

// length loads len() of the named slice parameter.
func length(name string) GPVirtual {
	n := GP64()
	Load(Param(name).Len(), n)
	return n
}
