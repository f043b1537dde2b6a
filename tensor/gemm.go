package tensor

import (
	"github.com/trm-go/trm/asm"
)

// The GEMM follows the BLIS/GotoBLAS scheme. C is cut into column blocks of
// at most gemmNC columns (loop jc); k into slices of at most gemmKC (loop
// pc); for each, op(B)[pc:pc+kc, jc:jc+nc] is packed into NR-column panels
// (the whole block, for L3). Rows are cut into blocks of at most gemmMC
// (loop ic); alpha·op(A)[ic:ic+mc, pc:pc+kc] is packed into MR-row panels.
// The micro-kernel then sweeps the block one strip of gemmNL2 columns of B
// at a time (which stays in L2): two A panels at a time (loop ir; a 12×kc
// sliver of A, which stays in L1), each against every pair of B panels of
// the strip in turn (loop jr), in one asm.KernelNW call per pair (a 12×32
// register tile with AVX-512; four 6×16 tiles otherwise). The B block is
// packed by one PackB call before the sweep: measured no slower than packing
// each panel just before its first use, and it leaves PackB free to pick
// the order in which it reads op(B). When all of m fits in one block of rows
// (m ≤ gemmMC, e.g. 97 sequence positions), A is packed first and each pair
// of B panels is packed just before it meets all of A instead (loop jr
// outside loop ir): the pair is then used while it is in cache, rather than
// written to and read back from L3 once per A sliver (NN 97×512×3072: about
// 0.95–1.05× OpenBLAS instead of 0.83×, with the earlier 24×16 tile).
//
// The 12×32 tile replaced a 24×16 one (asm.KernelN on four A panels), which
// needs one load per FMA (the B row, then every A value as an embedded
// broadcast): more than this CPU's two loads per cycle sustain beside two
// FMAs. The 12×32 tile loads 14 values per 24 FMAs, and its A sliver (24 KiB
// at kc = 512) leaves half of L1 for the B panels; it measured 4–10% faster
// on every benchmarked shape (BENCHMARKS.md).
//
// With the wide AVX-512 tile, this order (A sliver fixed, B panels
// streaming, as OpenBLAS does) measured faster than the other one (B panel
// fixed in L1, A panels streaming from L2: about 150–165 against 170–180
// GFLOP/s on NN 5184×512×1536, one thread, with the 24×16 tile): each row of
// C is then visited left to right, a stream the hardware prefetcher
// follows, instead of one cache line per row of a strip at a time.
//
// Block sizes are balanced (k = 776 gives two slices of 388, not one of 512
// and a sliver), and kc depends on k alone, so every element of C sums its
// products in the same order whatever the split of C among workers (and
// whichever kernel computes it: they all do one FMA per k step into a zeroed
// accumulator, then one add to C). kc = 512 keeps one pass over C for
// k = 512; kc from 256 to 512, mc from 96 to 480 and nc from 512 to 3072 all
// measured within a few percent with the 24×16 tile, which the machine's
// noise does not resolve.
const (
	gemmMR = asm.MR
	gemmNR = asm.NR

	gemmKC = 512  // A sliver: gemmRows×kc·4 B = 24 KiB, in L1
	gemmMC = 240  // mc×kc·4 B = 480 KiB of packed A (20 slivers) in L2
	gemmNC = 3072 // kc×nc·4 B = 6 MiB of packed B in L3

	// gemmNL2 is the width of the strip of packed B that every A sliver of
	// a row block meets before the next strip: kc×256·4 B = 512 KiB, which
	// stays in L2 across the slivers instead of streaming from L3 once per
	// sliver (2–4% faster on every large shape of BenchmarkGemm, one worker;
	// 128 and 512 were no better).
	gemmNL2 = 256

	// gemmRows×gemmCols is the block of C one asm.KernelNW call updates:
	// two A panels against two B panels, the AVX-512 kernel's 12×32
	// register tile.
	gemmRows = 2 * gemmMR
	gemmCols = 2 * gemmNR
)

// Parallel split: a call is cut into parts (a grid of C sub-blocks, each a
// whole sequential GEMM with its own packing) only when it is big enough;
// the grid is picked by an estimated cost, in flop-equivalents, of the
// slowest part.
const (
	gemmParMinFlops = 1 << 21 // below this, one goroutine (~20 µs of work)
	gemmParOverhead = 1 << 19 // cost of waking helpers and waiting for them
	gemmPackCost    = 32      // cost of packing one element, in flops
)

// Gemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices, where
// op(A) is m×k and op(B) is k×n. When transA is false A is m×k with row
// stride lda (lda ≥ k); when true A is stored k×m (lda ≥ m) and op(A) = Aᵀ.
// Likewise for B with ldb. C is m×n with row stride ldc ≥ n.
//
// beta = 0 overwrites C without reading it (NaNs in C do not propagate);
// alpha = 0 scales C by beta only. Elements of C outside the m×n block
// (between n and ldc) are never touched.
//
// Large calls run on up to Workers() goroutines (Team.Gemm names the
// count); the result is bit-identical for every worker count. Gemm may be called concurrently from several
// goroutines (on distinct C). In steady state it allocates nothing.
//
// Gemm panics if a dimension is negative or a slice is too short for the
// dimensions and strides given.
func Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	Team(0).Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Gemm is the package's Gemm on at most w goroutines, the caller's
// included.
func (w Team) Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	g := gemmCalls.get()
	*g = gemmCall{
		task:   g.task,
		transA: transA, transB: transB,
		m: m, n: n, k: k,
		alpha: alpha, beta: beta,
		a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
		workers: w.size(),
	}
	g.run()
}

// run executes the call, on several workers when it is large enough, and
// returns g to the pool.
func (g *gemmCall) run() {
	g.tm, g.tn = 1, 1
	if g.alpha != 0 && gemmFlops(g.m, g.n, g.k) >= gemmParMinFlops {
		g.tm, g.tn = gemmSplit(g.m, g.n, g.k, g.workers)
	}
	if parts := g.tm * g.tn; parts > 1 {
		g.task.run(g, parts, parts-1)
	} else {
		g.runPart(0)
	}
	g.a, g.b, g.c, g.pb = nil, nil, nil, nil // do not keep the caller's memory alive
	gemmCalls.put(g)
}

func checkGemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic("tensor: Gemm: negative dimension")
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	switch {
	case lda < max(ac, 1), ldb < max(bc, 1), ldc < max(n, 1):
		panic("tensor: Gemm: leading dimension smaller than the row width")
	case len(a) < gemmNeed(ar, ac, lda), len(b) < gemmNeed(br, bc, ldb), len(c) < gemmNeed(m, n, ldc):
		panic("tensor: Gemm: slice too short for its dimensions")
	}
}

// gemmNeed returns the length a rows×cols matrix with row stride ld needs.
func gemmNeed(rows, cols, ld int) int {
	if rows == 0 || cols == 0 {
		return 0
	}
	return (rows-1)*ld + cols
}

// gemmCall holds the arguments of one Gemm call and its split into a
// tm×tn grid of C sub-blocks. It is pooled, with the parTask inside it.
type gemmCall struct {
	task           *parTask
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int
	tm, tn         int
	pb             *PackedB // op(B) packed ahead (GemmPacked), or nil
	workers        int      // the most goroutines the call may use
}

var gemmCalls = freeList[gemmCall]{init: func(g *gemmCall) { g.task = new(parTask) }}

// runPart computes sub-block i of the tm×tn grid: rows and columns are cut
// at multiples of MR and NR, so the micro-tiles are those of the unsplit
// call.
func (g *gemmCall) runPart(i int) {
	i0, i1 := gemmRange(g.m, gemmMR, i/g.tn, g.tm)
	j0, j1 := gemmRange(g.n, gemmNR, i%g.tn, g.tn)
	ws := gemmWorkspaces.get()
	var b []float32
	if g.pb == nil {
		b = gemmAt(g.b, g.transB, 0, j0, g.ldb)
	}
	gemmBlocked(ws, g.transA, g.transB, i1-i0, j1-j0, g.k, g.alpha,
		gemmAt(g.a, g.transA, i0, 0, g.lda), g.lda,
		b, g.ldb, g.pb, j0,
		g.beta, g.c[i0*g.ldc+j0:], g.ldc)
	gemmWorkspaces.put(ws)
}

// gemmRange returns part r of t of the range [0, size) cut into units of
// unit elements (the last unit may be short).
func gemmRange(size, unit, r, t int) (lo, hi int) {
	units := (size + unit - 1) / unit
	return min(size, r*units/t*unit), min(size, (r+1)*units/t*unit)
}

// gemmGrid picks the grid tm×tn ≤ workers of C sub-blocks that minimises
// the estimated time of the slowest one.
func gemmGrid(m, n, k, workers int) (tm, tn int) {
	tm, tn = 1, 1
	if workers < 2 || gemmFlops(m, n, k) < gemmParMinFlops {
		return tm, tn
	}
	mt, nt := (m+gemmMR-1)/gemmMR, (n+gemmNR-1)/gemmNR
	best := gemmPartCost(mt, nt, k, 1, 1)
	for pm := 1; pm <= min(workers, mt); pm++ {
		for pn := 1; pn <= min(workers/pm, nt); pn++ {
			if pm*pn == 1 {
				continue
			}
			if cost := gemmPartCost(mt, nt, k, pm, pn) + gemmParOverhead; cost < best {
				best, tm, tn = cost, pm, pn
			}
		}
	}
	return tm, tn
}

// Dynamic balance: a call whose grid has several parts is cut further,
// into up to gemmParSplit parts per worker, when that costs little extra
// packing (at most gemmParSlack of the work) and leaves each part at least
// gemmParGrain flops. The parts are claimed one at a time from a shared
// counter (parTask), so when another process holds one of the cores the
// worker on the free core takes more parts instead of the whole call
// waiting for an equal half on the busy one. The cuts stay at whole
// micro-tiles, so the result is the same bits whatever the grid.
const (
	gemmParSplit = 4
	gemmParSlack = 0.05
	gemmParGrain = 1 << 22 // ~25 µs of one core
)

// gemmSplit returns the grid Gemm runs with workers: gemmGrid's, refined
// for dynamic balance (see gemmParSplit). The number of parts stays a
// multiple of gemmGrid's, so that on a quiet machine every worker gets the
// same number of equal parts.
func gemmSplit(m, n, k, workers int) (tm, tn int) {
	tm, tn = gemmGrid(m, n, k, workers)
	base := tm * tn
	if base < 2 {
		return tm, tn
	}
	mt, nt := (m+gemmMR-1)/gemmMR, (n+gemmNR-1)/gemmNR
	budget := (1 + gemmParSlack) * float64(base) * gemmPartCost(mt, nt, k, tm, tn)
	bm, bn := tm, tn
	for f := 2; f <= gemmParSplit; f++ {
		for pm := 1; pm <= min(f*base, mt); pm++ {
			if f*base%pm != 0 {
				continue
			}
			pn := f * base / pm
			if pn > nt {
				continue
			}
			cost := gemmPartCost(mt, nt, k, pm, pn)
			if cost < gemmParGrain || float64(f*base)*cost > budget {
				continue
			}
			if pm*pn > bm*bn || pm*pn == bm*bn && cost < gemmPartCost(mt, nt, k, bm, bn) {
				bm, bn = pm, pn
			}
		}
	}
	return bm, bn
}

// gemmPartCost estimates, in flop-equivalents, the work of the largest part
// when mt×nt micro-tiles are split tm×tn ways: its multiply-adds plus the
// packing of its A (once per column block) and of its B.
func gemmPartCost(mt, nt, k, tm, tn int) float64 {
	mw := (mt + tm - 1) / tm * gemmMR
	nw := (nt + tn - 1) / tn * gemmNR
	return gemmFlops(mw, nw, k) + gemmPackCost*float64(k)*float64(mw*((nw+gemmNC-1)/gemmNC)+nw)
}

// gemmFlops is the flop count 2·m·n·k of a GEMM, in float64 so that it
// cannot overflow.
func gemmFlops(m, n, k int) float64 {
	return 2 * float64(m) * float64(n) * float64(k)
}

// gemmWorkspace holds one goroutine's packing buffers, edge tile and
// narrow-column buffer.
type gemmWorkspace struct {
	a, b []float32
	cols []float32 // asm.KernelNarrow's output (see narrow)
	tile [gemmRows * gemmNR]float32
}

var gemmWorkspaces freeList[gemmWorkspace]

// gemmBlocked is the sequential blocked GEMM (see the comment at the top of
// the file); Gemm runs it on each sub-block of C. Beta is applied to each
// micro-tile of C just before its first accumulation, while the tile is
// being brought into cache anyway, rather than in a separate pass over C;
// beta = 0 on full tiles is asm.KernelNSet, which does not read C at all.
//
// With pb set, op(B) is not packed here: its panels are read from pb,
// whose column pj is column 0 of this call's C (b and ldb are unused).
func gemmBlocked(ws *gemmWorkspace, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, pb *PackedB, pj int, beta float32, c []float32, ldc int) {
	if alpha == 0 || k == 0 {
		gemmScale(c, ldc, m, n, beta)
		return
	}
	kc := gemmBlock(k, gemmKC, 1)
	mc := gemmBlock(m, gemmMC, gemmRows) // whole slivers but for the last block
	nc := gemmBlock(n, gemmNC, gemmNR)
	if cap(ws.a) < mc*kc {
		ws.a = make([]float32, mc*kc)
	}
	bLen := nc * kc
	if m <= mc {
		bLen = gemmCols * kc // one pair of B panels at a time (see below)
	}
	if cap(ws.b) < bLen {
		ws.b = make([]float32, bLen)
	}
	for jc := 0; jc < n; jc += nc {
		nb := min(nc, n-jc)
		for pc := 0; pc < k; pc += kc {
			kb := min(kc, k-pc)
			tileBeta := float32(1) // beta for the tiles of this pass
			if pc == 0 {
				tileBeta = beta
			}
			if m <= mc {
				// One block of rows: pack A once, then pack each pair of
				// B panels just before it meets all of A.
				asm.PackA(ws.a[:mc*kb], gemmAt(a, transA, 0, pc, lda), lda, transA, m, kb, alpha)
				for jr := 0; jr < nb; jr += gemmCols {
					cols := min(gemmCols, nb-jr)
					var bp []float32
					if pb != nil {
						bp = pb.panels(pc, pj+jc+jr, cols)
					} else {
						bp = ws.b[:gemmCols*kb]
						asm.PackB(bp, gemmAt(b, transB, pc, jc+jr, ldb), ldb, transB, kb, cols)
					}
					wide, narrow := gemmNarrowSplit(cols)
					for ir := 0; ir < m && wide > 0; ir += gemmRows {
						rows := min(gemmRows, m-ir)
						ws.block(tileBeta, kb, ws.a[ir*kb:], bp, c[ir*ldc+jc+jr:], ldc, rows, wide)
					}
					if narrow > 0 {
						ws.narrow(tileBeta, kb, ws.a, bp[wide*kb:], c[jc+jr+wide:], ldc, m, narrow)
					}
				}
				continue
			}
			bAll := ws.b[:nc*kb]
			if pb != nil {
				bAll = pb.panels(pc, pj+jc, nb)
			} else {
				asm.PackB(bAll, gemmAt(b, transB, pc, jc, ldb), ldb, transB, kb, nb)
			}
			for ic := 0; ic < m; ic += mc {
				mb := min(mc, m-ic)
				asm.PackA(ws.a[:mc*kb], gemmAt(a, transA, ic, pc, lda), lda, transA, mb, kb, alpha)
				for j0 := 0; j0 < nb; j0 += gemmNL2 {
					wide, narrow := gemmNarrowSplit(min(gemmNL2, nb-j0))
					j1 := j0 + wide
					for ir := 0; ir < mb && wide > 0; ir += gemmRows {
						rows := min(gemmRows, mb-ir)
						ap := ws.a[ir*kb:] // panels ir/MR...
						for jr := j0; jr < j1; jr += gemmCols {
							ws.block(tileBeta, kb, ap, bAll[jr*kb:], c[(ic+ir)*ldc+jc+jr:], ldc, rows, min(gemmCols, j1-jr))
						}
					}
					if narrow > 0 {
						ws.narrow(tileBeta, kb, ws.a, bAll[j1*kb:], c[ic*ldc+jc+j1:], ldc, mb, narrow)
					}
				}
			}
		}
	}
}

// block updates a rows×cols block of C (rows ≤ gemmRows, cols ≤ gemmCols)
// with the A panels ap against the B panels bp, after scaling it by beta.
// The full A panels meet the full B panels in one asm.KernelNW call (two B
// panels) or asm.KernelN call (one), the Set variant when beta is 0, so C is
// not read; what is left — the rows of a ragged last A panel, and a ragged
// last B panel — goes through edge.
func (ws *gemmWorkspace) block(beta float32, k int, ap, bp, c []float32, ldc, rows, cols int) {
	fa, fb := rows/gemmMR, cols/gemmNR // full A and B panels
	done := 0                          // rows of the full B panels done by the kernel
	if fa > 0 && fb > 0 {
		done = fa * gemmMR
		kernel, set := asm.KernelN, asm.KernelNSet
		if fb == 2 {
			kernel, set = asm.KernelNW, asm.KernelNWSet
		}
		switch beta {
		case 0:
			set(fa, k, ap, bp, c, ldc)
		case 1:
			kernel(fa, k, ap, bp, c, ldc)
		default:
			gemmScale(c, ldc, done, fb*gemmNR, beta)
			kernel(fa, k, ap, bp, c, ldc)
		}
	}
	for h := 0; h < fb && done < rows; h++ {
		ws.edge(beta, k, ap[done*k:], bp[h*k*gemmNR:], c[done*ldc+h*gemmNR:], ldc, rows-done, gemmNR)
	}
	if cols > fb*gemmNR {
		ws.edge(beta, k, ap, bp[fb*k*gemmNR:], c[fb*gemmNR:], ldc, rows, cols-fb*gemmNR)
	}
}

// gemmNarrowSplit splits cols columns of packed B (a whole number of full
// panels, then maybe a ragged one) into the wide part the 16-wide kernels
// take and a ragged last panel of at most asm.NarrowMax columns, which
// narrow takes for a whole block of rows at once; narrow is 0 when the last
// panel is full or wider than that.
func gemmNarrowSplit(cols int) (wide, narrow int) {
	if r := cols % gemmNR; r > 0 && r <= asm.NarrowMax {
		return cols - r, r
	}
	return cols, 0
}

// narrow computes C = beta·C + Ap·Bp on the first nr ≤ asm.NarrowMax columns
// of a rows×nr block of C, with ap the A panels of all the rows (a whole row
// block) and bp one ragged B panel, through asm.KernelNarrow: nr
// multiply-adds per panel and k step where edge does a whole 16-wide panel.
// KernelNarrow's sums are bitwise KernelNSet's, and C is updated as edge
// updates it (beta·C, rounded, plus the sum), so the result is the same as
// through edge.
func (ws *gemmWorkspace) narrow(beta float32, k int, ap, bp, c []float32, ldc, rows, nr int) {
	panels := (rows + gemmMR - 1) / gemmMR
	if need := panels * nr * 8; cap(ws.cols) < need {
		ws.cols = make([]float32, need)
	}
	out := ws.cols[:panels*nr*8]
	asm.KernelNarrow(panels, k, nr, ap, bp, out)
	for r := range rows {
		q, i := r/gemmMR, r%gemmMR
		row := c[r*ldc : r*ldc+nr]
		for j := range row {
			v := out[(q*nr+j)*8+i]
			switch beta {
			case 0:
				row[j] = v
			case 1:
				row[j] += v
			default:
				row[j] = float32(beta*row[j]) + v
			}
		}
	}
}

// edge computes C = beta·C + Ap·Bp on a rows×nr corner block of C
// (rows ≤ gemmRows, nr ≤ NR) through the workspace tile, so nothing
// outside the corner is read or written. The packed panels are padded with
// zeros, so one asm.KernelN call over whole panels does the corner with the
// same wide register tile as the full blocks (a ragged B panel costs one
// call per group of A panels, not one per panel). The tile starts as
// beta·C (or is overwritten, for beta = 0), so every element is computed
// exactly as on a full tile.
func (ws *gemmWorkspace) edge(beta float32, k int, ap, bp, c []float32, ldc, rows, nr int) {
	panels := (rows + gemmMR - 1) / gemmMR
	t := ws.tile[:panels*gemmMR*gemmNR]
	if beta == 0 {
		asm.KernelNSet(panels, k, ap, bp, t, gemmNR)
	} else {
		clear(t)
		for i := range rows {
			row, src := t[i*gemmNR:i*gemmNR+nr], c[i*ldc:i*ldc+nr]
			if beta == 1 {
				copy(row, src)
				continue
			}
			for j, v := range src {
				row[j] = beta * v
			}
		}
		asm.KernelN(panels, k, ap, bp, t, gemmNR)
	}
	for i := range rows {
		copy(c[i*ldc:i*ldc+nr], t[i*gemmNR:i*gemmNR+nr])
	}
}

// gemmScale computes C = beta·C on the rows×cols block of C: beta = 0
// writes zeros without reading C, beta = 1 does nothing.
func gemmScale(c []float32, ldc, rows, cols int, beta float32) {
	if beta == 1 {
		return
	}
	for i := range rows {
		row := c[i*ldc : i*ldc+cols]
		if beta == 0 {
			if cols == gemmNR {
				*(*[gemmNR]float32)(row) = [gemmNR]float32{} // inline stores, no call
			} else {
				clear(row)
			}
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// gemmBlock returns the block size for cutting size into the fewest blocks
// of at most maxBlock (rounded up to a multiple of unit), balanced so the
// last block is not a sliver.
func gemmBlock(size, maxBlock, unit int) int {
	blocks := (size + maxBlock - 1) / maxBlock
	bs := (size + blocks - 1) / blocks
	return (bs + unit - 1) / unit * unit
}

// gemmAt returns x from the element op(X)[r][col] on, where op(X)[r][col]
// is x[r*ld+col], or x[col*ld+r] when trans is set.
func gemmAt(x []float32, trans bool, r, col, ld int) []float32 {
	if trans {
		return x[col*ld+r:]
	}
	return x[r*ld+col:]
}

// gemmNaive is the reference GEMM: a triple loop in float64 accumulation.
// It is the test oracle for the blocked implementation.
func gemmNaive(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			v := float32(float64(alpha) * s)
			if beta != 0 {
				v += beta * c[i*ldc+j]
			}
			c[i*ldc+j] = v
		}
	}
}
