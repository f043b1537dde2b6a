package tensor

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGemmPackedBitIdentical: a product with B packed ahead gives Gemm's
// bits, for both layouts of A and B, ragged edges (n not a multiple of NR,
// n % NR within the narrow kernel's reach), several k slices (k > kc), one
// block of rows (m ≤ mc) and several, beta 0, 1 and other, with 1 to 3
// workers (so with the grids of gemmSplit); C outside the block untouched.
func TestGemmPackedBitIdentical(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	cases := []gemmCase{
		{m: 81, n: 1536, k: 512, alpha: 1, beta: 0, transB: true}, // a weight [out, in]: batch-1 Sudoku
		{m: 97, n: 515, k: 600, alpha: 1, beta: 1, transB: true},  // ragged n, two k slices
		{m: 300, n: 37, k: 270, alpha: -0.5, beta: 0.75},          // m > mc, narrow tail
		{m: 7, n: 3, k: 1100, alpha: 2, beta: 0, transA: true},    // tiny, three k slices
		{m: 500, n: 260, k: 64, alpha: 1, beta: 0, transA: true, transB: true},
		{m: 1, n: 1, k: 1, alpha: 1, beta: 0},
		{m: 33, n: 50, k: 0, alpha: 1, beta: 0.5}, // k = 0: C = beta·C
		{m: 20, n: 40, k: 30, alpha: 0, beta: 2},  // alpha = 0
	}
	for _, tc := range cases {
		t.Run(tc.String(), func(t *testing.T) {
			a, lda, b, ldb, c0, ldc := gemmOperands(rng, tc)
			var p PackedB
			p.Pack(tc.transB, tc.k, tc.n, b, ldb)
			assert.Equal(t, tc.k, p.K())
			assert.Equal(t, tc.n, p.N())
			for _, w := range []int{1, 2, 3} {
				gemmSetWorkers(t, w)
				want := slices.Clone(c0)
				Gemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, want[gemmGuardLen:], ldc)
				got := slices.Clone(c0)
				GemmPacked(tc.transA, tc.m, tc.alpha, a, lda, &p, tc.beta, got[gemmGuardLen:], ldc)
				require.True(t, gemmSameBits(want, got), "workers=%d: GemmPacked differs from Gemm", w)
			}
		})
	}
}

// TestPackedBReuse: packing again into the same PackedB (smaller, then
// larger) reuses or grows its storage and always multiplies by the new B.
func TestPackedBReuse(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	var p PackedB
	for _, tc := range []gemmCase{
		{m: 40, n: 300, k: 700, alpha: 1, transB: true},
		{m: 40, n: 20, k: 10, alpha: 1},
		{m: 40, n: 600, k: 900, alpha: 1, transB: true},
	} {
		a, lda, b, ldb, c0, ldc := gemmOperands(rng, tc)
		p.Pack(tc.transB, tc.k, tc.n, b, ldb)
		want, got := slices.Clone(c0), slices.Clone(c0)
		Gemm(false, tc.transB, tc.m, tc.n, tc.k, 1, a, lda, b, ldb, 0, want[gemmGuardLen:], ldc)
		GemmPacked(false, tc.m, 1, a, lda, &p, 0, got[gemmGuardLen:], ldc)
		require.True(t, gemmSameBits(want, got), "%s", tc)
	}
}

func TestGemmPackedPanics(t *testing.T) {
	var p PackedB
	assert.Panics(t, func() { GemmPacked(false, 1, 1, nil, 1, nil, 0, nil, 1) }, "nil PackedB")
	p.Pack(false, 4, 3, make([]float32, 12), 3)
	assert.Panics(t, func() { GemmPacked(false, 2, 1, make([]float32, 7), 4, &p, 0, make([]float32, 6), 3) }, "A too short")
	assert.Panics(t, func() { GemmPacked(false, 2, 1, make([]float32, 8), 4, &p, 0, make([]float32, 5), 3) }, "C too short")
	assert.Panics(t, func() { GemmPacked(false, 2, 1, make([]float32, 8), 3, &p, 0, make([]float32, 6), 3) }, "lda < k")
	assert.Panics(t, func() { p.Pack(true, 4, 3, make([]float32, 11), 4) }, "B too short")
	assert.Panics(t, func() { p.Pack(false, 4, 3, make([]float32, 12), 2) }, "ldb < n")
	assert.NotPanics(t, func() { GemmPacked(false, 2, 1, make([]float32, 8), 4, &p, 0, make([]float32, 6), 3) })
}
