package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/ablate"
	"github.com/trm-go/trm/trm/train"
)

// ablateFlags are the flags of trm ablate.
type ablateFlags struct {
	rt       runtimeFlags
	base     trainFlags // the base config: --preset, --config, config fields, task flags, --batch, --lr, --seed
	grid     string
	steps    int
	wall     time.Duration
	dir      string
	evalN    int
	evalSeed uint64
	evalInt  int
	evalEach int
	only     string
	mode     string
	dryRun   bool
}

func parseAblateFlags(e env, args []string) (*ablateFlags, error) {
	f := &ablateFlags{}
	fs := newFlagSet(e, "ablate", "[flags]",
		"Runs an ablation grid: one task, one base config, several recursion\n"+
			"settings, each trained under the same budget (--steps optimizer steps,\n"+
			"or --time of wall time) into its own run folder <dir>/<setting>, then\n"+
			"scored on --eval-n held-out examples with all N_sup steps run. Writes\n"+
			"<dir>/table.md and <dir>/table.csv (trm plot --ablation draws it) and\n"+
			"prints the table. Rerunning continues: a stopped setting resumes from its\n"+
			"last save and a finished one (its result.json) is not trained again, so\n"+
			"SIGINT/SIGTERM (which save first) lose at most the current step. The base\n"+
			"config is built as trm train builds it (--preset, --config, the config-\n"+
			"field flags, the task flags); --config checkpoints/sudoku9.config.json is\n"+
			"the recipe of the shipped Sudoku and maze models.\n"+
			"\n"+
			"The default grid is the paper's Table 1 rows and depth sweep (arXiv\n"+
			"2510.04871), plus the network without recursion:\n"+
			"  "+strings.ReplaceAll(ablate.DefaultGrid, "; ", ";\n  ")+"\n"+
			"\n"+ablate.GridSyntax+"\n"+
			"\n"+
			"Exit status: 0 done; 2 bad flags, grid or config; 1 failure (training\n"+
			"diverged, a file unreadable, a folder holding another experiment); 130\n"+
			"interrupted (the current setting saved: rerun to continue).")
	f.rt.register(fs)
	f.base.fs = fs
	f.base.task.register(fs, "")
	fs.StringVar(&f.base.preset, "preset", "arith", "starting config: "+presetList())
	fs.StringVar(&f.base.configFile, "config", "", "JSON `file` of config fields applied over the preset")
	fs.IntVar(&f.base.batch, "batch", 0, "samples per optimizer step (config global_batch_size)")
	fs.Float64Var(&f.base.lr, "lr", 0, "peak learning rate (config lr)")
	fs.Uint64Var(&f.base.seed, "seed", 0, "seed of init, data and halting exploration (config seed)")
	fs.StringVar(&f.grid, "grid", ablate.DefaultGrid, "the settings (`spec`, syntax above)")
	fs.IntVar(&f.steps, "steps", 2000, "budget: optimizer steps per setting (with --time: a cap; 0: none)")
	fs.DurationVar(&f.wall, "time", 0, "budget: wall time of training per setting, e.g. 20m (0: --steps alone)")
	fs.StringVar(&f.dir, "dir", "", "grid `folder` (default runs/ablate-<task>)")
	fs.IntVar(&f.evalN, "eval-n", 1000, "held-out test examples each setting is scored on")
	fs.Uint64Var(&f.evalSeed, "eval-seed", 7, "seed choosing the held-out examples")
	fs.IntVar(&f.evalInt, "eval-interval", 0, "also evaluate every N steps during training, for trm plot (counts against --time; 0: only at the end)")
	fs.IntVar(&f.evalEach, "eval-every-n", 300, "test examples of each --eval-interval evaluation")
	fs.StringVar(&f.only, "only", "", "comma-separated `settings` to train in this call (others sharing --dir train the rest)")
	fs.StringVar(&f.mode, "mode", "carry", "training loop: carry (the official persistent batch) or explicit (an N_sup loop per batch)")
	fs.BoolVar(&f.dryRun, "dry-run", false, "print each setting's T, n, N_sup, variant and parameters and exit")
	f.base.fields.register(fs)
	if err := parse(fs, args, false); err != nil {
		return nil, err
	}
	if err := f.rt.validate(); err != nil {
		return nil, err
	}
	if _, err := train.ParseTrainMode(f.mode); err != nil {
		return nil, usagef("--mode: %v", err)
	}
	if isSet(fs, "train_steps") {
		return nil, usagef("--train_steps: the budget sets it, use --steps or --time")
	}
	switch {
	case f.evalN < 1:
		return nil, usagef("--eval-n %d, want ≥ 1", f.evalN)
	case f.evalInt < 0:
		return nil, usagef("--eval-interval %d, want ≥ 0", f.evalInt)
	case f.evalEach < 1:
		return nil, usagef("--eval-every-n %d, want ≥ 1", f.evalEach)
	}
	if err := (ablate.Budget{Steps: f.steps, Time: f.wall}).Validate(); err != nil {
		return nil, usagef("--steps %d --time %v: %v", f.steps, f.wall, err)
	}
	// trainFlags.config applies --steps as train_steps when set; the
	// budget replaces it per setting, but the base must validate.
	f.base.steps = f.steps
	if f.steps == 0 {
		f.base.steps = trm.MaxSteps
	}
	return f, nil
}

// options resolves the base config, the grid and the options of the run.
func (f *ablateFlags) options() (ablate.Options, error) {
	base, err := f.base.config()
	if err != nil {
		return ablate.Options{}, err
	}
	if _, err := base.NewTask(); err != nil {
		return ablate.Options{}, usageError{err.Error()}
	}
	grid, err := ablate.ParseGrid(f.grid, base)
	if err != nil {
		return ablate.Options{}, usagef("--grid: %v", err)
	}
	dir := f.dir
	if dir == "" {
		dir = "runs/ablate-" + base.Task
	}
	opts := ablate.Options{
		Base: base, Grid: grid, Budget: ablate.Budget{Steps: f.steps, Time: f.wall}, Dir: dir,
		EvalN: f.evalN, EvalSeed: f.evalSeed, EvalInterval: f.evalInt, EvalEvery: f.evalEach,
		Mode: train.TrainMode(f.mode),
	}
	if f.only != "" {
		for name := range strings.SplitSeq(f.only, ",") {
			if name = strings.TrimSpace(name); name != "" {
				opts.Only = append(opts.Only, name)
			}
		}
	}
	return opts, nil
}

func runAblate(ctx context.Context, e env, args []string) error {
	f, err := parseAblateFlags(e, args)
	if err != nil {
		return err
	}
	opts, err := f.options()
	if err != nil {
		return err
	}
	if f.dryRun {
		return printGrid(e, opts)
	}
	opts.Out = e.stderr
	return f.rt.withRuntime(func() error {
		tab, err := ablate.Run(ctx, opts)
		if err != nil {
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				fmt.Fprintf(e.stderr, "ablate: interrupted; the current setting is saved: rerun the same command to continue\n")
			}
			return err
		}
		if f.rt.json {
			return writeJSON(e.stdout, tab)
		}
		fmt.Fprintf(e.stderr, "ablate: wrote %s/table.md and %s/table.csv\n", opts.Dir, opts.Dir)
		return tab.WriteMarkdown(e.stdout)
	})
}

// printGrid prints the resolved settings (--dry-run).
func printGrid(e env, opts ablate.Options) error {
	fmt.Fprintf(e.stdout, "task %s%s, budget %v × %d samples, %d held-out examples → %s\n",
		opts.Base.Task, formatOptions(opts.Base.TaskOptions), opts.Budget, opts.Base.BatchSize, opts.EvalN, opts.Dir)
	for _, s := range opts.Grid {
		cfg, err := s.Apply(opts.Base)
		if err != nil {
			return usageError{err.Error()}
		}
		fmt.Fprintf(e.stdout, "%-14s T=%d n=%d N_sup=%d %s/%s layers=%d hidden=%d ema=%v: %d parameters, %d net calls per step\n",
			s.Name, cfg.HCycles, cfg.LCycles, cfg.HaltMaxSteps, cfg.Variant, cfg.PosEncodings, cfg.LLayers,
			cfg.HiddenSize, cfg.EMARate, cfg.ParamCount(), cfg.HCycles*(cfg.LCycles+1))
	}
	return nil
}
