package trm

import (
	"context"
	"fmt"

	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/tensor"
)

// HaltMode selects when evaluation and inference stop a sample.
type HaltMode string

// The halting modes (spec §2).
const (
	// HaltFull always runs N_sup supervision steps, ignoring the halting
	// head: what the official evaluation does and the published numbers use.
	HaltFull HaltMode = "full"
	// HaltEarly stops each sample at the first step whose q_halt > 0 (at
	// N_sup at the latest): what a server wants.
	HaltEarly HaltMode = "early"
)

// ParseHaltMode accepts "full" or "early".
func ParseHaltMode(s string) (HaltMode, error) {
	switch HaltMode(s) {
	case HaltFull, HaltEarly:
		return HaltMode(s), nil
	}
	return "", fmt.Errorf("halt mode %q, want %q or %q", s, HaltFull, HaltEarly)
}

// EvalOptions configure Evaluate.
type EvalOptions struct {
	// Split is the data evaluated (default SplitTest).
	Split Split
	// N is the number of examples: 0 means the whole split when it is a
	// fixed list, else 1000. A fixed list is cut to its length.
	N int
	// Seed chooses the examples of generated splits (default 0).
	Seed uint64
	// BatchSize is the number of examples run together (0: 256).
	BatchSize int
	// Steps is the number of supervision steps (0: the model's N_sup).
	Steps int
	// Examples, when not nil, are evaluated instead of the split (a
	// dataset file); N, Split and Seed are then ignored.
	Examples []Example
}

// EvalResult holds the scores of an evaluation. Every sample runs the full
// Steps supervision steps, so one pass gives both halting modes.
type EvalResult struct {
	// Full scores the predictions after all Steps steps (HaltFull).
	Full Score
	// Early scores each sample's prediction at its halting step: the first
	// step with q_halt > 0, or the last (HaltEarly).
	Early Score
	// MeanSteps is the mean halting step of Early.
	MeanSteps float64
	// Curve[s] scores the predictions after s+1 steps: how accuracy grows
	// with supervision steps.
	Curve []Score
}

// Score returns the headline score of mode.
func (r *EvalResult) Score(mode HaltMode) Score {
	if mode == HaltEarly {
		return r.Early
	}
	return r.Full
}

// Evaluate scores model m on task t (spec §3 metrics): exact and token
// accuracy with full N_sup steps and with early exit, mean steps to halt,
// and the accuracy after each supervision step. It runs without gradients
// on the model's current weights (use the EMA weights, see
// Trainer.WithEMA). It stops with ctx.Err() when ctx is cancelled.
func Evaluate(ctx context.Context, m *Model, t Task, opts EvalOptions) (*EvalResult, error) {
	if err := m.Config.CheckTask(t); err != nil {
		return nil, err
	}
	if opts.Split == "" {
		opts.Split = SplitTest
	}
	n := opts.N
	if l := t.Len(opts.Split); l > 0 && (n <= 0 || n > l) {
		n = l
	}
	if n <= 0 {
		n = 1000
	}
	if opts.Examples != nil {
		n = len(opts.Examples)
	}
	bs := opts.BatchSize
	if bs <= 0 {
		bs = 256
	}
	steps := opts.Steps
	if steps <= 0 {
		steps = m.Config.HaltMaxSteps
	}
	res := &EvalResult{Curve: make([]Score, steps)}
	ev := newEvaluator(m, bs)
	var haltSum int64
	exs := make([]Example, 0, bs)
	for lo := 0; lo < n; lo += bs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		exs = exs[:0]
		for i := lo; i < min(lo+bs, n); i++ {
			var ex Example
			var err error
			if opts.Examples != nil {
				ex = opts.Examples[i]
			} else if ex, err = t.Example(opts.Split, opts.Seed, int64(i)); err != nil {
				return nil, fmt.Errorf("eval: %s example %d: %w", opts.Split, i, err)
			}
			if err := CheckExample(t, ex); err != nil {
				return nil, fmt.Errorf("eval: example %d: %w", i+1, err)
			}
			if ex.Label == nil {
				return nil, fmt.Errorf("eval: example %d has no labels", i+1)
			}
			exs = append(exs, ex)
		}
		halted := make([]bool, len(exs))
		ev.run(exs, steps, func(step int, preds []int32, q []float32) bool {
			L := m.Config.SeqLen
			for b, ex := range exs {
				p := preds[b*L : (b+1)*L]
				res.Curve[step-1].Add(t, ex, p)
				if !halted[b] && (q[b] > 0 || step == steps) {
					halted[b] = true
					res.Early.Add(t, ex, p)
					haltSum += int64(step)
				}
				if step == steps {
					res.Full.Add(t, ex, p)
				}
			}
			return true
		})
	}
	res.MeanSteps = float64(haltSum) / float64(max(res.Early.Examples, 1))
	return res, nil
}

// evaluator runs batches of examples through the supervision steps without
// gradients, reusing its tape and buffers.
type evaluator struct {
	m      *Model
	tape   *nn.Tape
	y, z   *tensor.Tensor
	tokens []int32
	pids   []int32
	preds  []int32
	q      []float32
}

func newEvaluator(m *Model, batch int) *evaluator {
	y, z := m.NewCarry(batch)
	return &evaluator{
		m: m, tape: nn.NewTape(), y: y, z: z,
		tokens: make([]int32, batch*m.Config.SeqLen),
		pids:   make([]int32, batch),
		preds:  make([]int32, batch*m.Config.SeqLen),
		q:      make([]float32, batch),
	}
}

// run starts every example from (y_init, z_init) and runs up to steps
// supervision steps, calling visit after each with the step number (from
// 1), the argmax predictions [len(exs)·L] and q_halt [len(exs)]; it stops
// early when visit returns false.
func (e *evaluator) run(exs []Example, steps int, visit func(step int, preds []int32, q []float32) bool) {
	m, t := e.m, e.tape
	S, D, L := m.Config.SeqTotal(), m.Config.HiddenSize, m.Config.SeqLen
	B := len(exs)
	for b, ex := range exs {
		copy(e.tokens[b*L:(b+1)*L], ex.Input)
		e.pids[b] = ex.PuzzleID
	}
	y := &tensor.Tensor{Shape: []int{B, S, D}, Data: e.y.Data[:B*S*D]}
	z := &tensor.Tensor{Shape: []int{B, S, D}, Data: e.z.Data[:B*S*D]}
	for b := range B {
		m.ResetSample(y, z, b)
	}
	t.Reset()
	t.SetNoGrad(true)
	x := m.Input(t, e.tokens[:B*L], e.pids[:B])
	mark := t.Mark()
	for step := 1; step <= steps; step++ {
		out := m.Step(t, x, t.Const(y), t.Const(z))
		copy(y.Data, out.Y.Value.Data)
		copy(z.Data, out.Z.Value.Data)
		Predictions(e.preds[:B*L], &out.Logits.Value)
		copy(e.q, out.QHalt.Value.Data)
		t.Release(mark)
		if !visit(step, e.preds[:B*L], e.q[:B]) {
			break
		}
	}
}
