package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/trm-go/trm/trm/infer"
	"github.com/trm-go/trm/trm/task"
)

// traceFlags are the flags of trm trace.
type traceFlags struct {
	rt    runtimeFlags
	model modelFlags
	input string
}

func parseTraceFlags(e env, args []string) (*traceFlags, error) {
	f := &traceFlags{}
	fs := newFlagSet(e, "trace", "[flags] [--] input",
		"Shows how a model thinks about one input: the answer after every\n"+
			"supervision step with the cells that changed marked '*', the halting\n"+
			"logit q_halt and sigmoid(q_halt), ‖y‖ and ‖z‖, the per-position\n"+
			"confidence (largest softmax probability), and inside each step every\n"+
			"net call: how far it moved z (‖Δz‖, and cos(z, z_prev)) or y (‖Δy‖).\n"+
			"It answers: does the latent settle (a fixed point) or keep moving; does\n"+
			"the answer stop changing when q_halt says halt? Every step runs\n"+
			"(--steps, default the model's N_sup), whatever q_halt says; the step\n"+
			"where early halting would stop is marked. --json prints the whole trace\n"+
			"(trm plot --trace draws it). Without --checkpoint the model shipped for\n"+
			"--task (default arith) is used.\n"+
			"\n"+
			"Exit status: 0 traced; 2 bad flags or an input the task refuses; 1\n"+
			"failure (a checkpoint missing or corrupt); 130 interrupted.")
	f.rt.register(fs)
	f.model.registerModel(fs)
	if err := parse(fs, args, true); err != nil {
		return nil, negativeInputHint(err)
	}
	if err := f.rt.validate(); err != nil {
		return nil, err
	}
	if err := f.model.validate(); err != nil {
		return nil, err
	}
	if fs.NArg() != 1 {
		return nil, usagef("want exactly one input to trace, got %d (quote it: trm trace --task sudoku9 \"5.9...\")", fs.NArg())
	}
	f.input = fs.Arg(0)
	return f, nil
}

func runTrace(ctx context.Context, e env, args []string) error {
	f, err := parseTraceFlags(e, args)
	if err != nil {
		return err
	}
	return f.rt.withRuntime(func() error {
		p, label, err := f.model.load()
		if err != nil {
			return err
		}
		p.MaxSteps = f.model.steps
		tr, err := p.Trace(ctx, f.input)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return inputError{err.Error()}
		}
		if f.rt.json {
			enc := json.NewEncoder(e.stdout)
			return enc.Encode(tr)
		}
		printTrace(e.stdout, p, label, tr)
		return nil
	})
}

// printTrace writes the terminal view of a trace.
func printTrace(w io.Writer, p *infer.Predictor, label string, tr *infer.Trace) {
	cfg := p.Model.Config
	fmt.Fprintf(w, "trace of %s on %s: %d supervision steps, each T=%d cycles of n=%d latent updates and one answer update\n",
		p.Task.Name(), label, len(tr.Steps), cfg.HCycles, cfg.LCycles)
	if tr.HaltStep > 0 {
		fmt.Fprintf(w, "early halting (q_halt > 0) would stop after step %d\n", tr.HaltStep)
	} else {
		fmt.Fprintf(w, "q_halt never rises above 0: early halting would run all %d steps\n", len(tr.Steps))
	}
	width := gridWidth(p.Task)
	fmt.Fprintf(w, "\ninput:\n")
	if ex, err := p.Task.Encode(tr.Input); err == nil && width > 0 {
		cells, _ := task.AnswerText(p.Task, ex, ex.Input) // the grid as the answers show it
		writeCells(w, cells, width, nil)
	} else {
		fmt.Fprintf(w, "  %s\n", tr.Input)
	}
	for _, st := range tr.Steps {
		valid := "unknown"
		if st.Valid != nil {
			valid = map[bool]string{true: "yes", false: "no"}[*st.Valid]
		}
		mark := ""
		if st.Step == tr.HaltStep {
			mark = "   ← early halting stops here"
		}
		fmt.Fprintf(w, "\nstep %d: q_halt %+.3f (sigmoid %.3f)  ‖y‖ %.1f  ‖z‖ %.1f  confidence mean %.3f min %.3f  %d changed  valid %s%s\n",
			st.Step, st.QHalt, st.HaltProb, st.YNorm, st.ZNorm, st.MeanConfidence, st.MinConfidence, len(st.Changed), valid, mark)
		writeCells(w, st.Answer, width, st.Changed)
		writeCycles(w, st.Cycles)
	}
}

// gridWidth is the row length of a grid task's answer (0: not a grid).
func gridWidth(t task.Task) int {
	switch t := t.(type) {
	case *task.Sudoku:
		return t.Shape().Size()
	case *task.Maze:
		return t.Size()
	}
	return 0
}

// writeCells writes an answer's cells, width to a row (one line when 0),
// each changed position marked '*'. Answers whose length is not the task's
// sequence length (arith: the sum's digits) are written as they are, with
// the count of changed positions above.
func writeCells(w io.Writer, cells string, width int, changed []int) {
	if width == 0 || len(cells)%width != 0 {
		fmt.Fprintf(w, "  %s\n", cells)
		return
	}
	isChanged := make(map[int]bool, len(changed))
	for _, i := range changed {
		isChanged[i] = true
	}
	var b strings.Builder
	for i := 0; i < len(cells); i++ {
		if i%width == 0 {
			b.WriteString(" ")
		}
		if isChanged[i] {
			b.WriteByte('*')
		} else {
			b.WriteByte(' ')
		}
		b.WriteByte(cells[i])
		if i%width == width-1 {
			b.WriteByte('\n')
		}
	}
	io.WriteString(w, b.String())
}

// writeCycles writes the net calls of a step, one line per recursion
// cycle: ‖Δz‖ and cos(z, z_prev) of each latent update, then ‖Δy‖ of the
// answer update.
func writeCycles(w io.Writer, cycles []infer.TraceCycle) {
	var dz, cos []string
	for _, c := range cycles {
		if c.Update == "z" {
			dz = append(dz, fmt.Sprintf("%.3g", c.DeltaZ))
			cos = append(cos, fmt.Sprintf("%.4f", c.ZCos))
			continue
		}
		fmt.Fprintf(w, "  cycle %d: ‖Δz‖ %s  cos %s  then ‖Δy‖ %.3g\n", c.Cycle, strings.Join(dz, " "), strings.Join(cos, " "), c.DeltaY)
		dz, cos = dz[:0], cos[:0]
	}
}
