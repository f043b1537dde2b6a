package task_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/trm-go/trm/trm/task"
	"github.com/trm-go/trm/trm/train"
)

// reverse is a whole task in a few lines: write a 4-digit string
// backwards. Tokens: 0 pad, 1 blank, 2..11 the digits; the input is the
// digits then 4 blanks, the label ignores the first half and holds the
// digits reversed in the second.
type reverse struct{}

func (reverse) Name() string                  { return "reverse" }
func (reverse) Options() task.Options         { return task.Options{} }
func (reverse) VocabSize() int                { return 12 }
func (reverse) SeqLen() int                   { return 8 }
func (reverse) NumPuzzleIDs() int             { return 1 }
func (reverse) Len(task.Split) int            { return 0 } // generated without bound
func (reverse) Format(ex task.Example) string { return digits(ex.Input[:4]) }

func (r reverse) Example(split task.Split, seed uint64, i int64) (task.Example, error) {
	if i < 0 {
		return task.Example{}, fmt.Errorf("reverse: example index %d, want ≥ 0", i)
	}
	// A real task keeps its splits apart (see task.Arith); here the test
	// split holds the strings whose digit sum is odd.
	rng := task.ExampleRand(seed, split, i)
	for {
		var s strings.Builder
		sum := 0
		for range 4 {
			d := rng.IntN(10)
			sum += d
			s.WriteByte(byte('0' + d))
		}
		if (sum%2 == 1) == (split == task.SplitTest) {
			ex, _ := r.Encode(s.String())
			ex.Label = []int32{task.IgnoreLabel, task.IgnoreLabel, task.IgnoreLabel, task.IgnoreLabel,
				ex.Input[3], ex.Input[2], ex.Input[1], ex.Input[0]}
			return ex, nil
		}
	}
}

func (reverse) Encode(text string) (task.Example, error) {
	if len(text) != 4 || strings.Trim(text, "0123456789") != "" {
		return task.Example{}, fmt.Errorf("reverse: %q: want 4 digits", text)
	}
	in := []int32{0, 0, 0, 0, 1, 1, 1, 1}
	for i := range 4 {
		in[i] = int32(2 + text[i] - '0')
	}
	return task.Example{Input: in}, nil
}

func (reverse) Decode(ex task.Example, pred []int32) (string, error) {
	if len(pred) != 8 {
		return "", fmt.Errorf("reverse: %d predicted tokens, want 8", len(pred))
	}
	return digits(pred[4:]), nil
}

func (reverse) Verify(ex task.Example, pred []int32) bool { return task.ExactMatch(ex.Label, pred) }

// digits renders digit tokens, '?' for any other.
func digits(toks []int32) string {
	var b strings.Builder
	for _, t := range toks {
		if t >= 2 && t <= 11 {
			b.WriteByte(byte('0' + t - 2))
		} else {
			b.WriteByte('?')
		}
	}
	return b.String()
}

// Adding a task is one Register call (in an init function): the trainer,
// evaluation, inference, trm gen/train/eval/infer and checkpoints then know
// it by name.
func ExampleRegister() {
	task.Register("reverse", "write 4 digits backwards", func(opts task.Options) (task.Task, error) {
		if err := opts.CheckKnown("reverse"); err != nil {
			return nil, err
		}
		return reverse{}, nil
	})

	t, err := task.New("reverse", nil)
	if err != nil {
		panic(err)
	}
	ex, err := task.Labeled(t, task.SplitTrain, 1, 0) // what training reads
	if err != nil {
		panic(err)
	}
	answer, _ := t.Decode(ex, ex.Label)
	fmt.Println(t.Format(ex), "→", answer)
	_, err = task.New("reverse", task.Options{"digits": "5"})
	fmt.Println(err)

	// A model for it trains like any other.
	cfg := train.DefaultConfig()
	cfg.SetTask(t)
	cfg.TaskOptions = nil
	cfg.HiddenSize, cfg.BatchSize, cfg.TrainSteps, cfg.EvalInterval = 16, 8, 3, 0
	res, err := train.Train(context.Background(), cfg, train.TrainOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println("trained steps:", res.Trainer.StepCount())
	// Output:
	// 4662 → 2664
	// task reverse: unknown option "digits" (known: none)
	// trained steps: 3
}
