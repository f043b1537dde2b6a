//go:build amd64 && gc && !purego

package asm

// kernelSIMD is Kernel's SIMD version for the shared dispatch
// (impl_simd.go), which calls it when useAVX2 is set: the AVX-512 6×16
// kernel where useAVX512 is set too, else the AVX2 one.
func kernelSIMD(k int, ap, bp, c []float32, ldc int) {
	if useAVX512 {
		kernelAVX512x1(k, ap, bp, c, ldc)
		return
	}
	kernelAVX2(k, ap, bp, c, ldc)
}

// kernelN, kernelNSet, kernelNW and kernelNWSet are kernelNDispatch and
// kernelNWDispatch for the kernels that update C (KernelN, KernelNW) and
// those that overwrite it (KernelNSet, KernelNWSet).
//
// The dispatchers spell out their switches: calling the kernels through a
// table of function values instead makes every slice passed in escape,
// which moved kernelNarrowLoop's stack tile to the heap (commit 76bd626,
// reverted).

func kernelN(panels, k int, ap, bp, c []float32, ldc int) {
	kernelNDispatch(panels, k, ap, bp, c, ldc, false)
}

func kernelNSet(panels, k int, ap, bp, c []float32, ldc int) {
	kernelNDispatch(panels, k, ap, bp, c, ldc, true)
}

func kernelNW(panels, k int, ap, bp, c []float32, ldc int) {
	kernelNWDispatch(panels, k, ap, bp, c, ldc, false)
}

func kernelNWSet(panels, k int, ap, bp, c []float32, ldc int) {
	kernelNWDispatch(panels, k, ap, bp, c, ldc, true)
}

// kernelNDispatch runs the AVX-512 kernels on groups of 4 A panels (24×16
// blocks), then on the 1 to 3 panels left; without useAVX512, the loop over
// the dispatched 6×16 kernel. It overwrites C (KernelNSet) when set is
// true, else updates it (KernelN). Every kernel does the same arithmetic
// per element, so the grouping does not change the result.
func kernelNDispatch(panels, k int, ap, bp, c []float32, ldc int, set bool) {
	switch {
	case !useAVX512 && set:
		kernelNSetLoop(panels, k, ap, bp, c, ldc)
		return
	case !useAVX512:
		kernelNLoop(panels, k, ap, bp, c, ldc)
		return
	}
	for panels > 0 {
		done := min(panels, 4)
		switch {
		case done == 4 && set:
			kernelAVX512x4set(k, ap, bp, c, ldc)
		case done == 4:
			kernelAVX512x4(k, ap, bp, c, ldc)
		case done == 3 && set:
			kernelAVX512x3set(k, ap, bp, c, ldc)
		case done == 3:
			kernelAVX512x3(k, ap, bp, c, ldc)
		case done == 2 && set:
			kernelAVX512x2set(k, ap, bp, c, ldc)
		case done == 2:
			kernelAVX512x2(k, ap, bp, c, ldc)
		case set:
			kernelAVX512x1set(k, ap, bp, c, ldc)
		default:
			kernelAVX512x1(k, ap, bp, c, ldc)
		}
		panels -= done
		if panels > 0 {
			ap = ap[done*k*MR:]
			c = c[done*MR*ldc:]
		}
	}
}

// kernelNWDispatch runs the AVX-512 two-B-panel kernels on pairs of A
// panels (12×32 blocks), then on the one panel left (6×32); without
// useAVX512, KernelN on each B panel. It overwrites C (KernelNWSet) when
// set is true, else updates it (KernelNW).
func kernelNWDispatch(panels, k int, ap, bp, c []float32, ldc int, set bool) {
	switch {
	case !useAVX512 && set:
		kernelNWSetLoop(panels, k, ap, bp, c, ldc)
		return
	case !useAVX512:
		kernelNWLoop(panels, k, ap, bp, c, ldc)
		return
	}
	for ; panels >= 2; panels -= 2 {
		if set {
			kernelAVX512x2wset(k, ap, bp, c, ldc)
		} else {
			kernelAVX512x2w(k, ap, bp, c, ldc)
		}
		if panels > 2 {
			ap = ap[2*k*MR:]
			c = c[2*MR*ldc:]
		}
	}
	switch {
	case panels == 1 && set:
		kernelAVX512x1wset(k, ap, bp, c, ldc)
	case panels == 1:
		kernelAVX512x1w(k, ap, bp, c, ldc)
	}
}

// packA hands the full MR-row panels to the AVX2 packers (gemm_amd64.s) and
// packs the columns past the last multiple of 8 (untransposed A) and a
// ragged last panel with the generic code. PackA has checked the bounds:
// every panel's source rows lie inside a.
func packA(dst, a []float32, lda int, trans bool, mc, kc int, alpha float32) {
	if !useAVX2 {
		packAGeneric(dst, a, lda, trans, mc, kc, alpha)
		return
	}
	full := mc / MR
	if trans && full > 0 {
		packA6TAVX2(dst, a, lda, kc, full, alpha)
	}
	for q := 0; q < full && !trans; q++ {
		panel := dst[q*kc*MR : (q+1)*kc*MR]
		src := a[q*MR*lda:]
		kc8 := kc &^ 7
		if kc8 > 0 {
			packA6AVX2(panel, src, lda, kc8, alpha)
		}
		for p := kc8; p < kc; p++ {
			for i := 0; i < MR; i++ {
				panel[p*MR+i] = alpha * src[i*lda+p]
			}
		}
	}
	if mc > full*MR {
		rest := a[full*MR:]
		if !trans {
			rest = a[full*MR*lda:]
		}
		packAGeneric(dst[full*kc*MR:], rest, lda, trans, mc-full*MR, kc, alpha)
	}
}

// packBRows is the height of the row blocks in which packB copies
// untransposed B.
const packBRows = 16

// packB is packA's counterpart for B: full NR-column panels in AVX2 (for
// transposed B, rows of the panel past the last multiple of 4 in Go), a
// ragged last panel with the generic code.
func packB(dst, b []float32, ldb int, trans bool, kc, nc int) {
	if !useAVX2 {
		packBGeneric(dst, b, ldb, trans, kc, nc)
		return
	}
	full := nc / NR
	if !trans {
		// Rows in blocks of packBRows, all panels per block: B is read
		// packBRows rows at a time left to right (streams the prefetcher
		// follows), rather than one 64-byte piece per row, a page apart,
		// for each panel in turn.
		for p0 := 0; p0 < kc; p0 += packBRows {
			rows := min(packBRows, kc-p0)
			src := b[p0*ldb:]
			for q := 0; q < full; q++ {
				packB16AVX2(dst[q*kc*NR+p0*NR:], src[q*NR:], ldb, rows)
			}
		}
	}
	for q := 0; q < full && trans; q++ {
		panel := dst[q*kc*NR : (q+1)*kc*NR]
		src := b[q*NR*ldb:]
		kc4 := kc &^ 3
		if kc4 > 0 {
			packB16TAVX2(panel, src, ldb, kc4)
		}
		for p := kc4; p < kc; p++ {
			for j := 0; j < NR; j++ {
				panel[p*NR+j] = src[j*ldb+p]
			}
		}
	}
	if nc > full*NR {
		rest := b[full*NR:]
		if trans {
			rest = b[full*NR*ldb:]
		}
		packBGeneric(dst[full*kc*NR:], rest, ldb, trans, kc, nc-full*NR)
	}
}

// kernelNarrow runs the AVX2 narrow kernels (the 16-wide kernels' FMAs
// lane for lane, so the same results on AVX2 and AVX-512 CPUs). They read
// two values past the last A panel: when ap's capacity does not hold them,
// the last panel goes through kernelNarrowLoop.
func kernelNarrow(panels, k, nr int, ap, bp, out []float32) {
	if !useAVX2 {
		kernelNarrowLoop(panels, k, nr, ap, bp, out)
		return
	}
	n := panels * k * MR
	if cap(ap) < n+2 {
		if panels--; panels == 0 {
			kernelNarrowLoop(1, k, nr, ap, bp, out)
			return
		}
		kernelNarrowLoop(1, k, nr, ap[panels*k*MR:], bp, out[panels*nr*8:])
		n = panels * k * MR
	}
	ap = ap[:n+2]
	switch nr {
	case 1:
		narrowAVX2x1(k, ap, panels, bp, out)
	case 2:
		narrowAVX2x2(k, ap, panels, bp, out)
	case 3:
		narrowAVX2x3(k, ap, panels, bp, out)
	default:
		narrowAVX2x4(k, ap, panels, bp, out)
	}
}
