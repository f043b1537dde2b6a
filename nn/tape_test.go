package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/tensor"
)

func TestParamGradAccumulatesUntilZeroGrad(t *testing.T) {
	w := NewParam("w", 1, 2)
	copy(w.Value.Data, []float32{2, -3})
	x := tensor.FromSlice([]float32{1, 4}, 1, 2)
	tp := NewTape()
	run := func() {
		tp.Reset()
		tp.Backward(tp.Sum(tp.Linear(tp.Const(x), &w.Node, nil))) // d/dw (w·x) = x
	}
	run()
	assert.Equal(t, []float32{1, 4}, w.Grad.Data)
	run()
	assert.Equal(t, []float32{2, 8}, w.Grad.Data, "a second Backward adds")
	w.ZeroGrad()
	run()
	assert.Equal(t, []float32{1, 4}, w.Grad.Data)
}

func TestNoGradRecordsNothing(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	l := NewLinear("l", 3, 2, true, rng)
	tp := NewTape()
	x := tp.Var(tensor.New(4, 3))
	prev := tp.SetNoGrad(true)
	assert.False(t, prev)
	assert.True(t, tp.NoGrad())
	y := tp.RMSNorm(tp.SiLU(l.Forward(tp, x)), RMSEps)
	assert.Equal(t, 0, tp.Len())
	assert.False(t, y.RequiresGrad())
	v := tp.Var(tensor.New(2))
	assert.False(t, v.RequiresGrad(), "Var under no-grad needs no gradient")
	tp.SetNoGrad(false)
	y = l.Forward(tp, x)
	assert.True(t, y.RequiresGrad())
	assert.Equal(t, 1, tp.Len())
}

func TestMarkReleaseReusesStorage(t *testing.T) {
	tp := NewTape()
	x := tp.Const(tensor.FromSlice([]float32{1, 2, 3}, 3))
	tp.SetNoGrad(true)
	m := tp.Mark()
	a := tp.Scale(x, 2)
	tp.Release(m)
	b := tp.Scale(x, 5)
	assert.Same(t, a, b, "the released node is reused")
	assert.Equal(t, []float32{5, 10, 15}, b.Value.Data)
	assert.Panics(t, func() { tp.Release(Mark{off: 1 << 30}) })
}

// TestNoGradCyclesConstantMemory runs many no-grad passes under
// Mark/Release, the TRM recursion pattern: the arena must not grow.
func TestNoGradCyclesConstantMemory(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	net, err := NewNet("", 2, BlockConfig{Variant: VariantMLP, Hidden: 8, Expansion: 2, Seq: 5}, nil, rng)
	require.NoError(t, err)
	z := tensor.New(2, 5, 8)
	TruncNormal(z.Data, 1, rng)
	inject := tensor.New(2, 5, 8)
	TruncNormal(inject.Data, 1, rng)
	tp := NewTape()
	cycle := func() {
		tp.SetNoGrad(true)
		zn, in := tp.Const(z), tp.Const(inject)
		for range 4 {
			m := tp.Mark()
			out := net.Forward(tp, zn, in)
			copy(z.Data, out.Value.Data)
			tp.Release(m)
		}
		tp.SetNoGrad(false)
	}
	tp.Reset()
	cycle()
	peak := tp.arena.peak
	tp.Reset()
	for range 3 {
		cycle()
	}
	assert.Equal(t, peak, tp.arena.peak, "memory of released passes is reused")
	assert.Equal(t, 0, tp.Len())
}

// TestSteadyStateNoAllocs checks that a training step (tape reset, no-grad
// recursion, recorded forward, backward, optimizer and EMA) allocates
// nothing once the arena has grown to its size.
func TestSteadyStateNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	for _, v := range []Variant{VariantAttn, VariantMLP} {
		rng := rand.New(rand.NewPCG(1, 2))
		cfg := BlockConfig{Variant: v, Hidden: 16, Heads: 2, Expansion: 2, Seq: 7}
		net, err := NewNet("", 2, cfg, NewRoPE(8, 7, 10000), rng)
		require.NoError(t, err)
		head := NewLinear("lm_head", 16, 5, false, rng)
		params := append(net.Params(), head.Params()...)
		opt := NewAdamATan2(params, 0.9, 0.95, 0.1)
		ema := NewEMA(params, 0.999)
		x, z := tensor.New(3, 7, 16), tensor.New(3, 7, 16)
		TruncNormal(x.Data, 1, rng)
		labels := make([]int32, 3*7)
		for i := range labels {
			labels[i] = int32(rng.IntN(5))
		}
		tp := NewTape()
		step := func() {
			tp.Reset()
			tp.SetNoGrad(true)
			xn, zn := tp.Const(x), tp.Const(z)
			m := tp.Mark()
			copy(z.Data, net.Forward(tp, zn, xn).Value.Data)
			tp.Release(m)
			tp.SetNoGrad(false)
			out := net.Forward(tp, zn, tp.Var(x))
			loss := tp.Mean(tp.StablemaxCE(head.Forward(tp, out), labels))
			ZeroGrads(params)
			tp.Backward(loss)
			opt.Step(1e-3)
			ema.Update()
		}
		step()
		step()
		assert.Zero(t, testing.AllocsPerRun(10, step), "variant %s", v)
	}
}

func TestReshapeAndSliceShapes(t *testing.T) {
	tp := NewTape()
	x := tp.Var(tensor.New(2, 3, 4))
	assert.Equal(t, []int{6, 4}, tp.Reshape(x, -1, 4).Shape())
	assert.Equal(t, []int{2, 1, 4}, tp.Slice(x, 1, 0, 1).Shape())
	assert.Equal(t, []int{2, 4, 3}, tp.Transpose(x).Shape())
	assert.Equal(t, []int{2, 5, 4}, tp.Concat(1, x, tp.Zeros(2, 2, 4)).Shape())
	assert.Equal(t, []int{}, tp.Sum(x).Shape())
	assert.Panics(t, func() { tp.Reshape(x, 5, -1) })
	assert.Panics(t, func() { tp.Slice(x, 1, 2, 4) })
	assert.Panics(t, func() { tp.Backward(x) }, "loss must be a scalar")
}

func TestSequenceCorrect(t *testing.T) {
	// 2 sequences × 2 positions × 3 classes.
	logits := []float32{
		0, 5, 1, 9, 0, 0, // argmax 1, 0
		3, 1, 0, 0, 0, 7, // argmax 0, 2
	}
	dst := make([]float32, 2)
	right := SequenceCorrect(dst, logits, []int32{1, 0, 0, 1}, 2, 2, 3)
	assert.Equal(t, []float32{1, 0}, dst)
	assert.Equal(t, 3, right)
	right = SequenceCorrect(dst, logits, []int32{IgnoreLabel, 2, 0, IgnoreLabel}, 2, 2, 3)
	assert.Equal(t, []float32{0, 1}, dst)
	assert.Equal(t, 1, right)
}

func TestCrossEntropyIgnoresUnlabelled(t *testing.T) {
	tp := NewTape()
	x := tp.Var(tensor.FromSlice([]float32{1, -2, 0.5, 3, 3, 3}, 2, 1, 3))
	ce := tp.StablemaxCE(x, []int32{IgnoreLabel, 1})
	assert.Equal(t, float32(0), ce.Value.Data[0], "no labels: zero loss")
	assert.InDelta(t, 1.0986123, ce.Value.Data[1], 1e-6, "equal logits: log 3")
	tp.Backward(tp.Sum(ce))
	assert.Equal(t, []float32{0, 0, 0}, x.Grad.Data[:3], "no gradient to unlabelled positions")
}

// TestAttentionWorkersBitIdentical runs attention (forward and backward) at
// a sequence long enough for each head's GEMMs to be split in turn, with 1
// and 4 workers: the results must be bit-identical.
func TestAttentionWorkersBitIdentical(t *testing.T) {
	prev := tensor.Workers()
	defer tensor.SetWorkers(prev)
	rng := rand.New(rand.NewPCG(8, 8))
	const b, s, heads, hd = 2, 150, 2, 64
	qkv := tensor.New(b, s, 3*heads*hd)
	TruncNormal(qkv.Data, 1, rng)
	w := tensor.New(b, s, heads*hd)
	TruncNormal(w.Data, 1, rng)
	rope := NewRoPE(hd, s, 10000)
	run := func(workers int) (out, grad []float32) {
		tensor.SetWorkers(workers)
		tp := NewTape()
		x := tp.Var(qkv)
		y := tp.Attention(x, heads, rope)
		tp.Backward(tp.Sum(tp.Mul(y, tp.Const(w))))
		return append([]float32(nil), y.Value.Data...), append([]float32(nil), x.Grad.Data...)
	}
	out1, grad1 := run(1)
	out4, grad4 := run(4)
	assert.Equal(t, out1, out4)
	assert.Equal(t, grad1, grad4)
}

// TestTapeTeamsBitIdentical applies a two-block network three times over
// (as TRM's recursion does) and back-propagates, on tapes whose ops run on
// one worker, on three, and on the team a tuner picks unit by unit: the
// outputs and every gradient must be bit-identical.
func TestTapeTeamsBitIdentical(t *testing.T) {
	prev := tensor.Workers()
	defer tensor.SetWorkers(prev)
	tensor.SetWorkers(3)
	for _, cfg := range []BlockConfig{
		{Variant: VariantAttn, Hidden: 64, Heads: 2, Expansion: 4},
		{Variant: VariantMLP, Hidden: 64, Expansion: 4, Seq: 40},
	} {
		t.Run(string(cfg.Variant), func(t *testing.T) {
			const b, s = 3, 40
			rng := rand.New(rand.NewPCG(9, 9))
			net, err := NewNet("", 2, cfg, NewRoPE(32, s, 10000), rng)
			require.NoError(t, err)
			x0 := tensor.New(b, s, cfg.Hidden)
			TruncNormal(x0.Data, 1, rng)
			w := tensor.New(b, s, cfg.Hidden)
			TruncNormal(w.Data, 1, rng)
			run := func(setup func(*Tape)) (out []float32, grads [][]float32) {
				for _, p := range net.Params() {
					p.ZeroGrad()
				}
				tp := NewTape()
				setup(tp)
				x := tp.Var(x0)
				h := x
				for range 3 {
					h = net.Forward(tp, h, x)
				}
				tp.Backward(tp.Sum(tp.Mul(h, tp.Const(w))))
				grads = append(grads, append([]float32(nil), x.Grad.Data...))
				for _, p := range net.Params() {
					grads = append(grads, append([]float32(nil), p.Grad.Data...))
				}
				return append([]float32(nil), h.Value.Data...), grads
			}
			out1, g1 := run(func(tp *Tape) { tp.SetTeam(1) })
			out3, g3 := run(func(tp *Tape) { tp.SetTeam(3) })
			tuner := new(tensor.Tuner)
			outT, gT := run(func(tp *Tape) {
				tp.SetTuner(tuner)
				assert.Equal(t, tensor.Team(0), tp.Team(), "an unused tuner: every worker")
			})
			assert.Equal(t, out1, out3)
			assert.Equal(t, g1, g3)
			assert.Equal(t, out1, outT)
			assert.Equal(t, g1, gT)
		})
	}
}

// TestAddRMSNormIsRMSNormOfAdd: the fused residual norm gives the values
// and the gradients of RMSNorm(Add(a, b)) bit for bit, on rows split over
// several workers, with a gradient that a later op also feeds.
func TestAddRMSNormIsRMSNormOfAdd(t *testing.T) {
	prevMin, prevW := parMinWork, tensor.Workers()
	parMinWork = 64
	tensor.SetWorkers(3)
	defer func() { parMinWork = prevMin; tensor.SetWorkers(prevW) }()
	rng := rand.New(rand.NewPCG(4, 4))
	a0, b0, w := tensor.New(3, 7, 40), tensor.New(3, 7, 40), tensor.New(3, 7, 40)
	for _, x := range []*tensor.Tensor{a0, b0, w} {
		TruncNormal(x.Data, 2, rng)
	}
	run := func(fused, self bool) [][]float32 {
		tp := NewTape()
		a, b := tp.Var(a0), tp.Var(b0)
		if self {
			b = a
		}
		var y *Node
		if fused {
			y = tp.AddRMSNorm(a, b, RMSEps)
		} else {
			y = tp.RMSNorm(tp.Add(a, b), RMSEps)
		}
		// a also feeds the loss directly: its gradient adds up.
		tp.Backward(tp.Sum(tp.Add(tp.Mul(y, tp.Const(w)), tp.Mul(a, a))))
		return [][]float32{append([]float32(nil), y.Value.Data...), a.Grad.Data, b.Grad.Data}
	}
	assert.Equal(t, run(false, false), run(true, false))
	assert.Equal(t, run(false, true), run(true, true), "a + a")
	tp := NewTape()
	assert.Panics(t, func() { tp.AddRMSNorm(tp.Var(a0), tp.Var(tensor.New(3, 40)), RMSEps) }, "shapes differ")
}
