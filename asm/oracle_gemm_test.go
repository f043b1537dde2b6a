package asm

import (
	"fmt"
	"math"
	"testing"
)

// The SGEMM micro-kernels against a float64 triple loop (see oracle_test.go
// for the idea). Each kernel computes a whole product C (+)= α·op(A)·op(B)
// through a GEMM driver written here: the operands are packed (by the
// packing routines of the same implementation), the kernel covers the
// padded block tile by tile, and the result is compared with
// Σₚ α·op(A)[i][p]·op(B)[p][j] (+ C[i][j]) in float64.
//
// The bound: each term α·a·b goes through the rounding of α·a (PackA), of
// the product (none with FMA), at most k − 1 additions in the accumulator
// and one into C, so the error is at most γ_{k+2}·(Σ|α·a·b| + |C|), with
// γ_{k+2} = (k+2)·u/(1 − (k+2)·u) ≤ (k+3)·u for k ≤ 4000. With small
// integers and dyadic α every step is exact, and so must be the result.

// A gemmVariant is one micro-kernel, with the packing routines of its
// implementation.
type gemmVariant struct {
	name  string
	set   bool // C = α·A·B, C not read; otherwise C += α·A·B
	packA func(dst, a []float32, lda int, trans bool, mc, kc int, alpha float32)
	packB func(dst, b []float32, ldb int, trans bool, kc, nc int)
	// run multiplies mp packed A panels (ap) by np packed B panels (bp; np
	// is even and bp has NR zeros after its last panel) into the
	// (mp·MR)×(np·NR) block of c, row stride ldc.
	run func(mp, np, k int, ap, bp, c []float32, ldc int)
}

// narrowWidths splits the NR columns of a B panel among KernelNarrow calls
// of every width 1..NarrowMax.
var narrowWidths = []int{1, 2, 3, 4, 1, 2, 3}

func gemmVariants() []gemmVariant {
	tiles := func(kernel func(k int, ap, bp, c []float32, ldc int)) func(mp, np, k int, ap, bp, c []float32, ldc int) {
		return func(mp, np, k int, ap, bp, c []float32, ldc int) {
			for qi := 0; qi < mp; qi++ {
				for qj := 0; qj < np; qj++ {
					kernel(k, ap[qi*k*MR:], bp[qj*k*NR:], c[qi*MR*ldc+qj*NR:], ldc)
				}
			}
		}
	}
	columns := func(kernel func(panels, k int, ap, bp, c []float32, ldc int), step int) func(mp, np, k int, ap, bp, c []float32, ldc int) {
		return func(mp, np, k int, ap, bp, c []float32, ldc int) {
			for qj := 0; qj < np; qj += step {
				kernel(mp, k, ap, bp[qj*k*NR:], c[qj*NR:], ldc)
			}
		}
	}
	narrow := func(mp, np, k int, ap, bp, c []float32, ldc int) {
		out := make([]float32, mp*NarrowMax*8)
		for qj := 0; qj < np; qj++ {
			j0 := 0
			for _, nr := range narrowWidths {
				// Columns j0..j0+nr-1 of the panel are the first nr of a B
				// panel starting j0 floats later.
				KernelNarrow(mp, k, nr, ap, bp[qj*k*NR+j0:], out)
				for q := 0; q < mp; q++ {
					for j := 0; j < nr; j++ {
						for i := 0; i < MR; i++ {
							c[(q*MR+i)*ldc+qj*NR+j0+j] = out[(q*nr+j)*8+i]
						}
					}
				}
				j0 += nr
			}
		}
	}
	// The generic packers, like the kernels, sit behind the argument checks
	// of PackA and PackB, which return early on an empty block.
	packAGen := func(dst, a []float32, lda int, trans bool, mc, kc int, alpha float32) {
		if mc > 0 && kc > 0 {
			packAGeneric(dst, a, lda, trans, mc, kc, alpha)
		}
	}
	packBGen := func(dst, b []float32, ldb int, trans bool, kc, nc int) {
		if kc > 0 && nc > 0 {
			packBGeneric(dst, b, ldb, trans, kc, nc)
		}
	}
	return []gemmVariant{
		{"Kernel", false, PackA, PackB, tiles(Kernel)},
		{"KernelN", false, PackA, PackB, columns(KernelN, 1)},
		{"KernelNSet", true, PackA, PackB, columns(KernelNSet, 1)},
		{"KernelNW", false, PackA, PackB, columns(KernelNW, 2)},
		{"KernelNWSet", true, PackA, PackB, columns(KernelNWSet, 2)},
		{"KernelNarrow", true, PackA, PackB, narrow},
		{"kernelGeneric", false, packAGen, packBGen, tiles(kernelGeneric)},
		{"kernelNGeneric", false, packAGen, packBGen, columns(kernelNGeneric, 1)},
		{"kernelNWGeneric", false, packAGen, packBGen, columns(kernelNWGeneric, 2)},
	}
}

// gemmProblem is C (+)= α·op(A)·op(B) with op(A) m×k and op(B) k×n, stored
// with row strides lda and ldb (transposed where transA, transB say); c0 is
// the m×n starting C, dense.
type gemmProblem struct {
	m, n, k        int
	a, b           []float32
	lda, ldb       int
	transA, transB bool
	alpha          float32
	c0             []float32
}

func (p gemmProblem) String() string {
	return fmt.Sprintf("m=%d n=%d k=%d lda=%d ldb=%d transA=%v transB=%v alpha=%v", p.m, p.n, p.k, p.lda, p.ldb, p.transA, p.transB, p.alpha)
}

// oracle returns C[i][j] of the result in float64, and the magnitude of the
// terms that make it, for the bound.
func (p gemmProblem) oracle(set bool, i, j int) (want, terms float64) {
	if !set {
		want, terms = float64(p.c0[i*p.n+j]), math.Abs(float64(p.c0[i*p.n+j]))
	}
	for q := 0; q < p.k; q++ {
		t := float64(p.alpha) * float64(opAt(p.a, p.lda, p.transA, i, q)) * float64(opAt(p.b, p.ldb, p.transB, q, j))
		want += t
		terms += math.Abs(t)
	}
	return want, terms
}

// run computes the product with v and returns it, m×n dense. The block the
// kernel works on has row stride ldc wider than its np·NR columns: that
// padding must stay untouched, the padding rows and columns of the block
// (zeros in the packed panels) must come out 0, and where v sets C the
// block starts as NaN, which must not show through.
func (p gemmProblem) run(t *testing.T, v gemmVariant) []float32 {
	t.Helper()
	mp := (p.m + MR - 1) / MR
	np := (p.n + NR - 1) / NR
	np += np % 2
	ap := make([]float32, mp*MR*p.k)
	bp := make([]float32, np*NR*p.k+NR)
	v.packA(ap, p.a, p.lda, p.transA, p.m, p.k, p.alpha)
	v.packB(bp, p.b, p.ldb, p.transB, p.k, p.n)
	width := np * NR
	ldc := width + 3
	cb := newBuffer((mp*MR-1)*ldc+width, (p.m+p.n)%8)
	c := cb.s()
	for i := 0; i < mp*MR; i++ {
		for j := 0; j < width; j++ {
			switch {
			case v.set:
				c[i*ldc+j] = float32(math.NaN())
			case i < p.m && j < p.n:
				c[i*ldc+j] = p.c0[i*p.n+j]
			default:
				c[i*ldc+j] = 0
			}
		}
	}
	v.run(mp, np, p.k, ap, bp, c, ldc)
	cb.check(t, v.name+" C")
	out := make([]float32, p.m*p.n)
	for i := 0; i < mp*MR; i++ {
		for j := 0; j < ldc && i*ldc+j < len(c); j++ {
			got := c[i*ldc+j]
			switch {
			case j >= width:
				if math.Float32bits(got) != guardBits {
					t.Fatalf("%s %v: C[%d][%d], in the row stride past the block, was written: %v", v.name, p, i, j, got)
				}
			case i >= p.m || j >= p.n:
				if got != 0 {
					t.Fatalf("%s %v: C[%d][%d], in the zero padding of the panels, is %v, want 0", v.name, p, i, j, got)
				}
			default:
				out[i*p.n+j] = got
			}
		}
	}
	return out
}

// TestOracleGEMM runs every micro-kernel, dispatched and generic, on odd
// and even m, n and k (k = 0 included), all four transpositions, operands
// with row strides wider than their rows (the padding NaN, so that a read
// of it shows), random values in [-1, 1) against the bound above and small
// integers against the exact result.
func TestOracleGEMM(t *testing.T) {
	ms := []int{1, 5, 6, 7, 13, 25}
	ns := []int{1, 3, 15, 16, 17, 33, 47}
	ks := []int{0, 1, 2, 7, 17, 64, 129}
	if testing.Short() {
		ms, ns, ks = []int{1, 7, 25}, []int{1, 17, 47}, []int{0, 1, 17, 129}
	}
	for _, v := range gemmVariants() {
		t.Run(v.name, func(t *testing.T) {
			r := newRand(0x6e33)
			idx := 0
			for _, m := range ms {
				for _, n := range ns {
					for _, k := range ks {
						for _, ints := range []bool{false, true} {
							idx++
							p := gemmProblem{m: m, n: n, k: k, transA: idx%2 == 1, transB: idx/2%2 == 1}
							p.alpha = []float32{1, -0.5, 0.3}[idx%3]
							if ints {
								p.alpha = []float32{1, -2, 0.5}[idx%3]
							}
							p.a, p.lda = nanMatrix(r, m, k, p.transA, 3, ints)
							p.b, p.ldb = nanMatrix(r, k, n, p.transB, 5, ints)
							p.c0 = make([]float32, m*n)
							for i := range p.c0 {
								p.c0[i] = 2*r.Float32() - 1
								if ints {
									p.c0[i] = float32(r.IntN(101) - 50)
								}
							}
							got := p.run(t, v)
							for i := 0; i < m; i++ {
								for j := 0; j < n; j++ {
									want, terms := p.oracle(v.set, i, j)
									bound := float64(k+3) * roundoff * terms
									if ints {
										bound = 0
									}
									if g := got[i*n+j]; !accept(g, want, bound) {
										t.Fatalf("%s %v ints=%v: C[%d][%d] = %v, want %v (±%.3g)", v.name, p, ints, i, j, g, want, bound)
									}
								}
							}
						}
					}
				}
			}
		})
	}
}

// TestOracleGEMMKnown multiplies [[1 2 3] [4 5 6]] by [[7 8] [9 10] [11 12]]
// (= [[58 64] [139 154]]) with every micro-kernel, from C = [[1 -1] [0.5 2]]
// where the kernel adds to C, with the operands stored as they are and
// transposed.
func TestOracleGEMMKnown(t *testing.T) {
	a := []float32{1, 2, 3, 4, 5, 6}
	aT := []float32{1, 4, 2, 5, 3, 6}
	b := []float32{7, 8, 9, 10, 11, 12}
	bT := []float32{7, 9, 11, 8, 10, 12}
	c0 := []float32{1, -1, 0.5, 2}
	product := []float32{58, 64, 139, 154}
	sum := []float32{59, 63, 139.5, 156}
	for _, v := range gemmVariants() {
		t.Run(v.name, func(t *testing.T) {
			for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
				p := gemmProblem{m: 2, n: 2, k: 3, a: a, lda: 3, b: b, ldb: 2, transA: tr[0], transB: tr[1], alpha: 1, c0: c0}
				if p.transA {
					p.a, p.lda = aT, 2
				}
				if p.transB {
					p.b, p.ldb = bT, 3
				}
				want := sum
				if v.set {
					want = product
				}
				got := p.run(t, v)
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("%s %v: C = %v, want %v", v.name, p, got, want)
					}
				}
			}
		})
	}
}
