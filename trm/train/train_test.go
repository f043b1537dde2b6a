package train_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/trm-go/trm/internal/trmtest"
	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/infer"
	"github.com/trm-go/trm/trm/task"
	"github.com/trm-go/trm/trm/train"
)

// weightsOf returns a copy of every tensor of a trainer's model and its EMA.
func weightsOf(tr *train.Trainer) map[string][]float32 {
	w := tr.Model.Checkpoint(0).Tensors
	for k, v := range tr.Checkpoint().Tensors {
		w["ema:"+k] = v
	}
	return w
}

func TestTrainDeterministic(t *testing.T) {
	for _, mode := range []train.TrainMode{train.ModeCarry, train.ModeExplicit} {
		t.Run(string(mode), func(t *testing.T) {
			c := trmtest.TinyConfig(t, nn.VariantAttn)
			c.TrainSteps, c.BatchSize = 6, 8
			run := func() map[string][]float32 {
				r, err := train.Train(context.Background(), c, train.TrainOptions{Mode: mode})
				require.NoError(t, err)
				return weightsOf(r.Trainer)
			}
			a, b := run(), run()
			require.Equal(t, a, b)
			c.Seed++
			r, err := train.Train(context.Background(), c, train.TrainOptions{Mode: mode})
			require.NoError(t, err)
			require.NotEqual(t, a, weightsOf(r.Trainer), "another seed must give other weights")
		})
	}
}

// TestResumeBitIdentical trains k steps straight and k/2 + resume + k/2 and
// requires identical weights, EMA and carry.
func TestResumeBitIdentical(t *testing.T) {
	for _, mode := range []train.TrainMode{train.ModeCarry, train.ModeExplicit} {
		t.Run(string(mode), func(t *testing.T) {
			c := trmtest.TinyConfig(t, nn.VariantMLP)
			c.PuzzleEmbNdim, c.PuzzleEmbLen = 16, 1
			c.PuzzleEmbLR, c.PuzzleEmbWeightDecay = 1e-2, 0.1
			c.TrainSteps, c.BatchSize = 8, 8
			c.HaltExplorationProb = 0.5
			c.Optimizer = nn.OptAdamATan2 // the official one; the other tests use AdamW
			straight, err := train.Train(context.Background(), c, train.TrainOptions{Mode: mode})
			require.NoError(t, err)

			dir := filepath.Join(t.TempDir(), "run")
			half := c
			half.TrainSteps = 4
			_, err = train.Train(context.Background(), half, train.TrainOptions{Mode: mode, Dir: dir})
			require.NoError(t, err)
			resumed, err := train.Train(context.Background(), c, train.TrainOptions{Mode: mode, Dir: dir, Resume: true})
			require.NoError(t, err)
			require.Equal(t, int64(8), resumed.Trainer.StepCount())
			require.Equal(t, weightsOf(straight.Trainer), weightsOf(resumed.Trainer))
			require.Equal(t, straight.Trainer.State(), resumed.Trainer.State())

			// The saved model is the EMA weights at the last step.
			ck, err := trm.LoadCheckpoint(train.Run{Dir: dir}.ModelPath())
			require.NoError(t, err)
			require.Equal(t, int64(8), ck.Step)
			require.Equal(t, straight.Trainer.Checkpoint().Tensors, ck.Tensors)

			// A changed architecture is refused.
			bad := c
			bad.HiddenSize = 32
			_, err = train.Train(context.Background(), bad, train.TrainOptions{Mode: mode, Dir: dir, Resume: true})
			require.ErrorContains(t, err, "config differs")
		})
	}
}

func TestTrainCancelSaves(t *testing.T) {
	c := trmtest.TinyConfig(t, nn.VariantAttn)
	c.TrainSteps = 1000
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	c.LogInterval = 1
	r, err := train.Train(ctx, c, train.TrainOptions{Dir: dir, Log: func(train.TrainStats) {
		if n++; n == 3 {
			cancel()
		}
	}})
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, int64(3), r.Trainer.StepCount())
	ck, st, err := train.Run{Dir: dir}.Resume()
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
	c := trmtest.TinyConfig(t, nn.VariantMLP)
	c.HiddenSize, c.BatchSize = 32, 32
	c.LR, c.LRWarmupSteps = 1e-3, 20
	c.TrainSteps = 250
	c.EMARate = 0.95
	before, err := trm.NewModel(c.ModelConfig, c.Seed)
	require.NoError(t, err)
	tk, err := c.NewTask()
	require.NoError(t, err)
	r0, err := infer.Evaluate(context.Background(), before, tk, infer.EvalOptions{N: 200, Split: task.SplitTrain})
	require.NoError(t, err)

	res, err := train.Train(context.Background(), c, train.TrainOptions{Mode: train.ModeExplicit})
	require.NoError(t, err)
	var r *infer.EvalResult
	res.Trainer.WithEMA(func() {
		r, err = infer.Evaluate(context.Background(), res.Trainer.Model, tk, infer.EvalOptions{N: 200, Split: task.SplitTrain})
	})
	require.NoError(t, err)
	t.Logf("before: %v; after: %v (early exit %v, %.2f steps)", r0.Full, r.Full, r.Early, r.MeanSteps)
	assert.Less(t, r0.Full.ExactAcc(), 0.15)
	// Margins are wide: the trajectory (not its determinism) changes with
	// the kernels' rounding (SIMD, purego, arm64).
	assert.Greater(t, r.Full.ExactAcc(), 0.1)
	assert.Greater(t, r.Full.TokenAcc(), 0.4)
}
