package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/checkpoints"
	"github.com/trm-go/trm/tensor"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/safetensors"
)

// withMemory makes checkModel see avail bytes for the rest of the test.
func withMemory(t *testing.T, avail int64) {
	prev := availableMemory
	availableMemory = func() (int64, bool) { return avail, true }
	t.Cleanup(func() { availableMemory = prev })
}

// requireOneLine checks a refused command line: the exit code, the error
// on the first line of standard error (then at most the usage hint), no
// stack dump and nothing on standard output.
func requireOneLine(t *testing.T, wantCode int, want string, args ...string) string {
	t.Helper()
	code, out, errOut := trmRun(args...)
	require.Equal(t, wantCode, code, "%q: %s", args, errOut)
	assert.Empty(t, out, "%q", args)
	assert.NotContains(t, errOut, "goroutine ", "%q: no stack dump", args)
	lines := strings.Split(strings.TrimRight(errOut, "\n"), "\n")
	if wantCode == exitUsage && len(lines) == 2 {
		assert.True(t, strings.HasPrefix(lines[1], "Run 'trm help "), "%q: %s", args, errOut)
	} else if wantCode == exitUsage {
		require.Len(t, lines, 1, "%q: the error, and the usage hint for a bad command line: %s", args, errOut)
	} else {
		require.NotEmpty(t, lines)
		lines = lines[len(lines)-1:] // the last line is the error
	}
	assert.Contains(t, lines[0], want, "%q", args)
	return lines[0]
}

func TestThreadsAreCapped(t *testing.T) {
	for _, cmd := range [][]string{{"infer", "3 + 7"}, {"eval"}, {"train"}} {
		args := append([]string{cmd[0], "--threads", "100000"}, cmd[1:]...)
		requireOneLine(t, exitUsage, "--threads 100000, want ≤ 1024", args...)
	}
	requireOneLine(t, exitUsage, "--threads 1025, want ≤ 1024", "infer", "--threads", "1025", "3 + 7")
	rt := runtimeFlags{threads: maxThreads}
	require.NoError(t, rt.validate())

	code, out, errOut := trmRun("infer", "--threads", "3", "3 + 7")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "3 + 7 = 10")
}

func TestStepsAreBoundedByNsup(t *testing.T) {
	// The shipped arith model was trained for N_sup = 4.
	requireOneLine(t, exitUsage, "--steps 100000000, want ≤ 1024", "infer", "--steps", "100000000", "3 + 7")
	requireOneLine(t, exitUsage, "--steps 100000000, want ≤ 1024", "infer", "--steps", "100000000", "--steps-beyond-nsup", "3 + 7")
	line := requireOneLine(t, exitUsage, "--steps 5, but the model was trained for N_sup = 4 supervision steps (halt_max_steps); add --steps-beyond-nsup to run up to 1024",
		"infer", "--steps", "5", "3 + 7")
	assert.Equal(t, "trm infer: --steps 5, but the model was trained for N_sup = 4 supervision steps (halt_max_steps); add --steps-beyond-nsup to run up to 1024", line)
	requireOneLine(t, exitUsage, "--steps 5, but the model was trained for N_sup = 4", "eval", "--steps", "5", "--n", "3")

	code, out, errOut := trmRun("infer", "--steps", "4", "3 + 7")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "(steps 4,")
	code, out, errOut = trmRun("infer", "--steps", "6", "--steps-beyond-nsup", "3 + 7")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "(steps 6,")
	code, out, errOut = trmRun("eval", "--steps", "6", "--steps-beyond-nsup", "--n", "3", "--json")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, `"examples":3`)
}

func TestBatchIsBounded(t *testing.T) {
	requireOneLine(t, exitUsage, "--batch 100000000, want ≤ 1048576", "infer", "--batch", "100000000", "3 + 7")
	requireOneLine(t, exitUsage, "--batch 100000000, want ≤ 1048576", "eval", "--batch", "100000000")

	// Within the maximum but beyond the memory: the estimate, what is
	// available and what to lower.
	withMemory(t, 1_000_000_000)
	for _, args := range [][]string{{"infer", "--batch", "1000000", "3 + 7"}, {"eval", "--batch", "1000000"}} {
		line := requireOneLine(t, exitUsage, "inference at --batch 1000000 needs about ", args...)
		assert.Contains(t, line, " GB, 1.0 GB available: lower --batch (about ")
	}
	// What fits runs.
	code, out, errOut := trmRun("infer", "--batch", "2", "3 + 7", "1 + 1")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "1 + 1 = 2")
}

func TestTrainConfigLimits(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	requireOneLine(t, exitUsage, "config: global_batch_size 100000000, want ≤ 1048576", "train", "--batch", "100000000", "--run", dir)
	requireOneLine(t, exitUsage, "config: H_cycles 1000000000, want ≤ 64", "train", "--H_cycles", "1000000000", "--print-config")
	requireOneLine(t, exitUsage, "config: hidden_size 1000000000, want ≤ 65536", "train", "--hidden_size", "1000000000", "--run", dir)
	requireOneLine(t, exitUsage, "config: halt_max_steps 1000000000, want ≤ 1024", "train", "--halt_max_steps", "1000000000", "--run", dir)
	requireOneLine(t, exitUsage, "config: train_steps 100000000000, want ≤ 1000000000", "train", "--steps", "100000000000", "--run", dir)

	// A --config file with a key twice.
	cfgPath := filepath.Join(t.TempDir(), "c.json")
	require.NoError(t, os.WriteFile(cfgPath, []byte(`{"lr": 0.001, "lr": 0.01}`), 0o644))
	requireOneLine(t, exitUsage, `config: key "lr" appears twice`, "train", "--config", cfgPath, "--run", dir)

	// The largest batch allowed in one pass, checked against this
	// machine's memory (NewTrainer's check; its own test injects the
	// memory).
	cfgBatch := trm.MaxBatchSize
	avail, ok := trm.AvailableMemory()
	c := mustDefault(t)
	w, a := c.MemoryEstimate(trm.MemoryCheck{Batch: cfgBatch, Training: true, Eval: true})
	if !ok || avail > w+a {
		t.Skip("this machine has the memory for the largest arith batch, or says nothing of its memory")
	}
	line := requireOneLine(t, exitUsage, "config: a training step at global_batch_size 1048576 needs about ", "train", "--batch", "1048576", "--micro_batch", "1048576", "--run", dir)
	assert.Contains(t, line, "lower global_batch_size (about ")
	_, err := os.Stat(dir)
	assert.True(t, os.IsNotExist(err), "nothing is written for a refused run")
}

// mustDefault returns the config trm train starts from.
func mustDefault(t *testing.T) trm.Config {
	t.Helper()
	code, out, errOut := trmRun("train", "--print-config")
	require.Equal(t, 0, code, errOut)
	c, err := trm.DecodeConfig([]byte(out), trm.Config{})
	require.NoError(t, err)
	return c
}

// A checkpoint whose config is absurd is refused in one line, before any
// model is built.
func TestAbsurdCheckpointIsRefused(t *testing.T) {
	data, ok := checkpoints.Lookup("arith")
	require.True(t, ok)
	f, err := safetensors.Unmarshal(data, "arith")
	require.NoError(t, err)
	good := f.Metadata["config"]
	dir := t.TempDir()
	for _, tc := range []struct{ from, to, want string }{
		{`"halt_max_steps": 4`, `"halt_max_steps": 1000000000`, "config: halt_max_steps 1000000000, want ≤ 1024"},
		{`"H_cycles": 2`, `"H_cycles": 1000000000`, "config: H_cycles 1000000000, want ≤ 64"},
		{`"seq_len": 16`, `"seq_len": 1000000000000`, "config: seq_len 1000000000000, want ≤ 65536"},
		{`"hidden_size": 64`, `"hidden_size": 1000000000`, "config: hidden_size 1000000000, want ≤ 65536"},
		{`"lr": `, `"lr": 0.5, "lr": `, `config: key "lr" appears twice`},
	} {
		require.Contains(t, good, tc.from)
		f.Metadata["config"] = strings.Replace(good, tc.from, tc.to, 1)
		path := filepath.Join(dir, "bad.safetensors")
		require.NoError(t, safetensors.Write(path, f))
		line := requireOneLine(t, exitFailure, tc.want, "infer", "--checkpoint", path, "3 + 7")
		assert.Equal(t, `trm infer: checkpoint "`+path+`": `+tc.want, line)
		requireOneLine(t, exitFailure, tc.want, "eval", "--checkpoint", path)
	}
}

// TestTuneFlag: --tune=false runs on every thread, the answer unchanged,
// and the process-wide setting is restored afterwards.
func TestTuneFlag(t *testing.T) {
	for _, tune := range []string{"--tune=false", "--tune=true"} {
		code, out, errOut := trmRun("infer", tune, "--threads", "2", "3 + 7")
		require.Equal(t, 0, code, errOut)
		assert.Contains(t, out, "3 + 7 = 10", tune)
	}
	assert.True(t, tensor.SetTuning(true), "tuning is back on after the command")
}
