package main

import (
	"fmt"
	"math/bits"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// Tile sizes; they must match asm.MR and asm.NR.
const (
	mr = 6
	nr = 16
)

// kUnroll is how many k steps one iteration of the micro-kernel's loop does.
const kUnroll = 4

func genGemm() {
	genKernel()
	for _, set := range []bool{false, true} {
		for _, panels := range avx512Panels {
			genKernelAVX512(panels, set)
		}
		for _, panels := range avx512WidePanels {
			genKernelAVX512Wide(panels, set)
		}
	}
	for nr := 1; nr <= 4; nr++ {
		genNarrow(nr)
	}
	genPackA()
	genPackAT()
	genPackB()
	genPackBT()
}

// genKernel emits kernelAVX2, the 6×16 SGEMM micro-kernel:
//
//	C[i][j] += Σ_p ap[p*6+i] · bp[p*16+j]   (i < 6, j < 16)
//
// The 6×16 tile of C lives in 12 YMM accumulators (row i in acc[2i] and
// acc[2i+1]) for the whole k loop. One k step loads the 16 values of row p of
// the B panel into two registers, broadcasts each of the 6 values of column p
// of the A panel in turn and does 12 independent FMAs: enough to keep both
// FMA pipes busy (latency 4, throughput 2 per cycle) with 8 loads per 12 FMAs.
// C is read and written once, at the end.
func genKernel() {
	TEXT("kernelAVX2", NOSPLIT, "func(k int, ap, bp, c []float32, ldc int)")
	Pragma("noescape")
	Doc("kernelAVX2 computes C += Ap·Bp for one MR×NR tile; see Kernel. k > 0.")

	k := Load(Param("k"), GP64())
	ap := Load(Param("ap").Base(), GP64())
	bp := Load(Param("bp").Base(), GP64())

	Comment("acc[2i], acc[2i+1]: row i of the tile, columns 0..7 and 8..15")
	acc := zeros(2 * mr)

	// step emits one k step reading A at aoff and B at boff bytes from the
	// panel pointers.
	step := func(aoff, boff int) {
		b0, b1 := YMM(), YMM()
		VMOVUPS(Mem{Base: bp, Disp: boff}, b0)
		VMOVUPS(Mem{Base: bp, Disp: boff + 32}, b1)
		for i := 0; i < mr; i++ {
			a := YMM()
			VBROADCASTSS(Mem{Base: ap, Disp: aoff + 4*i}, a)
			VFMADD231PS(b0, a, acc[2*i])
			VFMADD231PS(b1, a, acc[2*i+1])
		}
	}

	kLoop(k, kUnroll,
		func(u int) { step(4*mr*u, 4*nr*u) },
		func(steps int) {
			ADDQ(U32(4*mr*steps), ap)
			ADDQ(U32(4*nr*steps), bp)
		})

	Comment("C[i][0:16] += acc[2i], acc[2i+1], row i at c + i*ldc")
	rowsAcc := make([][]VecVirtual, mr)
	for i := range rowsAcc {
		rowsAcc[i] = acc[2*i : 2*i+2]
	}
	updateC(rowsAcc, 32, false)
	VZEROUPPER()
	RET()
}

// kLoop emits the k loop of a micro-kernel: blocks of unroll steps (step(u)
// emits step u of a block, advance(n) moves the panel pointers n steps on),
// then the last k mod unroll steps one at a time. unroll is a power of two;
// k is clobbered.
func kLoop(k Register, unroll int, step func(u int), advance func(steps int)) {
	Commentf("k loop, %d steps per iteration", unroll)
	blocks := GP64()
	MOVQ(k, blocks)
	SHRQ(U8(bits.TrailingZeros(uint(unroll))), blocks)
	JZ(LabelRef("remainder"))
	Label("unrolled")
	for u := 0; u < unroll; u++ {
		step(u)
	}
	advance(unroll)
	DECQ(blocks)
	JNZ(LabelRef("unrolled"))

	Label("remainder")
	Commentf("the last k mod %d steps", unroll)
	ANDQ(U32(unroll-1), k)
	JZ(LabelRef("update"))
	Label("single")
	step(0)
	advance(1)
	DECQ(k)
	JNZ(LabelRef("single"))
	Label("update")
}

// prefetchC prefetches the first lines cache lines of each of the rows rows
// of the c parameter (row stride ldc), which the kernel writes (and reads,
// unless it sets C) after its k loop. Prefetches never fault, and the rows
// lie inside c anyway.
func prefetchC(rows, lines int) {
	Comment("prefetch the rows of C, which are written (and read, unless set) after the k loop")
	c := Load(Param("c").Base(), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	for r := 0; r < rows; r++ {
		for l := 0; l < lines; l++ {
			PREFETCHT0(Mem{Base: c, Disp: 64 * l})
		}
		if r < rows-1 {
			ADDQ(ldc, c)
		}
	}
}

// updateC adds (or, with set, stores) the accumulators to C: acc[r] holds
// row r of the block, vecBytes bytes per register, at c + r·ldc.
func updateC(acc [][]VecVirtual, vecBytes int, set bool) {
	c := Load(Param("c").Base(), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc) // row stride in bytes
	for r, row := range acc {
		for h, v := range row {
			m := Mem{Base: c, Disp: vecBytes * h}
			if !set {
				VADDPS(m, v, v)
			}
			VMOVUPS(v, m)
		}
		if r < len(acc)-1 {
			ADDQ(ldc, c)
		}
	}
}

// avx512Panels lists the numbers of consecutive A panels for which an
// AVX-512 multi-panel kernel (kernelAVX512xP) is generated.
var avx512Panels = []int{1, 2, 3, 4}

// avx512Unroll is how many k steps one iteration of the AVX-512 kernels' loop does.
const avx512Unroll = 4

// genKernelAVX512 emits kernelAVX512x<panels> (or, with set,
// kernelAVX512x<panels>set, which stores the block to C instead of adding
// it: C is never read), the AVX-512 micro-kernel for
// panels consecutive MR-row A panels (panel q at ap + q·k·MR) against one B
// panel:
//
//	C[q*6+i][j] += Σ_p ap[q*k*6 + p*6+i] · bp[p*16+j]   (q < panels, i < 6, j < 16)
//
// Each of the panels·6 rows of C lives in one ZMM accumulator for the whole
// k loop. One k step loads row p of the B panel (16 floats, one ZMM) and does
// one FMA per row, with the A value as an embedded-broadcast memory operand
// (VFMADD231PS.BCST), so no register is spent on broadcasts. Every element
// sums its products in the same order as kernelAVX2 (one fused multiply-add
// per k step, into a zeroed accumulator, then one add to C).
func genKernelAVX512(panels int, set bool) {
	rows := panels * mr
	name, op, see := fmt.Sprintf("kernelAVX512x%d", panels), "+=", "KernelN"
	if set {
		name, op, see = name+"set", "=", "KernelNSet"
	}
	TEXT(name, NOSPLIT, "func(k int, ap, bp, c []float32, ldc int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes C %s Ap·Bp for a %d×NR block: %d consecutive A panels", name, op, rows, panels),
		fmt.Sprintf("of k·MR values each against one B panel; see %s. k > 0.", see))

	k := Load(Param("k"), GP64())
	ap := Load(Param("ap").Base(), GP64())
	bp := Load(Param("bp").Base(), GP64())

	Comment("stride: bytes from one A panel to the next (k·MR·4)")
	stride := GP64()
	LEAQ(Mem{Base: k, Index: k, Scale: 2}, stride) // 3k
	SHLQ(U8(3), stride)                            // 24k
	// Panels 0..2 are addressed as ap + q·stride (scale 1 or 2, no register
	// of their own); panel 3, whose scale would be 3, through ap3.
	var ap3 GPVirtual
	if panels > 3 {
		ap3 = GP64()
		LEAQ(Mem{Base: stride, Index: stride, Scale: 2}, ap3)
		ADDQ(ap, ap3)
	}
	panel := func(q, disp int) Mem {
		switch q {
		case 0:
			return Mem{Base: ap, Disp: disp}
		case 1:
			return Mem{Base: ap, Index: stride, Scale: 1, Disp: disp}
		case 2:
			return Mem{Base: ap, Index: stride, Scale: 2, Disp: disp}
		default:
			return Mem{Base: ap3, Disp: disp}
		}
	}

	prefetchC(rows, 1)

	Commentf("acc[r]: row r of the %d×16 block", rows)
	acc := make([]VecVirtual, rows)
	for r := range acc {
		acc[r] = ZMM()
		VPXORD(acc[r], acc[r], acc[r])
	}

	step := func(u int) {
		b := ZMM()
		VMOVUPS(Mem{Base: bp, Disp: 4 * nr * u}, b)
		for i := 0; i < mr; i++ {
			for q := 0; q < panels; q++ {
				VFMADD231PS_BCST(panel(q, 4*(mr*u+i)), b, acc[q*mr+i])
			}
		}
	}
	advance := func(steps int) {
		ADDQ(U32(4*mr*steps), ap)
		if panels > 3 {
			ADDQ(U32(4*mr*steps), ap3)
		}
		ADDQ(U32(4*nr*steps), bp)
	}

	kLoop(k, avx512Unroll, step, advance)

	Commentf("C[r][0:16] %s acc[r], row r at c + r*ldc", op)
	rowsAcc := make([][]VecVirtual, rows)
	for r := range rowsAcc {
		rowsAcc[r] = acc[r : r+1]
	}
	updateC(rowsAcc, 64, set)
	VZEROUPPER()
	RET()
}

// avx512WidePanels lists the numbers of consecutive A panels for which an
// AVX-512 kernel against two B panels (kernelAVX512xPw) is generated.
var avx512WidePanels = []int{1, 2}

// genKernelAVX512Wide emits kernelAVX512x<panels>w (or
// kernelAVX512x<panels>wset, which stores instead of adding), the AVX-512
// micro-kernel for panels consecutive MR-row A panels against two
// consecutive B panels (panel 1 at bp + k·NR), a (panels·6)×32 block of C:
//
//	C[q*6+i][16*h+j] += Σ_p ap[q*k*6 + p*6+i] · bp[h*k*16 + p*16+j]   (h < 2)
//
// Row r of the block lives in two ZMM accumulators, one per B panel. One k
// step loads row p of both B panels (two ZMM), broadcasts each A value into
// a register once and does two FMAs with it: panels·6 + 2 loads per
// panels·12 FMAs, where the 24×16 kernel needs 25 loads per 24 FMAs — more
// than the two loads per cycle this CPU's load ports sustain beside two FMAs.
// Each element sums its products in the same order as every other kernel.
func genKernelAVX512Wide(panels int, set bool) {
	rows := panels * mr
	name, op, see := fmt.Sprintf("kernelAVX512x%dw", panels), "+=", "KernelNW"
	if set {
		name, op, see = name+"set", "=", "KernelNWSet"
	}
	TEXT(name, NOSPLIT, "func(k int, ap, bp, c []float32, ldc int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes C %s Ap·Bp for a %d×2NR block: %d consecutive A panels", name, op, rows, panels),
		fmt.Sprintf("of k·MR values each against two consecutive B panels; see %s. k > 0.", see))

	k := Load(Param("k"), GP64())
	ap := Load(Param("ap").Base(), GP64())
	bp := Load(Param("bp").Base(), GP64())

	Comment("astride: bytes from one A panel to the next (k·MR·4); bp1: the second B panel (bp + k·NR·4)")
	astride := GP64()
	LEAQ(Mem{Base: k, Index: k, Scale: 2}, astride) // 3k
	SHLQ(U8(3), astride)                            // 24k
	bp1 := GP64()
	MOVQ(k, bp1)
	SHLQ(U8(6), bp1) // 64k
	ADDQ(bp, bp1)
	panel := func(q, disp int) Mem {
		if q == 0 {
			return Mem{Base: ap, Disp: disp}
		}
		return Mem{Base: ap, Index: astride, Scale: 1, Disp: disp}
	}

	prefetchC(rows, 2)

	Commentf("acc[2r], acc[2r+1]: row r of the %d×32 block, columns 0..15 and 16..31", rows)
	acc := make([]VecVirtual, 2*rows)
	for r := range acc {
		acc[r] = ZMM()
		VPXORD(acc[r], acc[r], acc[r])
	}

	step := func(u int) {
		b0, b1 := ZMM(), ZMM()
		VMOVUPS(Mem{Base: bp, Disp: 4 * nr * u}, b0)
		VMOVUPS(Mem{Base: bp1, Disp: 4 * nr * u}, b1)
		for q := 0; q < panels; q++ {
			for i := 0; i < mr; i++ {
				a := ZMM()
				VBROADCASTSS(panel(q, 4*(mr*u+i)), a)
				r := q*mr + i
				VFMADD231PS(b0, a, acc[2*r])
				VFMADD231PS(b1, a, acc[2*r+1])
			}
		}
	}
	advance := func(steps int) {
		ADDQ(U32(4*mr*steps), ap)
		ADDQ(U32(4*nr*steps), bp)
		ADDQ(U32(4*nr*steps), bp1)
	}

	kLoop(k, avx512Unroll, step, advance)

	Commentf("C[r][0:32] %s acc[2r], acc[2r+1], row r at c + r*ldc", op)
	rowsAcc := make([][]VecVirtual, rows)
	for r := range rowsAcc {
		rowsAcc[r] = acc[2*r : 2*r+2]
	}
	updateC(rowsAcc, 64, set)
	VZEROUPPER()
	RET()
}

// The packing kernels each pack one full panel (MR rows of A or NR columns of
// B); the Go code (gemm_amd64.go) checks the bounds, hands them the full
// panels and packs ragged edges with the generic code. Panel layouts are
// documented at PackA and PackB.

// genPackA emits packA6AVX2: one MR-row panel of untransposed A,
// dst[p*6+i] = alpha·a[i*lda+p] for i < 6 and p < kc, kc a multiple of 8.
//
// Each iteration loads 8 consecutive values of each of the 6 rows and
// transposes the 6×8 block into 8 columns of 6 (192 contiguous bytes of
// dst): rows 0–3 with a 4×4 transpose in each 128-bit half (unpack, then
// shuffle), rows 4–5 with one unpack, whose 64-bit halves are the (row 4,
// row 5) pairs of the columns.
func genPackA() {
	TEXT("packA6AVX2", NOSPLIT, "func(dst, a []float32, lda, kc int, alpha float32)")
	Pragma("noescape")
	Doc("packA6AVX2 packs rows 0..5 of a (row stride lda), scaled by alpha, into one", "MR-row panel of kc columns; kc is a multiple of 8.")
	d := Load(Param("dst").Base(), GP64())
	a := Load(Param("a").Base(), GP64())
	lda := Load(Param("lda"), GP64())
	blocks := Load(Param("kc"), GP64())
	alpha := YMM()
	VBROADCASTSS(Load(Param("alpha"), XMM()), alpha)
	SHLQ(U8(2), lda)    // row stride in bytes
	SHRQ(U8(3), blocks) // blocks of 8 columns
	JZ(LabelRef("done"))
	a3 := GP64() // row 3; rows 0, 1, 2, 4 are a + {0,1,2,4}·lda, row 5 is a3 + 2·lda
	LEAQ(Mem{Base: lda, Index: lda, Scale: 2}, a3)
	ADDQ(a, a3)
	rowAddr := []Mem{
		{Base: a}, {Base: a, Index: lda, Scale: 1}, {Base: a, Index: lda, Scale: 2},
		{Base: a3}, {Base: a, Index: lda, Scale: 4}, {Base: a3, Index: lda, Scale: 2},
	}

	Label("block")
	Comment("x[i] = alpha·a[i][p:p+8]")
	x := make([]VecVirtual, mr)
	for i := range x {
		x[i] = YMM()
		VMULPS(rowAddr[i], alpha, x[i])
	}
	Comment("t0..t3: (row 0, row 1) and (row 2, row 3) interleaved; s[j]: rows 0..3 of columns j and j+4")
	t0, t1, t2, t3 := YMM(), YMM(), YMM(), YMM()
	VUNPCKLPS(x[1], x[0], t0) // r0[0] r1[0] r0[1] r1[1] | r0[4] r1[4] r0[5] r1[5]
	VUNPCKHPS(x[1], x[0], t1) // columns 2, 3 | 6, 7
	VUNPCKLPS(x[3], x[2], t2)
	VUNPCKHPS(x[3], x[2], t3)
	s := []VecVirtual{YMM(), YMM(), YMM(), YMM()}
	VSHUFPS(U8(0x44), t2, t0, s[0]) // r0[0] r1[0] r2[0] r3[0] | same for column 4
	VSHUFPS(U8(0xee), t2, t0, s[1]) // column 1 | 5
	VSHUFPS(U8(0x44), t3, t1, s[2]) // column 2 | 6
	VSHUFPS(U8(0xee), t3, t1, s[3]) // column 3 | 7
	Comment("u0, u1: (row 4, row 5) pairs of columns 0, 1 | 4, 5 and 2, 3 | 6, 7")
	u0, u1 := YMM(), YMM()
	VUNPCKLPS(x[5], x[4], u0)
	VUNPCKHPS(x[5], x[4], u1)
	h0, h1 := XMM(), XMM()
	VEXTRACTF128(U8(1), u0, h0)
	VEXTRACTF128(U8(1), u1, h1)
	Comment("column j: rows 0..3 at 24j bytes, rows 4, 5 at 24j+16")
	col := func(j int) Mem { return Mem{Base: d, Disp: 24 * j} }
	for j := 0; j < 4; j++ {
		VMOVUPS(s[j].AsX(), col(j))
		VEXTRACTF128(U8(1), s[j], col(j+4))
	}
	pairs := []struct {
		lo, hi Register // low 128 bits of u0/u1 and their high halves
	}{{u0.AsX(), h0}, {u1.AsX(), h1}}
	for k, pr := range pairs {
		VMOVLPS(pr.lo, col(2*k).Offset(16))
		VMOVHPS(pr.lo, col(2*k+1).Offset(16))
		VMOVLPS(pr.hi, col(2*k+4).Offset(16))
		VMOVHPS(pr.hi, col(2*k+5).Offset(16))
	}
	ADDQ(U32(32), a)
	ADDQ(U32(32), a3)
	ADDQ(U32(4*mr*8), d)
	DECQ(blocks)
	JNZ(LabelRef("block"))
	Label("done")
	VZEROUPPER()
	RET()
}

// genPackAT emits packA6TAVX2: panels consecutive MR-row panels of
// transposed A, dst[q*kc*6 + p*6 + i] = alpha·a[p*lda + q*6 + i] for
// q < panels, i < 6 and p < kc.
//
// Row p of a holds column p of every panel side by side. The loop takes a in
// blocks of 8 rows (8 contiguous streams of panels·6 values, which stay in
// L1) and deals each block out to the panels in turn: 8 columns of 6 values
// (one 16-byte and one 8-byte move each), 192 contiguous bytes of the panel.
// Packing one panel at a time instead walks a column of a with a stride of
// lda·4 bytes, which for lda = 512 maps every row to the same two L1 sets;
// dealing out one row at a time writes the panels kc·24 bytes apart, which
// for kc = 512 is a multiple of 4 KiB: the same L1 set again. The rows past
// the last multiple of 8 are dealt out one at a time.
func genPackAT() {
	TEXT("packA6TAVX2", NOSPLIT, "func(dst, a []float32, lda, kc, panels int, alpha float32)")
	Pragma("noescape")
	Doc("packA6TAVX2 packs columns 0..panels·MR-1 of a (row stride lda), scaled by alpha,",
		"into panels MR-row panels of kc columns (row p of a gives column p of each panel).",
		"kc > 0 and panels > 0.")
	d := Load(Param("dst").Base(), GP64())
	a := Load(Param("a").Base(), GP64())
	lda := Load(Param("lda"), GP64())
	kc := Load(Param("kc"), GP64())
	panels := Load(Param("panels"), GP64())
	alpha := XMM()
	VBROADCASTSS(Load(Param("alpha"), XMM()), alpha)
	SHLQ(U8(2), lda)
	Comment("pstride: bytes from one panel to the next (kc·MR·4)")
	pstride := GP64()
	LEAQ(Mem{Base: kc, Index: kc, Scale: 2}, pstride) // 3kc
	SHLQ(U8(3), pstride)                              // 24kc
	lda3 := GP64()
	LEAQ(Mem{Base: lda, Index: lda, Scale: 2}, lda3)

	// column copies alpha·src[0:6] to dst[0:6].
	column := func(src, dst Mem) {
		lo, hi := XMM(), XMM()
		VMULPS(src, alpha, lo)
		VMOVSD(src.Offset(16), hi)
		VMULPS(hi, alpha, hi)
		VMOVUPS(lo, dst)
		VMOVLPS(hi, dst.Offset(16))
	}

	blocks := GP64()
	MOVQ(kc, blocks)
	SHRQ(U8(3), blocks)
	JZ(LabelRef("rows"))
	Label("block")
	{
		Comment("rows p..p+7 of a, all panels")
		src, src4, dst, q := GP64(), GP64(), GP64(), GP64()
		MOVQ(a, src)
		LEAQ(Mem{Base: a, Index: lda, Scale: 4}, src4)
		MOVQ(d, dst)
		MOVQ(panels, q)
		Label("blockpanel")
		for r := 0; r < 8; r++ {
			base := src
			if r >= 4 {
				base = src4
			}
			var m Mem
			switch r % 4 {
			case 0:
				m = Mem{Base: base}
			case 3:
				m = Mem{Base: base, Index: lda3, Scale: 1}
			default:
				m = Mem{Base: base, Index: lda, Scale: uint8(r % 4)}
			}
			column(m, Mem{Base: dst, Disp: 4 * mr * r})
		}
		ADDQ(U32(4*mr), src)
		ADDQ(U32(4*mr), src4)
		ADDQ(pstride, dst)
		DECQ(q)
		JNZ(LabelRef("blockpanel"))
	}
	LEAQ(Mem{Base: a, Index: lda, Scale: 8}, a)
	ADDQ(U32(8*4*mr), d)
	DECQ(blocks)
	JNZ(LabelRef("block"))

	Label("rows")
	ANDQ(U32(7), kc)
	JZ(LabelRef("done"))
	Label("row")
	{
		Comment("one row of a, all panels")
		src, dst, q := GP64(), GP64(), GP64()
		MOVQ(a, src)
		MOVQ(d, dst)
		MOVQ(panels, q)
		Label("rowpanel")
		column(Mem{Base: src}, Mem{Base: dst})
		ADDQ(U32(4*mr), src)
		ADDQ(pstride, dst)
		DECQ(q)
		JNZ(LabelRef("rowpanel"))
	}
	ADDQ(lda, a)
	ADDQ(U32(4*mr), d)
	DECQ(kc)
	JNZ(LabelRef("row"))
	Label("done")
	RET()
}

// genPackB emits packB16AVX2: one NR-column panel of untransposed B,
// dst[p*16+j] = b[p*ldb+j] for j < 16 and p < kc: two 32-byte moves per row,
// two rows per iteration.
func genPackB() {
	TEXT("packB16AVX2", NOSPLIT, "func(dst, b []float32, ldb, kc int)")
	Pragma("noescape")
	Doc("packB16AVX2 copies columns 0..15 of kc rows of b (row stride ldb) into one NR-column panel.")
	d := Load(Param("dst").Base(), GP64())
	b := Load(Param("b").Base(), GP64())
	ldb := Load(Param("ldb"), GP64())
	n := Load(Param("kc"), GP64())
	SHLQ(U8(2), ldb)
	row := func(src Mem, doff int) {
		v0, v1 := YMM(), YMM()
		VMOVUPS(src, v0)
		VMOVUPS(src.Offset(32), v1)
		VMOVUPS(v0, Mem{Base: d, Disp: doff})
		VMOVUPS(v1, Mem{Base: d, Disp: doff + 32})
	}
	Label("pair")
	CMPQ(n, U32(2))
	JB(LabelRef("last"))
	row(Mem{Base: b}, 0)
	row(Mem{Base: b, Index: ldb, Scale: 1}, 4*nr)
	LEAQ(Mem{Base: b, Index: ldb, Scale: 2}, b)
	ADDQ(U32(2*4*nr), d)
	SUBQ(U32(2), n)
	JMP(LabelRef("pair"))
	Label("last")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	row(Mem{Base: b}, 0)
	Label("done")
	VZEROUPPER()
	RET()
}

// genPackBT emits packB16TAVX2: one NR-column panel of transposed B,
// dst[p*16+j] = b[j*ldb+p] for j < 16 and p < kc, kc a multiple of 4.
//
// For each group of 8 rows of b and 4 columns p..p+3, register i (0..3)
// holds row i's 4 values in its low half and row i+4's in its high half; a
// 4×4 transpose within each half (unpack, then shuffle) then yields, for
// each p, the 8 values of the group in order: one 32-byte store each.
func genPackBT() {
	TEXT("packB16TAVX2", NOSPLIT, "func(dst, b []float32, ldb, kc int)")
	Pragma("noescape")
	Doc("packB16TAVX2 packs rows 0..15 of b (row stride ldb) as the columns of one", "NR-column panel of kc rows (column p of b gives row p of the panel); kc is a", "multiple of 4.")
	d := Load(Param("dst").Base(), GP64())
	b := GP64()
	Load(Param("b").Base(), b)
	ldb := Load(Param("ldb"), GP64())
	blocks := Load(Param("kc"), GP64())
	SHLQ(U8(2), ldb)
	SHRQ(U8(2), blocks)
	JZ(LabelRef("done"))
	// Rows 0, 1, 2, 4 of a group of 8 are base + {0,1,2,4}·ldb, rows 3, 5, 6,
	// 7 are base3 + {0,2,3,4}·ldb, with base3 = base + 3·ldb.
	ldb3 := GP64()
	LEAQ(Mem{Base: ldb, Index: ldb, Scale: 2}, ldb3)
	base := []GPVirtual{b, GP64()}
	LEAQ(Mem{Base: b, Index: ldb, Scale: 8}, base[1]) // rows 8..15
	base3 := []GPVirtual{GP64(), GP64()}
	for g := range base {
		LEAQ(Mem{Base: base[g], Index: ldb3, Scale: 1}, base3[g])
	}
	rowAddr := func(g, i int) Mem {
		switch i {
		case 0:
			return Mem{Base: base[g]}
		case 1, 2, 4:
			return Mem{Base: base[g], Index: ldb, Scale: uint8(i)}
		case 3:
			return Mem{Base: base3[g]}
		case 5:
			return Mem{Base: base3[g], Index: ldb, Scale: 2}
		case 6:
			return Mem{Base: base3[g], Index: ldb3, Scale: 1}
		default: // 7
			return Mem{Base: base3[g], Index: ldb, Scale: 4}
		}
	}

	Label("block")
	for g := range base {
		Commentf("rows %d..%d, columns p..p+3", 8*g, 8*g+7)
		y := make([]VecVirtual, 4)
		for i := range y {
			y[i] = YMM()
			VMOVUPS(rowAddr(g, i), y[i].AsX())
			VINSERTF128(U8(1), rowAddr(g, i+4), y[i], y[i])
		}
		t0, t1, t2, t3 := YMM(), YMM(), YMM(), YMM()
		VUNPCKLPS(y[1], y[0], t0)
		VUNPCKHPS(y[1], y[0], t1)
		VUNPCKLPS(y[3], y[2], t2)
		VUNPCKHPS(y[3], y[2], t3)
		c := []VecVirtual{YMM(), YMM(), YMM(), YMM()}
		VSHUFPS(U8(0x44), t2, t0, c[0])
		VSHUFPS(U8(0xee), t2, t0, c[1])
		VSHUFPS(U8(0x44), t3, t1, c[2])
		VSHUFPS(U8(0xee), t3, t1, c[3])
		for p := range c {
			VMOVUPS(c[p], Mem{Base: d, Disp: 4 * (p*nr + 8*g)})
		}
	}
	for g := range base {
		ADDQ(U32(16), base[g])
		ADDQ(U32(16), base3[g])
	}
	ADDQ(U32(4*4*nr), d)
	DECQ(blocks)
	JNZ(LabelRef("block"))
	Label("done")
	VZEROUPPER()
	RET()
}

// narrowGroup is how many A panels the narrow kernel for c columns keeps
// in flight: enough independent FMA chains (group·c ≥ 6) to hide the FMA
// latency, at most 12 accumulators.
var narrowGroup = map[int]int{1: 8, 2: 4, 3: 2, 4: 2}

// genNarrow emits narrowAVX2x<cols>, the kernel behind asm.KernelNarrow for
// cols columns of one B panel: for each A panel q and column j,
//
//	out[(q*cols+j)*8 + i] = Σ_p ap[q*k*6 + p*6 + i] · bp[p*16 + j]   (i < 6; lanes 6, 7 scratch)
//
// Lanes run over the 6 rows of an A panel (one 32-byte load of column p of
// the panel, whose last two lanes read the next column or, after the last
// column, two values past the panel: the caller guarantees they exist),
// and each k step does one FMA per panel and column against the broadcast
// B value: cols FMAs per panel where a 16-wide kernel does 6. Each lane sums
// its products in order of p with fused multiply-adds from +0, exactly as
// the 16-wide kernels do. Panels go narrowGroup[cols] at a time, then one at a
// time.
func genNarrow(cols int) {
	name := fmt.Sprintf("narrowAVX2x%d", cols)
	TEXT(name, NOSPLIT, "func(k int, ap []float32, panels int, bp, out []float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes %d columns of panels A panels times one B panel, column by column; see KernelNarrow.", name, cols),
		"k > 0, panels > 0, and ap holds two values past its last panel.")
	k := Load(Param("k"), GP64())
	ap := Load(Param("ap").Base(), GP64())
	panels := Load(Param("panels"), GP64())
	out := Load(Param("out").Base(), GP64())
	Comment("s: bytes from one A panel to the next (k·MR·4); s3 = 3s")
	s, s3 := GP64(), GP64()
	LEAQ(Mem{Base: k, Index: k, Scale: 2}, s)
	SHLQ(U8(3), s)
	LEAQ(Mem{Base: s, Index: s, Scale: 2}, s3)

	// pass emits the loop over groups of g panels; label names it.
	pass := func(label string, g int) {
		Label(label)
		CMPQ(panels, U32(g))
		JB(LabelRef(label + "_done"))
		Commentf("%d panels: acc[q*%d+j] is column j of panel q", g, cols)
		acc := make([]VecVirtual, g*cols)
		for i := range acc {
			acc[i] = YMM()
			VXORPS(acc[i], acc[i], acc[i])
		}
		a, a4, b, n := GP64(), GP64(), GP64(), GP64()
		MOVQ(ap, a)
		LEAQ(Mem{Base: ap, Index: s, Scale: 4}, a4)
		Load(Param("bp").Base(), b)
		MOVQ(k, n)
		panel := func(q int) Mem {
			base := a
			if q >= 4 {
				base = a4
			}
			switch q % 4 {
			case 0:
				return Mem{Base: base}
			case 3:
				return Mem{Base: base, Index: s3, Scale: 1}
			default:
				return Mem{Base: base, Index: s, Scale: uint8(q % 4)}
			}
		}
		Label(label + "_k")
		bs := make([]VecVirtual, cols)
		for j := range bs {
			bs[j] = YMM()
			VBROADCASTSS(Mem{Base: b, Disp: 4 * j}, bs[j])
		}
		for q := 0; q < g; q++ {
			for j := 0; j < cols; j++ {
				VFMADD231PS(panel(q), bs[j], acc[q*cols+j])
			}
		}
		ADDQ(U32(4*mr), a)
		ADDQ(U32(4*mr), a4)
		ADDQ(U32(4*nr), b)
		DECQ(n)
		JNZ(LabelRef(label + "_k"))
		for i, v := range acc {
			VMOVUPS(v, Mem{Base: out, Disp: 32 * i})
		}
		Comment("next group")
		for q := 0; q < g; q++ {
			ADDQ(s, ap)
		}
		ADDQ(U32(32*g*cols), out)
		SUBQ(U32(g), panels)
		JMP(LabelRef(label))
		Label(label + "_done")
	}
	if g := narrowGroup[cols]; g > 1 {
		pass("group", g)
	}
	pass("single", 1)
	VZEROUPPER()
	RET()
}
