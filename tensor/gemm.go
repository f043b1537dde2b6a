package tensor

// Gemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices, where
// op(A) is m×k and op(B) is k×n. When transA is false A is m×k with row
// stride lda (lda ≥ k); when true A is stored k×m (lda ≥ m) and op(A) = Aᵀ.
// Likewise for B with ldb. C is m×n with row stride ldc ≥ n.
//
// beta = 0 overwrites C without reading it (NaNs in C do not propagate);
// alpha = 0 scales C by beta only. Elements of C outside the m×n block
// (between n and ldc) are never touched.
//
// Gemm panics if a dimension is negative or a slice is too short for the
// dimensions and strides given.
func Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	gemmNaive(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
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
	need := func(rows, cols, ld int) int {
		if rows == 0 || cols == 0 {
			return 0
		}
		return (rows-1)*ld + cols
	}
	switch {
	case lda < max(ac, 1), ldb < max(bc, 1), ldc < max(n, 1):
		panic("tensor: Gemm: leading dimension smaller than the row width")
	case len(a) < need(ar, ac, lda), len(b) < need(br, bc, ldb), len(c) < need(m, n, ldc):
		panic("tensor: Gemm: slice too short for its dimensions")
	}
}

// gemmNaive is the reference GEMM: a triple loop in float64 accumulation.
// It is the test oracle for the blocked implementation.
func gemmNaive(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				av := a[i*lda+p]
				if transA {
					av = a[p*lda+i]
				}
				bv := b[p*ldb+j]
				if transB {
					bv = b[j*ldb+p]
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
