package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/trm-go/trm/trm/infer"
	"github.com/trm-go/trm/trm/task"
)

// maxInputLine is the longest line of standard input trm infer accepts,
// in bytes (the line break not counted): far more than any task's input
// (a 64×64 maze on one line is 4 KiB). A longer line is refused, and the
// lines after it are still read.
const maxInputLine = 1 << 20

// inputPause is how long trm infer waits for the next line of standard
// input before it answers the lines it holds: a batch is answered when it
// holds --batch inputs, when the input ends, or when no line has come for
// this long (someone typing, a slow producer).
const inputPause = 20 * time.Millisecond

// inferFlags are the flags of trm infer.
type inferFlags struct {
	rt    runtimeFlags
	model modelFlags
	// inputs are the command-line arguments; none means one input per
	// line of standard input.
	inputs []string
	// arc are the flags of an ARC task file; arcFile is set when the
	// argument is one (see arcFileMode).
	arc     arcInferFlags
	arcFile bool
}

func parseInferFlags(e env, args []string) (*inferFlags, error) {
	f := &inferFlags{}
	fs := newFlagSet(e, "infer", "[flags] [--] [input ...]\n       trm infer --task arc --checkpoint CKPT [flags] TASKFILE.json",
		"Answers each input (e.g. \"3 + 7\") with a trained model, running all N_sup\n"+
			"supervision steps (--halt full, the default) or stopping each input at its\n"+
			"first q_halt > 0 (--halt early: faster, but a halting head can be\n"+
			"overconfident: the shipped arith model exits too early on some long carry\n"+
			"chains, such as 99999 + 1). Without --checkpoint the model shipped with trm\n"+
			"for --task (default: the arith demo) is used.\n"+
			"\n"+
			"Inputs: one per argument; put -- before them when one starts with '-' (trm\n"+
			"infer -- \"-3 + 7\"), or it is taken for a flag. Without arguments, each\n"+
			"non-blank line of standard input is one input (at most 1 MiB); the answers\n"+
			"are printed in input order as the lines arrive, --batch inputs at a time\n"+
			"(default 64), or sooner when the input ends or pauses.\n"+
			"\n"+
			"Each answer comes with the steps used, the halting confidence\n"+
			"sigmoid(q_halt) and whether it is valid: a correct answer to the input as\n"+
			"the task checks it from the input alone (a grid that solves the Sudoku, a\n"+
			"shortest path through the maze, the true sum); in --json, \"valid\" is true,\n"+
			"false, or null where the task cannot tell. An invalid answer is still an\n"+
			"answer: it does not change the exit status.\n"+
			"\n"+
			"An input the task refuses (malformed, or a Sudoku that has no solution) is\n"+
			"reported on standard error with its argument or line number; the other\n"+
			"inputs are still answered.\n"+
			"\n"+
			"Exit status: 0 every input answered; 2 bad flags or at least one input\n"+
			"refused; 1 failure (a checkpoint missing, corrupt or with weights that are\n"+
			"not finite, an I/O error); 130 interrupted by SIGINT or SIGTERM (after the\n"+
			"current supervision step).\n"+
			"\n"+arcInferHelp)
	f.rt.register(fs)
	f.model.register(fs, "full (always N_sup steps) or early (stop at q_halt > 0)", "inputs")
	f.arc.register(fs)
	if err := parse(fs, args, true); err != nil {
		return nil, negativeInputHint(err)
	}
	inputs, err := flagsAfterTaskFile(fs)
	if err != nil {
		return nil, err
	}
	if err := f.rt.validate(); err != nil {
		return nil, err
	}
	if err := f.model.validate(); err != nil {
		return nil, err
	}
	f.inputs = inputs
	if f.arcFile, err = f.arcFileMode(); err != nil {
		return nil, err
	}
	return f, nil
}

// negativeInputHint adds a hint to the flag package's complaint about an
// undefined flag that looks like a negative number ("-3 + 7"): an input,
// which needs -- before it.
func negativeInputHint(err error) error {
	var ue usageError
	if !errors.As(err, &ue) {
		return err
	}
	_, name, ok := strings.Cut(ue.msg, "flag provided but not defined: -")
	name = strings.TrimLeft(name, "- ")
	if !ok || name == "" || name[0] < '0' || name[0] > '9' {
		return err
	}
	return usagef("%s (an input starting with '-' is taken for a flag: put -- before the inputs, as in trm infer -- \"-3 + 7\")", ue.msg)
}

func runInfer(ctx context.Context, e env, args []string) error {
	f, err := parseInferFlags(e, args)
	if err != nil {
		return err
	}
	if f.arcFile {
		return f.rt.withRuntime(func() error { return inferARC(ctx, e, f) })
	}
	return f.rt.withRuntime(func() error { return inferInputs(ctx, e, f) })
}

// inferResult is one line of trm infer --json.
type inferResult struct {
	Input      string  `json:"input"`
	Answer     string  `json:"answer"`
	Steps      int     `json:"steps"`
	Confidence float64 `json:"confidence"`
	// Valid is whether the answer is correct as the task checks it from
	// the input (null where the task cannot tell).
	Valid *bool `json:"valid"`
}

func inferInputs(ctx context.Context, e env, f *inferFlags) error {
	p, _, err := f.model.load()
	if err != nil {
		return err
	}
	p.Halt, p.MaxSteps, p.BatchSize = f.model.halt, f.model.steps, f.model.batch
	a := &answerer{ctx: ctx, e: e, json: f.rt.json, p: p, batchSize: f.model.batch}
	if a.batchSize <= 0 {
		a.batchSize = infer.DefaultBatchSize
	}
	if len(f.inputs) > 0 {
		for i, s := range f.inputs {
			if err := a.add(fmt.Sprintf("argument %d", i+1), s); err != nil {
				return err
			}
		}
		if err := a.flush(); err != nil {
			return err
		}
		return a.result("inputs")
	}
	if err := a.stdin(); err != nil {
		return err
	}
	return a.result("lines of standard input")
}

// answerer answers inputs in batches, printing the answers in input order
// and reporting the inputs the task refuses.
type answerer struct {
	ctx       context.Context
	e         env
	json      bool
	p         *infer.Predictor
	batchSize int

	texts []string
	exs   []task.Example
	// inputs and refused count the inputs seen and refused.
	inputs, refused int
}

// add encodes one input (where names it in a message: "argument 2",
// "standard input line 7") and answers the batch once it is full. An input
// the task refuses is reported on stderr and counted, not returned: the
// error is for a failure to answer or to print.
func (a *answerer) add(where, text string) error {
	a.inputs++
	ex, err := a.p.Task.Encode(text)
	if err != nil {
		a.refuse(where, err)
		return nil
	}
	a.texts = append(a.texts, text)
	a.exs = append(a.exs, ex)
	if len(a.exs) >= a.batchSize {
		return a.flush()
	}
	return nil
}

// refuse reports a refused input.
func (a *answerer) refuse(where string, why error) {
	a.refused++
	fmt.Fprintf(a.e.stderr, "trm infer: %s: %v\n", where, why)
}

// flush answers the inputs held and prints the answers.
func (a *answerer) flush() error {
	if len(a.exs) == 0 {
		return nil
	}
	preds, err := a.p.PredictExamplesContext(a.ctx, a.texts, a.exs)
	a.texts, a.exs = a.texts[:0], a.exs[:0]
	if err != nil {
		return err
	}
	for _, r := range preds {
		if err := a.print(r); err != nil {
			return err
		}
	}
	return nil
}

// print writes one answer.
func (a *answerer) print(r infer.Prediction) error {
	w := a.e.stdout
	if a.json {
		return writeJSON(w, inferResult{r.Input, r.Answer, r.Steps, r.Confidence, r.Valid})
	}
	verdict := ""
	if r.Valid != nil {
		verdict = ", valid"
		if !*r.Valid {
			verdict = ", NOT valid"
		}
	}
	var err error
	if strings.Contains(r.Answer, "\n") {
		// A grid (Sudoku, maze): the input on its own line, then the solved grid.
		_, err = fmt.Fprintf(w, "%s\n%s\n(steps %d, confidence %.3f%s)\n", r.Input, strings.TrimRight(r.Answer, "\n"), r.Steps, r.Confidence, verdict)
	} else {
		_, err = fmt.Fprintf(w, "%s = %s\t(steps %d, confidence %.3f%s)\n", r.Input, r.Answer, r.Steps, r.Confidence, verdict)
	}
	if err != nil {
		return fmt.Errorf("writing the answers: %w", err)
	}
	return nil
}

// result is the outcome once every input is answered: an inputError (exit
// code 2) if any was refused. what names the inputs.
func (a *answerer) result(what string) error {
	if a.refused > 0 {
		return inputError{fmt.Sprintf("%d of %d %s refused (reported above)", a.refused, a.inputs, what)}
	}
	return nil
}

// stdinLine is one line of standard input, or the error that ended it.
type stdinLine struct {
	n       int
	text    string
	tooLong bool
	err     error
}

// stdin answers the non-blank lines of standard input as they arrive: a
// goroutine reads them (at most a batch ahead) while this one answers a
// batch when it is full, when the input ends or when it pauses for
// inputPause. It returns at once when the context is cancelled.
func (a *answerer) stdin() error {
	lines := make(chan stdinLine, a.batchSize)
	done := make(chan struct{})
	defer close(done)
	go func() {
		defer close(lines)
		send := func(l stdinLine) bool {
			select {
			case lines <- l:
				return true
			case <-done:
				return false
			}
		}
		err := readLines(a.e.stdin, maxInputLine, func(n int, text string, tooLong bool) bool {
			text = strings.TrimSpace(text)
			if text == "" && !tooLong {
				return true
			}
			return send(stdinLine{n: n, text: text, tooLong: tooLong})
		})
		if err != nil {
			send(stdinLine{err: err})
		}
	}()
	pause := time.NewTimer(inputPause)
	defer pause.Stop()
	for {
		var l stdinLine
		var ok bool
		if len(a.exs) == 0 {
			select {
			case <-a.ctx.Done():
				return a.ctx.Err()
			case l, ok = <-lines:
			}
		} else {
			pause.Reset(inputPause)
			select {
			case <-a.ctx.Done():
				return a.ctx.Err()
			case l, ok = <-lines:
			case <-pause.C:
				if err := a.flush(); err != nil {
					return err
				}
				continue
			}
		}
		switch {
		case !ok:
			return a.flush()
		case l.err != nil:
			if err := a.flush(); err != nil {
				return err
			}
			return fmt.Errorf("reading standard input: %w", l.err)
		case l.tooLong:
			a.inputs++
			a.refuse(fmt.Sprintf("standard input line %d", l.n), fmt.Errorf("longer than %d bytes (1 MiB); one input per line", maxInputLine))
		default:
			if err := a.add(fmt.Sprintf("standard input line %d", l.n), l.text); err != nil {
				return err
			}
		}
	}
}

// readLines reads r line by line (a line ends at '\n' or at the end of
// the input; a final "\r" is dropped), calling line with each line's
// number, from 1, and its text. A line longer than maxLen bytes is not
// kept: line gets tooLong and no text, and reading goes on with the next
// line. readLines stops when line returns false, and returns the first
// read error other than io.EOF.
func readLines(r io.Reader, maxLen int, line func(n int, text string, tooLong bool) bool) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for n := 1; ; n++ {
		var buf []byte
		long := false
		for {
			chunk, err := br.ReadSlice('\n')
			if !long {
				if len(buf)+len(chunk) > maxLen+2 { // room for "\r\n"
					long, buf = true, nil
				} else {
					buf = append(buf, chunk...)
				}
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			if err != nil && len(buf) == 0 && !long {
				return nil // the end, after a line break or nothing
			}
			text := strings.TrimSuffix(strings.TrimSuffix(string(buf), "\n"), "\r")
			if len(text) > maxLen {
				long, text = true, ""
			}
			if !line(n, text, long) || err != nil {
				return nil
			}
			break
		}
	}
}
