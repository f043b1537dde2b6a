package asm

// NarrowMax is the widest ragged B panel KernelNarrow takes.
const NarrowMax = 4

// KernelNarrow computes the first nr columns (1 ≤ nr ≤ NarrowMax) of
// panels packed A panels times one packed B panel, column by column:
//
//	out[(q*nr+j)*8 + i] = Σ_p ap[q*k*MR + p*MR + i] · bp[p*NR + j]   (q < panels, i < MR, j < nr)
//
// bitwise what KernelNSet computes for those elements, so a GEMM may use it
// for a ragged last B panel of nr columns without changing any result.
// out[(q*nr+j)*8 + MR ..+7] are scratch. It is meant for many panels at
// once (a whole block of rows): vectorising over the rows of an A panel
// instead of the columns of B, it does nr multiply-adds per panel and k step
// on AVX2 where KernelNSet does six 16-wide ones whatever nr is.
//
// It panics unless panels ≥ 1, k ≥ 0, 1 ≤ nr ≤ NarrowMax,
// len(ap) ≥ panels*k*MR, len(bp) ≥ k*NR and len(out) ≥ panels*nr*8.
func KernelNarrow(panels, k, nr int, ap, bp, out []float32) {
	if panels < 1 || k < 0 || nr < 1 || nr > NarrowMax || len(ap) < panels*k*MR || len(bp) < k*NR || len(out) < panels*nr*8 {
		panic("asm: KernelNarrow: bad arguments")
	}
	if k == 0 {
		clear(out[:panels*nr*8])
		return
	}
	kernelNarrow(panels, k, nr, ap, bp, out)
}

// kernelNarrowLoop is KernelNarrow through KernelNSet: each A panel against
// the whole B panel into a 6×16 tile, of which nr columns are kept. It is
// the implementation wherever there is no narrow kernel, and so exactly
// KernelNSet's arithmetic there too.
func kernelNarrowLoop(panels, k, nr int, ap, bp, out []float32) {
	var tile [MR * NR]float32
	for q := 0; q < panels; q++ {
		kernelNSet(1, k, ap[q*k*MR:], bp, tile[:], NR)
		for j := 0; j < nr; j++ {
			col := out[(q*nr+j)*8 : (q*nr+j)*8+MR]
			for i := range col {
				col[i] = tile[i*NR+j]
			}
		}
	}
}
