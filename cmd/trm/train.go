package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/trm-go/trm/trm"
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
	fs.BoolVar(&f.resume, "resume", false, "continue the run saved in --run")
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
	if _, err := trm.ParseTrainMode(f.mode); err != nil {
		return nil, usagef("--mode: %v", err)
	}
	if f.evalN < 0 {
		return nil, usagef("--eval-n %d, want ≥ 0", f.evalN)
	}
	if f.resume {
		for _, name := range []string{"preset", "config", "task", "digits", "opt", "batch", "lr", "seed"} {
			if isSet(fs, name) {
				return nil, usagef("--%s cannot change a resumed run (its config is in %s)", name, trm.Run{Dir: f.run}.ConfigPath())
			}
		}
		for _, name := range f.fields.setNames() {
			if !resumeFields[name] {
				return nil, usagef("--%s cannot change a resumed run (its config is in %s)", name, trm.Run{Dir: f.run}.ConfigPath())
			}
		}
	}
	return f, nil
}

func presetList() string {
	s := ""
	for i, p := range trm.PresetNames() {
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
		c, err := trm.LoadConfig(trm.Run{Dir: f.run}.ConfigPath(), trm.Config{})
		if err != nil {
			return trm.Config{}, fmt.Errorf("cannot resume: %w", err)
		}
		if cfg, err = f.fields.apply(c); err != nil {
			return trm.Config{}, err
		}
	} else {
		c, err := trm.Preset(f.preset)
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
		task, err := f.resolveTask(cfg)
		switch {
		case err == nil:
			cfg = cfg.WithTask(task)
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
func (f *trainFlags) resolveTask(cfg trm.Config) (trm.Task, error) {
	name, opts := cfg.Task, trm.TaskOptions{}
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
	task, err := trm.NewTask(name, opts)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	return task, nil
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
	return f.rt.withRuntime(func() error { return train(ctx, e, f, cfg) })
}
