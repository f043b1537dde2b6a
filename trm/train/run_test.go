package train_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/trm-go/trm/internal/trmtest"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/safetensors"
	"github.com/trm-go/trm/trm/train"
)

func TestTrainStateRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.safetensors")
	st := &train.TrainState{
		Step:  77,
		Meta:  map[string]string{"note": "x"},
		F32:   map[string][]float32{"adam.m.inner.lm_head.weight": {1, 2, 3}, "empty": {}},
		I64:   map[string][]int64{"data_position": {123456789012}},
		Bytes: map[string][]byte{"rng.halt": {9, 8, 7}},
	}
	require.NoError(t, train.SaveTrainState(path, st))
	got, err := train.LoadTrainState(path)
	require.NoError(t, err)
	assert.Equal(t, st.Step, got.Step)
	assert.Equal(t, st.Meta, got.Meta)
	assert.Equal(t, st.F32, got.F32)
	assert.Equal(t, st.I64, got.I64)
	assert.Equal(t, st.Bytes, got.Bytes)

	assert.ErrorContains(t, train.SaveTrainState(path, &train.TrainState{Meta: map[string]string{"format": "x"}}), "reserved")

	// A model checkpoint is not a train state, and vice versa.
	ckPath := filepath.Join(t.TempDir(), "m.safetensors")
	require.NoError(t, trm.SaveCheckpoint(ckPath, trmtest.FakeCheckpoint(train.DefaultConfig(), 0)))
	_, err = train.LoadTrainState(ckPath)
	assert.ErrorContains(t, err, `format "trm/v1", want "trm-train/v1"`)
	_, err = trm.LoadCheckpoint(path)
	assert.ErrorContains(t, err, `format "trm-train/v1", want "trm/v1"`)

	require.NoError(t, safetensors.Write(path, &safetensors.File{Metadata: map[string]string{"format": train.TrainStateFormat, "step": "1"},
		Tensors: map[string]safetensors.Tensor{"weird": safetensors.FromBytes([]byte{1})}}))
	_, err = train.LoadTrainState(path)
	assert.ErrorContains(t, err, `tensor "weird": name has none of the prefixes`)
	require.NoError(t, safetensors.Write(path, &safetensors.File{Metadata: map[string]string{"format": train.TrainStateFormat, "step": "1"},
		Tensors: map[string]safetensors.Tensor{"f32/x": safetensors.FromInt32([]int{1}, []int32{1})}}))
	_, err = train.LoadTrainState(path)
	assert.ErrorContains(t, err, `tensor "f32/x": dtype is I32, want F32`)
	require.NoError(t, safetensors.Write(path, &safetensors.File{Metadata: map[string]string{"format": train.TrainStateFormat}}))
	_, err = train.LoadTrainState(path)
	assert.ErrorContains(t, err, `step "", want a whole number`)
}

func TestRunFolder(t *testing.T) {
	run := train.Run{Dir: filepath.Join(t.TempDir(), "runs", "a")}
	cfg := train.DefaultConfig()
	require.NoError(t, run.Create(cfg))
	back, err := trm.LoadConfig(run.ConfigPath(), trm.Config{})
	require.NoError(t, err)
	assert.True(t, cfg.Equal(back))

	ck := trmtest.FakeCheckpoint(cfg, 10)
	st := &train.TrainState{Step: 10, I64: map[string][]int64{"pos": {640}}}
	require.NoError(t, run.Save(ck, st))
	gotCk, gotSt, err := run.Resume()
	require.NoError(t, err)
	assert.Equal(t, int64(10), gotCk.Step)
	assert.Equal(t, []int64{640}, gotSt.I64["pos"])

	st.Step = 11
	assert.ErrorContains(t, run.Save(ck, st), "model step 10 and train state step 11 differ")

	// A crash between the two writes: state at 20, model still at 10.
	require.NoError(t, train.SaveTrainState(run.StatePath(), &train.TrainState{Step: 20}))
	_, _, err = run.Resume()
	assert.ErrorContains(t, err, "model is at step 10 but train state at step 20")

	entries, err := os.ReadDir(run.Dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Equal(t, []string{"config.json", "model.safetensors", "train_state.safetensors"}, names)
	assert.Equal(t, filepath.Join(run.Dir, "metrics.jsonl"), run.MetricsPath())
}
