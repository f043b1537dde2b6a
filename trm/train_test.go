package trm

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/nn"
)

// tinyConfig is a model of a few thousand parameters on 1-digit sums.
func tinyConfig(t testing.TB, variant Variant) Config {
	t.Helper()
	c := DefaultConfig()
	task, err := NewTask("arith", TaskOptions{"digits": "1"})
	require.NoError(t, err)
	c = c.WithTask(task)
	c.Variant = variant
	c.PosEncodings = PosRoPE
	if variant == VariantMLP {
		c.PosEncodings = PosNone
	}
	c.HiddenSize, c.NumHeads, c.Expansion = 16, 2, 2
	c.HCycles, c.LCycles, c.HaltMaxSteps = 2, 2, 3
	c.BatchSize = 16
	c.LR, c.LRWarmupSteps, c.WeightDecay = 3e-3, 10, 0.01
	c.Optimizer = OptAdamW
	c.EMARate = 0.9
	c.TrainSteps, c.LogInterval, c.EvalInterval, c.CheckpointInterval = 20, 5, 0, 0
	require.NoError(t, c.Validate())
	return c
}

func TestModelShapes(t *testing.T) {
	for _, v := range []Variant{VariantAttn, VariantMLP} {
		t.Run(string(v), func(t *testing.T) {
			c := tinyConfig(t, v)
			c.PuzzleEmbNdim, c.PuzzleEmbLen, c.NumPuzzleIdentifiers = 24, 2, 3
			c.PuzzleEmbLR, c.PuzzleEmbWeightDecay = 1e-2, 0.1
			if v == VariantMLP {
				c.PosEncodings = PosLearned
			}
			m, err := NewModel(c, 7)
			require.NoError(t, err)
			specs := c.TensorSpecs()
			require.Len(t, m.Params(), len(specs))
			for i, s := range specs {
				assert.Equal(t, s.Name, m.Params()[i].Name)
				assert.Equal(t, s.Shape, m.Params()[i].Value.Shape)
			}
			assert.Equal(t, []float32{-5, -5}, m.QHead.Bias.Value.Data)
			assert.Equal(t, make([]float32, len(m.QHead.Weight.Value.Data)), m.QHead.Weight.Value.Data)
			assert.Len(t, m.TrainedParams(), len(specs)-2, "all but y_init and z_init")

			B, L, S, D := 3, c.SeqLen, c.SeqTotal(), c.HiddenSize
			tape := nn.NewTape()
			tokens := make([]int32, B*L)
			for i := range tokens {
				tokens[i] = int32(i % c.VocabSize)
			}
			x := m.Input(tape, tokens, []int32{0, 2, 1})
			require.Equal(t, []int{B, S, D}, x.Shape())
			y, z := m.NewCarry(B)
			out := m.Step(tape, x, tape.Const(y), tape.Const(z))
			assert.Equal(t, []int{B, S, D}, out.Y.Shape())
			assert.Equal(t, []int{B, S, D}, out.Z.Shape())
			assert.Equal(t, []int{B, L, c.VocabSize}, out.Logits.Shape())
			assert.Equal(t, []int{B}, out.QHalt.Shape())
			// q_head starts at "do not halt": q_halt = −5 for every sample.
			assert.Equal(t, []float32{-5, -5, -5}, out.QHalt.Value.Data)
		})
	}
}

// TestLatentNormsBounded runs many supervision steps and checks that y and
// z keep the RMS the post-norm blocks give them (about 1): the recursion
// neither explodes nor collapses.
func TestLatentNormsBounded(t *testing.T) {
	for _, v := range []Variant{VariantAttn, VariantMLP} {
		c := tinyConfig(t, v)
		c.HCycles, c.LCycles = 3, 4
		m, err := NewModel(c, 3)
		require.NoError(t, err)
		B, L := 4, c.SeqLen
		tokens := make([]int32, B*L)
		for i := range tokens {
			tokens[i] = int32(1 + i%(c.VocabSize-1))
		}
		tape := nn.NewTape()
		y, z := m.NewCarry(B)
		for range 12 {
			tape.Reset()
			tape.SetNoGrad(true)
			out := m.Step(tape, m.Input(tape, tokens, nil), tape.Const(y), tape.Const(z))
			copy(y.Data, out.Y.Value.Data)
			copy(z.Data, out.Z.Value.Data)
			for _, s := range [][]float32{y.Data, z.Data} {
				var ss float64
				for _, v := range s {
					ss += float64(v) * float64(v)
				}
				rms := math.Sqrt(ss / float64(len(s)))
				require.False(t, math.IsNaN(rms))
				require.InDelta(t, 1, rms, 0.05, "%s: RMS of the state", v)
			}
		}
	}
}

// weightsOf returns a copy of every tensor of a trainer's model and its EMA.
func weightsOf(tr *Trainer) map[string][]float32 {
	w := tr.Model.Checkpoint(0).Tensors
	for k, v := range tr.Checkpoint().Tensors {
		w["ema:"+k] = v
	}
	return w
}

func TestTrainDeterministic(t *testing.T) {
	for _, mode := range []TrainMode{ModeCarry, ModeExplicit} {
		t.Run(string(mode), func(t *testing.T) {
			c := tinyConfig(t, VariantAttn)
			c.TrainSteps, c.BatchSize = 6, 8
			run := func() map[string][]float32 {
				r, err := Train(context.Background(), c, TrainOptions{Mode: mode})
				require.NoError(t, err)
				return weightsOf(r.Trainer)
			}
			a, b := run(), run()
			require.Equal(t, a, b)
			c.Seed++
			r, err := Train(context.Background(), c, TrainOptions{Mode: mode})
			require.NoError(t, err)
			require.NotEqual(t, a, weightsOf(r.Trainer), "another seed must give other weights")
		})
	}
}

// TestResumeBitIdentical trains k steps straight and k/2 + resume + k/2 and
// requires identical weights, EMA and carry.
func TestResumeBitIdentical(t *testing.T) {
	for _, mode := range []TrainMode{ModeCarry, ModeExplicit} {
		t.Run(string(mode), func(t *testing.T) {
			c := tinyConfig(t, VariantMLP)
			c.PuzzleEmbNdim, c.PuzzleEmbLen = 16, 1
			c.PuzzleEmbLR, c.PuzzleEmbWeightDecay = 1e-2, 0.1
			c.TrainSteps, c.BatchSize = 8, 8
			c.HaltExplorationProb = 0.5
			c.Optimizer = OptAdamATan2 // the official one; the other tests use AdamW
			straight, err := Train(context.Background(), c, TrainOptions{Mode: mode})
			require.NoError(t, err)

			dir := filepath.Join(t.TempDir(), "run")
			half := c
			half.TrainSteps = 4
			_, err = Train(context.Background(), half, TrainOptions{Mode: mode, Dir: dir})
			require.NoError(t, err)
			resumed, err := Train(context.Background(), c, TrainOptions{Mode: mode, Dir: dir, Resume: true})
			require.NoError(t, err)
			require.Equal(t, int64(8), resumed.Trainer.StepCount())
			require.Equal(t, weightsOf(straight.Trainer), weightsOf(resumed.Trainer))
			require.Equal(t, straight.Trainer.State(), resumed.Trainer.State())

			// The saved model is the EMA weights at the last step.
			ck, err := LoadCheckpoint(Run{Dir: dir}.ModelPath())
			require.NoError(t, err)
			require.Equal(t, int64(8), ck.Step)
			require.Equal(t, straight.Trainer.Checkpoint().Tensors, ck.Tensors)

			// A changed architecture is refused.
			bad := c
			bad.HiddenSize = 32
			_, err = Train(context.Background(), bad, TrainOptions{Mode: mode, Dir: dir, Resume: true})
			require.ErrorContains(t, err, "config differs")
		})
	}
}

func TestTrainCancelSaves(t *testing.T) {
	c := tinyConfig(t, VariantAttn)
	c.TrainSteps = 1000
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	c.LogInterval = 1
	r, err := Train(ctx, c, TrainOptions{Dir: dir, Log: func(TrainStats) {
		if n++; n == 3 {
			cancel()
		}
	}})
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, int64(3), r.Trainer.StepCount())
	ck, st, err := Run{Dir: dir}.Resume()
	require.NoError(t, err)
	require.Equal(t, int64(3), ck.Step)
	require.Equal(t, int64(3), st.Step)
}

// TestLearningSignal trains a tiny model for a few seconds on 1-digit sums
// and requires accuracy on its training sums far above where it started
// (2% of sums, 13% of digits; guessing the digits' marginals gets about 5%
// of sums right).
func TestLearningSignal(t *testing.T) {
	if testing.Short() || purego {
		t.Skip("trains a model for a few seconds (with the SIMD kernels)")
	}
	c := tinyConfig(t, VariantMLP)
	c.HiddenSize, c.BatchSize = 32, 32
	c.LR, c.LRWarmupSteps = 1e-3, 20
	c.TrainSteps = 250
	c.EMARate = 0.95
	before, err := NewModel(c, c.Seed)
	require.NoError(t, err)
	task, err := c.NewTask()
	require.NoError(t, err)
	r0, err := Evaluate(context.Background(), before, task, EvalOptions{N: 200, Split: SplitTrain})
	require.NoError(t, err)

	res, err := Train(context.Background(), c, TrainOptions{Mode: ModeExplicit})
	require.NoError(t, err)
	var r *EvalResult
	res.Trainer.WithEMA(func() {
		r, err = Evaluate(context.Background(), res.Trainer.Model, task, EvalOptions{N: 200, Split: SplitTrain})
	})
	require.NoError(t, err)
	t.Logf("before: %v; after: %v (early exit %v, %.2f steps)", r0.Full, r.Full, r.Early, r.MeanSteps)
	assert.Less(t, r0.Full.ExactAcc(), 0.15)
	// Margins are wide: the trajectory (not its determinism) changes with
	// the kernels' rounding (SIMD, purego, arm64).
	assert.Greater(t, r.Full.ExactAcc(), 0.1)
	assert.Greater(t, r.Full.TokenAcc(), 0.4)
}
