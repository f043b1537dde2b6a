package train

import (
	"fmt"
	"strings"

	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/task"
)

// DefaultConfig returns the "arith" preset: a model small enough to train
// on a laptop CPU in minutes.
func DefaultConfig() trm.Config {
	c, err := Preset("arith")
	if err != nil {
		panic(err) // the preset table is part of the program
	}
	return c
}

// Official returns the official TRM hyper-parameters (config/arch/trm.yaml
// with the Sudoku/Maze recipe of the README) for the named task with the
// given options: hidden 512, 8 heads, 2 layers, T = 3, n = 6, N_sup = 16,
// attention with RoPE and a 16-token puzzle-embedding prefix, AdamATan2 at
// lr 1e-4 with 2000 warm-up steps, weight decay 1.0, EMA 0.999, batch 768.
// Only TrainSteps and the intervals are this project's choice. The task
// fixes the vocabulary, sequence length and puzzle ids; opts are recorded
// as given (nil: the task's defaults).
func Official(taskName string, opts task.Options) (trm.Config, error) {
	t, err := task.New(taskName, opts)
	if err != nil {
		return trm.Config{}, err
	}
	c := trm.Config{
		ModelConfig: trm.ModelConfig{
			HiddenSize:    512,
			NumHeads:      8,
			Expansion:     4,
			LLayers:       2,
			LCycles:       6,
			HCycles:       3,
			HaltMaxSteps:  16,
			Variant:       nn.VariantAttn,
			PosEncodings:  trm.PosRoPE,
			RopeTheta:     10000,
			RMSNormEps:    1e-5,
			PuzzleEmbNdim: 512,
			PuzzleEmbLen:  16,
		},
		TrainConfig: trm.TrainConfig{
			HaltExplorationProb:  0.1,
			HaltLossWeight:       0.5,
			Optimizer:            nn.OptAdamATan2,
			LR:                   1e-4,
			LRWarmupSteps:        2000,
			WeightDecay:          1.0,
			Beta1:                0.9,
			Beta2:                0.95,
			AdamEps:              1e-8,
			PuzzleEmbLR:          1e-4,
			PuzzleEmbWeightDecay: 1.0,
			EMARate:              0.999,
			BatchSize:            768,
			TrainSteps:           100000,
			LogInterval:          100,
			EvalInterval:         5000,
			CheckpointInterval:   5000,
		},
	}
	c.SetTask(t)
	c.TaskOptions = opts.Clone() // as given: flags merge over them
	return c, nil
}

// presets are the named starting configs of trm train --preset, in the
// order PresetNames lists them (the default first).
var presets = []struct {
	name string
	make func() (trm.Config, error)
}{
	// Multi-digit addition, a few hundred thousand parameters, trains on a
	// CPU: the recipe of the shipped model (checkpoints/arith.config.json,
	// there with digits=5). Halt exploration is 0.5, because with the
	// official 0.1 the later supervision steps stay untrained.
	{"arith", func() (trm.Config, error) {
		c, err := Official("arith", task.Options{"digits": "2"})
		c.HiddenSize, c.NumHeads = 64, 4
		c.HCycles, c.LCycles, c.HaltMaxSteps = 2, 2, 4
		c.PuzzleEmbNdim, c.PuzzleEmbLen = 0, 0
		c.HaltExplorationProb = 0.5
		c.Optimizer, c.LR, c.LRWarmupSteps, c.WeightDecay = nn.OptAdamW, 1e-3, 100, 0.1
		c.EMARate = 0.995
		c.PuzzleEmbLR, c.PuzzleEmbWeightDecay = 0, 0
		c.BatchSize, c.TrainSteps = 64, 8000
		c.LogInterval, c.EvalInterval, c.CheckpointInterval = 50, 500, 1000
		return c, err
	}},
	// TRM-MLP on 9×9 Sudoku-Extreme, the official recipe (5,028,866
	// parameters).
	{"sudoku", func() (trm.Config, error) {
		c, err := Official("sudoku9", nil)
		c.Variant, c.PosEncodings = nn.VariantMLP, trm.PosNone
		return c, err
	}},
	// TRM-Att on 9×9 Sudoku-Extreme, the official recipe (6,828,034
	// parameters).
	{"sudoku-attn", func() (trm.Config, error) { return Official("sudoku9", nil) }},
	// TRM-Att on 30×30 Maze-Hard, the official recipe with n = 4.
	{"maze", func() (trm.Config, error) {
		c, err := Official("maze", task.Options{"size": "30"})
		c.LCycles = 4
		return c, err
	}},
}

// Preset returns a named configuration: "arith" (the default), "sudoku"
// (official TRM-MLP), "sudoku-attn" (official TRM-Att) or "maze" (see
// Official).
func Preset(name string) (trm.Config, error) {
	for _, p := range presets {
		if p.name == name {
			return p.make()
		}
	}
	return trm.Config{}, fmt.Errorf("config: unknown preset %q, want one of %s", name, strings.Join(PresetNames(), ", "))
}

// PresetNames lists the preset names, the default first.
func PresetNames() []string {
	names := make([]string, len(presets))
	for i, p := range presets {
		names[i] = p.name
	}
	return names
}
