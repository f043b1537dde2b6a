package main

import (
	"context"

	"github.com/trm-go/trm/trm"
)

// evalFlags are the flags of trm eval.
type evalFlags struct {
	rt         runtimeFlags
	task       taskFlags
	checkpoint string
	data       string
	split      trm.Split
	n          int
	seed       uint64
	halt       trm.HaltMode
	steps      int
	batch      int
}

func parseEvalFlags(e env, args []string) (*evalFlags, error) {
	f := &evalFlags{}
	fs := newFlagSet(e, "eval", "[flags]",
		"Scores a checkpoint: exact and token accuracy, with all N_sup supervision\n"+
			"steps (as the published numbers) and with early exit, and the mean steps to\n"+
			"halt. The examples come from the task's split (generated from --seed) or\n"+
			"from a dataset file written by trm gen (--data). Without --checkpoint the\n"+
			"model shipped with trm for --task (default: the arith demo) is used.")
	f.rt.register(fs)
	f.task.register(fs, "")
	fs.StringVar(&f.checkpoint, "checkpoint", "", "model `file` (.safetensors); default: the embedded model for --task")
	fs.StringVar(&f.data, "data", "", "dataset `file` from trm gen (instead of --split/--seed)")
	split := fs.String("split", "test", "split to score: test or train")
	fs.IntVar(&f.n, "n", 0, "number of examples (0: the whole split if it is a fixed list, else 1000)")
	fs.Uint64Var(&f.seed, "seed", 0, "seed choosing the examples of a generated split")
	halt := fs.String("halt", "full", "headline result: full (N_sup steps, the official evaluation) or early (stop at q_halt > 0)")
	fs.IntVar(&f.steps, "steps", 0, "supervision steps (0: the model's N_sup)")
	fs.IntVar(&f.batch, "batch", 0, "examples run together (0: default)")
	if err := parse(fs, args, false); err != nil {
		return nil, err
	}
	if err := f.rt.validate(); err != nil {
		return nil, err
	}
	var err error
	if f.split, err = trm.ParseSplit(*split); err != nil {
		return nil, usagef("--split: %v", err)
	}
	if f.halt, err = trm.ParseHaltMode(*halt); err != nil {
		return nil, usagef("--halt: %v", err)
	}
	switch {
	case f.n < 0:
		return nil, usagef("--n %d, want ≥ 0", f.n)
	case f.steps < 0:
		return nil, usagef("--steps %d, want ≥ 0 (0: the model's N_sup)", f.steps)
	case f.batch < 0:
		return nil, usagef("--batch %d, want ≥ 0", f.batch)
	case f.data != "" && (isSet(fs, "split") || isSet(fs, "seed")):
		return nil, usagef("--data and --split/--seed exclude each other: a dataset file fixes its examples")
	}
	return f, nil
}

func runEval(ctx context.Context, e env, args []string) error {
	f, err := parseEvalFlags(e, args)
	if err != nil {
		return err
	}
	return f.rt.withRuntime(func() error { return eval(ctx, e, f) })
}
