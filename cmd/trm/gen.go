package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/trm-go/trm/internal/atomicfile"
	"github.com/trm-go/trm/trm/task"
)

func runGen(_ context.Context, e env, args []string) error {
	fs := newFlagSet(e, "gen", "[--task arith] [--digits D] [--opt k=v]... [--split train|test] [--n N] [--first I] [--seed S] --out FILE",
		"Writes examples first … first+n-1 of a task's split, generated from the seed,\n"+
			"as JSON lines (a header line, then one example per line: text, answer,\n"+
			"input and label tokens). The same flags always give the same file, and\n"+
			"the train and test splits never share an example. --out - writes to stdout;\n"+
			"a file is written atomically and replaces only a regular file (never a\n"+
			"device, a FIFO, a symbolic link or a folder).")
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
	if *out != "-" {
		if err := outError(atomicfile.Check(*out)); err != nil {
			return err
		}
	}
	// Read the task's files (the CSV options of the grid tasks) now, so
	// that a missing or malformed input is reported as such, before any
	// output is opened, and so that Len below counts a file split.
	if l, ok := tk.(interface{ Load() error }); ok {
		if err := l.Load(); err != nil {
			return err
		}
	}
	if l := int64(tk.Len(sp)); l > 0 && *first+*n > l {
		return usagef("--first %d --n %d asks for examples past the end: task %s split %s holds %d", *first, *n, tk.Name(), sp, l)
	}
	if *out == "-" {
		return task.GenerateDataset(e.stdout, tk, sp, *seed, *first, *n)
	}
	if err := task.WriteDatasetFile(*out, tk, sp, *seed, *first, *n); err != nil {
		return outError(err)
	}
	fmt.Fprintf(e.stderr, "wrote %d %s examples of %s%s (seed %d) to %s\n", *n, sp, tk.Name(), formatOptions(tk.Options()), *seed, *out)
	return nil
}

// outError turns the refusal to replace something that is not a regular
// file (a device such as /dev/full, a FIFO, a symbolic link, a folder) into
// a usage error naming --out and what it is; other errors pass unchanged.
func outError(err error) error {
	var ne *atomicfile.NotRegularError
	if errors.As(err, &ne) {
		return usagef("--out %s is %s, not a regular file; trm gen writes regular files only", ne.Path, ne.Kind)
	}
	return err
}
