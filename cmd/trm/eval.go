package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/trm-go/trm/internal/atomicfile"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/infer"
	"github.com/trm-go/trm/trm/task"
)

// evalFlags are the flags of trm eval.
type evalFlags struct {
	rt    runtimeFlags
	model modelFlags
	data  string
	split task.Split
	n     int
	seed  uint64
	// ARC: the competition file to write and the augmentations voted on.
	submission    string
	augmentations int
}

func parseEvalFlags(e env, args []string) (*evalFlags, error) {
	f := &evalFlags{}
	fs := newFlagSet(e, "eval", "[flags]",
		"Scores a checkpoint: exact and token accuracy, with all N_sup supervision\n"+
			"steps (as the published numbers) and with early exit, and the mean steps to\n"+
			"halt. The examples come from the task's split (generated from --seed) or\n"+
			"from a dataset file written by trm gen (--data). Without --checkpoint the\n"+
			"model shipped with trm for --task (default: the arith demo) is used.\n"+
			"\n"+
			"Exit status: 0 scored; 2 bad flags or a --data file of another task; 1\n"+
			"failure (a checkpoint or dataset missing, unreadable or corrupt, weights\n"+
			"that are not finite); 130 interrupted by SIGINT or SIGTERM (after the\n"+
			"current supervision step).\n"+
			"\n"+
			"ARC (--task arc): --data names the ARC test set (a directory of task files\n"+
			"or a Kaggle *_challenges.json; the task option eval), every test input is\n"+
			"answered in each augmentation, the answers are voted on as the official\n"+
			"evaluator does and pass@1/pass@2 are reported; --submission writes the\n"+
			"competition file.")
	f.rt.register(fs)
	f.model.register(fs, "headline result: full (N_sup steps, the official evaluation) or early (stop at q_halt > 0)", "examples")
	fs.StringVar(&f.data, "data", "", "dataset `file` from trm gen (instead of --split/--seed)")
	split := fs.String("split", "test", "split to score: test or train")
	fs.IntVar(&f.n, "n", 0, "number of examples (0: the whole split if it is a fixed list, else 1000)")
	fs.Uint64Var(&f.seed, "seed", 0, "seed choosing the examples of a generated split")
	fs.StringVar(&f.submission, "submission", "", "arc: write the competition `file` ({task_id: [{attempt_1, attempt_2}, ...]})")
	fs.IntVar(&f.augmentations, "augmentations", -1, "arc: augmented copies of each test input voted on besides the original (-1: all the task has)")
	if err := parse(fs, args, false); err != nil {
		return nil, err
	}
	if err := f.rt.validate(); err != nil {
		return nil, err
	}
	if err := f.model.validate(); err != nil {
		return nil, err
	}
	if f.model.task.name == "arc" && f.data != "" {
		// For ARC, --data is the test set: the task option eval.
		f.model.task.opts = append(f.model.task.opts, "eval="+f.data)
		f.data = ""
	}
	if f.augmentations < -1 {
		return nil, usagef("--augmentations %d, want ≥ 0 (or -1: all)", f.augmentations)
	}
	if f.submission != "" {
		if err := outError(atomicfile.Check(f.submission)); err != nil {
			return nil, err
		}
	}
	var err error
	if f.split, err = task.ParseSplit(*split); err != nil {
		return nil, usagef("--split: %v", err)
	}
	switch {
	case f.n < 0:
		return nil, usagef("--n %d, want ≥ 0", f.n)
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
	return f.rt.withRuntime(func() error { return evalModel(ctx, e, f) })
}

// scoreSummary is a task.Score in JSON.
type scoreSummary struct {
	Examples int     `json:"examples"`
	Solved   int     `json:"solved"`
	ExactAcc float64 `json:"exact_acc"`
	TokenAcc float64 `json:"token_acc"`
}

func scoreOf(s task.Score) scoreSummary {
	return scoreSummary{s.Examples, s.Solved, s.ExactAcc(), s.TokenAcc()}
}

// evalSummary is the --json output of trm eval.
type evalSummary struct {
	Checkpoint string         `json:"checkpoint,omitempty"`
	Task       string         `json:"task,omitempty"`
	Halt       string         `json:"halt"`
	ExactAcc   float64        `json:"exact_acc"`
	TokenAcc   float64        `json:"token_acc"`
	Examples   int            `json:"examples"`
	Full       scoreSummary   `json:"full"`
	Early      scoreSummary   `json:"early"`
	MeanSteps  float64        `json:"mean_halt_steps"`
	Curve      []scoreSummary `json:"curve"`
	// PerSec is the throughput of the evaluation: examples (puzzles) per
	// second of wall time, every example running all its supervision steps.
	PerSec float64 `json:"examples_per_sec"`
}

func summarize(r *infer.EvalResult, halt trm.HaltMode) evalSummary {
	head := r.Score(halt)
	s := evalSummary{
		Halt: string(halt), ExactAcc: head.ExactAcc(), TokenAcc: head.TokenAcc(), Examples: head.Examples,
		Full: scoreOf(r.Full), Early: scoreOf(r.Early), MeanSteps: r.MeanSteps,
	}
	for _, c := range r.Curve {
		s.Curve = append(s.Curve, scoreOf(c))
	}
	return s
}

// describe renders an evaluation in one line.
func describe(r *infer.EvalResult) string {
	return fmt.Sprintf("full %d steps: %v; early exit: %v, %.2f steps on average", len(r.Curve), r.Full, r.Early, r.MeanSteps)
}

func evalModel(ctx context.Context, e env, f *evalFlags) error {
	p, label, err := f.model.load()
	if err != nil {
		return err
	}
	if a, ok := p.Task.(*task.Arc); ok {
		return evalARC(ctx, e, f, p, label, a)
	}
	if f.submission != "" || f.augmentations != -1 {
		return usagef("--submission and --augmentations are for --task arc; the model's task is %s", p.Task.Name())
	}
	opts := infer.EvalOptions{Split: f.split, N: f.n, Seed: f.seed, BatchSize: f.model.batch, Steps: f.model.steps}
	if f.data != "" {
		d, err := task.LoadDataset(f.data)
		if err != nil {
			return err
		}
		if err := d.CheckTask(p.Task); err != nil {
			// A valid dataset of another task: a bad request (exit 2),
			// where an unreadable or corrupt file is a failure (exit 1).
			return inputError{fmt.Sprintf("--data %s: %v", f.data, err)}
		}
		opts.Examples = d.Examples
	}
	start := time.Now()
	r, err := infer.Evaluate(ctx, p.Model, p.Task, opts)
	if err != nil {
		return err
	}
	s := summarize(r, f.model.halt)
	s.Checkpoint, s.Task = label, p.Task.Name()+formatOptions(p.Task.Options())
	s.PerSec = float64(r.Full.Examples) / time.Since(start).Seconds()
	if f.rt.json {
		return writeJSON(e.stdout, s)
	}
	head := r.Score(f.model.halt)
	fmt.Fprintf(e.stdout, "model:      %s (%s%s)\n", label, p.Task.Name(), formatOptions(p.Task.Options()))
	fmt.Fprintf(e.stdout, "result:     exact %.2f%%, token %.2f%% on %d examples (--halt %s)\n",
		100*head.ExactAcc(), 100*head.TokenAcc(), head.Examples, f.model.halt)
	fmt.Fprintf(e.stdout, "full:       %v after %d steps\n", r.Full, len(r.Curve))
	fmt.Fprintf(e.stdout, "early exit: %v, %.2f steps on average\n", r.Early, r.MeanSteps)
	fmt.Fprintf(e.stdout, "speed:      %.0f examples/s (all %d steps each)\n", s.PerSec, len(r.Curve))
	fmt.Fprintf(e.stdout, "per step:  ")
	for i, c := range r.Curve {
		fmt.Fprintf(e.stdout, " %d:%.2f%%", i+1, 100*c.ExactAcc())
	}
	fmt.Fprintln(e.stdout)
	return nil
}

// arcSummary is the --json output of trm eval on an ARC task.
type arcSummary struct {
	Checkpoint    string  `json:"checkpoint,omitempty"`
	Task          string  `json:"task"`
	Tasks         int     `json:"tasks"`
	Predictions   int     `json:"predictions"`
	Augmentations int     `json:"augmentations"`
	Pass1         float64 `json:"pass@1"`
	Pass2         float64 `json:"pass@2"`
	Submission    string  `json:"submission,omitempty"`
	Seconds       float64 `json:"seconds"`
}

// evalARC scores an ARC model with the official voting and writes the
// submission file.
func evalARC(ctx context.Context, e env, f *evalFlags, p *infer.Predictor, label string, a *task.Arc) error {
	start := time.Now()
	total := 0
	opts := infer.ARCEvalOptions{Augmentations: f.augmentations, Steps: f.model.steps, Halt: f.model.halt, BatchSize: f.model.batch,
		Progress: func(done, n int) {
			total = n
			fmt.Fprintf(e.stderr, "\rarc: %d/%d test examples answered (%.0fs)", done, n, time.Since(start).Seconds())
			if done == n {
				fmt.Fprintln(e.stderr)
			}
		}}
	r, err := infer.EvaluateARC(ctx, p.Model, a, opts)
	if err != nil {
		return err
	}
	aug := f.augmentations
	if aug < 0 || aug > a.Augmentations() {
		aug = a.Augmentations()
	}
	s := arcSummary{Checkpoint: label, Task: a.Name() + formatOptions(a.Options()), Tasks: r.Tasks, Predictions: total,
		Augmentations: aug, Pass1: r.PassAt[1], Pass2: r.PassAt[2], Submission: f.submission, Seconds: time.Since(start).Seconds()}
	if f.submission != "" {
		if err := atomicfile.Write(f.submission, func(w io.Writer) error { return json.NewEncoder(w).Encode(r.Submission) }); err != nil {
			return fmt.Errorf("--submission: %w", err)
		}
	}
	if f.rt.json {
		return writeJSON(e.stdout, s)
	}
	fmt.Fprintf(e.stdout, "model:      %s (%s)\n", label, s.Task)
	fmt.Fprintf(e.stdout, "result:     pass@1 %.2f%%, pass@2 %.2f%% on %d tasks (official voting over %d augmentations, %d predictions, --halt %s)\n",
		100*s.Pass1, 100*s.Pass2, s.Tasks, aug, total, f.model.halt)
	if f.submission != "" {
		fmt.Fprintf(e.stdout, "submission: %s\n", f.submission)
	}
	return nil
}
