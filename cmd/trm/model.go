package main

import (
	"flag"
	"strings"

	"github.com/trm-go/trm/checkpoints"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/infer"
	"github.com/trm-go/trm/trm/task"
)

// modelFlags choose the model a command runs and how: --checkpoint (or
// the model shipped for the task flags' task), --halt, --steps, --batch.
type modelFlags struct {
	task       taskFlags
	checkpoint string
	haltName   string
	halt       trm.HaltMode
	steps      int
	batch      int
}

// register adds the flags; haltUsage says what --halt means to the command
// and unit names what --batch runs together.
func (m *modelFlags) register(fs *flag.FlagSet, haltUsage, unit string) {
	m.task.register(fs, "")
	fs.StringVar(&m.checkpoint, "checkpoint", "", "model `file` (.safetensors); default: the embedded model for --task")
	fs.StringVar(&m.haltName, "halt", string(trm.HaltFull), haltUsage)
	fs.IntVar(&m.steps, "steps", 0, "supervision steps at most (0: the model's N_sup)")
	fs.IntVar(&m.batch, "batch", 0, unit+" run together (0: default)")
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
	case m.batch < 0:
		return usagef("--batch %d, want ≥ 0", m.batch)
	}
	return nil
}

// load returns the predictor of the chosen model and a label naming it.
func (m *modelFlags) load() (*infer.Predictor, string, error) {
	return loadModel(m.checkpoint, &m.task)
}

// loadModel returns the model of --checkpoint, or the embedded model of the
// task (arith by default) when it is empty.
func loadModel(path string, tf *taskFlags) (*infer.Predictor, string, error) {
	if path != "" {
		p, err := infer.LoadPredictor(path)
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
	p, err := infer.DecodePredictor(data, label)
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
func checkTaskFlags(tf *taskFlags, cfg trm.ModelConfig) error {
	if !tf.given() {
		return nil
	}
	name := cfg.Task
	if isSet(tf.fs, "task") {
		name = tf.name
	}
	opts := task.Options{}
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
	t, err := task.New(name, opts)
	if err != nil {
		return err
	}
	return cfg.CheckTask(t)
}
