package infer

import (
	"context"
	"fmt"

	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/task"
)

// DefaultEvalExamples is the number of examples evaluated when a generated
// split is scored and no number is given (Evaluate, periodic evaluation
// during training, trm eval).
const DefaultEvalExamples = 1000

// defaultBatch is the number of examples run together when no batch size
// is given.
const defaultBatch = 256

// EvalOptions configure Evaluate.
type EvalOptions struct {
	// Split is the data evaluated (default task.SplitTest).
	Split task.Split
	// N is the number of examples: 0 means the whole split when it is a
	// fixed list, else DefaultEvalExamples. A fixed list is cut to its
	// length.
	N int
	// Seed chooses the examples of generated splits (default 0).
	Seed uint64
	// BatchSize is the number of examples run together (0: 256).
	BatchSize int
	// Steps is the number of supervision steps (0: the model's N_sup).
	Steps int
	// Examples, when not nil, are evaluated instead of the split (a
	// dataset file); N, Split and Seed are then ignored.
	Examples []task.Example
}

// EvalResult holds the scores of an evaluation. Every sample runs the full
// Steps supervision steps, so one pass gives both halting modes.
type EvalResult struct {
	// Full scores the predictions after all Steps steps (trm.HaltFull).
	Full task.Score
	// Early scores each sample's prediction at its halting step: the first
	// step with q_halt > 0, or the last (trm.HaltEarly).
	Early task.Score
	// MeanSteps is the mean halting step of Early.
	MeanSteps float64
	// Curve[s] scores the predictions after s+1 steps: how accuracy grows
	// with supervision steps.
	Curve []task.Score
}

// Score returns the headline score of mode.
func (r *EvalResult) Score(mode trm.HaltMode) task.Score {
	if mode == trm.HaltEarly {
		return r.Early
	}
	return r.Full
}

// Evaluate scores model m on task t (spec §3 metrics): exact and token
// accuracy with full N_sup steps and with early exit, mean steps to halt,
// and the accuracy after each supervision step. It runs without gradients
// on the model's current weights (use the EMA weights, see
// train.Trainer.WithEMA). It stops with ctx.Err() when ctx is cancelled,
// looking between supervision steps.
func Evaluate(ctx context.Context, m *trm.Model, t task.Task, opts EvalOptions) (*EvalResult, error) {
	if err := m.Config.CheckTask(t); err != nil {
		return nil, err
	}
	if opts.Split == "" {
		opts.Split = task.SplitTest
	}
	n := opts.N
	if l := t.Len(opts.Split); l > 0 && (n <= 0 || n > l) {
		n = l
	}
	if n <= 0 {
		n = DefaultEvalExamples
	}
	if opts.Examples != nil {
		n = len(opts.Examples)
	}
	bs, steps := batchFor(opts.BatchSize), stepsFor(m, opts.Steps)
	// Curve grows with the steps run, so that a huge Steps costs memory
	// only for the steps actually run before ctx is cancelled.
	res := &EvalResult{Curve: make([]task.Score, 0, min(steps, 1024))}
	run := newRunner(m, bs)
	var haltSum int64
	exs := make([]task.Example, 0, bs)
	for lo := 0; lo < n; lo += bs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		exs = exs[:0]
		for i := lo; i < min(lo+bs, n); i++ {
			var ex task.Example
			var err error
			if opts.Examples != nil {
				ex = opts.Examples[i]
				if err = task.CheckLabeled(t, ex); err != nil {
					err = fmt.Errorf("example %d: %w", i+1, err)
				}
			} else {
				ex, err = task.Labeled(t, opts.Split, opts.Seed, int64(i))
			}
			if err != nil {
				return nil, fmt.Errorf("eval: %w", err)
			}
			exs = append(exs, ex)
		}
		halted := make([]bool, len(exs))
		run.run(exs, steps, func(step int, preds []int32, q []float32) bool {
			L := m.Config.SeqLen
			if step > len(res.Curve) {
				res.Curve = append(res.Curve, task.Score{})
			}
			for b, ex := range exs {
				p := preds[b*L : (b+1)*L]
				res.Curve[step-1].Add(t, ex, p)
				if !halted[b] && trm.ShouldHalt(step, steps, q[b]) {
					halted[b] = true
					res.Early.Add(t, ex, p)
					haltSum += int64(step)
				}
				if step == steps {
					res.Full.Add(t, ex, p)
				}
			}
			return ctx.Err() == nil
		})
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	res.MeanSteps = float64(haltSum) / float64(max(res.Early.Examples, 1))
	return res, nil
}
