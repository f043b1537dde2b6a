package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/task"
	"github.com/trm-go/trm/trm/train"
)

// trainFlags are the flags of trm train.
type trainFlags struct {
	fs          *flag.FlagSet
	rt          runtimeFlags
	task        taskFlags
	preset      string
	configFile  string
	run         string
	resume      bool
	force       bool
	steps       int
	batch       int
	lr          float64
	seed        uint64
	mode        string
	evalN       int
	printConfig bool
	fields      configFlags
}

func parseTrainFlags(e env, args []string) (*trainFlags, error) {
	f := &trainFlags{}
	fs := newFlagSet(e, "train", "[flags]",
		"Trains a model with deep supervision and writes the run folder (--run):\n"+
			"config.json, model.safetensors (EMA weights), train_state.safetensors and\n"+
			"metrics.jsonl. The config is the preset, then --config's fields, then the\n"+
			"config-field flags (--hidden_size 64, --H_cycles 2, ..., named as in the\n"+
			"JSON), then the task flags and the other flags. --resume continues the run\n"+
			"in --run with its saved config (only --steps, --train_steps and the\n"+
			"interval fields may change it). SIGINT/SIGTERM stop after the current step\n"+
			"and save, so the run can be resumed.")
	f.fs = fs
	f.rt.register(fs)
	f.task.register(fs, "")
	fs.StringVar(&f.preset, "preset", "arith", "starting config: "+presetList())
	fs.StringVar(&f.configFile, "config", "", "JSON `file` of config fields applied over the preset")
	fs.StringVar(&f.run, "run", "", "run `folder` (default runs/<preset>)")
	fs.StringVar(&f.run, "out", "", "the same as --run")
	fs.BoolVar(&f.resume, "resume", false, "continue the run saved in --run (from its last save; a crash loses at most the steps since)")
	fs.BoolVar(&f.force, "force", false, "start a new run in a --run folder that holds one, deleting its files")
	fs.IntVar(&f.steps, "steps", 0, "optimizer steps of the run (config train_steps)")
	fs.IntVar(&f.batch, "batch", 0, "samples per optimizer step (config global_batch_size)")
	fs.Float64Var(&f.lr, "lr", 0, "peak learning rate (config lr)")
	fs.Uint64Var(&f.seed, "seed", 0, "seed of init, data and halting exploration (config seed)")
	fs.StringVar(&f.mode, "mode", "carry", "training loop: carry (the official persistent batch) or explicit (an N_sup loop per batch)")
	fs.IntVar(&f.evalN, "eval-n", 1000, "test examples per periodic evaluation")
	fs.BoolVar(&f.printConfig, "print-config", false, "print the resolved config as JSON and exit")
	f.fields.register(fs)
	if err := parse(fs, args, false); err != nil {
		return nil, err
	}
	if err := f.rt.validate(); err != nil {
		return nil, err
	}
	if f.run == "" {
		f.run = "runs/" + f.preset
	}
	if _, err := train.ParseTrainMode(f.mode); err != nil {
		return nil, usagef("--mode: %v", err)
	}
	if f.evalN < 0 {
		return nil, usagef("--eval-n %d, want ≥ 0", f.evalN)
	}
	if f.resume && f.force {
		return nil, usagef("--resume and --force exclude each other: continue the run, or start over")
	}
	if !f.resume && !f.force && !f.printConfig && (train.Run{Dir: f.run}).Exists() {
		return nil, usagef("--run %s already holds a run: continue it with --resume, or start over with --force (deletes its model, train state and metrics)", f.run)
	}
	if f.resume {
		for _, name := range []string{"preset", "config", "task", "digits", "opt", "batch", "lr", "seed"} {
			if isSet(fs, name) {
				return nil, usagef("--%s cannot change a resumed run (its config is in %s)", name, train.Run{Dir: f.run}.ConfigPath())
			}
		}
		for _, name := range f.fields.setNames() {
			if !resumeFields[name] {
				return nil, usagef("--%s cannot change a resumed run (its config is in %s)", name, train.Run{Dir: f.run}.ConfigPath())
			}
		}
	}
	return f, nil
}

func presetList() string {
	s := ""
	for i, p := range train.PresetNames() {
		if i > 0 {
			s += ", "
		}
		s += p
	}
	return s
}

// config resolves the run's config: for a new run the preset, then the
// --config file over it, then the task flags (--task, --digits and --opt
// merged over the config's options when the task stays the same), the
// config-field flags (before the task flags), the
// task's sizes (vocab_size, seq_len, num_puzzle_identifiers), then --steps,
// --batch, --lr, --seed; for --resume the run's saved config, the
// train_steps and interval fields, and --steps.
// Bad values are usage errors naming the field. With --print-config a task
// that cannot be built is left for the printed config to show.
func (f *trainFlags) config() (trm.Config, error) {
	var cfg trm.Config
	if f.resume {
		c, err := trm.LoadConfig(train.Run{Dir: f.run}.ConfigPath(), trm.Config{})
		if err != nil {
			return trm.Config{}, fmt.Errorf("cannot resume: %w", err)
		}
		if cfg, err = f.fields.apply(c); err != nil {
			return trm.Config{}, err
		}
	} else {
		c, err := train.Preset(f.preset)
		if err != nil {
			return trm.Config{}, usagef("--preset: %v", err)
		}
		cfg = c
		if f.configFile != "" {
			if cfg, err = trm.LoadConfig(f.configFile, cfg); err != nil {
				return trm.Config{}, usageError{err.Error()}
			}
		}
		if cfg, err = f.fields.apply(cfg); err != nil {
			return trm.Config{}, err
		}
		t, err := f.resolveTask(cfg)
		switch {
		case err == nil:
			cfg.SetTask(t)
		case !f.printConfig:
			return trm.Config{}, err
		}
		if isSet(f.fs, "batch") {
			cfg.BatchSize = f.batch
		}
		if isSet(f.fs, "lr") {
			cfg.LR = f.lr
		}
		if isSet(f.fs, "seed") {
			cfg.Seed = f.seed
		}
	}
	if isSet(f.fs, "steps") {
		cfg.TrainSteps = f.steps
	}
	if err := cfg.Validate(); err != nil {
		return trm.Config{}, usageError{err.Error()}
	}
	return cfg, nil
}

// resolveTask builds the task of a new run from the config and the task
// flags.
func (f *trainFlags) resolveTask(cfg trm.Config) (task.Task, error) {
	name, opts := cfg.Task, task.Options{}
	if f.task.given() {
		flagOpts, err := f.task.options()
		if err != nil {
			return nil, err
		}
		if isSet(f.fs, "task") && f.task.name != cfg.Task {
			name = f.task.name
		} else {
			for k, v := range cfg.TaskOptions {
				opts[k] = v
			}
		}
		for k, v := range flagOpts {
			opts[k] = v
		}
	} else {
		opts = cfg.TaskOptions
	}
	t, err := task.New(name, opts)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	return t, nil
}

func runTrain(ctx context.Context, e env, args []string) error {
	f, err := parseTrainFlags(e, args)
	if err != nil {
		return err
	}
	cfg, err := f.config()
	if err != nil {
		return err
	}
	if f.printConfig {
		_, err := e.stdout.Write(cfg.MarshalIndent())
		return err
	}
	if _, err := cfg.NewTask(); err != nil {
		return usageError{err.Error()}
	}
	return f.rt.withRuntime(func() error { return trainModel(ctx, e, f, cfg) })
}

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
var resumeFields = map[string]bool{"train_steps": true, "log_interval": true, "eval_interval": true, "checkpoint_interval": true, "micro_batch": true}

func (c *configFlags) register(fs *flag.FlagSet) {
	c.fs = fs
	c.values = map[string]*string{}
	c.kinds = map[string]reflect.Kind{}
	c.registerStruct(reflect.ValueOf(train.DefaultConfig()))
}

// registerStruct adds a flag for every JSON field of the struct v, walking
// into embedded structs (trm.Config embeds ModelConfig and TrainConfig).
func (c *configFlags) registerStruct(v reflect.Value) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			c.registerStruct(v.Field(i))
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || configFlagSkip[name] || c.fs.Lookup(name) != nil {
			continue
		}
		c.kinds[name] = f.Type.Kind()
		c.values[name] = c.fs.String(name, "", fmt.Sprintf("config field %s (arith preset: %v)", name, v.Field(i).Interface()))
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

func trainModel(ctx context.Context, e env, f *trainFlags, cfg trm.Config) error {
	mode, _ := train.ParseTrainMode(f.mode)
	if f.resume && !isSet(f.fs, "mode") {
		mode = "" // the saved run's mode
	}
	run := train.Run{Dir: f.run}
	if err := train.CheckMemory(cfg); err != nil {
		return inputError{err.Error()} // the config asks too much of this machine: change it
	}
	// A folder another trainer holds is refused here, as the only line;
	// train.Train takes the lock for the run itself (and refuses the same
	// way if another trainer takes the folder in between).
	lock, err := run.Lock()
	if err != nil {
		return err
	}
	if err := lock.Unlock(); err != nil {
		return err
	}
	verb := "training"
	if f.resume {
		verb = "resuming"
	}
	fmt.Fprintf(e.stderr, "%s %s%s: %s, hidden %d, T=%d n=%d N_sup=%d, %d parameters, %d steps of %d → %s\n",
		verb, cfg.Task, formatOptions(cfg.TaskOptions), cfg.Variant, cfg.HiddenSize, cfg.HCycles, cfg.LCycles,
		cfg.HaltMaxSteps, cfg.ParamCount(), cfg.TrainSteps, cfg.BatchSize, f.run)
	start := time.Now()
	res, err := train.Train(ctx, cfg, train.TrainOptions{
		Mode: mode, Dir: f.run, Resume: f.resume, Force: f.force, EvalExamples: f.evalN,
		Out: e.stderr, Progress: isTerminal(e.stderr),
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
