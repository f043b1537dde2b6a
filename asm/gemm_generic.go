package asm

// kernelGeneric is the reference micro-kernel. Each product is rounded before
// it is added (float32(a*b) is an explicit conversion, which the compiler
// may not fuse), so its result does not depend on GOAMD64 or FMA fusion.
func kernelGeneric(k int, ap, bp, c []float32, ldc int) {
	var acc [MR * NR]float32
	for p := 0; p < k; p++ {
		a := ap[p*MR : p*MR+MR]
		b := bp[p*NR : p*NR+NR]
		for i, ai := range a {
			row := acc[i*NR : i*NR+NR]
			for j, bj := range b {
				row[j] += float32(ai * bj)
			}
		}
	}
	for i := 0; i < MR; i++ {
		row := c[i*ldc : i*ldc+NR]
		for j := range row {
			row[j] += acc[i*NR+j]
		}
	}
}

// kernelNLoop runs the dispatched 6×16 kernel on each of the panels A
// panels in turn (see KernelN): the implementation of KernelN wherever no
// wider kernel exists.
func kernelNLoop(panels, k int, ap, bp, c []float32, ldc int) {
	for q := 0; q < panels; q++ {
		kernel(k, ap[q*k*MR:], bp, c[q*MR*ldc:], ldc)
	}
}

// kernelNSetLoop is kernelNLoop with C zeroed first (see KernelNSet).
func kernelNSetLoop(panels, k int, ap, bp, c []float32, ldc int) {
	clearRows(c, ldc, panels*MR)
	kernelNLoop(panels, k, ap, bp, c, ldc)
}

// kernelNGeneric is kernelNLoop over the reference kernel: the test oracle
// of KernelN.
func kernelNGeneric(panels, k int, ap, bp, c []float32, ldc int) {
	for q := 0; q < panels; q++ {
		kernelGeneric(k, ap[q*k*MR:], bp, c[q*MR*ldc:], ldc)
	}
}

// kernelNWLoop runs the dispatched KernelN on each of the two B panels in
// turn (see KernelNW): the implementation of KernelNW wherever no wider
// kernel exists.
func kernelNWLoop(panels, k int, ap, bp, c []float32, ldc int) {
	kernelN(panels, k, ap, bp, c, ldc)
	kernelN(panels, k, ap, bp[k*NR:], c[NR:], ldc)
}

// kernelNWSetLoop is kernelNWLoop for KernelNWSet.
func kernelNWSetLoop(panels, k int, ap, bp, c []float32, ldc int) {
	kernelNSet(panels, k, ap, bp, c, ldc)
	kernelNSet(panels, k, ap, bp[k*NR:], c[NR:], ldc)
}

// kernelNWGeneric is kernelNGeneric on each of the two B panels: the test
// oracle of KernelNW.
func kernelNWGeneric(panels, k int, ap, bp, c []float32, ldc int) {
	kernelNGeneric(panels, k, ap, bp, c, ldc)
	kernelNGeneric(panels, k, ap, bp[k*NR:], c[NR:], ldc)
}

// packAGeneric packs alpha·op(A) into MR-row panels (see PackA). Full
// panels of untransposed A read the MR source rows side by side; transposed
// A gives each panel column as a contiguous run of a row of a.
func packAGeneric(dst, a []float32, lda int, trans bool, mc, kc int, alpha float32) {
	for q := 0; q*MR < mc; q++ {
		panel := dst[q*kc*MR : (q+1)*kc*MR]
		i0 := q * MR
		rows := min(MR, mc-i0)
		switch {
		case trans:
			for p := 0; p < kc; p++ {
				col := panel[p*MR : p*MR+MR]
				for i, v := range a[p*lda+i0 : p*lda+i0+rows] {
					col[i] = alpha * v
				}
				clear(col[rows:])
			}
		case rows == MR:
			r0 := a[i0*lda:][:kc]
			r1 := a[(i0+1)*lda:][:len(r0)]
			r2 := a[(i0+2)*lda:][:len(r0)]
			r3 := a[(i0+3)*lda:][:len(r0)]
			r4 := a[(i0+4)*lda:][:len(r0)]
			r5 := a[(i0+5)*lda:][:len(r0)]
			for p, v := range r0 {
				col := panel[p*MR : p*MR+MR : p*MR+MR]
				col[0] = alpha * v
				col[1] = alpha * r1[p]
				col[2] = alpha * r2[p]
				col[3] = alpha * r3[p]
				col[4] = alpha * r4[p]
				col[5] = alpha * r5[p]
			}
		default:
			clear(panel)
			for i := 0; i < rows; i++ {
				for p, v := range a[(i0+i)*lda:][:kc] {
					panel[p*MR+i] = alpha * v
				}
			}
		}
	}
}

// packBGeneric packs op(B) into NR-column panels (see PackB): row p of an
// untransposed panel is a copy of part of row p of b; a transposed panel
// reads the NR source rows (columns of op(B)) side by side.
func packBGeneric(dst, b []float32, ldb int, trans bool, kc, nc int) {
	for q := 0; q*NR < nc; q++ {
		panel := dst[q*kc*NR : (q+1)*kc*NR]
		j0 := q * NR
		cols := min(NR, nc-j0)
		if !trans {
			for p := 0; p < kc; p++ {
				row := panel[p*NR : p*NR+NR]
				copy(row[:cols], b[p*ldb+j0:])
				clear(row[cols:])
			}
			continue
		}
		if cols < NR {
			clear(panel)
		}
		for j := 0; j < cols; j++ {
			for p, v := range b[(j0+j)*ldb:][:kc] {
				panel[p*NR+j] = v
			}
		}
	}
}
