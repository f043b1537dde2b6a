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

func packAGeneric(dst, a []float32, lda int, trans bool, mc, kc int, alpha float32) {
	for q := 0; q*MR < mc; q++ {
		panel := dst[q*kc*MR : (q+1)*kc*MR]
		rows := min(MR, mc-q*MR)
		for p := 0; p < kc; p++ {
			col := panel[p*MR : p*MR+MR]
			for i := 0; i < rows; i++ {
				r := q*MR + i
				if trans {
					col[i] = alpha * a[p*lda+r]
				} else {
					col[i] = alpha * a[r*lda+p]
				}
			}
			clear(col[rows:])
		}
	}
}

func packBGeneric(dst, b []float32, ldb int, trans bool, kc, nc int) {
	for q := 0; q*NR < nc; q++ {
		panel := dst[q*kc*NR : (q+1)*kc*NR]
		cols := min(NR, nc-q*NR)
		for p := 0; p < kc; p++ {
			row := panel[p*NR : p*NR+NR]
			if trans {
				for j := 0; j < cols; j++ {
					row[j] = b[(q*NR+j)*ldb+p]
				}
			} else {
				copy(row[:cols], b[p*ldb+q*NR:])
			}
			clear(row[cols:])
		}
	}
}
