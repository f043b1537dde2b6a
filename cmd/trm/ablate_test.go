package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tinyAblateArgs trains two tiny settings for 3 steps each.
func tinyAblateArgs(dir string) []string {
	return []string{"--task", "arith", "--digits", "1", "--hidden_size", "16", "--num_heads", "2", "--batch", "8",
		"--grid", "norec:T=1,n=1,nsup=1; rec:T=2,n=1,nsup=2", "--steps", "3", "--eval-n", "8", "--threads", "1",
		"--dir", dir}
}

func TestAblateCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "grid")
	stdout, stderr, err := runCmd(runAblate, tinyAblateArgs(dir)...)
	require.NoError(t, err, stderr)
	assert.Contains(t, stdout, "Ablation on arith (digits=1): 3 optimizer steps × 8 samples per setting")
	assert.Contains(t, stdout, "| norec | 1 | 1 | 1 |")
	assert.Contains(t, stdout, "| rec | 2 | 1 | 2 |")
	assert.Contains(t, stderr, "ablate: setting 1/2 norec")
	for _, f := range []string{"table.md", "table.csv", "norec/result.json", "rec/model.safetensors"} {
		assert.FileExists(t, filepath.Join(dir, f))
	}
	md, err := os.ReadFile(filepath.Join(dir, "table.md"))
	require.NoError(t, err)
	assert.Equal(t, stdout, string(md))

	// Rerun: both settings are skipped, the table is the same.
	again, stderr, err := runCmd(runAblate, tinyAblateArgs(dir)...)
	require.NoError(t, err)
	assert.Equal(t, stdout, again)
	assert.Contains(t, stderr, "norec: done before")
	assert.Contains(t, stderr, "rec: done before")

	// The table plots.
	_, _, err = runCmd(runPlot, "--ablation", filepath.Join(dir, "table.csv"), "--out", filepath.Join(dir, "bars.png"))
	require.NoError(t, err)

	// A different budget in the same folder is a failure naming the file.
	args := append(tinyAblateArgs(dir), "--steps", "4")
	_, _, err = runCmd(runAblate, args...)
	assert.ErrorContains(t, err, "result.json holds the result of another config")
}

func TestAblateDryRunAndUsage(t *testing.T) {
	stdout, _, err := runCmd(runAblate, "--task", "sudoku9", "--config", "../../checkpoints/sudoku9.config.json", "--dry-run", "--dir", t.TempDir())
	require.NoError(t, err)
	for _, want := range []string{"trm            T=3 n=6 N_sup=6 mlp/none", "attn           T=3 n=6 N_sup=6 attn/rope", "no-ema", "ema=0:", "no-recursion   T=1 n=1 N_sup=1"} {
		assert.Contains(t, stdout, want)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--steps", "0"}, "no budget"},
		{[]string{"--grid", "a:grad=2step"}, "want full"},
		{[]string{"--grid", "a:T=0"}, "H_cycles"},
		{[]string{"--train_steps", "5"}, "the budget sets it"},
		{[]string{"--eval-n", "0"}, "--eval-n"},
		{[]string{"--task", "nope"}, "nope"},
		{[]string{"--mode", "x"}, "--mode"},
	} {
		_, _, err := runCmd(runAblate, append(tc.args, "--dry-run")...)
		var ue usageError
		require.ErrorAs(t, err, &ue, "%v", tc.args)
		assert.Contains(t, err.Error(), tc.want, "%v", tc.args)
	}
	_, _, err = runCmd(runAblate, "--only", "nope", "--steps", "1", "--dir", t.TempDir(), "--hidden_size", "16", "--num_heads", "2")
	assert.ErrorContains(t, err, `"nope" is not in the grid`)
	_, stderr, err := runCmd(runAblate, "-h")
	assert.ErrorIs(t, err, errHelp)
	assert.Contains(t, stderr, "grad=1step")
}

func TestAblateInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stderr bytes.Buffer
	err := runAblate(ctx, env{strings.NewReader(""), io.Discard, &stderr}, tinyAblateArgs(t.TempDir()))
	assert.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, stderr.String(), "rerun the same command to continue")
}
