package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/asm"
)

// gemmGuard is the NaN the tests put around every operand; its payload makes
// it distinguishable from a NaN the code under test might produce.
var gemmGuard = math.Float32frombits(0x7fc0beef)

const gemmGuardLen = 9 // guard elements before and after C

// gemmCase is one Gemm call to check against gemmNaive.
type gemmCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	nanC           bool // C starts as NaN (only meaningful with beta = 0)
}

func (tc gemmCase) String() string {
	tr := func(t bool) string {
		if t {
			return "T"
		}
		return "N"
	}
	return fmt.Sprintf("%s%s/m%d_n%d_k%d/alpha%g_beta%g", tr(tc.transA), tr(tc.transB), tc.m, tc.n, tc.k, tc.alpha, tc.beta)
}

// gemmRandMatrix returns a rows×cols matrix with row stride ld, values in
// [-1, 1), and gemmGuard in the padding between cols and ld.
func gemmRandMatrix(rng *rand.Rand, rows, cols, ld int) []float32 {
	x := make([]float32, gemmNeed(rows, cols, ld))
	for i := range x {
		if i%ld < cols {
			x[i] = 2*rng.Float32() - 1
		} else {
			x[i] = gemmGuard
		}
	}
	return x
}

// gemmOperands builds A, B and C (C with gemmGuardLen guards on both sides)
// for tc with leading dimensions 0..3 larger than needed.
func gemmOperands(rng *rand.Rand, tc gemmCase) (a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	ar, ac := tc.m, tc.k
	if tc.transA {
		ar, ac = ac, ar
	}
	br, bc := tc.k, tc.n
	if tc.transB {
		br, bc = bc, br
	}
	lda, ldb, ldc = max(ac, 1)+rng.IntN(4), max(bc, 1)+rng.IntN(4), max(tc.n, 1)+rng.IntN(4)
	a, b = gemmRandMatrix(rng, ar, ac, lda), gemmRandMatrix(rng, br, bc, ldb)
	c = make([]float32, 2*gemmGuardLen+gemmNeed(tc.m, tc.n, ldc))
	for i := range c {
		c[i] = gemmGuard
	}
	if !tc.nanC {
		for i := range tc.m {
			for j := range tc.n {
				c[gemmGuardLen+i*ldc+j] = 2*rng.Float32() - 1
			}
		}
	}
	return a, lda, b, ldb, c, ldc
}

// gemmSameBits reports whether x and y hold the same bits (NaNs included).
func gemmSameBits(x, y []float32) bool {
	return slices.EqualFunc(x, y, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) })
}

// gemmCheckCase runs Gemm on tc and compares with gemmNaive: every element
// of the m×n block within a tolerance from the length and magnitude of its
// sum, every other element of c (guards, padding between n and ldc)
// untouched.
func gemmCheckCase(t *testing.T, rng *rand.Rand, tc gemmCase) {
	t.Helper()
	a, lda, b, ldb, c, ldc := gemmOperands(rng, tc)
	c0 := slices.Clone(c)
	want := slices.Clone(c)
	gemmNaive(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, want[gemmGuardLen:], ldc)
	Gemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c[gemmGuardLen:], ldc)
	bad := 0
	for idx := range c {
		r, col := (idx-gemmGuardLen)/ldc, (idx-gemmGuardLen)%ldc
		inBlock := idx >= gemmGuardLen && r < tc.m && col < tc.n
		if !inBlock {
			if math.Float32bits(c[idx]) != math.Float32bits(c0[idx]) {
				bad++
				assert.Failf(t, "element outside C touched", "%v: c[%d] (row %d, col %d, ldc %d) = %v, was %v", tc, idx, r, col, ldc, c[idx], c0[idx])
			}
			continue
		}
		// Σ|alpha·a·b| + |beta·c| bounds the rounding error of the sum.
		mag := 0.0
		if tc.beta != 0 {
			mag = math.Abs(float64(tc.beta) * float64(c0[idx]))
		}
		for p := range tc.k {
			av, bv := gemmAt(a, tc.transA, r, p, lda)[0], gemmAt(b, tc.transB, p, col, ldb)[0]
			mag += math.Abs(float64(tc.alpha) * float64(av) * float64(bv))
		}
		tol := float64(tc.k+3) * 0x1p-23 * mag
		got := float64(c[idx])
		if math.IsNaN(got) || math.IsInf(got, 0) || math.Abs(got-float64(want[idx])) > tol {
			bad++
			assert.Failf(t, "wrong element", "%v: C[%d][%d] = %v, want %v ± %g", tc, r, col, got, want[idx], tol)
		}
		if bad > 5 {
			t.FailNow()
		}
	}
}

var gemmTestSizes = []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 31, 33, 64, 97, 127, 255, 513}

// gemmScalars are the alpha and beta values tested: the special 0 and 1,
// and an ordinary one.
var gemmScalars = []float32{0, 1, -0.75}

func TestGemmAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const budget = 1 << 20 // m·n·k of a random case, to keep the test fast
	pick := func(fixed, dim int) gemmCase {
		for {
			d := [3]int{}
			for i := range d {
				d[i] = gemmTestSizes[rng.IntN(len(gemmTestSizes))]
			}
			if dim >= 0 {
				d[dim] = fixed
			}
			if d[0]*d[1]*d[2] <= budget {
				return gemmCase{
					transA: rng.IntN(2) == 1, transB: rng.IntN(2) == 1,
					m: d[0], n: d[1], k: d[2],
					alpha: gemmScalars[rng.IntN(3)], beta: gemmScalars[rng.IntN(3)],
				}
			}
		}
	}
	var cases []gemmCase
	// Every size in every position.
	for dim := range 3 {
		for _, s := range gemmTestSizes {
			cases = append(cases, pick(s, dim))
		}
	}
	// Every transpose case with every alpha and beta.
	for _, transA := range []bool{false, true} {
		for _, transB := range []bool{false, true} {
			for _, alpha := range gemmScalars {
				for _, beta := range gemmScalars {
					for range 2 {
						tc := pick(0, -1)
						tc.transA, tc.transB, tc.alpha, tc.beta = transA, transB, alpha, beta
						cases = append(cases, tc)
					}
				}
			}
		}
	}
	// Several blocks in every loop: m > gemmMC, k > gemmKC, n > gemmNC.
	cases = append(cases,
		gemmCase{m: 2*gemmMC + 7, n: 37, k: 2*gemmKC + 3, alpha: 1.5, beta: -0.5},
		gemmCase{transA: true, transB: true, m: gemmMC + 1, n: 21, k: gemmKC + 1, alpha: 1, beta: 1},
		gemmCase{transB: true, m: 7, n: gemmNC + 29, k: 9, alpha: -1, beta: 0},
		gemmCase{transA: true, m: 13, n: 2*gemmNC + 1, k: 5, alpha: 2, beta: 1},
		gemmCase{m: 0, n: 5, k: 3, alpha: 1, beta: 1},
		gemmCase{m: 5, n: 0, k: 3, alpha: 1, beta: 1},
		gemmCase{m: 5, n: 7, k: 0, alpha: 1, beta: 0.5},
		gemmCase{m: 5, n: 7, k: 0, alpha: 1, beta: 0, nanC: true},
	)
	for _, tc := range cases {
		t.Run(tc.String(), func(t *testing.T) { gemmCheckCase(t, rng, tc) })
	}
}

func TestGemmBetaZeroIgnoresNaN(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []gemmCase{
		{m: 7, n: 19, k: 5, alpha: 1},
		{transA: true, m: 31, n: 33, k: 64, alpha: -0.75},
		{transB: true, m: 97, n: 17, k: 300, alpha: 1},
		{m: 6, n: 16, k: 3, alpha: 0}, // alpha = 0 too: C is only cleared
	} {
		tc.nanC = true
		t.Run(tc.String(), func(t *testing.T) { gemmCheckCase(t, rng, tc) })
	}
}

// gemmSetWorkers sets the worker count for one test and restores the
// previous setting after it.
func gemmSetWorkers(t testing.TB, n int) {
	old := parWorkers.Load()
	SetWorkers(n)
	t.Cleanup(func() { parWorkers.Store(old) })
}

func TestGemmWorkersBitIdentical(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []gemmCase{
		// k > gemmKC everywhere: several k slices, whose size must not
		// depend on the part.
		{m: 200, n: 150, k: 300, alpha: 1, beta: 0},                  // split along m
		{transA: true, m: 61, n: 300, k: 520, alpha: -0.75, beta: 1}, // split along n
		{transB: true, m: 97, n: 515, k: 300, alpha: 1, beta: -0.75},
		{transA: true, transB: true, m: 301, n: 37, k: 270, alpha: 2, beta: 1},
	} {
		t.Run(tc.String(), func(t *testing.T) {
			for _, w := range []int{2, 3} {
				tm, tn := gemmGrid(tc.m, tc.n, tc.k, w)
				require.Greater(t, tm*tn, 1, "workers=%d: the case must be split to test anything", w)
			}
			a, lda, b, ldb, c0, ldc := gemmOperands(rng, tc)
			var ref []float32
			for _, w := range []int{1, 2, 3, 4} { // 4: a 2×2 grid for the first case
				gemmSetWorkers(t, w)
				c := slices.Clone(c0)
				Gemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c[gemmGuardLen:], ldc)
				if ref == nil {
					ref = c
					continue
				}
				for i := range c {
					if math.Float32bits(c[i]) != math.Float32bits(ref[i]) {
						require.Failf(t, "results differ between worker counts", "workers=%d: c[%d] = %v, workers=1 gave %v", w, i, c[i], ref[i])
					}
				}
			}
		})
	}
}

func TestGemmConcurrentCalls(t *testing.T) {
	gemmSetWorkers(t, 2)
	rng := rand.New(rand.NewPCG(7, 8))
	const callers = 3
	tc := gemmCase{m: 100, n: 110, k: 96, alpha: 1, beta: 0.5}
	tm, tn := gemmGrid(tc.m, tc.n, tc.k, 2)
	require.Greater(t, tm*tn, 1, "the case must take the parallel path with 2 workers")
	type operands struct {
		a, b, c, want []float32
		lda, ldb, ldc int
	}
	ops := make([]operands, callers)
	for i := range ops {
		o := &ops[i]
		o.a, o.lda, o.b, o.ldb, o.c, o.ldc = gemmOperands(rng, tc)
		o.want = slices.Clone(o.c)
		gemmNaive(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, o.a, o.lda, o.b, o.ldb, tc.beta, o.want[gemmGuardLen:], o.ldc)
	}
	// Each caller runs its Gemm several times; every run must give the same
	// bits, and those must match the oracle.
	got := make([][]float32, callers)
	var wg sync.WaitGroup
	for i := range ops {
		wg.Go(func() {
			o := &ops[i]
			for run := range 2 {
				c := slices.Clone(o.c)
				Gemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, o.a, o.lda, o.b, o.ldb, tc.beta, c[gemmGuardLen:], o.ldc)
				if run == 0 {
					got[i] = c
				} else if !gemmSameBits(got[i], c) {
					got[i] = nil // reported below
				}
			}
		})
	}
	wg.Wait()
	for i, o := range ops {
		require.NotNil(t, got[i], "caller %d: repeated calls gave different results", i)
		for j, w := range o.want {
			g := got[i][j]
			if math.IsNaN(float64(w)) {
				require.Equal(t, math.Float32bits(w), math.Float32bits(g), "caller %d: c[%d] is outside C, must stay the guard", i, j)
				continue
			}
			require.InDelta(t, w, g, 1e-4, "caller %d: c[%d]", i, j)
		}
	}
}

func TestGemmNoAllocs(t *testing.T) {
	if gemmRaceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	tc := gemmCase{m: 70, n: 130, k: 128, alpha: 1, beta: 0}
	tm, tn := gemmGrid(tc.m, tc.n, tc.k, 2)
	require.Greater(t, tm*tn, 1, "the case must take the parallel path with 2 workers")
	a, lda, b, ldb, c, ldc := gemmOperands(rng, tc)
	for _, w := range []int{1, 2} {
		gemmSetWorkers(t, w)
		run := func() { Gemm(false, false, tc.m, tc.n, tc.k, 1, a, lda, b, ldb, 0, c[gemmGuardLen:], ldc) }
		for range 10 {
			run() // grow the buffers, start the helpers, fill the pools
		}
		assert.Zero(t, testing.AllocsPerRun(20, run), "workers=%d", w)
	}
}

func TestGemmPanics(t *testing.T) {
	buf := make([]float32, 100)
	for _, tc := range []struct {
		name string
		call func()
	}{
		{"negative m", func() { Gemm(false, false, -1, 2, 2, 1, buf, 2, buf, 2, 0, buf, 2) }},
		{"negative k", func() { Gemm(false, false, 2, 2, -1, 1, buf, 2, buf, 2, 0, buf, 2) }},
		{"lda < k", func() { Gemm(false, false, 3, 3, 4, 1, buf, 3, buf, 3, 0, buf, 3) }},
		{"lda < m (transA)", func() { Gemm(true, false, 4, 3, 3, 1, buf, 3, buf, 3, 0, buf, 3) }},
		{"ldb < n", func() { Gemm(false, false, 3, 4, 3, 1, buf, 3, buf, 3, 0, buf, 4) }},
		{"ldb < k (transB)", func() { Gemm(false, true, 3, 3, 4, 1, buf, 4, buf, 3, 0, buf, 3) }},
		{"ldc < n", func() { Gemm(false, false, 3, 4, 3, 1, buf, 3, buf, 4, 0, buf, 3) }},
		{"a too short", func() { Gemm(false, false, 10, 2, 10, 1, buf[:99], 10, buf, 2, 0, buf, 2) }},
		{"b too short", func() { Gemm(false, true, 2, 10, 10, 1, buf, 10, buf[:95], 10, 0, buf, 10) }},
		{"c too short", func() { Gemm(false, false, 10, 10, 2, 1, buf, 2, buf, 10, 0, buf[:91], 10) }},
	} {
		assert.Panics(t, tc.call, tc.name)
	}
	// The same calls with long enough slices do not panic.
	assert.NotPanics(t, func() { Gemm(false, false, 10, 10, 2, 1, buf, 2, buf, 10, 0, buf[:100:100], 10) })
	assert.NotPanics(t, func() { Gemm(false, false, 0, 0, 0, 1, nil, 1, nil, 1, 0, nil, 1) })
}

func TestGemmRange(t *testing.T) {
	for _, size := range []int{1, 5, 6, 7, 97, 100, 3072} {
		for _, unit := range []int{gemmMR, gemmNR} {
			for parts := 1; parts <= 5; parts++ {
				prev := 0
				for r := range parts {
					lo, hi := gemmRange(size, unit, r, parts)
					require.Equal(t, prev, lo, "size %d unit %d part %d/%d", size, unit, r, parts)
					require.LessOrEqual(t, lo, hi)
					require.True(t, lo%unit == 0, "part %d/%d starts at %d, not a multiple of %d", r, parts, lo, unit)
					prev = hi
				}
				require.Equal(t, size, prev, "size %d unit %d parts %d: not covered", size, unit, parts)
			}
		}
	}
}

func TestGemmBlock(t *testing.T) {
	for _, tc := range []struct{ size, max, unit, want int }{
		{512, 256, 1, 256},
		{776, 256, 1, 194},
		{257, 256, 1, 129},
		{97, 144, 6, 102},
		{5184, 144, 6, 144},
		{145, 144, 6, 78},
		{3072, 3072, 16, 3072},
		{3073, 3072, 16, 1552},
		{1, 256, 1, 1},
	} {
		got := gemmBlock(tc.size, tc.max, tc.unit)
		assert.Equal(t, tc.want, got, "gemmBlock(%d, %d, %d)", tc.size, tc.max, tc.unit)
	}
}

func TestGemmGrid(t *testing.T) {
	for _, tc := range []struct{ m, n, k, workers, tm, tn int }{
		{512, 512, 512, 1, 1, 1},
		{8, 8, 8, 2, 1, 1},         // too small to split
		{5184, 1536, 512, 2, 2, 1}, // tall: split rows
		{97, 3072, 512, 2, 1, 2},   // wide: split columns
		{6, 3072, 512, 4, 1, 4},    // one row of tiles
		{5184, 1536, 512, 4, 4, 1}, // A packing is cheap next to the compute
		{2048, 2048, 512, 4, 2, 2}, // square: a 2×2 grid packs least
		{97, 3072, 512, 3, 1, 3},
	} {
		tm, tn := gemmGrid(tc.m, tc.n, tc.k, tc.workers)
		assert.Equal(t, [2]int{tc.tm, tc.tn}, [2]int{tm, tn}, "gemmGrid(%d, %d, %d, %d)", tc.m, tc.n, tc.k, tc.workers)
	}
	// Many workers: never more parts than workers or micro-tiles.
	for _, w := range []int{5, 7, 64, parMaxWorkers} {
		tm, tn := gemmGrid(5184, 1536, 512, w)
		assert.LessOrEqual(t, tm*tn, w)
		assert.Greater(t, tm*tn, 1)
		tm, tn = gemmGrid(7, 40, 4096, w)
		assert.LessOrEqual(t, tm, 2)
		assert.LessOrEqual(t, tn, 3)
	}
}

func TestWorkers(t *testing.T) {
	gemmSetWorkers(t, 3)
	assert.Equal(t, 3, Workers())
	SetWorkers(0)
	assert.Positive(t, Workers())
	SetWorkers(-4)
	assert.Positive(t, Workers())
	SetWorkers(1 << 30)
	assert.Equal(t, parMaxWorkers, Workers())
}

// FuzzGemm compares Gemm with gemmNaive on shapes, transposes, scalars and
// worker counts taken from the fuzz input. The seed corpus runs in a normal
// `go test`.
func FuzzGemm(f *testing.F) {
	f.Add(uint16(1), uint16(1), uint16(1), false, false, float32(1), float32(0), uint8(1), uint64(1))
	f.Add(uint16(7), uint16(17), uint16(5), true, false, float32(-0.75), float32(1), uint8(2), uint64(2))
	f.Add(uint16(97), uint16(33), uint16(31), false, true, float32(2), float32(-0.75), uint8(3), uint64(3))
	f.Add(uint16(145), uint16(40), uint16(257), true, true, float32(1), float32(1), uint8(2), uint64(4))
	f.Add(uint16(13), uint16(100), uint16(0), false, false, float32(1), float32(0.5), uint8(1), uint64(5))
	f.Add(uint16(6), uint16(16), uint16(64), false, false, float32(0), float32(0), uint8(2), uint64(6))
	f.Fuzz(func(t *testing.T, m, n, k uint16, transA, transB bool, alpha, beta float32, workers uint8, seed uint64) {
		if math.Abs(float64(alpha)) > 1e6 || math.Abs(float64(beta)) > 1e6 || alpha != alpha || beta != beta {
			t.Skip("scalars must be finite and moderate")
		}
		tc := gemmCase{transA: transA, transB: transB, m: int(m % 300), n: int(n % 300), k: int(k % 600), alpha: alpha, beta: beta}
		if tc.m*tc.n*max(tc.k, 1) > 1<<21 {
			t.Skip("too big for the naive oracle")
		}
		gemmSetWorkers(t, 1+int(workers%4))
		gemmCheckCase(t, rand.New(rand.NewPCG(seed, 11)), tc)
	})
}

// parCountJob counts how often each part runs.
type parCountJob struct{ runs []atomic.Int32 }

func (j *parCountJob) runPart(i int) { j.runs[i].Add(1) }

func TestParTaskRunsEveryPartOnce(t *testing.T) {
	assert.Panics(t, func() { new(parTask).run(&parCountJob{}, parMaxParts+1, 0) })
	var wg sync.WaitGroup
	for caller := range 4 { // concurrent callers share the helper pool
		wg.Go(func() {
			var task parTask
			for _, tc := range [][2]int{{0, 0}, {1, 0}, {1, 3}, {2, 1}, {3, 2}, {7, 3}, {5, 0}, {16, 15}} {
				parts, helpers := tc[0], tc[1]
				for range 20 {
					job := &parCountJob{runs: make([]atomic.Int32, parts)}
					task.run(job, parts, helpers)
					for i := range job.runs {
						assert.EqualValues(t, 1, job.runs[i].Load(), "caller %d, %d parts, %d helpers: part %d", caller, parts, helpers, i)
					}
				}
			}
		})
	}
	wg.Wait()
}

// parGemmJob runs a parallel Gemm in each part: parts on the helper pool
// that themselves hand parts to the same pool.
type parGemmJob struct {
	a, b []float32
	c    [][]float32
	m, n int
	k    int
}

func (j *parGemmJob) runPart(i int) {
	Gemm(false, false, j.m, j.n, j.k, 1, j.a, j.k, j.b, j.n, 0, j.c[i], j.n)
}

func TestParTaskNestedGemm(t *testing.T) {
	gemmSetWorkers(t, 4)
	rng := rand.New(rand.NewPCG(11, 12))
	const m, n, k, parts = 48, 96, 240, 4
	tm, tn := gemmGrid(m, n, k, 4)
	require.Greater(t, tm*tn, 1, "the inner Gemm must take the parallel path")
	a, b := gemmRandMatrix(rng, m, k, k), gemmRandMatrix(rng, k, n, n)
	want := make([]float32, m*n)
	gemmNaive(false, false, m, n, k, 1, a, k, b, n, 0, want, n)
	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		for range 2 { // concurrent outer callers, all on one helper pool
			wg.Go(func() {
				job := &parGemmJob{a: a, b: b, m: m, n: n, k: k, c: make([][]float32, parts)}
				for i := range job.c {
					job.c[i] = make([]float32, m*n)
				}
				var task parTask
				for range 2 {
					task.run(job, parts, 3)
					for i := range job.c {
						assert.InDeltaSlice(t, want, job.c[i], 1e-3)
					}
				}
			})
		}
		wg.Wait()
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		require.FailNow(t, "nested parallel Gemm calls deadlocked")
	}
}

// TestGemmKernelGroups covers the grouping of panels into kernel calls
// (gemmRows×gemmCols blocks: KernelNW on two B panels, KernelN on a lone
// one, edge for the rest, KernelNarrow for a ragged last B panel of at most
// asm.NarrowMax columns): every number of full A panels in the last
// sliver, with and without a ragged last panel, against a pair of B panels
// and a ragged one (5 columns: edge; 1: narrow), a pair and a lone full
// one, a lone full and a ragged one (5 and asm.NarrowMax columns), and a
// lone narrow one, for the three kinds of beta (0 goes through the Set
// kernels and must not read C), with one block of rows (m ≤ gemmMC) and
// with several.
func TestGemmKernelGroups(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for panels := 0; panels <= 2*gemmRows/gemmMR+1; panels++ {
		for _, rest := range []int{0, 4, 2*gemmMC + 4} {
			m := panels*gemmMR + rest
			if m == 0 {
				continue
			}
			for _, n := range []int{gemmCols + 5, gemmCols + gemmNR, gemmNR + 5, gemmCols + 1, gemmNR + asm.NarrowMax, 3} {
				for _, beta := range gemmScalars {
					tc := gemmCase{transB: panels%2 == 1, m: m, n: n, k: 11, alpha: 1.25, beta: beta, nanC: beta == 0}
					t.Run(tc.String(), func(t *testing.T) { gemmCheckCase(t, rng, tc) })
				}
			}
		}
	}
}

// gemmTallCases have more rows than one block (m > gemmMC) and enough work
// to run in parallel: several k slices, two column blocks, ragged row
// groups and ragged B panels, every transpose, the three kinds of beta.
var gemmTallCases = []gemmCase{
	{m: 251, n: 90, k: 1030, alpha: 1, beta: 0},                  // 3 k slices, ragged rows and B panel
	{transA: true, m: 263, n: 3100, k: 40, alpha: -0.5, beta: 1}, // 2 column blocks
	{transB: true, m: 400, n: 17, k: 600, alpha: 1, beta: -0.75}, // one full and one 1-wide B panel
	{transA: true, transB: true, m: 250, n: 70, k: 513, alpha: 2, beta: 1},
	{m: 24 * 11, n: 32, k: 700, alpha: 1, beta: 0},             // whole row groups, whole B panels
	{transB: true, m: 500, n: 81, k: 300, alpha: 1, beta: 1.5}, // a 1-wide last B panel: KernelNarrow
	{transA: true, m: 300, n: 547, k: 40, alpha: 0.5, beta: 0}, // a 3-wide one after two L2 strips
}

// TestGemmTallParallel checks parallel calls on several blocks of rows
// against the naive GEMM, with guards around C, and bitwise against one
// worker, for worker counts that split C evenly and unevenly (8: more
// workers than this machine has cores).
func TestGemmTallParallel(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, tc := range gemmTallCases {
		t.Run(tc.String(), func(t *testing.T) {
			require.Greater(t, tc.m, gemmMC)
			require.GreaterOrEqual(t, gemmFlops(tc.m, tc.n, tc.k), float64(gemmParMinFlops))
			gemmSetWorkers(t, 2)
			gemmCheckCase(t, rng, tc)
			a, lda, b, ldb, c0, ldc := gemmOperands(rng, tc)
			var ref []float32
			for _, w := range []int{1, 2, 3, 8} {
				gemmSetWorkers(t, w)
				c := slices.Clone(c0)
				Gemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c[gemmGuardLen:], ldc)
				if ref == nil {
					ref = c
					continue
				}
				require.True(t, gemmSameBits(ref, c), "workers=%d: result differs from one worker's", w)
			}
		})
	}
}

// TestGemmSplit: a parallel call is cut into more parts than workers (a
// multiple of gemmGrid's parts, at most gemmParSplit per worker) where the
// extra packing is cheap, so that a worker on a free core can take the
// parts of one on a busy core; small calls keep gemmGrid's grid.
func TestGemmSplit(t *testing.T) {
	for _, tc := range []struct{ m, n, k, workers, parts int }{
		{512, 512, 512, 1, 1},
		{8, 8, 8, 2, 1},
		{5184, 1536, 512, 2, 8},
		{776, 3072, 512, 2, 8},
		{97, 3072, 512, 2, 8},
		{4096, 81, 256, 2, 8},
		{70, 130, 128, 2, 2}, // parts of ~2 Mflop: too small to cut further
	} {
		tm, tn := gemmSplit(tc.m, tc.n, tc.k, tc.workers)
		gm, gn := gemmGrid(tc.m, tc.n, tc.k, tc.workers)
		assert.Equal(t, tc.parts, tm*tn, "gemmSplit(%d, %d, %d, %d) = %d×%d", tc.m, tc.n, tc.k, tc.workers, tm, tn)
		assert.Zero(t, tm*tn%(gm*gn), "a multiple of gemmGrid's %d×%d", gm, gn)
		if tm*tn > gm*gn {
			mt, nt := (tc.m+gemmMR-1)/gemmMR, (tc.n+gemmNR-1)/gemmNR
			extra := float64(tm*tn)*gemmPartCost(mt, nt, tc.k, tm, tn)/(float64(gm*gn)*gemmPartCost(mt, nt, tc.k, gm, gn)) - 1
			assert.LessOrEqual(t, extra, gemmParSlack, "extra packing")
			assert.GreaterOrEqual(t, gemmPartCost(mt, nt, tc.k, tm, tn), float64(gemmParGrain))
		}
	}
}
