package infer

import (
	"context"
	"fmt"
	"math"

	"github.com/trm-go/trm/checkpoints"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/task"
)

// Predictor answers user inputs with a trained model: it encodes the text
// with the model's task, runs the supervision steps (all N_sup of them by
// default, as trm infer) and decodes the answer. It is not safe for
// concurrent use (give each goroutine its own, they can share nothing
// else).
type Predictor struct {
	Model *trm.Model
	Task  task.Task
	// Halt is trm.HaltFull (the default, also of the zero value: always
	// N_sup steps, as trm infer and the published numbers) or
	// trm.HaltEarly (stop a sample at its first q_halt > 0: fewer steps,
	// but the shipped arith model then stops some long carry chains such
	// as 99999 + 1 one step too soon, with a wrong answer).
	Halt trm.HaltMode
	// MaxSteps caps the supervision steps (0: the model's N_sup).
	MaxSteps int
	// BatchSize is the number of inputs run together (0: 64).
	BatchSize int

	// run is the runner of the last call, kept for the next one (its
	// buffers are the size of a batch).
	run *runner
}

// DefaultBatchSize is the number of inputs a Predictor runs together when
// its BatchSize is 0.
const DefaultBatchSize = 64

// batchSize returns BatchSize or its default.
func (p *Predictor) batchSize() int {
	if p.BatchSize > 0 {
		return p.BatchSize
	}
	return DefaultBatchSize
}

// Prediction is the answer to one input.
type Prediction struct {
	// Input is the text as given.
	Input string
	// Answer is the decoded answer, e.g. "148212".
	Answer string
	// Steps is the number of supervision steps used.
	Steps int
	// Confidence is sigmoid(q_halt) at the last step: the model's own
	// estimate that its answer is exactly right.
	Confidence float64
	// Tokens are the predicted tokens (L of them).
	Tokens []int32
	// Valid says whether Answer is a correct answer to Input, judged by
	// the task from the input alone (task.CheckAnswer): for Sudoku a
	// complete grid that breaks no rule and keeps the givens, for a maze a
	// shortest path, for arith the true sum. It is nil when the task
	// cannot tell.
	Valid *bool
}

// NewPredictor returns a predictor for m on the task its config names,
// running all N_sup supervision steps (trm.HaltFull, the default of trm
// infer; set Halt to trm.HaltEarly for early exit).
func NewPredictor(m *trm.Model) (*Predictor, error) {
	t, err := m.Config.NewTask()
	if err != nil {
		return nil, err
	}
	return &Predictor{Model: m, Task: t, Halt: trm.HaltFull}, nil
}

// LoadPredictor returns the predictor of the checkpoint src names (see
// LoadCheckpoint): "embedded:arith" for a model shipped in the binary, or
// a file.
func LoadPredictor(src string) (*Predictor, error) {
	ck, err := LoadCheckpoint(src)
	if err != nil {
		return nil, err
	}
	return predictorFrom(ck)
}

// LoadCheckpoint reads the checkpoint src names: "embedded:NAME"
// (checkpoints.Prefix) for a model shipped in the binary (arith, sudoku6,
// sudoku9: checkpoints.Tasks), otherwise a file, read by
// trm.LoadCheckpoint (a .safetensors file, or an official PyTorch
// checkpoint with its all_config.yaml beside it). Every trm command that
// takes a checkpoint resolves it here. An unknown shipped name is an error
// matching checkpoints.ErrNotShipped.
func LoadCheckpoint(src string) (*trm.Checkpoint, error) {
	data, embedded, err := checkpoints.Resolve(src)
	switch {
	case err != nil:
		return nil, err
	case embedded:
		return trm.DecodeCheckpoint(data, src)
	}
	return trm.LoadCheckpoint(src)
}

// DecodePredictor returns the predictor of a checkpoint held in memory (an
// embedded model); name labels errors.
func DecodePredictor(data []byte, name string) (*Predictor, error) {
	ck, err := trm.DecodeCheckpoint(data, name)
	if err != nil {
		return nil, err
	}
	return predictorFrom(ck)
}

func predictorFrom(ck *trm.Checkpoint) (*Predictor, error) {
	m, err := trm.ModelFromCheckpoint(ck)
	if err != nil {
		return nil, err
	}
	return NewPredictor(m)
}

// Predict answers each input text (e.g. "48213 + 99999"). Inputs are run in
// batches; an input the task cannot parse fails the call with an error
// naming it. It is PredictContext with a context that is never cancelled.
func (p *Predictor) Predict(inputs ...string) ([]Prediction, error) {
	return p.PredictContext(context.Background(), inputs...)
}

// PredictContext is Predict stopping with ctx.Err() once ctx is cancelled:
// it looks between supervision steps, so it returns within one step of
// the model.
func (p *Predictor) PredictContext(ctx context.Context, inputs ...string) ([]Prediction, error) {
	exs := make([]task.Example, len(inputs))
	for i, s := range inputs {
		ex, err := p.Task.Encode(s)
		if err != nil {
			return nil, fmt.Errorf("input %d %q: %w", i+1, s, err)
		}
		exs[i] = ex
	}
	return p.PredictExamplesContext(ctx, inputs, exs)
}

// PredictExamples answers encoded examples; texts (optional, same length)
// fills Prediction.Input. It is PredictExamplesContext with a context that
// is never cancelled.
func (p *Predictor) PredictExamples(texts []string, exs []task.Example) ([]Prediction, error) {
	return p.PredictExamplesContext(context.Background(), texts, exs)
}

// PredictExamplesContext answers encoded examples; texts (optional, same
// length) fills Prediction.Input. It stops with ctx.Err() once ctx is
// cancelled, looking between supervision steps.
func (p *Predictor) PredictExamplesContext(ctx context.Context, texts []string, exs []task.Example) ([]Prediction, error) {
	if texts != nil && len(texts) != len(exs) {
		return nil, fmt.Errorf("predict: %d texts for %d examples", len(texts), len(exs))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	bs := p.batchSize()
	steps := stepsFor(p.Model, p.MaxSteps)
	L := p.Model.Config.SeqLen
	out := make([]Prediction, len(exs))
	if need := min(bs, len(exs)); p.run == nil || p.run.m != p.Model || p.run.batch < need {
		p.run = newRunner(p.Model, max(need, 1))
	}
	run := p.run
	for lo := 0; lo < len(exs); lo += bs {
		batch := exs[lo:min(lo+bs, len(exs))]
		done := make([]bool, len(batch))
		left := len(batch)
		run.run(batch, steps, func(step int, preds []int32, q []float32) bool {
			for b := range batch {
				if done[b] {
					continue
				}
				if !p.Halt.Stops(step, steps, q[b]) {
					continue
				}
				done[b] = true
				left--
				r := &out[lo+b]
				r.Tokens = append([]int32(nil), preds[b*L:(b+1)*L]...)
				r.Steps = step
				r.Confidence = 1 / (1 + math.Exp(-float64(q[b])))
				if texts != nil {
					r.Input = texts[lo+b]
				}
			}
			return left > 0 && ctx.Err() == nil
		})
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for b, ex := range batch {
			r := &out[lo+b]
			ans, err := p.Task.Decode(ex, r.Tokens)
			if err != nil {
				return nil, fmt.Errorf("input %d: decoding the answer: %w", lo+b+1, err)
			}
			r.Answer = ans
			if valid, known := task.CheckAnswer(p.Task, ex, r.Tokens); known {
				r.Valid = &valid
			}
		}
	}
	return out, nil
}
