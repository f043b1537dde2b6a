package infer_test

import (
	"context"
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/checkpoints"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/infer"
	"github.com/trm-go/trm/trm/task"
)

func shippedPredictor(t *testing.T, name string) *infer.Predictor {
	t.Helper()
	data, ok := checkpoints.Lookup(name)
	require.True(t, ok)
	p, err := infer.DecodePredictor(data, "embedded:"+name)
	require.NoError(t, err)
	return p
}

// TestTraceMatchesPredict: after every step k, the trace's tokens and
// halting logit are those the predictor gives when it runs k steps; the
// changed cells are those that differ from the step before; the norms are
// consistent (‖Δ‖ of the last net call of a step is what moved the carry);
// and the JSON round-trips.
func TestTraceMatchesPredict(t *testing.T) {
	for _, name := range []string{"arith", "sudoku9"} {
		t.Run(name, func(t *testing.T) {
			p := shippedPredictor(t, name)
			ex, err := task.Labeled(p.Task, task.SplitTest, 5, 3)
			require.NoError(t, err)
			ex.Label = nil
			text := p.Task.Format(ex)
			tr, err := p.Trace(context.Background(), text)
			require.NoError(t, err)
			cfg := p.Model.Config
			require.Len(t, tr.Steps, cfg.HaltMaxSteps)
			assert.Equal(t, text, tr.Input)
			assert.Equal(t, name, tr.Task)
			prev := ex.Input
			halt := 0
			for k, st := range tr.Steps {
				p.Halt, p.MaxSteps = trm.HaltFull, k+1
				preds, err := p.PredictExamples(nil, []task.Example{ex})
				require.NoError(t, err)
				assert.Equal(t, preds[0].Tokens, st.Tokens, "step %d", k+1)
				assert.InDelta(t, preds[0].Confidence, st.HaltProb, 1e-12, "step %d", k+1)
				ans, err := task.AnswerText(p.Task, ex, st.Tokens)
				require.NoError(t, err)
				assert.Equal(t, ans, st.Answer)
				var changed []int
				for i := range st.Tokens {
					if st.Tokens[i] != prev[i] {
						changed = append(changed, i)
					}
				}
				assert.ElementsMatch(t, changed, st.Changed, "step %d", k+1)
				prev = st.Tokens
				if st.Halts && halt == 0 {
					halt = k + 1
				}
				require.Len(t, st.Cycles, cfg.HCycles*(cfg.LCycles+1))
				last := st.Cycles[len(st.Cycles)-1]
				assert.Equal(t, "y", last.Update)
				assert.InDelta(t, st.YNorm, last.YNorm, 1e-9)
				assert.InDelta(t, st.ZNorm, last.ZNorm, 1e-9)
				for _, c := range st.Cycles {
					if c.Update == "z" {
						assert.Zero(t, c.DeltaY, "a latent update leaves y alone")
					} else {
						assert.Zero(t, c.DeltaZ, "an answer update leaves z alone")
					}
					assert.LessOrEqual(t, math.Abs(c.ZCos), 1+1e-9)
				}
				for _, c := range st.Confidence {
					assert.True(t, c > 0 && c <= 1)
				}
				assert.LessOrEqual(t, st.MinConfidence, st.MeanConfidence)
			}
			assert.Equal(t, halt, tr.HaltStep)

			b, err := json.Marshal(tr)
			require.NoError(t, err)
			var back infer.Trace
			require.NoError(t, json.Unmarshal(b, &back))
			assert.Equal(t, *tr, back, "the JSON round-trips")
		})
	}
}

// TestTraceRefuses: bad input and a cancelled context.
func TestTraceRefuses(t *testing.T) {
	p := shippedPredictor(t, "arith")
	_, err := p.Trace(context.Background(), "three plus seven")
	assert.ErrorContains(t, err, `input "three plus seven"`)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = p.Trace(ctx, "3 + 7")
	assert.ErrorIs(t, err, context.Canceled)
}
