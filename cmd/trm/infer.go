package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"
)

// inferFlags are the flags of trm infer.
type inferFlags struct {
	rt    runtimeFlags
	model modelFlags
	// inputs are the command-line arguments; none means one input per
	// line of standard input.
	inputs []string
}

func parseInferFlags(e env, args []string) (*inferFlags, error) {
	f := &inferFlags{}
	fs := newFlagSet(e, "infer", "[flags] [input ...]",
		"Answers each input (e.g. \"3 + 7\"; one per argument, or one per line of\n"+
			"standard input when there is none) with a trained model, running all N_sup\n"+
			"supervision steps (--halt full, the default) or stopping each input at its\n"+
			"first q_halt > 0 (--halt early: faster, but a halting head can be\n"+
			"overconfident: the shipped arith model exits too early on some long carry\n"+
			"chains, such as 99999 + 1). Each answer comes with the steps used and the\n"+
			"halting confidence sigmoid(q_halt). Without --checkpoint the model shipped\n"+
			"with trm for --task (default: the arith demo) is used.")
	f.rt.register(fs)
	f.model.register(fs, "full (always N_sup steps) or early (stop at q_halt > 0)", "inputs")
	if err := parse(fs, args, true); err != nil {
		return nil, err
	}
	if err := f.rt.validate(); err != nil {
		return nil, err
	}
	if err := f.model.validate(); err != nil {
		return nil, err
	}
	f.inputs = fs.Args()
	return f, nil
}

func runInfer(ctx context.Context, e env, args []string) error {
	f, err := parseInferFlags(e, args)
	if err != nil {
		return err
	}
	return f.rt.withRuntime(func() error { return inferInputs(ctx, e, f) })
}

// inferResult is one line of trm infer --json.
type inferResult struct {
	Input      string  `json:"input"`
	Answer     string  `json:"answer"`
	Steps      int     `json:"steps"`
	Confidence float64 `json:"confidence"`
}

func inferInputs(ctx context.Context, e env, f *inferFlags) error {
	p, _, err := f.model.load()
	if err != nil {
		return err
	}
	p.Halt, p.MaxSteps, p.BatchSize = f.model.halt, f.model.steps, f.model.batch
	inputs := f.inputs
	fromStdin := len(inputs) == 0
	if fromStdin {
		sc := bufio.NewScanner(e.stdin)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" {
				inputs = append(inputs, line)
			}
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("reading standard input: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	preds, err := p.Predict(inputs...)
	if err != nil {
		if fromStdin {
			return fmt.Errorf("standard input: %w", err)
		}
		return usageError{err.Error()}
	}
	for _, r := range preds {
		if f.rt.json {
			if err := writeJSON(e.stdout, inferResult{r.Input, r.Answer, r.Steps, r.Confidence}); err != nil {
				return err
			}
			continue
		}
		if strings.Contains(r.Answer, "\n") {
			// A grid (Sudoku, maze): the input on its own line, then the solved grid.
			fmt.Fprintf(e.stdout, "%s\n%s\n(steps %d, confidence %.3f)\n", r.Input, strings.TrimRight(r.Answer, "\n"), r.Steps, r.Confidence)
			continue
		}
		fmt.Fprintf(e.stdout, "%s = %s\t(steps %d, confidence %.3f)\n", r.Input, r.Answer, r.Steps, r.Confidence)
	}
	return nil
}
