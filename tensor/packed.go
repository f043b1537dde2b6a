package tensor

import "github.com/trm-go/trm/asm"

// PackedB is the right operand op(B) of a matrix product, packed once into
// the panel layout the GEMM micro-kernels read, so that GemmPacked can
// multiply many left operands by it without packing it again each time.
// Gemm packs B on every call: a cost of about 16/m of the product's
// arithmetic, which is most of what a product with few rows (one 81-cell
// Sudoku, m = 81) loses against a large one. A model's weights used for
// many products in a row (inference) are the case it is for.
//
// The layout is that of asm.PackB over all n columns, one slice of kc rows
// of op(B) after the other, with kc the one Gemm picks for k: so GemmPacked
// hands the kernels the very values Gemm would have packed, and returns the
// same bits.
//
// A PackedB is a copy: it does not see later changes to B (pack again). The
// zero value is empty; Pack fills it, reusing its storage when large enough.
type PackedB struct {
	k, n, kc int
	npad     int // n rounded up to whole NR-column panels
	data     []float32
}

// Pack packs op(B), which is k×n: B is k×n with row stride ldb (ldb ≥ n)
// when transB is false, n×k with ldb ≥ k when it is true (op(B) = Bᵀ, e.g.
// a weight stored [out, in]). It panics if a dimension is negative or b is
// too short.
func (p *PackedB) Pack(transB bool, k, n int, b []float32, ldb int) {
	if k < 0 || n < 0 {
		panic("tensor: PackedB.Pack: negative dimension")
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	switch {
	case ldb < max(bc, 1):
		panic("tensor: PackedB.Pack: leading dimension smaller than the row width")
	case len(b) < gemmNeed(br, bc, ldb):
		panic("tensor: PackedB.Pack: slice too short for its dimensions")
	}
	p.k, p.n, p.kc = k, n, 0
	if k > 0 {
		p.kc = gemmBlock(k, gemmKC, 1)
	}
	p.npad = (n + gemmNR - 1) / gemmNR * gemmNR
	size := p.npad * k
	if cap(p.data) < size {
		p.data = make([]float32, size)
	}
	p.data = p.data[:size]
	if n == 0 || k == 0 {
		return
	}
	for pc := 0; pc < k; pc += p.kc {
		kb := min(p.kc, k-pc)
		asm.PackB(p.data[p.npad*pc:p.npad*(pc+kb)], gemmAt(b, transB, pc, 0, ldb), ldb, transB, kb, n)
	}
}

// K returns the number of rows of op(B).
func (p *PackedB) K() int { return p.k }

// N returns the number of columns of op(B).
func (p *PackedB) N() int { return p.n }

// panels returns the packed panels of rows pc.. of the slice that starts at
// row pc (a multiple of kc) and of the columns j.. j+cols (j a multiple of
// NR): the buffer asm.PackB would have filled for them.
func (p *PackedB) panels(pc, j, cols int) []float32 {
	kb := min(p.kc, p.k-pc)
	lo := p.npad*pc + j*kb
	return p.data[lo : lo+(cols+gemmNR-1)/gemmNR*gemmNR*kb]
}

// GemmPacked computes C = alpha·op(A)·op(B) + beta·C like Gemm, with op(B)
// packed ahead in p (k×n, k = p.K(), n = p.N()). The result is bit-identical
// to Gemm's on the B p was packed from, for every worker count. It panics
// if p is nil or A or C is too short for m and p's k and n (an empty
// PackedB is a 0×0 B).
func GemmPacked(transA bool, m int, alpha float32, a []float32, lda int, p *PackedB, beta float32, c []float32, ldc int) {
	Team(0).GemmPacked(transA, m, alpha, a, lda, p, beta, c, ldc)
}

// GemmPacked is the package's GemmPacked on at most w goroutines, the
// caller's included.
func (w Team) GemmPacked(transA bool, m int, alpha float32, a []float32, lda int, p *PackedB, beta float32, c []float32, ldc int) {
	if p == nil {
		panic("tensor: GemmPacked: nil PackedB")
	}
	n, k := p.n, p.k
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	switch {
	case m < 0:
		panic("tensor: GemmPacked: negative dimension")
	case lda < max(ac, 1), ldc < max(n, 1):
		panic("tensor: GemmPacked: leading dimension smaller than the row width")
	case len(a) < gemmNeed(ar, ac, lda), len(c) < gemmNeed(m, n, ldc):
		panic("tensor: GemmPacked: slice too short for its dimensions")
	}
	if m == 0 || n == 0 {
		return
	}
	g := gemmCalls.get()
	*g = gemmCall{
		task:   g.task,
		transA: transA,
		m:      m, n: n, k: k,
		alpha: alpha, beta: beta,
		a: a, lda: lda, c: c, ldc: ldc,
		pb:      p,
		workers: w.size(),
	}
	g.run()
}
