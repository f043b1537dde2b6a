package train_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/tensor"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/train"
)

// TestTrainWorkersBitIdentical: a whole training step (no-gradient cycles,
// graded cycle, losses, backward, optimizer, EMA) gives bit-identical
// weights with 1, 2 and 3 GEMM workers, for both variants, whole batch and
// micro-batches (passes of 3, 3 and 2, and the automatic passes: 2 of 4),
// which run at once on tapes of their own from 2 workers on. The model is
// large enough that its products and row ops are split into parts (GEMMs
// of 648 rows, rows of 64 values), so the dynamic split (tensor.gemmSplit)
// and the parallel row ops take part.
func TestTrainWorkersBitIdentical(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a hidden-64 model for a few steps, three times")
	}
	prev := tensor.Workers()
	defer tensor.SetWorkers(prev)
	for _, v := range []nn.Variant{nn.VariantAttn, nn.VariantMLP} {
		for _, micro := range []int{8, 3, 0} {
			// The shipped 9×9 recipe (hidden 64, L = 81), shortened.
			c, err := trm.LoadConfig("../../checkpoints/sudoku9.config.json", train.DefaultConfig())
			require.NoError(t, err)
			c.Variant, c.PosEncodings = v, trm.PosNone
			if v == nn.VariantAttn {
				c.PosEncodings = trm.PosRoPE
			}
			c.HCycles, c.LCycles, c.HaltMaxSteps = 2, 2, 2
			c.BatchSize, c.MicroBatch = 8, micro
			require.NoError(t, c.Validate())
			var want map[string][]float32
			for _, w := range []int{1, 2, 3} {
				tensor.SetWorkers(w)
				tr, err := train.NewTrainer(c, train.ModeCarry)
				require.NoError(t, err)
				for range 3 {
					require.NoError(t, tr.Step())
				}
				got := weightsOf(tr)
				if want == nil {
					want = got
					continue
				}
				require.Equal(t, want, got, "%s, micro_batch %d: %d workers give other weights than 1", v, micro, w)
			}
		}
	}
}
