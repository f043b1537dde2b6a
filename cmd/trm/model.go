package main

import (
	"strings"

	"github.com/trm-go/trm/checkpoints"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/infer"
	"github.com/trm-go/trm/trm/task"
)

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
