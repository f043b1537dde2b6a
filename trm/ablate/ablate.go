package ablate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/trm-go/trm/internal/atomicfile"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/infer"
	"github.com/trm-go/trm/trm/train"
)

// Budget is what every setting of a grid gets: a number of optimizer steps
// or a wall time of training (start-up and periodic evaluations included,
// as train.Trainer.Elapsed counts it).
type Budget struct {
	// Steps is the number of optimizer steps of each setting; with Time
	// set it is a cap (0: none).
	Steps int `json:"steps"`
	// Time is the wall time of each setting's training (0: Steps alone).
	Time time.Duration `json:"time_ns"`
}

// Validate checks that the budget is set and within range.
func (b Budget) Validate() error {
	switch {
	case b.Steps < 0 || b.Steps > trm.MaxSteps:
		return fmt.Errorf("ablate: budget of %d steps, want 1..%d", b.Steps, trm.MaxSteps)
	case b.Time < 0:
		return fmt.Errorf("ablate: budget of %v, want a wall time ≥ 0", b.Time)
	case b.Steps == 0 && b.Time == 0:
		return errors.New("ablate: no budget, want a number of optimizer steps, a wall time or both")
	}
	return nil
}

// trainSteps is the train_steps of each setting's config.
func (b Budget) trainSteps() int {
	if b.Steps > 0 {
		return b.Steps
	}
	return trm.MaxSteps
}

// String describes the budget: "2000 optimizer steps" or "10m0s of
// training (at most 2000 optimizer steps)".
func (b Budget) String() string {
	switch {
	case b.Time == 0:
		return fmt.Sprintf("%d optimizer steps", b.Steps)
	case b.Steps == 0:
		return fmt.Sprintf("%v of training", b.Time)
	default:
		return fmt.Sprintf("%v of training (at most %d optimizer steps)", b.Time, b.Steps)
	}
}

// Options configure a grid run.
type Options struct {
	// Base is the config every setting starts from, task included; its
	// train_steps is replaced by the budget's.
	Base trm.Config
	// Grid is the settings, in table order (see ParseGrid, DefaultGrid).
	Grid []Setting
	// Only, when not empty, names the settings to train in this call
	// (several processes can share a grid's folder, each with its own);
	// the table still shows every setting of Grid that has a result.
	Only []string
	// Budget is the training of each setting.
	Budget Budget
	// Dir is the grid's folder: <Dir>/<setting> holds each setting's run
	// and result.json; table.md and table.csv are written in Dir.
	Dir string
	// EvalN is the number of held-out (test split) examples each setting
	// is scored on (0: 1000), with EvalSeed choosing them.
	EvalN    int
	EvalSeed uint64
	// EvalInterval, when > 0, also evaluates every that many steps during
	// training (into each run's metrics.jsonl, for trm plot; EvalEvery
	// examples each) — its time counts against a wall-time budget. 0
	// evaluates once, after training.
	EvalInterval int
	// EvalEvery is the number of examples of each periodic evaluation (0:
	// infer.DefaultEvalExamples).
	EvalEvery int
	// Mode is the training loop (train.ModeCarry when empty).
	Mode train.TrainMode
	// Out, when set, receives a line per setting and the training
	// progress.
	Out io.Writer
}

// Row is the result of one setting.
type Row struct {
	Setting string  `json:"setting"`
	T       int     `json:"T"`
	N       int     `json:"n"`
	NSup    int     `json:"N_sup"`
	Variant string  `json:"variant"`
	Layers  int     `json:"layers"`
	Hidden  int     `json:"hidden"`
	EMARate float64 `json:"ema_rate"`
	Params  int64   `json:"params"`
	// Steps and Samples are what the setting trained on; TrainSeconds the
	// wall time of its training, SamplesPerSec Samples / TrainSeconds.
	Steps         int64   `json:"steps"`
	Samples       int64   `json:"samples"`
	TrainSeconds  float64 `json:"train_s"`
	SamplesPerSec float64 `json:"samples_per_s"`
	// ExactAcc and TokenAcc are the held-out scores with all N_sup steps
	// run (fractions); EarlyExactAcc with early exit at q_halt > 0, and
	// MeanHaltSteps the mean step that exit happens at; ExactPerStep the
	// exact accuracy after each step.
	ExactAcc      float64   `json:"exact_acc"`
	TokenAcc      float64   `json:"token_acc"`
	EarlyExactAcc float64   `json:"early_exact_acc"`
	MeanHaltSteps float64   `json:"mean_halt_steps"`
	ExactPerStep  []float64 `json:"exact_per_step"`
	EvalExamples  int       `json:"eval_examples"`
	// Paper is the paper's number for the row (%), NaN if none.
	Paper float64 `json:"-"`
}

// result is a setting's result.json: the row and what produced it.
type result struct {
	Row    Row             `json:"row"`
	Paper  *float64        `json:"paper,omitempty"`
	Budget Budget          `json:"budget"`
	EvalN  int             `json:"eval_n"`
	Seed   uint64          `json:"eval_seed"`
	Config json.RawMessage `json:"config"`
}

// Table is the results of a grid.
type Table struct {
	// Task is the task and its options, e.g. "sudoku9 (blanks=40)".
	Task string
	// Budget is what each setting trained for; BatchSize its batch.
	Budget    Budget
	BatchSize int
	// EvalN is the number of held-out examples each row is scored on.
	EvalN int
	// Rows are the settings with a result, in grid order; Missing names
	// the settings of the grid without one (not trained yet).
	Rows    []Row
	Missing []string
}

// ResultFile is the name of the file in a setting's folder that records
// its result; a setting whose folder has it is not trained again.
const ResultFile = "result.json"

// Run trains and scores every setting of the grid (those of opts.Only when
// given) that has no result yet, then writes <Dir>/table.md and
// <Dir>/table.csv and returns the table. A setting stopped by ctx resumes
// from its last save on the next call; ctx's error is returned once the
// stopped setting is saved.
func Run(ctx context.Context, opts Options) (*Table, error) {
	if err := opts.Budget.Validate(); err != nil {
		return nil, err
	}
	if opts.Dir == "" {
		return nil, errors.New("ablate: no folder, want a directory for the runs and the table")
	}
	if len(opts.Grid) == 0 {
		return nil, errors.New("ablate: empty grid, want at least one setting")
	}
	if opts.EvalN <= 0 {
		opts.EvalN = 1000
	}
	only := map[string]bool{}
	for _, name := range opts.Only {
		found := false
		for _, s := range opts.Grid {
			found = found || s.Name == name
		}
		if !found {
			return nil, fmt.Errorf("ablate: setting %q is not in the grid, want one of %v", name, names(opts.Grid))
		}
		only[name] = true
	}
	// Check every setting's config before training any.
	cfgs := make([]trm.Config, len(opts.Grid))
	for i, s := range opts.Grid {
		cfg, err := configOf(opts, s)
		if err != nil {
			return nil, err
		}
		cfgs[i] = cfg
	}
	for i, s := range opts.Grid {
		dir := filepath.Join(opts.Dir, s.Name)
		_, ok, err := loadResult(dir, cfgs[i], opts)
		if err != nil {
			return nil, err
		}
		if ok {
			logf(opts.Out, "ablate: setting %d/%d %s: done before (%s), skipped", i+1, len(opts.Grid), s.Name, filepath.Join(dir, ResultFile))
			continue
		}
		if len(only) > 0 && !only[s.Name] {
			continue
		}
		logf(opts.Out, "ablate: setting %d/%d %s: T=%d n=%d N_sup=%d %s, %d parameters, %v → %s",
			i+1, len(opts.Grid), s.Name, cfgs[i].HCycles, cfgs[i].LCycles, cfgs[i].HaltMaxSteps, cfgs[i].Variant,
			cfgs[i].ParamCount(), opts.Budget, dir)
		row, err := runSetting(ctx, opts, s, cfgs[i], dir)
		// The next setting's trainer should not stack on this one's
		// garbage: a T=4, n=8 sudoku9 trainer alone peaks near 3 GB.
		debug.FreeOSMemory()
		if err != nil {
			return nil, err
		}
		logf(opts.Out, "ablate: %s: exact %.2f%%, token %.2f%% on %d held-out examples; %d steps, %.0f samples/s",
			s.Name, 100*row.ExactAcc, 100*row.TokenAcc, row.EvalExamples, row.Steps, row.SamplesPerSec)
	}
	// The table holds every result in the folder now, those that other
	// calls sharing it (other --only lists) finished meanwhile included.
	tab := &Table{Task: opts.Base.Task + formatOptions(opts.Base.TaskOptions), Budget: opts.Budget,
		BatchSize: opts.Base.BatchSize, EvalN: opts.EvalN}
	for i, s := range opts.Grid {
		row, ok, err := loadResult(filepath.Join(opts.Dir, s.Name), cfgs[i], opts)
		switch {
		case err != nil:
			return nil, err
		case ok:
			row.Paper = s.Paper
			tab.Rows = append(tab.Rows, row)
		default:
			tab.Missing = append(tab.Missing, s.Name)
		}
	}
	if err := tab.Save(opts.Dir); err != nil {
		return nil, err
	}
	return tab, nil
}

// Save writes the table as <dir>/table.md and <dir>/table.csv, atomically.
func (t *Table) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("ablate: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(dir, "table.md"), t.WriteMarkdown); err != nil {
		return fmt.Errorf("ablate: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(dir, "table.csv"), t.WriteCSV); err != nil {
		return fmt.Errorf("ablate: %w", err)
	}
	return nil
}

func names(grid []Setting) []string {
	out := make([]string, len(grid))
	for i, s := range grid {
		out[i] = s.Name
	}
	return out
}

func logf(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}

// configOf is the config a setting trains with: the base, the setting's
// fields, the budget's train_steps and the evaluation interval.
func configOf(opts Options, s Setting) (trm.Config, error) {
	base := opts.Base
	base.TrainSteps = opts.Budget.trainSteps()
	base.EvalInterval = max(opts.EvalInterval, 0)
	base.LogInterval = min(max(base.LogInterval, 1), base.TrainSteps)
	cfg, err := s.Apply(base)
	if err != nil {
		return trm.Config{}, fmt.Errorf("ablate: %w", err)
	}
	if err := train.CheckMemory(cfg); err != nil {
		return trm.Config{}, fmt.Errorf("ablate: setting %s: %w", s.Name, err)
	}
	return cfg, nil
}

// loadResult reads a setting's result.json. ok is false when there is
// none; a result of another config, budget or evaluation is an error (a
// grid's folder holds one experiment).
func loadResult(dir string, cfg trm.Config, opts Options) (Row, bool, error) {
	path := filepath.Join(dir, ResultFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Row{}, false, nil
	}
	if err != nil {
		return Row{}, false, fmt.Errorf("ablate: %w", err)
	}
	var r result
	if err := json.Unmarshal(data, &r); err != nil {
		return Row{}, false, fmt.Errorf("ablate: %s: %w", path, err)
	}
	saved, err := trm.DecodeConfig(r.Config, trm.Config{})
	if err != nil {
		return Row{}, false, fmt.Errorf("ablate: %s: %w", path, err)
	}
	if !saved.Equal(cfg) || r.Budget != opts.Budget || r.EvalN != opts.EvalN || r.Seed != opts.EvalSeed {
		return Row{}, false, fmt.Errorf("ablate: %s holds the result of another config, budget or evaluation (%v, %d examples); want %v, %d examples: use another folder, or delete %s to train it again",
			path, r.Budget, r.EvalN, opts.Budget, opts.EvalN, dir)
	}
	return r.Row, true, nil
}

// runSetting trains one setting to its budget (resuming a run its folder
// holds), scores it and writes its result.json.
func runSetting(ctx context.Context, opts Options, s Setting, cfg trm.Config, dir string) (Row, error) {
	run := train.Run{Dir: dir}
	if err := ctx.Err(); err != nil {
		return Row{}, err
	}
	// A folder with a train state resumes; one without (a run stopped
	// before its first save) starts over.
	_, statErr := os.Stat(run.StatePath())
	resume := statErr == nil
	trainCtx, cancel := ctx, context.CancelFunc(func() {})
	if opts.Budget.Time > 0 {
		spent := time.Duration(0)
		if resume {
			var err error
			if spent, _, err = trained(run); err != nil {
				return Row{}, fmt.Errorf("ablate: setting %s: %w", s.Name, err)
			}
		}
		trainCtx, cancel = context.WithTimeout(ctx, opts.Budget.Time-spent)
	}
	defer cancel()
	if trainCtx.Err() == nil { // else the wall-time budget is spent already
		_, err := train.Train(trainCtx, cfg, train.TrainOptions{
			Mode: opts.Mode, Dir: dir, Resume: resume, Force: !resume, EvalExamples: opts.EvalEvery, Out: opts.Out,
		})
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return Row{}, err // stopped from outside: saved, resumes next time
		case trainCtx.Err() != nil && errors.Is(err, trainCtx.Err()):
			// The wall-time budget ran out: the run is saved.
		default:
			return Row{}, fmt.Errorf("ablate: setting %s: %w", s.Name, err)
		}
	}
	spent, steps, err := trained(run)
	if err != nil {
		return Row{}, fmt.Errorf("ablate: setting %s: %w", s.Name, err)
	}
	p, err := infer.LoadPredictor(run.ModelPath())
	if err != nil {
		return Row{}, fmt.Errorf("ablate: setting %s: %w", s.Name, err)
	}
	ev, err := infer.Evaluate(ctx, p.Model, p.Task, infer.EvalOptions{N: opts.EvalN, Seed: opts.EvalSeed, BatchSize: cfg.BatchSize})
	if err != nil {
		return Row{}, err
	}
	row := Row{
		Setting: s.Name, T: cfg.HCycles, N: cfg.LCycles, NSup: cfg.HaltMaxSteps, Variant: string(cfg.Variant),
		Layers: cfg.LLayers, Hidden: cfg.HiddenSize, EMARate: cfg.EMARate, Params: cfg.ParamCount(),
		Steps: steps, Samples: steps * int64(cfg.BatchSize), TrainSeconds: spent.Seconds(),
		ExactAcc: ev.Full.ExactAcc(), TokenAcc: ev.Full.TokenAcc(), EarlyExactAcc: ev.Early.ExactAcc(),
		MeanHaltSteps: ev.MeanSteps, EvalExamples: ev.Full.Examples,
	}
	if row.TrainSeconds > 0 {
		row.SamplesPerSec = float64(row.Samples) / row.TrainSeconds
	}
	for _, c := range ev.Curve {
		row.ExactPerStep = append(row.ExactPerStep, c.ExactAcc())
	}
	res := result{Row: row, Budget: opts.Budget, EvalN: opts.EvalN, Seed: opts.EvalSeed, Config: cfg.MarshalIndent()}
	if !math.IsNaN(s.Paper) {
		res.Paper = &s.Paper
	}
	err = atomicfile.Write(filepath.Join(dir, ResultFile), func(w io.Writer) error {
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	})
	if err != nil {
		return Row{}, fmt.Errorf("ablate: %w", err)
	}
	return row, nil
}

// elapsedKey is the train-state metadata that records the wall time a run
// has trained (train.Trainer.Save writes it; see trm/train/state.go).
const elapsedKey = "elapsed_s"

// trained returns the wall time and optimizer steps of a run's last save.
func trained(run train.Run) (time.Duration, int64, error) {
	st, err := train.LoadTrainState(run.StatePath())
	if err != nil {
		return 0, 0, err
	}
	secs, err := strconv.ParseFloat(st.Meta[elapsedKey], 64)
	if err != nil || !(secs >= 0) {
		return 0, 0, fmt.Errorf("train state %q: %s %q, want seconds ≥ 0", run.StatePath(), elapsedKey, st.Meta[elapsedKey])
	}
	return time.Duration(secs * float64(time.Second)), st.Step, nil
}
