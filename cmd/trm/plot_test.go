package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/trm/infer"
	"github.com/trm-go/trm/trm/train"
)

// runCmd calls a command's entry point with buffers for its streams.
func runCmd(run func(context.Context, env, []string) error, args ...string) (stdout, stderr string, err error) {
	var out, errb bytes.Buffer
	err = run(context.Background(), env{strings.NewReader(""), &out, &errb}, args)
	return out.String(), errb.String(), err
}

// writeMetricsRun writes a run folder with a few logged steps.
func writeMetricsRun(t *testing.T, dir string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	l, err := train.NewMetricsLogger(train.MetricsOptions{Path: train.Run{Dir: dir}.MetricsPath()})
	require.NoError(t, err)
	for i := int64(1); i <= 5; i++ {
		_, err := l.Log(train.StepMetrics{Step: 10 * i, Split: "train", Loss: 1 / float64(i), TokenAcc: 0.5, ExactAcc: 0.1 * float64(i), HaltSteps: 2, LR: 1e-3, Samples: 640 * i})
		require.NoError(t, err)
	}
	_, err = l.Log(train.StepMetrics{Step: 50, Split: "test", TokenAcc: 0.9, ExactAcc: 0.4, HaltSteps: 1.5})
	require.NoError(t, err)
	require.NoError(t, l.Close())
}

func TestPlotRuns(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "alpha"), filepath.Join(dir, "beta")
	writeMetricsRun(t, a)
	writeMetricsRun(t, b)
	out := filepath.Join(dir, "curves.svg")
	stdout, _, err := runCmd(runPlot, "--out", out, a, b)
	require.NoError(t, err)
	assert.Contains(t, stdout, "training curves of 2 run(s)")
	svg, err := os.ReadFile(out)
	require.NoError(t, err)
	for _, name := range []string{"alpha train", "alpha test", "beta train"} {
		assert.Contains(t, string(svg), name)
	}

	png1 := filepath.Join(dir, "curves.png")
	_, _, err = runCmd(runPlot, "--out", png1, "--width", "6", "--height", "4", a)
	require.NoError(t, err)
	f, err := os.Open(png1)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	assert.Equal(t, 6*96, img.Bounds().Dx())
	assert.Equal(t, 4*96, img.Bounds().Dy())
}

func TestPlotEvalTraceAblation(t *testing.T) {
	dir := t.TempDir()
	ev := evalSummary{Halt: "full", Curve: []scoreSummary{{Examples: 10, Solved: 5, ExactAcc: 0.5, TokenAcc: 0.9}, {Examples: 10, Solved: 8, ExactAcc: 0.8, TokenAcc: 0.95}}}
	evPath := filepath.Join(dir, "sudoku-trm.json")
	data, err := json.Marshal(ev)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(evPath, data, 0o644))
	out := filepath.Join(dir, "eval.svg")
	_, _, err = runCmd(runPlot, "--eval", evPath, "--out", out)
	require.NoError(t, err)
	svg, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Contains(t, string(svg), "sudoku-trm")

	tr := infer.Trace{Task: "arith", Steps: []infer.TraceStep{{Step: 1, YNorm: 3, ZNorm: 4, Cycles: []infer.TraceCycle{{Cycle: 1, Inner: 1, DeltaZ: 1, ZCos: 0.5}, {Cycle: 1, DeltaY: 2}}}}}
	trPath := filepath.Join(dir, "trace.json")
	data, err = json.Marshal(tr)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(trPath, data, 0o644))
	_, _, err = runCmd(runPlot, "--trace", trPath, "--out", filepath.Join(dir, "trace.png"))
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(dir, "trace.png"))

	csvPath := filepath.Join(dir, "table.csv")
	require.NoError(t, os.WriteFile(csvPath, []byte("setting,exact_acc,steps,samples,paper_exact_pct\ntrm,0.874,300,19200,87.4\nno-recursion,0.4,300,19200,\n"), 0o644))
	_, _, err = runCmd(runPlot, "--ablation", csvPath, "--out", filepath.Join(dir, "bars.svg"))
	require.NoError(t, err)
	svg, err = os.ReadFile(filepath.Join(dir, "bars.svg"))
	require.NoError(t, err)
	assert.Contains(t, string(svg), ">87.4%<")
	assert.Contains(t, string(svg), ">no-recursion<")
	assert.Contains(t, string(svg), "after 300 steps × 64<", "the budget in the title")
	assert.Contains(t, string(svg), ">paper (Sudoku-Extreme)<", "the paper's bars beside")
	assert.Equal(t, 2, strings.Count(string(svg), ">87.4%<"), "this run's and the paper's")

	// Files that are not what they should be: failures naming the file.
	_, _, err = runCmd(runPlot, "--eval", csvPath, "--out", out)
	assert.ErrorContains(t, err, "want the output of trm eval --json")
	_, _, err = runCmd(runPlot, "--trace", evPath, "--out", out)
	assert.ErrorContains(t, err, `no "steps"`)
	_, _, err = runCmd(runPlot, "--ablation", evPath, "--out", out)
	assert.ErrorContains(t, err, "--ablation")
	_, _, err = runCmd(runPlot, filepath.Join(dir, "no-such-run"))
	assert.Error(t, err)
}

func TestPlotUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "nothing to plot"},
		{[]string{"--out", "x.jpg", "run"}, "want .png or .svg"},
		{[]string{"--trace", "t.json", "run"}, "exclude each other"},
		{[]string{"--width", "-1", "run"}, "--width"},
	} {
		_, _, err := runCmd(runPlot, tc.args...)
		var ue usageError
		require.ErrorAs(t, err, &ue, "%v", tc.args)
		assert.Contains(t, err.Error(), tc.want)
	}
	_, stderr, err := runCmd(runPlot, "-h")
	assert.ErrorIs(t, err, errHelp)
	assert.Contains(t, stderr, "--ablation FILE.csv")
}

// TestPlotIntoMissingFolder: --out in a folder that does not exist is
// refused naming the folder, never a temporary file, on one line (the
// README's plot command run outside the repository).
func TestPlotIntoMissingFolder(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "arith2")
	writeMetricsRun(t, a)
	t.Chdir(dir)
	var stdout, stderr bytes.Buffer
	code := run([]string{"plot", "--out", "docs/img/x.png", "arith2"}, &stdout, &stderr)
	assert.Equal(t, exitFailure, code)
	assert.Equal(t, "trm plot: writing \"docs/img/x.png\": folder \"docs/img\" does not exist\n", stderr.String())
	assert.NoDirExists(t, filepath.Join(dir, "docs"))
}
