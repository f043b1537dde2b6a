package asm

// MR and NR are the register-tile sizes of the SGEMM micro-kernel: one call of
// Kernel updates an MR×NR block of C. They are the same on every
// architecture, so packed panels have one layout everywhere.
const (
	MR = 6
	NR = 16
)

// Kernel computes C += Ap·Bp for one MR×NR tile of C.
//
// ap is a packed panel of A: k columns of MR values, ap[p*MR+i] = A[i][p].
// bp is a packed panel of B: k rows of NR values, bp[p*NR+j] = B[p][j].
// c holds the tile row-major with row stride ldc: C[i][j] = c[i*ldc+j].
//
// It panics unless len(ap) >= k*MR, len(bp) >= k*NR, ldc >= NR and
// len(c) >= (MR-1)*ldc+NR.
func Kernel(k int, ap, bp, c []float32, ldc int) {
	if k < 0 || len(ap) < k*MR || len(bp) < k*NR || ldc < NR || len(c) < (MR-1)*ldc+NR {
		panic("asm: Kernel: bad arguments")
	}
	if k == 0 {
		return
	}
	kernel(k, ap, bp, c, ldc)
}

// KernelN computes C += Ap·Bp for a (panels·MR)×NR block of C: panels
// consecutive packed A panels against one packed B panel. It does what
// panels calls of Kernel would do (panel q of ap, at ap[q*k*MR:], updates rows
// q*MR..q*MR+MR-1 of C), with the same arithmetic per element, but lets a
// wider register tile reuse each row of B across several A panels: on
// CPUs with AVX-512 it runs the 24×16, 18×16, 12×16 and 6×16 ZMM kernels (see
// GemmImpl).
//
// ap holds the panels one after the other, as PackA writes them for an
// mc×k block: ap[q*k*MR + p*MR + i] = A[q*MR+i][p]. bp and ldc are as for
// Kernel; c holds the block row-major: C[r][j] = c[r*ldc+j].
//
// It panics unless panels >= 1, k >= 0, len(ap) >= panels*k*MR,
// len(bp) >= k*NR, ldc >= NR and len(c) >= (panels*MR-1)*ldc+NR.
func KernelN(panels, k int, ap, bp, c []float32, ldc int) {
	if panels < 1 || k < 0 || len(ap) < panels*k*MR || len(bp) < k*NR || ldc < NR || len(c) < (panels*MR-1)*ldc+NR {
		panic("asm: KernelN: bad arguments")
	}
	if k == 0 {
		return
	}
	kernelN(panels, k, ap, bp, c, ldc)
}

// KernelNSet is KernelN with C overwritten instead of updated:
// C = Ap·Bp on the (panels·MR)×NR block. C is not read, so NaNs in it do not
// propagate. The result is bitwise that of zeroing the block and calling
// KernelN (the sums start from +0, so none of them is -0). It panics
// under the same conditions as KernelN.
func KernelNSet(panels, k int, ap, bp, c []float32, ldc int) {
	if panels < 1 || k < 0 || len(ap) < panels*k*MR || len(bp) < k*NR || ldc < NR || len(c) < (panels*MR-1)*ldc+NR {
		panic("asm: KernelNSet: bad arguments")
	}
	if k == 0 {
		clearRows(c, ldc, panels*MR)
		return
	}
	kernelNSet(panels, k, ap, bp, c, ldc)
}

// KernelNW is KernelN against two consecutive packed B panels: it computes
// C += Ap·Bp for a (panels·MR)×(2·NR) block of C, where bp holds the panels
// one after the other as PackB writes them (panel h at bp[h*k*NR:], for
// columns h*NR..h*NR+NR-1 of the block). It does what KernelN on each B
// panel would do, with the same arithmetic per element, but on CPUs with
// AVX-512 runs the 12×32 and 6×32 ZMM kernels, which load each broadcast A
// value once for two B panels: fewer loads per FMA than the 24×16 tile.
//
// It panics unless panels >= 1, k >= 0, len(ap) >= panels*k*MR,
// len(bp) >= 2*k*NR, ldc >= 2*NR and len(c) >= (panels*MR-1)*ldc+2*NR.
func KernelNW(panels, k int, ap, bp, c []float32, ldc int) {
	if panels < 1 || k < 0 || len(ap) < panels*k*MR || len(bp) < 2*k*NR || ldc < 2*NR || len(c) < (panels*MR-1)*ldc+2*NR {
		panic("asm: KernelNW: bad arguments")
	}
	if k == 0 {
		return
	}
	kernelNW(panels, k, ap, bp, c, ldc)
}

// KernelNWSet is KernelNW with C overwritten instead of updated, as
// KernelNSet is for KernelN. It panics under the same conditions as
// KernelNW.
func KernelNWSet(panels, k int, ap, bp, c []float32, ldc int) {
	if panels < 1 || k < 0 || len(ap) < panels*k*MR || len(bp) < 2*k*NR || ldc < 2*NR || len(c) < (panels*MR-1)*ldc+2*NR {
		panic("asm: KernelNWSet: bad arguments")
	}
	if k == 0 {
		clearRows(c, ldc, panels*MR)
		clearRows(c[NR:], ldc, panels*MR)
		return
	}
	kernelNWSet(panels, k, ap, bp, c, ldc)
}

// clearRows zeroes columns 0..NR-1 of the first rows rows of c (row stride ldc).
func clearRows(c []float32, ldc, rows int) {
	for i := 0; i < rows; i++ {
		clear(c[i*ldc : i*ldc+NR])
	}
}

// PackA packs an mc×kc block of op(A), scaled by alpha, into MR-row panels:
// panel q holds rows q*MR..q*MR+MR-1, stored column by column
// (dst[q*kc*MR + p*MR + i] = alpha·op(A)[q*MR+i][p]). The last panel is
// padded with zeros when mc is not a multiple of MR.
//
// op(A)[i][p] is a[i*lda+p] when trans is false and a[p*lda+i] when it is
// true. dst must hold ceil(mc/MR)*MR*kc values.
func PackA(dst, a []float32, lda int, trans bool, mc, kc int, alpha float32) {
	panels := (mc + MR - 1) / MR
	if mc < 0 || kc < 0 || len(dst) < panels*MR*kc {
		panic("asm: PackA: bad arguments")
	}
	if mc == 0 || kc == 0 {
		return
	}
	if (!trans && (lda < kc || len(a) < (mc-1)*lda+kc)) || (trans && (lda < mc || len(a) < (kc-1)*lda+mc)) {
		panic("asm: PackA: source too short")
	}
	packA(dst, a, lda, trans, mc, kc, alpha)
}

// PackB packs a kc×nc block of op(B) into NR-column panels: panel q holds
// columns q*NR..q*NR+NR-1, stored row by row
// (dst[q*kc*NR + p*NR + j] = op(B)[p][q*NR+j]). The last panel is padded with
// zeros when nc is not a multiple of NR.
//
// op(B)[p][j] is b[p*ldb+j] when trans is false and b[j*ldb+p] when it is
// true. dst must hold ceil(nc/NR)*NR*kc values.
func PackB(dst, b []float32, ldb int, trans bool, kc, nc int) {
	panels := (nc + NR - 1) / NR
	if nc < 0 || kc < 0 || len(dst) < panels*NR*kc {
		panic("asm: PackB: bad arguments")
	}
	if nc == 0 || kc == 0 {
		return
	}
	if (!trans && (ldb < nc || len(b) < (kc-1)*ldb+nc)) || (trans && (ldb < kc || len(b) < (nc-1)*ldb+kc)) {
		panic("asm: PackB: source too short")
	}
	packB(dst, b, ldb, trans, kc, nc)
}
