package infer_test

import (
	"context"
	"math"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/trm-go/trm/checkpoints"
	"github.com/trm-go/trm/trm/task"

	"github.com/trm-go/trm/internal/trmtest"
	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/infer"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEvaluateHalting(t *testing.T) {
	c := trmtest.TinyConfig(t, nn.VariantAttn)
	c.HaltMaxSteps = 4
	m, err := trm.NewModel(c.ModelConfig, 5)
	require.NoError(t, err)
	tk, err := c.NewTask()
	require.NoError(t, err)

	// q_head at its init (bias −5): nobody halts early, so early = full.
	r, err := infer.Evaluate(context.Background(), m, tk, infer.EvalOptions{N: 37, BatchSize: 10})
	require.NoError(t, err)
	require.Len(t, r.Curve, 4)
	assert.Equal(t, 37, r.Full.Examples)
	assert.Equal(t, r.Full, r.Early)
	assert.Equal(t, r.Full, r.Curve[3])
	assert.Equal(t, 4.0, r.MeanSteps)
	assert.Equal(t, 2*37, r.Full.Tokens, "two answer digits per 1-digit sum")

	// q_halt > 0 everywhere: every sample exits after its first step.
	m.QHead.Bias.Value.Data[0] = 5
	r2, err := infer.Evaluate(context.Background(), m, tk, infer.EvalOptions{N: 37, BatchSize: 8})
	require.NoError(t, err)
	assert.Equal(t, 1.0, r2.MeanSteps)
	assert.Equal(t, r2.Curve[0], r2.Early)
	assert.Equal(t, r.Full, r2.Full, "the halting head does not change the full-step predictions")
	assert.Equal(t, r2.Early, r2.Score(trm.HaltEarly))
	assert.Equal(t, r2.Full, r2.Score(trm.HaltFull))

	// Batch size does not change results.
	r3, err := infer.Evaluate(context.Background(), m, tk, infer.EvalOptions{N: 37, BatchSize: 37})
	require.NoError(t, err)
	assert.Equal(t, r2, r3)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = infer.Evaluate(ctx, m, tk, infer.EvalOptions{N: 10})
	require.ErrorIs(t, err, context.Canceled)
}

func TestPredictor(t *testing.T) {
	c := trmtest.TinyConfig(t, nn.VariantMLP)
	m, err := trm.NewModel(c.ModelConfig, 9)
	require.NoError(t, err)
	p, err := infer.NewPredictor(m)
	require.NoError(t, err)
	inputs := []string{"3 + 7", "5+9", " 0 + 0 ", "9 + 9", "1 + 2"}
	got, err := p.Predict(inputs...)
	require.NoError(t, err)
	require.Len(t, got, len(inputs))
	for i, g := range got {
		assert.Equal(t, inputs[i], g.Input)
		assert.Equal(t, c.HaltMaxSteps, g.Steps, "q_halt = −5 never halts early")
		assert.InDelta(t, 1/(1+math.Exp(5)), g.Confidence, 1e-6)
		assert.Len(t, g.Tokens, c.SeqLen)
		assert.NotEmpty(t, g.Answer)
	}

	// Batching does not change answers.
	p.BatchSize = 2
	got2, err := p.Predict(inputs...)
	require.NoError(t, err)
	assert.Equal(t, got, got2)

	// Early exit, when asked for: the default runs all N_sup steps.
	m.QHead.Bias.Value.Data[0] = 5
	assert.Equal(t, trm.HaltFull, p.Halt, "the default of trm infer")
	got3, err := p.Predict(inputs[0])
	require.NoError(t, err)
	assert.Equal(t, c.HaltMaxSteps, got3[0].Steps)
	p.Halt = trm.HaltEarly
	got3, err = p.Predict(inputs[0])
	require.NoError(t, err)
	assert.Equal(t, 1, got3[0].Steps)
	p.Halt = trm.HaltFull
	got4, err := p.Predict(inputs[0])
	require.NoError(t, err)
	assert.Equal(t, c.HaltMaxSteps, got4[0].Steps)
	assert.Equal(t, got[0].Answer, got4[0].Answer)

	_, err = p.Predict("3 + 7", "three plus seven")
	require.ErrorContains(t, err, `input 2 "three plus seven"`)

	// Through a checkpoint file: the same answers.
	m.QHead.Bias.Value.Data[0] = -5
	path := filepath.Join(t.TempDir(), "m.safetensors")
	require.NoError(t, trm.SaveCheckpoint(path, m.Checkpoint(3)))
	lp, err := infer.LoadPredictor(path)
	require.NoError(t, err)
	got5, err := lp.Predict(inputs...)
	require.NoError(t, err)
	assert.Equal(t, got, got5)
}

// TestLoadPredictorEmbedded: "embedded:NAME" loads a shipped model, the
// loader every trm command uses; its answers are trm infer's (all N_sup
// steps by default), so 99999 + 1 is 100000, not the early-halting 0.
func TestLoadPredictorEmbedded(t *testing.T) {
	p, err := infer.LoadPredictor("embedded:arith")
	require.NoError(t, err)
	assert.Equal(t, "arith", p.Task.Name())
	assert.Equal(t, trm.HaltFull, p.Halt)
	got, err := p.Predict("99999 + 1")
	require.NoError(t, err)
	assert.Equal(t, "100000", got[0].Answer)
	assert.Equal(t, p.Model.Config.HaltMaxSteps, got[0].Steps)

	ck, err := infer.LoadCheckpoint("embedded:sudoku6")
	require.NoError(t, err)
	assert.Equal(t, "sudoku6", ck.Config.Task)

	_, err = infer.LoadPredictor("embedded:nope")
	require.ErrorIs(t, err, checkpoints.ErrNotShipped)
	assert.EqualError(t, err, `no model is shipped for "nope" (shipped: arith, sudoku6, sudoku9)`)

	// A file is still a file.
	_, err = infer.LoadPredictor(filepath.Join(t.TempDir(), "missing.safetensors"))
	require.Error(t, err)
	assert.NotErrorIs(t, err, checkpoints.ErrNotShipped)
}

// stopAfter is a context that reports itself cancelled from its limit+1-th
// call of Err on: a deterministic cancellation in the middle of a run.
type stopAfter struct {
	context.Context
	calls atomic.Int64
	limit int64
}

func (c *stopAfter) Err() error {
	if c.calls.Add(1) > c.limit {
		return context.Canceled
	}
	return nil
}

// TestCancelBetweenSteps: PredictContext and Evaluate look at the context
// between supervision steps, so a run of a practically endless number of
// steps still stops soon after cancellation.
func TestCancelBetweenSteps(t *testing.T) {
	c := trmtest.TinyConfig(t, nn.VariantMLP)
	m, err := trm.NewModel(c.ModelConfig, 9)
	require.NoError(t, err)
	tk, err := c.NewTask()
	require.NoError(t, err)
	p, err := infer.NewPredictor(m)
	require.NoError(t, err)
	p.Halt, p.MaxSteps = trm.HaltFull, 1<<40

	for _, limit := range []int64{0, 1, 5, 20} {
		ctx := &stopAfter{Context: context.Background(), limit: limit}
		_, err := p.PredictContext(ctx, "3 + 7", "5 + 9")
		require.ErrorIs(t, err, context.Canceled, "limit %d", limit)
		assert.LessOrEqual(t, ctx.calls.Load(), limit+2, "no step after the cancellation is seen")

		ctx = &stopAfter{Context: context.Background(), limit: limit}
		_, err = infer.Evaluate(ctx, m, tk, infer.EvalOptions{N: 10, BatchSize: 4, Steps: 1 << 40})
		require.ErrorIs(t, err, context.Canceled, "limit %d", limit)
	}

	// A context that is never cancelled changes nothing.
	p.MaxSteps = 0
	want, err := p.Predict("3 + 7", "5 + 9")
	require.NoError(t, err)
	got, err := p.PredictContext(context.Background(), "3 + 7", "5 + 9")
	require.NoError(t, err)
	assert.Equal(t, want, got)
	exs := make([]task.Example, 2)
	for i, s := range []string{"3 + 7", "5 + 9"} {
		exs[i], err = tk.Encode(s)
		require.NoError(t, err)
	}
	got, err = p.PredictExamplesContext(context.Background(), []string{"3 + 7", "5 + 9"}, exs)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	_, err = p.PredictExamples([]string{"3 + 7"}, exs)
	assert.ErrorContains(t, err, "1 texts for 2 examples")
}

// TestPredictionValid: every answer says whether it is correct, judged by
// the task from the input (task.CheckAnswer).
func TestPredictionValid(t *testing.T) {
	c := trmtest.TinyConfig(t, nn.VariantMLP)
	m, err := trm.NewModel(c.ModelConfig, 9)
	require.NoError(t, err)
	p, err := infer.NewPredictor(m)
	require.NoError(t, err)
	inputs := []string{"3 + 7", "5+9", "0 + 0", "9 + 9"}
	got, err := p.Predict(inputs...)
	require.NoError(t, err)
	for i, r := range got {
		ex, err := p.Task.Encode(inputs[i])
		require.NoError(t, err)
		want, known := task.CheckAnswer(p.Task, ex, r.Tokens)
		require.True(t, known)
		require.NotNil(t, r.Valid, inputs[i])
		assert.Equal(t, want, *r.Valid, inputs[i])
	}

	// The shipped models answer these right, and say so.
	for _, c := range []struct{ model, input string }{
		{"arith", "3 + 7"},
		{"arith", "48213 + 99999"},
		{"sudoku6", "...13...14...6.32..3...1..25..4...16"},
	} {
		data, ok := checkpoints.Lookup(c.model)
		require.True(t, ok)
		p, err := infer.DecodePredictor(data, c.model)
		require.NoError(t, err)
		p.Halt = trm.HaltFull
		got, err := p.Predict(c.input)
		require.NoError(t, err)
		require.NotNil(t, got[0].Valid)
		ex, err := p.Task.Encode(c.input)
		require.NoError(t, err)
		want, _ := task.CheckAnswer(p.Task, ex, got[0].Tokens)
		assert.Equal(t, want, *got[0].Valid)
		assert.True(t, *got[0].Valid, "%s = %s", c.input, got[0].Answer)
	}
}
