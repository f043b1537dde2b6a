package trm_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/safetensors"
	"github.com/trm-go/trm/trm/train"
)

// The official recipes and sizes beyond them stay valid: the maxima are
// generous.
func TestMaximaAdmitTheOfficialConfigs(t *testing.T) {
	for _, name := range train.PresetNames() {
		c := mustPreset(t, name)
		require.NoError(t, c.Validate(), name)
	}
	c := mustPreset(t, "maze") // seq_len 900 (30×30), hidden 512, batch 768
	assert.Equal(t, 900, c.SeqLen)
	assert.Equal(t, 768, c.BatchSize)
	// ARC-sized: ~1e6 augmented puzzle ids, a 30×30 grid, 16 prefix tokens.
	c.NumPuzzleIdentifiers = 1_000_000
	require.NoError(t, c.Validate())
	// Every size at its maximum is valid too (whether it fits in memory is
	// CheckMemory's question).
	c.VocabSize, c.SeqLen, c.NumPuzzleIdentifiers = trm.MaxVocabSize, trm.MaxSeqLen, trm.MaxPuzzleIdentifiers
	c.HiddenSize, c.NumHeads, c.Expansion, c.LLayers = trm.MaxHiddenSize, trm.MaxNumHeads, trm.MaxExpansion, trm.MaxLayers
	c.LCycles, c.HCycles, c.HaltMaxSteps = trm.MaxCycles, trm.MaxCycles, trm.MaxHaltSteps
	c.PuzzleEmbNdim, c.PuzzleEmbLen = trm.MaxPuzzleEmbNdim, trm.MaxPuzzleEmbLen
	c.BatchSize, c.TrainSteps, c.LRWarmupSteps = trm.MaxBatchSize, trm.MaxSteps, trm.MaxSteps
	c.LogInterval, c.EvalInterval, c.CheckpointInterval = trm.MaxSteps, trm.MaxSteps, trm.MaxSteps
	require.NoError(t, c.Validate())
}

func TestDecodeConfigRefusesDuplicateKeys(t *testing.T) {
	base := mustPreset(t, "arith")
	for _, tc := range []struct{ json, want string }{
		{`{"lr": 0.1, "lr": 0.2}`, `config: key "lr" appears twice`},
		{`{"lr": 0.1, "hidden_size": 32, "LR": 0.2}`, `config: keys "lr" and "LR" name the same field`},
		{`{"task_options": {"digits": "1", "digits": "2"}}`, `config: key "digits" appears twice in task_options`},
		{`{"task_options": {"digits": "1"}, "task_options": {"digits": "2"}}`, `config: key "task_options" appears twice`},
	} {
		_, err := trm.DecodeConfig([]byte(tc.json), base)
		if assert.Error(t, err, tc.json) {
			assert.Equal(t, tc.want, err.Error(), tc.json)
		}
	}
	// The same key in different objects, and task option keys that differ
	// only in case, are fine.
	c, err := trm.DecodeConfig([]byte(`{"task": "arith", "task_options": {"task": "x", "a": "1", "A": "2"}}`), base)
	require.NoError(t, err)
	assert.Equal(t, "2", c.TaskOptions["A"])
	// A syntax error is still reported as one.
	_, err = trm.DecodeConfig([]byte(`{"lr": 0.1, "lr": }`), base)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "twice")

	// Through LoadConfig.
	path := filepath.Join(t.TempDir(), "c.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"H_cycles": 2, "H_cycles": 3}`), 0o644))
	_, err = trm.LoadConfig(path, base)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `config: key "H_cycles" appears twice`)
}

// fakeCheckpointFile returns a checkpoint file of the arith preset's
// tensors whose config metadata is cfgJSON (which a SaveCheckpoint would
// refuse to write).
func fakeCheckpointFile(t *testing.T, cfgJSON string) []byte {
	t.Helper()
	c := mustPreset(t, "arith")
	f := &safetensors.File{
		Metadata: map[string]string{"format": trm.CheckpointFormat, "config": cfgJSON},
		Tensors:  map[string]safetensors.Tensor{},
	}
	for _, s := range c.TensorSpecs() {
		f.Tensors[s.Name] = safetensors.FromFloat32(s.Shape, make([]float32, s.Size()))
	}
	data, err := safetensors.Marshal(f)
	require.NoError(t, err)
	return data
}

// A checkpoint whose config is absurd is refused by its config's checks,
// before a model of that config is built.
func TestCheckpointWithAbsurdConfigIsRefused(t *testing.T) {
	good := mustPreset(t, "arith")
	_, err := trm.DecodeCheckpoint(fakeCheckpointFile(t, string(good.MarshalIndent())), "good")
	require.NoError(t, err)
	for _, tc := range []struct {
		edit func(c *trm.Config)
		want string
	}{
		{func(c *trm.Config) { c.HaltMaxSteps = 1e9 }, "config: halt_max_steps 1000000000, want ≤ 1024"},
		{func(c *trm.Config) { c.HCycles = 1e9 }, "config: H_cycles 1000000000, want ≤ 64"},
		{func(c *trm.Config) { c.SeqLen = 1e12 }, "config: seq_len 1000000000000, want ≤ 65536"},
		{func(c *trm.Config) { c.HiddenSize = 1e9 }, "config: hidden_size 1000000000, want ≤ 65536"},
	} {
		c := good
		tc.edit(&c)
		_, err := trm.DecodeCheckpoint(fakeCheckpointFile(t, string(c.MarshalIndent())), "bad")
		require.Error(t, err)
		assert.Equal(t, `checkpoint "bad": `+tc.want, err.Error())
	}
	dup := strings.Replace(string(good.MarshalIndent()), `"lr": `, `"lr": 0.5, "lr": `, 1)
	_, err = trm.DecodeCheckpoint(fakeCheckpointFile(t, dup), "dup")
	require.Error(t, err)
	assert.Equal(t, `checkpoint "dup": config: key "lr" appears twice`, err.Error())
}
