package main

import (
	"context"
	"fmt"

	"github.com/trm-go/trm/trm/task"
)

func runGen(_ context.Context, e env, args []string) error {
	fs := newFlagSet(e, "gen", "[--task arith] [--digits D] [--opt k=v]... [--split train|test] [--n N] [--first I] [--seed S] --out FILE",
		"Writes examples first … first+n-1 of a task's split, generated from the seed,\n"+
			"as JSON lines (a header line, then one example per line: text, answer,\n"+
			"input and label tokens). The same flags always give the same file, and\n"+
			"the train and test splits never share an example. --out - writes to stdout.")
	var tf taskFlags
	tf.register(fs, "arith")
	split := fs.String("split", "train", "split to generate: train or test")
	n := fs.Int64("n", 1000, "number of examples")
	first := fs.Int64("first", 0, "index of the first example")
	seed := fs.Uint64("seed", 0, "generator seed")
	out := fs.String("out", "", "output `file` (- for stdout)")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	tk, err := tf.task()
	if err != nil {
		return err
	}
	sp, err := task.ParseSplit(*split)
	if err != nil {
		return usagef("--split: %v", err)
	}
	switch {
	case *n < 0:
		return usagef("--n %d, want ≥ 0", *n)
	case *first < 0:
		return usagef("--first %d, want ≥ 0", *first)
	case *out == "":
		return usagef("--out is required (a file name, or - for stdout)")
	}
	if l := int64(tk.Len(sp)); l > 0 && *first+*n > l {
		return usagef("--first %d --n %d asks for examples past the end: task %s split %s holds %d", *first, *n, tk.Name(), sp, l)
	}
	if *out == "-" {
		return task.GenerateDataset(e.stdout, tk, sp, *seed, *first, *n)
	}
	if err := task.WriteDatasetFile(*out, tk, sp, *seed, *first, *n); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "wrote %d %s examples of %s%s (seed %d) to %s\n", *n, sp, tk.Name(), formatOptions(tk.Options()), *seed, *out)
	return nil
}
