package tensor

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkGemm measures C = op(A)·op(B) (alpha 1, beta 0) on the shapes of
// a TRM forward and backward pass (hidden 512, SwiGLU 1536, sequence 97),
// and on two ragged shapes of the small TRM-MLP models trained on a CPU
// (sequence mixer of 9×9 Sudoku: batch 64 × hidden 64 rows, sequence 81,
// SwiGLU width 256): the down projection, whose 81 columns leave a
// one-column B panel, and a weight gradient with 81 rows.
// Names are BenchmarkGemm/<NN|NT|TN>/<M>x<K>x<N>/t<workers>, the shape in the
// M K N order of /work/shared/tools/openblas-sgemm so the two can be quoted
// side by side:
//
//	go test ./tensor -run '^$' -bench 'Gemm/NN/5184x512x1536' -benchtime 20x
//	/work/shared/tools/openblas-sgemm -t 1 -x NN 5184 512 1536
func BenchmarkGemm(b *testing.B) {
	for _, s := range []gemmBenchShape{
		{"NN", 512, 512, 512},
		{"NN", 5184, 512, 1536},
		{"NN", 776, 512, 3072},
		{"NN", 776, 1536, 512},
		{"NN", 97, 512, 3072},
		{"NT", 776, 512, 3072},
		{"TN", 512, 776, 3072},
		{"NN", 4096, 256, 81},
		{"TN", 81, 4096, 512},
	} {
		b.Run(s.String(), func(b *testing.B) {
			call := s.operands()
			for _, w := range benchWorkers(b) {
				b.Run(fmt.Sprintf("t%d", w), func(b *testing.B) {
					gemmSetWorkers(b, w)
					b.ReportAllocs()
					for b.Loop() {
						call()
					}
					b.ReportMetric(s.flops()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		})
	}
}

// benchWorkers lists the worker counts BenchmarkGemm runs: 1 and 2 (the
// project's 2-core machines), or those of TRM_BENCH_WORKERS, e.g.
// "1,2,4,8,16" on a bigger machine.
func benchWorkers(b *testing.B) []int {
	env := os.Getenv("TRM_BENCH_WORKERS")
	if env == "" {
		return []int{1, 2}
	}
	var ws []int
	for _, f := range strings.Split(env, ",") {
		w, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || w < 1 {
			b.Fatalf("TRM_BENCH_WORKERS=%q: want worker counts ≥ 1 separated by commas", env)
		}
		ws = append(ws, w)
	}
	return ws
}

// gemmBenchShape is a benchmarked GEMM: C (m×n) = op(A)·op(B), op(A) m×k,
// transposes named as in the openblas-sgemm tool (NN, NT, TN).
type gemmBenchShape struct {
	trans   string
	m, k, n int
}

func (s gemmBenchShape) String() string { return fmt.Sprintf("%s/%dx%dx%d", s.trans, s.m, s.k, s.n) }

func (s gemmBenchShape) flops() float64 { return 2 * float64(s.m) * float64(s.n) * float64(s.k) }

// operands makes random A and B (seeded) and C for the shape and returns
// one Gemm call on them (alpha 1, beta 0).
func (s gemmBenchShape) operands() func() {
	transA, transB := s.trans[0] == 'T', s.trans[1] == 'T'
	rng := rand.New(rand.NewPCG(1, 1))
	lda, ldb := s.k, s.n
	if transA {
		lda = s.m
	}
	if transB {
		ldb = s.k
	}
	a := gemmRandMatrix(rng, s.m, s.k, s.k) // same length either way
	bm := gemmRandMatrix(rng, s.k, s.n, s.n)
	c := make([]float32, s.m*s.n)
	return func() { Gemm(transA, transB, s.m, s.n, s.k, 1, a, lda, bm, ldb, 0, c, s.n) }
}

// BenchmarkGemmScaling measures the speed-up of two workers over one on the
// large shapes of BenchmarkGemm, with the two interleaved so that both see
// the same state of a shared, noisy machine. Each iteration times two
// one-worker calls after an untimed one, two two-worker calls after an
// untimed one — back-to-back calls, as in a training loop, where the helper
// goroutine is still polling for work (parSpin) when the next call comes —
// and, after a pause longer than parSpin, one more two-worker call, which
// has to wake the parked helper first. It reports the median GFLOP/s of the
// one- and back-to-back two-worker calls, their ratio t2/t1, and the ratio
// for the calls after a pause, t2cold/t1:
//
//	go test ./tensor -run '^$' -bench GemmScaling -benchtime 30x
func BenchmarkGemmScaling(b *testing.B) {
	for _, s := range []gemmBenchShape{
		{"NN", 512, 512, 512},
		{"NN", 5184, 512, 1536},
		{"NN", 776, 512, 3072},
		{"NN", 776, 1536, 512},
		{"NT", 776, 512, 3072},
		{"TN", 512, 776, 3072},
	} {
		b.Run(s.String(), func(b *testing.B) {
			gemm := s.operands()
			call := func(workers int) time.Duration {
				SetWorkers(workers)
				t0 := time.Now()
				gemm()
				return time.Since(t0)
			}
			gemmSetWorkers(b, 1) // restores the setting afterwards
			call(1)
			call(2) // start the helpers, size the buffers
			var t1, t2, t2cold []time.Duration
			for b.Loop() {
				call(1)
				t1 = append(t1, call(1), call(1))
				call(2)
				t2 = append(t2, call(2), call(2))
				time.Sleep(4 * parSpin) // the helper parks
				t2cold = append(t2cold, call(2))
			}
			m1, m2, m2cold := gemmMedian(t1), gemmMedian(t2), gemmMedian(t2cold)
			b.ReportMetric(s.flops()/m1.Seconds()/1e9, "GFLOP/s-t1")
			b.ReportMetric(s.flops()/m2.Seconds()/1e9, "GFLOP/s-t2")
			b.ReportMetric(float64(m1)/float64(m2), "t2/t1")
			b.ReportMetric(float64(m1)/float64(m2cold), "t2cold/t1")
		})
	}
}

// gemmMedian returns the median of d (which it sorts).
func gemmMedian(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}
