package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/train"
)

// tinyTrainArgs trains a tiny model on 1-digit sums in a fraction of a second.
func tinyTrainArgs(dir string, steps string) []string {
	return []string{"train", "--run", dir, "--digits", "1", "--steps", steps,
		"--hidden_size", "16", "--num_heads", "2", "--H_cycles", "1", "--L_cycles", "1", "--halt_max_steps", "2",
		"--global_batch_size", "8", "--log_interval", "2", "--eval_interval", "4", "--checkpoint_interval", "0",
		"--eval-n", "20", "--threads", "1"}
}

func TestTrainEvalInfer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	code, out, errOut := trmRun(append(tinyTrainArgs(dir, "4"), "--json")...)
	require.Equal(t, 0, code, errOut)
	var sum trainSummary
	require.NoError(t, json.Unmarshal([]byte(out), &sum), out)
	assert.Equal(t, int64(4), sum.Step)
	require.NotNil(t, sum.Eval)
	assert.Equal(t, 20, sum.Eval.Examples)
	assert.Contains(t, errOut, "training arith (digits=1): attn, hidden 16, T=1 n=1 N_sup=2")

	run := train.Run{Dir: dir}
	cfg, err := trm.LoadConfig(run.ConfigPath(), trm.Config{})
	require.NoError(t, err)
	assert.Equal(t, 16, cfg.HiddenSize)
	assert.Equal(t, 2, cfg.HaltMaxSteps)
	ms, err := train.ReadMetrics(run.MetricsPath())
	require.NoError(t, err)
	require.NotEmpty(t, ms)
	assert.Equal(t, int64(4), ms[len(ms)-1].Step)

	// Resume to step 6.
	code, _, errOut = trmRun("train", "--run", dir, "--resume", "--steps", "6")
	require.Equal(t, 0, code, errOut)
	ck, err := trm.LoadCheckpoint(run.ModelPath())
	require.NoError(t, err)
	assert.Equal(t, int64(6), ck.Step)

	// Eval, text and JSON.
	code, out, errOut = trmRun("eval", "--checkpoint", run.ModelPath(), "--n", "30")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "full:")
	assert.Contains(t, out, "early exit:")
	code, out, errOut = trmRun("eval", "--checkpoint", run.ModelPath(), "--n", "30", "--json", "--halt", "early")
	require.Equal(t, 0, code, errOut)
	var es evalSummary
	require.NoError(t, json.Unmarshal([]byte(out), &es), out)
	assert.Equal(t, 30, es.Examples)
	assert.Equal(t, "early", es.Halt)
	assert.Len(t, es.Curve, 2)
	assert.Equal(t, es.Early.ExactAcc, es.ExactAcc)

	// A dataset file from trm gen.
	data := filepath.Join(t.TempDir(), "test.jsonl")
	code, _, errOut = trmRun("gen", "--digits", "1", "--split", "test", "--n", "12", "--out", data)
	require.Equal(t, 0, code, errOut)
	code, out, errOut = trmRun("eval", "--checkpoint", run.ModelPath(), "--data", data, "--json")
	require.Equal(t, 0, code, errOut)
	require.NoError(t, json.Unmarshal([]byte(out), &es), out)
	assert.Equal(t, 12, es.Examples)

	// Infer: arguments, JSON, stdin.
	code, out, errOut = trmRun("infer", "--checkpoint", run.ModelPath(), "3 + 7", "5+9")
	require.Equal(t, 0, code, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2)
	assert.True(t, strings.HasPrefix(lines[0], "3 + 7 = "), lines[0])
	assert.Contains(t, lines[1], "confidence")

	code, out, errOut = trmRun("infer", "--checkpoint", run.ModelPath(), "--json", "3 + 7")
	require.Equal(t, 0, code, errOut)
	var ir inferResult
	require.NoError(t, json.Unmarshal([]byte(out), &ir), out)
	assert.Equal(t, 2, ir.Steps, "all N_sup steps by default")
	assert.Equal(t, "3 + 7", ir.Input)

	code, errOut = runWithStdin(t, "1 + 1\n\n2 + 2\n", "infer", "--checkpoint", run.ModelPath())
	require.Equal(t, 0, code, errOut)

	// Bad input: exit 2 naming it; a task mismatch is refused.
	code, _, errOut = trmRun("infer", "--checkpoint", run.ModelPath(), "3 +")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, `"3 +"`)
	code, _, errOut = trmRun("infer", "--checkpoint", run.ModelPath(), "--digits", "3", "1 + 1")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "does not fit")
}

// runWithStdin runs a command with the given standard input.
func runWithStdin(t *testing.T, stdin string, args ...string) (int, string) {
	t.Helper()
	var out, errb strings.Builder
	code := runContext(t.Context(), env{strings.NewReader(stdin), &out, &errb}, args)
	if code == 0 {
		assert.Len(t, strings.Split(strings.TrimSpace(out.String()), "\n"), 2, "blank lines are skipped")
	}
	return code, errb.String()
}

func TestTrainConfigFlags(t *testing.T) {
	code, out, errOut := trmRun("train", "--print-config", "--variant", "mlp", "--pos_encodings", "none", "--ema_rate", "0.5", "--act_continue", "false")
	require.Equal(t, 0, code, errOut)
	cfg, err := trm.DecodeConfig([]byte(out), trm.Config{})
	require.NoError(t, err)
	assert.Equal(t, nn.VariantMLP, cfg.Variant)
	assert.Equal(t, 0.5, cfg.EMARate)

	code, _, errOut = trmRun("train", "--print-config", "--hidden_size", "six")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, `--hidden_size "six", want a whole number`)
	code, _, errOut = trmRun("train", "--print-config", "--hidden_size", "100", "--num_heads", "8")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "hidden_size 100 is not divisible by num_heads 8")
}

func TestInferEmbedded(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the shipped model")
	}
	for _, halt := range []string{"full", "early"} {
		code, out, errOut := trmRun("infer", "--halt", halt, "3 + 7", "48213 + 99999")
		require.Equal(t, 0, code, errOut)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		require.Len(t, lines, 2)
		assert.True(t, strings.HasPrefix(lines[0], "3 + 7 = 10\t"), lines[0])
		assert.True(t, strings.HasPrefix(lines[1], "48213 + 99999 = 148212\t"), lines[1])
	}
	code, out, errOut := trmRun("infer", "99999 + 1")
	require.Equal(t, 0, code, errOut)
	assert.True(t, strings.HasPrefix(out, "99999 + 1 = 100000\t(steps 4, "), out)

	code, _, errOut = trmRun("infer", "--task", "maze", "1 + 1")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "no model is shipped for task")
}

// TestTrainInterrupted: a training run stopped by a signal (here, a context
// cancelled before it starts) saves its state, says how to continue, and
// exits with code 130 without a raw "context canceled".
func TestTrainInterrupted(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	code := runContext(ctx, env{strings.NewReader(""), &out, &errb}, tinyTrainArgs(dir, "4"))
	require.Equal(t, exitInterrupted, code, errb.String())
	assert.Contains(t, errb.String(), "interrupted at step 0; saved to "+dir)
	assert.Contains(t, errb.String(), "trm train: interrupted\n")
	assert.NotContains(t, errb.String(), "context canceled")

	code, _, errOut := trmRun("train", "--run", dir, "--resume", "--steps", "2")
	require.Equal(t, 0, code, errOut)
	ck, err := trm.LoadCheckpoint(train.Run{Dir: dir}.ModelPath())
	require.NoError(t, err)
	assert.Equal(t, int64(2), ck.Step)
}

// TestTrainRefusesExistingRun: train --run on a folder holding a run neither
// resumes nor overwrites it silently.
func TestTrainRefusesExistingRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	code, _, errOut := trmRun(tinyTrainArgs(dir, "2")...)
	require.Equal(t, 0, code, errOut)
	state := train.Run{Dir: dir}.StatePath()
	before, err := os.ReadFile(state)
	require.NoError(t, err)

	code, _, errOut = trmRun(tinyTrainArgs(dir, "2")...)
	require.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "--run "+dir+" already holds a run: continue it with --resume, or start over with --force")
	after, err := os.ReadFile(state)
	require.NoError(t, err)
	assert.Equal(t, before, after)

	code, _, errOut = trmRun(append(tinyTrainArgs(dir, "2"), "--resume", "--force")...)
	require.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "--resume and --force exclude each other")

	code, _, errOut = trmRun(append(tinyTrainArgs(dir, "3"), "--force")...)
	require.Equal(t, 0, code, errOut)
	logged, err := train.ReadMetrics(train.Run{Dir: dir}.MetricsPath())
	require.NoError(t, err)
	var got []string
	for _, m := range logged {
		got = append(got, fmt.Sprintf("%s %d", m.Split, m.Step))
	}
	// The forced run's own lines only: step 2 (log interval 2), the last
	// step and its evaluation; not the old run's "train 2", "test 2".
	assert.Equal(t, []string{"train 2", "train 3", "test 3"}, got)
}
