package train_test

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/trm-go/trm/internal/trmtest"
	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/train"
)

// microConfig is a tiny config with a puzzle embedding (so the sparse
// optimizer's gradient is split across passes too) and batch 8.
func microConfig(t *testing.T, v nn.Variant) trm.Config {
	c := trmtest.TinyConfig(t, v)
	c.PuzzleEmbNdim, c.PuzzleEmbLen = 16, 1
	c.PuzzleEmbLR, c.PuzzleEmbWeightDecay = 1e-2, 0.1
	c.BatchSize, c.TrainSteps = 8, 6
	c.Optimizer = nn.OptAdamATan2
	return c
}

// TestMicroBatchGradients: a step split into passes of 3, 3 and 2 samples
// computes the whole batch's gradients (up to float rounding), loss and
// metrics, for both variants and both training loops, over several steps
// from the same state (the carry, halting and data then stay in step).
func TestMicroBatchGradients(t *testing.T) {
	for _, v := range []nn.Variant{nn.VariantAttn, nn.VariantMLP} {
		for _, mode := range []train.TrainMode{train.ModeCarry, train.ModeExplicit} {
			t.Run(string(v)+"/"+string(mode), func(t *testing.T) {
				c := microConfig(t, v)
				c.HaltExplorationProb = 0  // halting from q alone: compared below
				c.MicroBatch = c.BatchSize // one pass
				whole, err := train.NewTrainer(c, mode)
				require.NoError(t, err)
				c.MicroBatch = 3
				split, err := train.NewTrainer(c, mode)
				require.NoError(t, err)
				for step := range 4 {
					// Both start the step from the same weights (copied, so
					// that rounding differences do not add up over steps).
					for i, p := range whole.Model.Params() {
						copy(split.Model.Params()[i].Value.Data, p.Value.Data)
					}
					require.NoError(t, whole.Step())
					require.NoError(t, split.Step())
					a, b := whole.Model.TrainedParams(), split.Model.TrainedParams()
					require.Len(t, b, len(a))
					for i, p := range a {
						scale := 0.0
						for _, g := range p.Grad.Data {
							scale = math.Max(scale, math.Abs(float64(g)))
						}
						for j, g := range p.Grad.Data {
							d := math.Abs(float64(g - b[i].Grad.Data[j]))
							if d > 1e-5*scale+1e-9 {
								t.Fatalf("step %d: %s grad[%d] %g whole, %g in passes (largest |g| %g)", step, p.Name, j, g, b[i].Grad.Data[j], scale)
							}
						}
					}
					sa, sb := whole.Stats(0), split.Stats(0)
					assert.InDelta(t, sa.Loss, sb.Loss, 1e-5*math.Abs(sa.Loss), "step %d loss", step)
					assert.Equal(t, sa.Halted, sb.Halted, "step %d: halting decisions", step)
					assert.Equal(t, sa.TokenAcc, sb.TokenAcc, "step %d", step)
					assert.Equal(t, sa.ExactAcc, sb.ExactAcc, "step %d", step)
				}
			})
		}
	}
}

// TestMicroBatchRuns: training with micro_batch is deterministic, resumes
// bit-identically, and a resumed run may change micro_batch (how a step is
// cut, not what it computes) but nothing else.
func TestMicroBatchRuns(t *testing.T) {
	c := microConfig(t, nn.VariantMLP)
	c.MicroBatch = 3
	c.TrainSteps = 6
	straight, err := train.Train(context.Background(), c, train.TrainOptions{})
	require.NoError(t, err)
	again, err := train.Train(context.Background(), c, train.TrainOptions{})
	require.NoError(t, err)
	require.Equal(t, weightsOf(straight.Trainer), weightsOf(again.Trainer))

	dir := filepath.Join(t.TempDir(), "run")
	half := c
	half.TrainSteps = 3
	_, err = train.Train(context.Background(), half, train.TrainOptions{Dir: dir})
	require.NoError(t, err)
	resumed, err := train.Train(context.Background(), c, train.TrainOptions{Dir: dir, Resume: true})
	require.NoError(t, err)
	require.Equal(t, weightsOf(straight.Trainer), weightsOf(resumed.Trainer))
	require.Equal(t, straight.Trainer.State(), resumed.Trainer.State())

	other := c
	other.MicroBatch, other.TrainSteps = 0, 8
	_, err = train.Train(context.Background(), other, train.TrainOptions{Dir: dir, Resume: true})
	require.NoError(t, err, "micro_batch may change on resume")
}

// TestMicroBatchMemory: the memory estimate of a training step counts the
// tape of one pass (plus every sample's carry), and a batch that does not
// fit is told which micro_batch does.
func TestMicroBatchMemory(t *testing.T) {
	c, err := train.Preset("sudoku")
	require.NoError(t, err)
	c.BatchSize = 256
	run := trm.MemoryCheck{Batch: 256, BatchField: "global_batch_size", Training: true}
	_, whole := c.MemoryEstimate(run)
	run.Pass = 16
	_, split := c.MemoryEstimate(run)
	assert.Less(t, float64(split), float64(whole)/12, "passes of 16 hold about 1/16 of the tape")
	run.Pass = 0
	err = c.CheckMemory(run, 8<<30)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "set micro_batch to at most")
	run.Pass = 8
	assert.NoError(t, c.CheckMemory(run, 8<<30), "batch 256 in passes of 8 fits in 8 GiB")
}
