package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/trm-go/trm/trm/infer"
	"github.com/trm-go/trm/trm/task"
)

// trm infer --task arc FILE: answer the test inputs of one ARC task with
// the official augmentation voting of trm eval --task arc (infer.EvaluateARC)
// and print the two attempts per test input.

// arcInferHelp is the part of trm infer's help about ARC task files.
const arcInferHelp = "ARC task files (--task arc FILE): with --task arc and one argument naming an\n" +
	"ARC task file ({\"train\": [...], \"test\": [...]}), a Kaggle *_challenges.json\n" +
	"(test outputs from the *_solutions.json beside it) or a directory of task\n" +
	"files, with --id TASK picking the task when it holds several, every test\n" +
	"input is answered in each augmentation (--augmentations N: the original and\n" +
	"N augmented copies; -1, the default: all the model's task has), the answers\n" +
	"are voted on as trm eval --task arc does, and for each test input the input\n" +
	"grid and the two best answers (attempt 1 and attempt 2) are printed with\n" +
	"their votes and mean confidence sigmoid(q_halt), and whether each is right\n" +
	"when the file has the test outputs. Grids print as rows of digits, or as\n" +
	"coloured cells (the ARC palette, 24-bit ANSI colour) with --color always,\n" +
	"or with --color auto (the default) when standard output is a terminal and\n" +
	"NO_COLOR is unset or empty. --json prints one object: the task id and, per\n" +
	"test input, the attempts with their grids, votes, confidence and\n" +
	"correctness (null when unknown). Flags may follow the file. An argument\n" +
	"that is not a file, a directory or a *.json name is read as one grid\n" +
	"(\"01/23\"), answered with the blank puzzle id 0 and no augmentation.\n" +
	"\n" +
	"Puzzle ids: an ARC model has a puzzle embedding per augmented puzzle, and\n" +
	"the dataset builder assigns the ids. When the task (same id, same pairs) is\n" +
	"in the checkpoint's own test set (its eval= option: the official setup\n" +
	"trains on the demonstration pairs of the tasks it evaluates), its trained\n" +
	"ids are used and the attempts are those trm eval --task arc gives it.\n" +
	"Otherwise the dataset is rebuilt as trm eval --task arc --data FILE does\n" +
	"(the checkpoint's task options with FILE as eval=), and the task's puzzles\n" +
	"get the ids the builder gives them there: rows trained for other puzzles,\n" +
	"since the model never saw this task; a model with fewer rows than that\n" +
	"needs is refused. Either way the checkpoint's own ARC data must be\n" +
	"readable, as for trm eval. A task file that is missing or unreadable exits\n" +
	"1; one the ARC loader refuses (malformed JSON, ragged rows, colours outside\n" +
	"0..9), an --id it does not hold, or a checkpoint that is not an ARC model\n" +
	"exits 2."

// arcInferFlags are the flags of trm infer for an ARC task file.
type arcInferFlags struct {
	id            string
	augmentations int
	color         string
	fs            *flag.FlagSet
}

func (a *arcInferFlags) register(fs *flag.FlagSet) {
	a.fs = fs
	fs.StringVar(&a.id, "id", "", "arc: the `task` id to answer when the task file or directory holds several")
	fs.IntVar(&a.augmentations, "augmentations", -1, "arc: augmented copies of each test input voted on besides the original (-1: all the model's task has)")
	fs.StringVar(&a.color, "color", "auto", "arc: draw grids in colour: auto (when standard output is a terminal and NO_COLOR is unset or empty), always or never")
}

// set reports whether any ARC task-file flag was given.
func (a *arcInferFlags) set() bool {
	return isSet(a.fs, "id") || isSet(a.fs, "augmentations") || isSet(a.fs, "color")
}

// arcFileMode reports whether trm infer answers an ARC task file: --task
// arc with one argument naming an existing file or directory or ending in
// .json, or with any ARC task-file flag. It checks the flags that go with
// it.
func (f *inferFlags) arcFileMode() (bool, error) {
	a := &f.arc
	if f.model.task.name != "arc" {
		if a.set() {
			return false, usagef("--id, --augmentations and --color are for an ARC task file: trm infer --task arc --checkpoint CKPT FILE.json")
		}
		return false, nil
	}
	file := len(f.inputs) == 1 && looksLikeTaskFile(f.inputs[0])
	if !file && !a.set() {
		return false, nil // grids as text, the blank puzzle id
	}
	if len(f.inputs) != 1 {
		return false, usagef("--task arc with --id, --augmentations or --color: want one ARC task file, got %d arguments", len(f.inputs))
	}
	switch a.color {
	case "auto", "always", "never":
	default:
		return false, usagef("--color %q, want auto, always or never", a.color)
	}
	if a.augmentations < -1 {
		return false, usagef("--augmentations %d, want ≥ 0 (or -1: all)", a.augmentations)
	}
	return true, nil
}

// looksLikeTaskFile reports whether an argument of trm infer names an ARC
// task file rather than a grid: an existing file or directory, or a name
// ending in .json.
func looksLikeTaskFile(arg string) bool {
	if strings.HasSuffix(strings.ToLower(arg), ".json") {
		return true
	}
	_, err := os.Stat(arg)
	return err == nil
}

// flagsAfterTaskFile returns the arguments of trm infer once the flags that
// follow a task file are parsed too (trm infer --task arc FILE.json --json:
// the flag package stops at the first argument). Arguments that are not a
// task file followed by a flag are returned as they are.
func flagsAfterTaskFile(fs *flag.FlagSet) ([]string, error) {
	args := fs.Args()
	if len(args) < 2 || !strings.HasPrefix(args[1], "-") || args[1] == "-" || !looksLikeTaskFile(args[0]) {
		return args, nil
	}
	if err := parse(fs, args[1:], true); err != nil {
		return nil, err
	}
	return append([]string{args[0]}, fs.Args()...), nil
}

// arcInferAttempt is one attempt in trm infer --task arc --json.
type arcInferAttempt struct {
	Grid       task.ARCGrid `json:"grid"`
	Votes      int          `json:"votes"`
	Confidence float64      `json:"confidence"`
	// Correct is whether Grid is the test output (null when unknown).
	Correct *bool `json:"correct"`
}

// arcInferTest is the answer to one test input in --json.
type arcInferTest struct {
	Input task.ARCGrid `json:"input"`
	// Output is the known test output, null when the file has none.
	Output *task.ARCGrid `json:"output"`
	// Copies is the number of augmented copies answered (votes cast).
	Copies int `json:"copies"`
	// Attempts are the best two candidates (one when every copy gave the
	// same grid, none when nothing was answered).
	Attempts []arcInferAttempt `json:"attempts"`
}

// arcInferResult is the output of trm infer --task arc --json.
type arcInferResult struct {
	TaskID     string `json:"task_id"`
	File       string `json:"file"`
	Checkpoint string `json:"checkpoint"`
	// Task is the ARC dataset the puzzle ids come from, with its options.
	Task string `json:"task"`
	// PuzzleIDs says where the ids come from: "trained" (the task is in
	// the checkpoint's own test set) or "rebuilt" (the dataset rebuilt
	// with the file as its test set, as trm eval --data FILE does).
	PuzzleIDs     string         `json:"puzzle_ids"`
	Augmentations int            `json:"augmentations"`
	Halt          string         `json:"halt"`
	Test          []arcInferTest `json:"test"`
	// Pass1 and Pass2 are the fraction of test inputs right at attempt 1
	// and within two attempts, null unless every test output is known.
	Pass1 *float64 `json:"pass@1"`
	Pass2 *float64 `json:"pass@2"`
}

// loadARCTaskFile reads the ARC task the arguments name: the file's only
// task, or the one --id picks. A file that is missing or unreadable is a
// failure (exit 1); one the loader refuses, or an --id it lacks, is bad
// input (exit 2).
func loadARCTaskFile(path, id string) (task.ARCTask, error) {
	tasks, err := task.LoadARC(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return task.ARCTask{}, err
		}
		return task.ARCTask{}, inputError{err.Error()}
	}
	if id == "" {
		if len(tasks) > 1 {
			return task.ARCTask{}, usagef("%s holds %d tasks (%s): choose one with --id", path, len(tasks), arcTaskIDs(tasks))
		}
		return tasks[0], nil
	}
	for _, t := range tasks {
		if t.ID == id {
			return t, nil
		}
	}
	return task.ARCTask{}, inputError{fmt.Sprintf("--id %s: %s holds no such task (it holds %s)", id, path, arcTaskIDs(tasks))}
}

// arcTaskIDs lists the first few task ids of tasks.
func arcTaskIDs(tasks []task.ARCTask) string {
	const most = 8
	ids := make([]string, 0, most)
	for _, t := range tasks[:min(most, len(tasks))] {
		ids = append(ids, t.ID)
	}
	if len(tasks) > most {
		ids = append(ids, fmt.Sprintf("and %d more", len(tasks)-most))
	}
	return strings.Join(ids, ", ")
}

// sameARCTask reports whether a and b have the same demonstration pairs and
// test inputs (test outputs may be known to one only).
func sameARCTask(a, b task.ARCTask) bool {
	if a.ID != b.ID || len(a.Train) != len(b.Train) || len(a.Test) != len(b.Test) {
		return false
	}
	for i := range a.Train {
		if !a.Train[i].Input.Equal(b.Train[i].Input) || !a.Train[i].Output.Equal(b.Train[i].Output) {
			return false
		}
	}
	for i := range a.Test {
		if !a.Test[i].Input.Equal(b.Test[i].Input) {
			return false
		}
	}
	return true
}

// inferARC answers the test inputs of one ARC task file.
func inferARC(ctx context.Context, e env, f *inferFlags) error {
	path := f.inputs[0]
	want, err := loadARCTaskFile(path, f.arc.id)
	if err != nil {
		return err
	}
	// Load the model with its own task, so that a model of another task
	// is refused in one clear line (the task flags would first try to
	// build an ARC task for it). An official PyTorch checkpoint, or none
	// (the shipped model), is loaded with the task flags, which may name
	// its task.
	tf := &f.model.task
	if f.model.checkpoint != "" && !isTorchFile(f.model.checkpoint) {
		tf = &taskFlags{}
		tf.register(flag.NewFlagSet("model", flag.ContinueOnError), "")
	}
	p, label, err := loadModel(f.model.checkpoint, tf)
	if err != nil {
		return err
	}
	if err := f.model.checkModel(p.Model.Config); err != nil {
		return err
	}
	own, ok := p.Task.(*task.Arc)
	if !ok {
		return usagef("--task arc: the model %s is a model of task %q, not an ARC model", label, p.Task.Name())
	}
	// The puzzle ids: the model's own when its test set holds the task
	// (and no --opt changes its options), else the dataset rebuilt with
	// the file as its test set, as trm eval --task arc --data FILE does.
	var a *task.Arc
	ids := "rebuilt"
	if len(f.model.task.opts) == 0 {
		for _, tk := range own.TestTasks() {
			if sameARCTask(tk, want) {
				a, ids = own, "trained"
				break
			}
		}
	}
	if a == nil {
		rb := f.model.task
		rb.opts = append(append(listFlag(nil), f.model.task.opts...), "eval="+path)
		t, err := taskForModel(&rb, p.Model.Config)
		if err != nil {
			return usagef("the model %s cannot answer %s: the dataset rebuilt with it as the test set (as trm eval --task arc --data %s) does not fit: %v", label, path, path, err)
		}
		if a, ok = t.(*task.Arc); !ok {
			return usagef("the model %s cannot answer %s: its task is %s", label, path, t.Name())
		}
	}
	aug := f.arc.augmentations
	if aug < 0 || aug > a.Augmentations() {
		aug = a.Augmentations()
	}
	// The copies of each test input answered.
	copies := make([]int, len(want.Test))
	for i := range a.Len(task.SplitTest) {
		if it := a.TestItem(i); it.TaskID == want.ID && it.Member <= aug && it.Pair < len(copies) {
			copies[it.Pair]++
		}
	}
	start := time.Now()
	opts := infer.ARCEvalOptions{Augmentations: aug, Steps: f.model.steps, Halt: f.model.halt, BatchSize: f.model.batch,
		TaskIDs: []string{want.ID},
		Progress: func(done, n int) {
			if n > 1 {
				fmt.Fprintf(e.stderr, "\rarc: %d/%d copies of the test inputs answered (%.0fs)", done, n, time.Since(start).Seconds())
				if done == n {
					fmt.Fprintln(e.stderr)
				}
			}
		}}
	r, err := infer.EvaluateARC(ctx, p.Model, a, opts)
	if err != nil {
		return err
	}
	var modelTask task.ARCTask
	for _, tk := range a.TestTasks() {
		if tk.ID == want.ID {
			modelTask = tk
		}
	}
	out := arcInferResult{TaskID: want.ID, File: path, Checkpoint: label, Task: a.Name() + formatOptions(a.Options()),
		PuzzleIDs: ids, Augmentations: aug, Halt: string(f.model.halt)}
	out.Test, out.Pass1, out.Pass2 = arcInferTests(want, modelTask, r.Ranked[want.ID], copies)
	if f.rt.json {
		return writeJSON(e.stdout, out)
	}
	if err := printARCInfer(e.stdout, out, useColor(f.arc.color, e.stdout)); err != nil {
		return fmt.Errorf("writing the answers: %w", err)
	}
	return nil
}

// arcInferTests builds the answers to the test inputs of want from the
// two best candidates of each (ranked, in test order) and the copies voted
// on. The expected outputs are want's, or modelTask's (the same task in
// the model's dataset) where want lacks them; pass1 and pass2 are nil
// unless every one is known.
func arcInferTests(want, modelTask task.ARCTask, ranked [][]infer.ARCCandidate, copies []int) (tests []arcInferTest, pass1, pass2 *float64) {
	known, right1, right2 := true, 0, 0
	for i, pair := range want.Test {
		t := arcInferTest{Input: pair.Input, Attempts: []arcInferAttempt{}}
		if i < len(copies) {
			t.Copies = copies[i]
		}
		expect := pair.Output
		if expect.H == 0 && i < len(modelTask.Test) && modelTask.ID == want.ID {
			expect = modelTask.Test[i].Output
		}
		if expect.H > 0 {
			t.Output = &expect
		} else {
			known = false
		}
		var cands []infer.ARCCandidate
		if i < len(ranked) {
			cands = ranked[i][:min(2, len(ranked[i]))]
		}
		hit := false
		for k, c := range cands {
			at := arcInferAttempt{Grid: c.Grid, Votes: c.Votes, Confidence: c.Confidence}
			if t.Output != nil {
				ok := c.Grid.Equal(expect)
				at.Correct = &ok
				if ok && !hit {
					hit = true
					right2++
					if k == 0 {
						right1++
					}
				}
			}
			t.Attempts = append(t.Attempts, at)
		}
		tests = append(tests, t)
	}
	if known && len(want.Test) > 0 {
		p1, p2 := float64(right1)/float64(len(want.Test)), float64(right2)/float64(len(want.Test))
		pass1, pass2 = &p1, &p2
	}
	return tests, pass1, pass2
}

// printARCInfer writes the answers to one task as text.
func printARCInfer(w io.Writer, r arcInferResult, color bool) error {
	ew := &errWriter{w: w}
	where := "trained puzzle ids: the task is in the model's test set"
	if r.PuzzleIDs != "trained" {
		where = "puzzle ids of the dataset rebuilt with this file as its test set (the model did not train on this task)"
	}
	fmt.Fprintf(ew, "task %s (%s): %d test input(s)\n", r.TaskID, r.File, len(r.Test))
	fmt.Fprintf(ew, "model: %s; %s\n", r.Checkpoint, where)
	fmt.Fprintf(ew, "votes: the original and %d augmented copies of each test input, --halt %s\n", r.Augmentations, r.Halt)
	for i, t := range r.Test {
		fmt.Fprintf(ew, "\ntest %d of %d\n", i+1, len(r.Test))
		writeARCGrid(ew, "input", "", t.Input, color)
		for k := range 2 {
			name := fmt.Sprintf("attempt %d", k+1)
			if k >= len(t.Attempts) {
				why := "no answer"
				if k > 0 && len(t.Attempts) > 0 {
					why = "every copy gave attempt 1"
				}
				fmt.Fprintf(ew, "%s: none (%s)\n", name, why)
				continue
			}
			at := t.Attempts[k]
			desc := fmt.Sprintf("%d of %d votes, confidence %.3f", at.Votes, t.Copies, at.Confidence)
			switch {
			case at.Correct == nil:
			case *at.Correct:
				desc += ", right"
			default:
				desc += ", wrong"
			}
			writeARCGrid(ew, name, desc, at.Grid, color)
		}
		if t.Output != nil {
			writeARCGrid(ew, "expected", "", *t.Output, color)
		}
	}
	if r.Pass1 != nil {
		right1, right2 := 0, 0
		for _, t := range r.Test {
			for k, at := range t.Attempts {
				if at.Correct != nil && *at.Correct {
					right2++
					if k == 0 {
						right1++
					}
					break
				}
			}
		}
		fmt.Fprintf(ew, "\nright: %d of %d test input(s) at attempt 1, %d within two attempts\n", right1, len(r.Test), right2)
	}
	return ew.err
}

// arcPalette is the standard ARC colour of each cell value (the public
// ARC testing interface's): black, blue, red, green, yellow, grey,
// magenta, orange, light blue, maroon.
var arcPalette = [10][3]uint8{
	{0x00, 0x00, 0x00}, {0x00, 0x74, 0xD9}, {0xFF, 0x41, 0x36}, {0x2E, 0xCC, 0x40}, {0xFF, 0xDC, 0x00},
	{0xAA, 0xAA, 0xAA}, {0xF0, 0x12, 0xBE}, {0xFF, 0x85, 0x1B}, {0x7F, 0xDB, 0xFF}, {0x87, 0x0C, 0x25},
}

// writeARCGrid writes a line with the title, the grid's size and desc
// (when not empty), then the grid indented: rows of digits, or with color
// each cell as a two-column block of its ARC colour (24-bit ANSI
// background).
func writeARCGrid(w io.Writer, title, desc string, g task.ARCGrid, color bool) {
	if desc != "" {
		desc = ", " + desc
	}
	if g.H == 0 {
		fmt.Fprintf(w, "%s: an empty grid (no colour at the top-left corner)%s\n", title, desc)
		return
	}
	fmt.Fprintf(w, "%s: %d×%d%s\n", title, g.H, g.W, desc)
	var b strings.Builder
	for r := range g.H {
		b.WriteString("  ")
		for c := range g.W {
			v := g.At(r, c)
			if color {
				rgb := arcPalette[v]
				fmt.Fprintf(&b, "\x1b[48;2;%d;%d;%dm  ", rgb[0], rgb[1], rgb[2])
			} else {
				b.WriteByte('0' + v)
			}
		}
		if color {
			b.WriteString("\x1b[0m")
		}
		b.WriteByte('\n')
	}
	io.WriteString(w, b.String())
}

// useColor decides --color: always, never, or auto: when w is a terminal
// (a character device), NO_COLOR is unset or empty (no-color.org) and TERM
// is not "dumb".
func useColor(mode string, w io.Writer) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	fh, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := fh.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// errWriter keeps the first write error and drops the writes after it.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return len(p), nil
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
