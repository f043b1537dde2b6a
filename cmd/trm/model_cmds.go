package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/trm-go/trm/checkpoints"
	"github.com/trm-go/trm/trm"
)

// configFlags exposes every field of trm.Config as a flag named like its
// JSON field (--hidden_size 64, --L_cycles 2, --variant mlp, ...), applied
// over the preset and --config file.
type configFlags struct {
	fs     *flag.FlagSet
	values map[string]*string
	kinds  map[string]reflect.Kind
}

// configFlagSkip are the Config JSON fields that other flags set.
var configFlagSkip = map[string]bool{"task": true, "task_options": true}

// resumeFields are the config fields a resumed run may change.
var resumeFields = map[string]bool{"train_steps": true, "log_interval": true, "eval_interval": true, "checkpoint_interval": true}

func (c *configFlags) register(fs *flag.FlagSet) {
	c.fs = fs
	c.values = map[string]*string{}
	c.kinds = map[string]reflect.Kind{}
	def := trm.DefaultConfig()
	rt := reflect.TypeOf(def)
	rv := reflect.ValueOf(def)
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		if name == "" || name == "-" || configFlagSkip[name] {
			continue
		}
		if fs.Lookup(name) != nil {
			continue
		}
		c.kinds[name] = rt.Field(i).Type.Kind()
		c.values[name] = fs.String(name, "", fmt.Sprintf("config field %s (arith preset: %v)", name, rv.Field(i).Interface()))
	}
}

// apply sets the config fields given on the command line, in name order.
func (c *configFlags) apply(cfg trm.Config) (trm.Config, error) {
	obj := map[string]json.RawMessage{}
	var names []string
	for name := range c.values {
		if isSet(c.fs, name) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		v := strings.TrimSpace(*c.values[name])
		var raw string
		switch c.kinds[name] {
		case reflect.String:
			raw = strconv.Quote(v)
		case reflect.Bool:
			b, err := strconv.ParseBool(v)
			if err != nil {
				return cfg, usagef("--%s %q, want true or false", name, v)
			}
			raw = strconv.FormatBool(b)
		case reflect.Float32, reflect.Float64:
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return cfg, usagef("--%s %q, want a number", name, v)
			}
			raw = strconv.FormatFloat(f, 'g', -1, 64)
		default:
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return cfg, usagef("--%s %q, want a whole number", name, v)
			}
			raw = strconv.FormatInt(n, 10)
		}
		obj[name] = json.RawMessage(raw)
	}
	if len(obj) == 0 {
		return cfg, nil
	}
	data, _ := json.Marshal(obj)
	out, err := trm.DecodeConfig(data, cfg)
	if err != nil {
		return cfg, usageError{err.Error()}
	}
	return out, nil
}

// setNames returns the config flags given on the command line.
func (c *configFlags) setNames() []string {
	var names []string
	for name := range c.values {
		if isSet(c.fs, name) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// trainSummary is the --json output of trm train.
type trainSummary struct {
	Run       string       `json:"run"`
	Step      int64        `json:"step"`
	Seconds   float64      `json:"seconds"`
	Params    int64        `json:"params"`
	Loss      float64      `json:"loss"`
	Eval      *evalSummary `json:"eval,omitempty"`
	Stopped   bool         `json:"stopped,omitempty"`
	ModelPath string       `json:"model"`
}

func train(ctx context.Context, e env, f *trainFlags, cfg trm.Config) error {
	mode, _ := trm.ParseTrainMode(f.mode)
	if f.resume && !isSet(f.fs, "mode") {
		mode = "" // the saved run's mode
	}
	run := trm.Run{Dir: f.run}
	verb := "training"
	if f.resume {
		verb = "resuming"
	}
	fmt.Fprintf(e.stderr, "%s %s%s: %s, hidden %d, T=%d n=%d N_sup=%d, %d parameters, %d steps of %d → %s\n",
		verb, cfg.Task, formatOptions(cfg.TaskOptions), cfg.Variant, cfg.HiddenSize, cfg.HCycles, cfg.LCycles,
		cfg.HaltMaxSteps, cfg.ParamCount(), cfg.TrainSteps, cfg.BatchSize, f.run)
	start := time.Now()
	res, err := trm.Train(ctx, cfg, trm.TrainOptions{
		Mode: mode, Dir: f.run, Resume: f.resume, EvalExamples: f.evalN,
		Out: e.stderr, Progress: trm.IsTerminal(e.stderr),
	})
	stopped := errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
	if err != nil && !stopped {
		return err
	}
	secs := time.Since(start).Seconds()
	step := res.Trainer.StepCount()
	if stopped {
		fmt.Fprintf(e.stderr, "interrupted at step %d; saved to %s (continue with: trm train --run %s --resume)\n", step, f.run, f.run)
	} else {
		fmt.Fprintf(e.stderr, "done: step %d in %s; model %s\n", step, time.Duration(secs*float64(time.Second)).Round(time.Second), run.ModelPath())
	}
	sum := trainSummary{Run: f.run, Step: step, Seconds: secs, Params: cfg.ParamCount(), Loss: res.Last.Loss, Stopped: stopped, ModelPath: run.ModelPath()}
	if res.Eval != nil {
		es := summarize(res.Eval, trm.HaltFull)
		sum.Eval = &es
		if !f.rt.json {
			fmt.Fprintf(e.stdout, "test (EMA weights, %d examples): %s\n", res.Eval.Full.Examples, describe(res.Eval))
		}
	}
	if f.rt.json {
		if err := writeJSON(e.stdout, sum); err != nil {
			return err
		}
	}
	if stopped {
		return err
	}
	return nil
}

// loadModel returns the model of --checkpoint, or the embedded model of the
// task (arith by default) when it is empty.
func loadModel(path string, tf *taskFlags) (*trm.Predictor, string, error) {
	if path != "" {
		p, err := trm.LoadPredictor(path)
		if err != nil {
			return nil, "", err
		}
		if err := checkTaskFlags(tf, p.Model.Config); err != nil {
			return nil, "", usagef("--checkpoint %s does not fit the task flags: %v", path, err)
		}
		return p, path, nil
	}
	name := tf.name
	if name == "" {
		name = "arith"
	}
	data, ok := checkpoints.Lookup(name)
	if !ok {
		return nil, "", usagef("no model is shipped for task %q (shipped: %s); pass --checkpoint", name, strings.Join(checkpoints.Tasks(), ", "))
	}
	label := "embedded:" + name
	p, err := trm.DecodePredictor(data, label)
	if err != nil {
		return nil, "", err
	}
	if err := checkTaskFlags(tf, p.Model.Config); err != nil {
		return nil, "", usagef("the shipped %s model does not fit the task flags: %v", name, err)
	}
	return p, label, nil
}

// checkTaskFlags checks the task flags, if any, against a model's config:
// the task named (default: the model's) with the model's options overridden
// by --digits/--opt must be the model's task.
func checkTaskFlags(tf *taskFlags, cfg trm.Config) error {
	if !tf.given() {
		return nil
	}
	name := cfg.Task
	if isSet(tf.fs, "task") {
		name = tf.name
	}
	opts := trm.TaskOptions{}
	if name == cfg.Task {
		for k, v := range cfg.TaskOptions {
			opts[k] = v
		}
	}
	flagOpts, err := tf.options()
	if err != nil {
		return err
	}
	for k, v := range flagOpts {
		opts[k] = v
	}
	t, err := trm.NewTask(name, opts)
	if err != nil {
		return err
	}
	return cfg.CheckTask(t)
}

// scoreSummary is a trm.Score in JSON.
type scoreSummary struct {
	Examples int     `json:"examples"`
	Solved   int     `json:"solved"`
	ExactAcc float64 `json:"exact_acc"`
	TokenAcc float64 `json:"token_acc"`
}

func scoreOf(s trm.Score) scoreSummary {
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

func summarize(r *trm.EvalResult, halt trm.HaltMode) evalSummary {
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
func describe(r *trm.EvalResult) string {
	return fmt.Sprintf("full %d steps: %v; early exit: %v, %.2f steps on average", len(r.Curve), r.Full, r.Early, r.MeanSteps)
}

func eval(ctx context.Context, e env, f *evalFlags) error {
	p, label, err := loadModel(f.checkpoint, &f.task)
	if err != nil {
		return err
	}
	opts := trm.EvalOptions{Split: f.split, N: f.n, Seed: f.seed, BatchSize: f.batch, Steps: f.steps}
	if f.data != "" {
		d, err := trm.LoadDataset(f.data)
		if err != nil {
			return err
		}
		if err := d.CheckTask(p.Task); err != nil {
			return fmt.Errorf("--data %s: %w", f.data, err)
		}
		opts.Examples = d.Examples
	}
	start := time.Now()
	r, err := trm.Evaluate(ctx, p.Model, p.Task, opts)
	if err != nil {
		return err
	}
	s := summarize(r, f.halt)
	s.Checkpoint, s.Task = label, p.Task.Name()+formatOptions(p.Task.Options())
	s.PerSec = float64(r.Full.Examples) / time.Since(start).Seconds()
	if f.rt.json {
		return writeJSON(e.stdout, s)
	}
	head := r.Score(f.halt)
	fmt.Fprintf(e.stdout, "model:      %s (%s%s)\n", label, p.Task.Name(), formatOptions(p.Task.Options()))
	fmt.Fprintf(e.stdout, "result:     exact %.2f%%, token %.2f%% on %d examples (--halt %s)\n",
		100*head.ExactAcc(), 100*head.TokenAcc(), head.Examples, f.halt)
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

// inferResult is one line of trm infer --json.
type inferResult struct {
	Input      string  `json:"input"`
	Answer     string  `json:"answer"`
	Steps      int     `json:"steps"`
	Confidence float64 `json:"confidence"`
}

func infer(ctx context.Context, e env, f *inferFlags) error {
	p, _, err := loadModel(f.checkpoint, &f.task)
	if err != nil {
		return err
	}
	p.Halt, p.MaxSteps, p.BatchSize = f.halt, f.steps, f.batch
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

// writeJSON writes v as one line of JSON.
func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
