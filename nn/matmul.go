package nn

import "github.com/trm-go/trm/tensor"

// gemmCall describes one matrix product made by the tape's ops.
type gemmCall struct {
	transA, transB bool
	m, n, k        int
}

// gemmTrace, when not nil, receives every matrix product the ops make. It
// is set by tests and benchmarks only (to count FLOPs and to replay the
// same products alone); the nil check costs nothing measurable.
var gemmTrace *[]gemmCall

// gemm is tensor.Gemm on team w, traced when gemmTrace is set.
func gemm(w tensor.Team, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if gemmTrace != nil {
		*gemmTrace = append(*gemmTrace, gemmCall{transA, transB, m, n, k})
	}
	w.Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// gemmPacked is y [m, n] = x [m, k] · op(B) with op(B) packed in p
// (tensor.GemmPacked on team w), traced like gemm (as the NT product it
// replaces).
func gemmPacked(w tensor.Team, m int, x []float32, p *tensor.PackedB, y []float32) {
	k, n := p.K(), p.N()
	if gemmTrace != nil {
		*gemmTrace = append(*gemmTrace, gemmCall{false, true, m, n, k})
	}
	w.GemmPacked(false, m, 1, x, k, p, 0, y, n)
}
