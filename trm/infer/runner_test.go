package infer

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/trm-go/trm/internal/trmtest"
	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/task"
)

// TestRunnerPasses: a batch run in passes of any size gives, bit for bit,
// the predictions and q_halt of one pass over the whole batch, at every
// supervision step, for both variants (with a puzzle prefix for the MLP).
func TestRunnerPasses(t *testing.T) {
	for _, v := range []nn.Variant{nn.VariantAttn, nn.VariantMLP} {
		t.Run(string(v), func(t *testing.T) {
			c := trmtest.TinyConfig(t, v)
			if v == nn.VariantMLP {
				c.PuzzleEmbNdim, c.PuzzleEmbLen = 16, 1
			}
			m, err := trm.NewModel(c.ModelConfig, 3)
			require.NoError(t, err)
			// Away from init (the zero-initialised heads), so that answers
			// and q_halt differ from sample to sample and step to step.
			rng := rand.New(rand.NewPCG(7, 8))
			for _, p := range m.Params() {
				for i := range p.Value.Data {
					p.Value.Data[i] += float32(rng.NormFloat64()) * 0.1
				}
			}
			tk, err := c.NewTask()
			require.NoError(t, err)
			const B = 11
			exs := make([]task.Example, B)
			for i := range exs {
				exs[i], err = task.Labeled(tk, task.SplitTest, 1, int64(i))
				require.NoError(t, err)
			}
			record := func(pass int) (preds [][]int32, q [][]float32) {
				r := newRunner(m, B)
				r.pass = pass
				r.run(exs, c.HaltMaxSteps, func(step int, p []int32, qs []float32) bool {
					preds = append(preds, append([]int32(nil), p...))
					q = append(q, append([]float32(nil), qs...))
					return true
				})
				return preds, q
			}
			wantP, wantQ := record(B)
			require.Len(t, wantP, c.HaltMaxSteps)
			for _, pass := range []int{1, 3, 4, 10} {
				p, q := record(pass)
				assert.Equal(t, wantP, p, "passes of %d: predictions", pass)
				assert.Equal(t, wantQ, q, "passes of %d: q_halt", pass)
			}
		})
	}
}

// TestPassFor: the pass sizes the doc comment of passFor quotes.
func TestPassFor(t *testing.T) {
	s9 := trm.ModelConfig{SeqLen: 81, HiddenSize: 64}
	assert.Equal(t, 6, passFor(s9))
	s9.HiddenSize = 512
	assert.Equal(t, 4, passFor(s9))
	assert.Equal(t, 1, passFor(trm.ModelConfig{SeqLen: 900, HiddenSize: 512}))
}
