package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/trm-go/trm/checkpoints"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/infer"
	"github.com/trm-go/trm/trm/task"
)

// modelFlags choose the model a command runs and how: --checkpoint (or
// the model shipped for the task flags' task), --halt, --steps (with
// --steps-beyond-nsup), --batch.
type modelFlags struct {
	task       taskFlags
	checkpoint string
	haltName   string
	halt       trm.HaltMode
	steps      int
	beyondNsup bool
	batch      int
}

// availableMemory is where checkModel learns the memory left for a batch
// (tests replace it).
var availableMemory = trm.AvailableMemory

// register adds the flags; haltUsage says what --halt means to the command
// and unit names what --batch runs together.
func (m *modelFlags) register(fs *flag.FlagSet, haltUsage, unit string) {
	m.registerModel(fs)
	fs.StringVar(&m.haltName, "halt", string(trm.HaltFull), haltUsage)
	fs.IntVar(&m.batch, "batch", 0, fmt.Sprintf("%s run together, at most %d and what fits in memory (0: default)", unit, trm.MaxBatchSize))
}

// registerModel adds the flags that choose the model and its steps
// (task flags, --checkpoint, --steps, --steps-beyond-nsup), for a command
// that has no use for --halt and --batch (trm trace); --halt stays full.
func (m *modelFlags) registerModel(fs *flag.FlagSet) {
	m.task.register(fs, "")
	fs.StringVar(&m.checkpoint, "checkpoint", "", "model `file` (.safetensors, or an official PyTorch checkpoint with its all_config.yaml beside it); default: the embedded model for --task")
	fs.IntVar(&m.steps, "steps", 0, "supervision steps at most (0: the model's N_sup); more than N_sup needs --steps-beyond-nsup")
	fs.BoolVar(&m.beyondNsup, "steps-beyond-nsup", false, fmt.Sprintf("allow --steps above the N_sup the model was trained for (up to %d)", trm.MaxHaltSteps))
	m.haltName = string(trm.HaltFull)
}

// validate checks the values after parsing.
func (m *modelFlags) validate() error {
	var err error
	if m.halt, err = trm.ParseHaltMode(m.haltName); err != nil {
		return usagef("--halt: %v", err)
	}
	switch {
	case m.steps < 0:
		return usagef("--steps %d, want ≥ 0 (0: the model's N_sup)", m.steps)
	case m.steps > trm.MaxHaltSteps:
		return usagef("--steps %d, want ≤ %d", m.steps, trm.MaxHaltSteps)
	case m.batch < 0:
		return usagef("--batch %d, want ≥ 0", m.batch)
	case m.batch > trm.MaxBatchSize:
		return usagef("--batch %d, want ≤ %d", m.batch, trm.MaxBatchSize)
	}
	return nil
}

// checkModel checks the flags against the loaded model's config: --steps
// at most the model's N_sup (halt_max_steps) unless --steps-beyond-nsup,
// and the activations of --batch within the available memory (the model's
// weights are in memory already). load calls it; a command that loads a
// model some other way should too.
func (m *modelFlags) checkModel(cfg trm.ModelConfig) error {
	if m.steps > cfg.HaltMaxSteps && !m.beyondNsup {
		return usagef("--steps %d, but the model was trained for N_sup = %d supervision steps (halt_max_steps); add --steps-beyond-nsup to run up to %d",
			m.steps, cfg.HaltMaxSteps, trm.MaxHaltSteps)
	}
	if m.batch > 0 {
		if avail, ok := availableMemory(); ok {
			run := trm.MemoryCheck{Batch: m.batch, BatchField: "--batch", Loaded: true}
			if err := cfg.CheckMemory(run, avail); err != nil {
				return usageError{err.Error()}
			}
		}
	}
	return nil
}

// load returns the predictor of the chosen model and a label naming it,
// after checkModel.
func (m *modelFlags) load() (*infer.Predictor, string, error) {
	p, label, err := loadModel(m.checkpoint, &m.task)
	if err != nil {
		return nil, "", err
	}
	if err := m.checkModel(p.Model.Config); err != nil {
		return nil, "", err
	}
	return p, label, nil
}

// loadModel returns the model of --checkpoint (a file, or embedded:NAME for
// a shipped model: infer.LoadPredictor), or the embedded model of the task
// (arith by default) when it is empty, with the task the task flags choose
// (see taskForModel).
func loadModel(path string, tf *taskFlags) (*infer.Predictor, string, error) {
	var (
		p   *infer.Predictor
		err error
	)
	if path == "" {
		name := tf.name
		if name == "" {
			name = "arith"
		}
		if _, ok := checkpoints.Lookup(name); !ok {
			return nil, "", usagef("no model is shipped for task %q (shipped: %s); pass --checkpoint", name, strings.Join(checkpoints.Tasks(), ", "))
		}
		path = checkpoints.Prefix + name
	}
	label := path
	if isTorchFile(path) {
		// An official PyTorch checkpoint: the task flags may name its task.
		p, err = loadTorchPredictor(path, tf)
	} else {
		p, err = infer.LoadPredictor(path)
	}
	if errors.Is(err, checkpoints.ErrNotShipped) {
		return nil, "", usagef("--checkpoint %s: %v", path, err)
	}
	if err != nil {
		return nil, "", err
	}
	t, err := taskForModel(tf, p.Model.Config)
	if err != nil {
		return nil, "", usagef("the model %s does not fit the task flags: %v", label, err)
	}
	if t != nil {
		p.Task = t
	}
	return p, label, nil
}

// taskForModel returns the task the task flags choose for a model, or nil
// when none is given (the model's own task). The flags' options apply over
// the model's (so --opt blanks=45 evaluates harder puzzles of the model's
// kind); when the merged options refuse each other (the model's generator
// options beside a --opt csv=FILE, say), the flags' options alone are
// used. Either way the task must fit the model (vocabulary, sequence
// length, puzzle ids).
func taskForModel(tf *taskFlags, cfg trm.ModelConfig) (task.Task, error) {
	if !tf.given() {
		return nil, nil
	}
	name := cfg.Task
	if isSet(tf.fs, "task") {
		name = tf.name
	}
	flagOpts, err := tf.options()
	if err != nil {
		return nil, err
	}
	opts := task.Options{}
	if name == cfg.Task {
		opts = cfg.TaskOptions.Clone()
		if opts == nil {
			opts = task.Options{}
		}
	}
	for k, v := range flagOpts {
		opts[k] = v
	}
	t, err := task.New(name, opts)
	if err != nil && len(flagOpts) > 0 {
		if alone, aerr := task.New(name, flagOpts); aerr == nil {
			t, err = alone, nil
		}
	}
	if err != nil {
		return nil, err
	}
	if err := cfg.CheckTask(t); err != nil {
		return nil, err
	}
	return t, nil
}
