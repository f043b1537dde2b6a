package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/infer"
)

// The official-layout fixtures of scripts/torch/make_fixtures.py.
const (
	torchAttn    = "../../trm/testdata/torch/attn_compiled/step_100"
	torchMLP     = "../../trm/testdata/torch/mlp_plain/step_7"
	torchLearned = "../../trm/testdata/torch/attn_learned/step_3"
)

var sudoku4Inputs = []string{".4..1..2..2.4..3", "...4..2.3..212..", "341..2.3.....1.."}

// TestImportCommand: trm import writes a checkpoint whose answers are the
// torch file's, which infer and eval also take directly.
func TestImportCommand(t *testing.T) {
	for _, src := range []string{torchAttn, torchMLP} {
		out := filepath.Join(t.TempDir(), "sub", "model.safetensors")
		code, stdout, stderr := trmRun("import", src, "--out", out)
		require.Equal(t, 0, code, stderr)
		require.Contains(t, stdout, "task sudoku4")
		require.Contains(t, stdout, "wrote "+out)

		args := append([]string{"infer", "--json", "--checkpoint", out}, sudoku4Inputs...)
		code, fromST, stderr := trmRun(args...)
		require.Equal(t, 0, code, stderr)
		args[3] = src
		code, fromTorch, stderr := trmRun(args...)
		require.Equal(t, 0, code, stderr)
		require.Equal(t, fromST, fromTorch)

		code, evST, stderr := trmRun("eval", "--json", "--n", "20", "--checkpoint", out)
		require.Equal(t, 0, code, stderr)
		code, evTorch, stderr := trmRun("eval", "--json", "--n", "20", "--checkpoint", src)
		require.Equal(t, 0, code, stderr)
		require.Equal(t, stripTiming(evST), stripTiming(evTorch))
	}
}

// stripTiming drops the lines of eval --json that hold speeds.
func stripTiming(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.Contains(l, "per_s") && !strings.Contains(l, "seconds") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// TestInferTorchTaskFlag: a checkpoint whose config names no known dataset
// runs with --task; without it the error says so (exit 2).
func TestInferTorchTaskFlag(t *testing.T) {
	code, _, stderr := trmRun("infer", "--checkpoint", torchLearned, sudoku4Inputs[0])
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "pass --task")
	code, stdout, stderr := trmRun("infer", "--task", "sudoku4", "--checkpoint", torchLearned, sudoku4Inputs[0])
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "steps 3")

	out := filepath.Join(t.TempDir(), "m.safetensors")
	code, stdout, stderr = trmRun("import", "--task", "sudoku4", torchLearned, "--out", out)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "3 puzzle ids")
}

// TestLoadPredictorTorch: infer.LoadPredictor (what trm serve --model
// NAME=PATH uses) takes an official file.
func TestLoadPredictorTorch(t *testing.T) {
	p, err := infer.LoadPredictor(torchAttn)
	require.NoError(t, err)
	preds, err := p.Predict(sudoku4Inputs...)
	require.NoError(t, err)
	require.Len(t, preds, 3)
}

func TestImportCommandErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"import"}, 2, "want one checkpoint to import"},
		{[]string{"import", torchAttn}, 2, "--out is required"},
		{[]string{"import", "a", "b", "--out", "x"}, 2, "got 2 arguments"},
		{[]string{"import", "--bogus", torchAttn}, 2, "bogus"},
		{[]string{"import", filepath.Join(t.TempDir(), "missing"), "--out", filepath.Join(t.TempDir(), "x")}, 1, "no such file"},
		{[]string{"import", torchAttn, "--task", "sudoku9", "--out", filepath.Join(t.TempDir(), "x")}, 1, "does not fit task sudoku9"},
		{[]string{"import", torchAttn, "--config", filepath.Join(t.TempDir(), "none.yaml"), "--out", filepath.Join(t.TempDir(), "x")}, 1, "none.yaml"},
	} {
		code, _, stderr := trmRun(tc.args...)
		require.Equal(t, tc.code, code, "%v: %s", tc.args, stderr)
		require.Contains(t, stderr, tc.want, tc.args)
	}
}

// TestExportCommand: a shipped model exported for the official trainer
// comes back with the same answers, and the printed overrides build its
// architecture.
func TestExportCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "export")
	code, stdout, stderr := trmRun("export", "--format", "torch", "embedded:sudoku6", "--out", dir, "--name", "step_1", "--data-path", "data/sudoku6")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "arch.mlp_t=true arch.pos_encodings=none")
	require.Contains(t, stdout, "load_checkpoint="+filepath.Join(dir, "step_1"))
	require.Contains(t, stderr, "no puzzle embedding") // the shipped models have none
	yml, err := os.ReadFile(filepath.Join(dir, "all_config.yaml"))
	require.NoError(t, err)
	require.Contains(t, string(yml), "name: "+trm.OfficialArch)
	require.Contains(t, string(yml), "- data/sudoku6")

	in := "2...1414...3.....5.3..21....4.6..35."
	code, want, stderr := trmRun("infer", "--json", "--task", "sudoku6", in)
	require.Equal(t, 0, code, stderr)
	// The default export rounds H_init and L_init to bfloat16, as the
	// official buffers are: the same answer, the confidence within
	// rounding (the generic kernels showed a change in the 10th digit).
	code, got, stderr := trmRun("infer", "--json", "--checkpoint", filepath.Join(dir, "step_1"), in)
	require.Equal(t, 0, code, stderr)
	var w, g inferResult
	require.NoError(t, json.Unmarshal([]byte(want), &w))
	require.NoError(t, json.Unmarshal([]byte(got), &g))
	require.Equal(t, w.Answer, g.Answer)
	require.Equal(t, w.Steps, g.Steps)
	require.Equal(t, w.Valid, g.Valid)
	require.InDelta(t, w.Confidence, g.Confidence, 1e-6)
	// --init-dtype float32 keeps every tensor exact: the same output, bit
	// for bit.
	exact := filepath.Join(t.TempDir(), "exact")
	code, _, stderr = trmRun("export", "--format", "torch", "embedded:sudoku6", "--out", exact, "--name", "step_1", "--init-dtype", "float32")
	require.Equal(t, 0, code, stderr)
	code, got, stderr = trmRun("infer", "--json", "--checkpoint", filepath.Join(exact, "step_1"), in)
	require.Equal(t, 0, code, stderr)
	require.Equal(t, want, got)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"export", "--format", "onnx", "x", "--out", dir}, "--format"},
		{[]string{"export", "embedded:sudoku6"}, "--out is required"},
		{[]string{"export", "--prefix", "other", "embedded:sudoku6", "--out", dir}, "--prefix"},
		{[]string{"export", "--init-dtype", "f8", "embedded:sudoku6", "--out", dir}, "--init-dtype"},
		{[]string{"export", "embedded:chess", "--out", dir}, "no model is shipped"},
	} {
		code, _, stderr := trmRun(tc.args...)
		require.Equal(t, 2, code, "%v: %s", tc.args, stderr)
		require.Contains(t, stderr, tc.want)
	}
}
