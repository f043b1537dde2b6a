// Package trmtest holds the fixtures the tests of the trm packages share:
// tiny model configs and checkpoints with recognisable values (puzzle CSV
// files are package puzzletest's). Only tests import it.
package trmtest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/task"
)

// TinyConfig is a model of a few thousand parameters on 1-digit sums
// (hidden 16, T = 2, n = 2, N_sup = 3, batch 16, 20 AdamW steps) that
// trains in well under a second.
func TinyConfig(tb testing.TB, variant nn.Variant) trm.Config {
	tb.Helper()
	t, err := task.New("arith", task.Options{"digits": "1"})
	require.NoError(tb, err)
	c := trm.Config{
		ModelConfig: trm.ModelConfig{
			HiddenSize: 16, NumHeads: 2, Expansion: 2, LLayers: 2,
			HCycles: 2, LCycles: 2, HaltMaxSteps: 3,
			Variant: variant, PosEncodings: trm.PosRoPE, RopeTheta: 10000, RMSNormEps: 1e-5,
		},
		TrainConfig: trm.TrainConfig{
			HaltExplorationProb: 0.5, HaltLossWeight: 0.5,
			Optimizer: nn.OptAdamW, LR: 3e-3, LRWarmupSteps: 10, WeightDecay: 0.01,
			Beta1: 0.9, Beta2: 0.95, AdamEps: 1e-8, EMARate: 0.9, BatchSize: 16,
			TrainSteps: 20, LogInterval: 5,
		},
	}
	c.SetTask(t)
	if variant == nn.VariantMLP {
		c.PosEncodings = trm.PosNone
	}
	require.NoError(tb, c.Validate())
	return c
}

// FakeCheckpoint fills every tensor of cfg with values derived from its
// name's index and the position, so that any mix-up between tensors shows.
func FakeCheckpoint(cfg trm.Config, step int64) *trm.Checkpoint {
	ck := &trm.Checkpoint{Config: cfg, Step: step, Tensors: map[string][]float32{}}
	for k, s := range cfg.TensorSpecs() {
		v := make([]float32, s.Size())
		for i := range v {
			v[i] = float32(k) + float32(i)/float32(len(v)+1)
		}
		ck.Tensors[s.Name] = v
	}
	return ck
}
