package nn

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/trm-go/trm/tensor"
)

// benchBlockStep returns a closure running one forward+backward pass of blk
// on x [B, S, D] (loss = Σ out ⊙ w), on a tape reused across calls. The
// parameter gradients are not zeroed in between (that is the optimizer
// step's business, not forward+backward): they accumulate, which costs the
// same as writing them.
func benchBlockStep(blk *Block, x, w *tensor.Tensor) func() {
	tp := NewTape()
	return func() {
		tp.Reset()
		out := blk.Forward(tp, tp.Var(x))
		loss := tp.Sum(tp.Mul(out, tp.Const(w)))
		tp.Backward(loss)
	}
}

// benchBlockSetup returns a seeded TRM block of the given size and an input
// x and loss weights w, both [batch, seq, hidden].
func benchBlockSetup(b *testing.B, variant Variant, hidden, heads, seq, batch int) (blk *Block, x, w *tensor.Tensor) {
	rng := rand.New(rand.NewPCG(1, 2))
	cfg := BlockConfig{Variant: variant, Hidden: hidden, Heads: heads, Expansion: 4, Seq: seq}
	blk, err := NewBlock("layers.0", cfg, NewRoPE(hidden/heads, seq, 10000), rng)
	if err != nil {
		b.Fatal(err)
	}
	x, w = tensor.New(batch, seq, hidden), tensor.New(batch, seq, hidden)
	TruncNormal(x.Data, 1, rng)
	TruncNormal(w.Data, 1, rng)
	return blk, x, w
}

// BenchmarkBlock times forward+backward of one TRM block at the official
// size (hidden 512, 8 heads, sequence 97 = 81 + 16, batch 8), both variants,
// against the same matrix products run alone ("gemms": the GEMM rate of the
// shapes the block uses), with 1 GEMM worker and with GOMAXPROCS workers.
// GFLOP/s counts matrix-product FLOPs only (2·m·n·k each).
func BenchmarkBlock(b *testing.B) {
	const hidden, heads, seq, batch = 512, 8, 97, 8
	for _, variant := range []Variant{VariantAttn, VariantMLP} {
		blk, x, w := benchBlockSetup(b, variant, hidden, heads, seq, batch)
		step := benchBlockStep(blk, x, w)

		var trace []gemmCall
		gemmTrace = &trace
		step()
		gemmTrace = nil
		flops := 0.0
		for _, c := range trace {
			flops += 2 * float64(c.m) * float64(c.n) * float64(c.k)
		}
		gemms := gemmReplay(trace)

		for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
			name := fmt.Sprintf("%s/h%ds%db%d", variant, hidden, seq, batch)
			run := func(kind string, f func()) {
				b.Run(fmt.Sprintf("%s/%s/w%d", name, kind, workers), func(b *testing.B) {
					prev := tensor.Workers()
					tensor.SetWorkers(workers)
					defer tensor.SetWorkers(prev)
					f() // warm the arena and the GEMM buffers
					b.ReportAllocs()
					for b.Loop() {
						f()
					}
					b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
			run("fwdbwd", step)
			run("gemms", gemms)
			if workers == 1 && runtime.GOMAXPROCS(0) == 1 {
				break
			}
		}
	}
}

// gemmReplay returns a closure making the same matrix products as trace on
// buffers of its own.
func gemmReplay(trace []gemmCall) func() {
	type call struct {
		gemmCall
		a, b, c []float32
	}
	calls := make([]call, len(trace))
	for i, g := range trace {
		calls[i] = call{g, make([]float32, g.m*g.k), make([]float32, g.k*g.n), make([]float32, g.m*g.n)}
		for j := range calls[i].a {
			calls[i].a[j] = float32(j%7) * 0.1
		}
		for j := range calls[i].b {
			calls[i].b[j] = float32(j%5) * 0.1
		}
	}
	return func() {
		for _, c := range calls {
			lda, ldb := c.k, c.n
			if c.transA {
				lda = c.m
			}
			if c.transB {
				ldb = c.k
			}
			tensor.Gemm(c.transA, c.transB, c.m, c.n, c.k, 1, c.a, lda, c.b, ldb, 0, c.c, c.n)
		}
	}
}
