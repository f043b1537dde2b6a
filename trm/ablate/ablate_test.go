package ablate

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/train"
)

// tinyBase is a config that trains a step in milliseconds: the arith
// preset with hidden 16 and batch 8.
func tinyBase() trm.Config {
	cfg := train.DefaultConfig()
	cfg.HiddenSize, cfg.NumHeads, cfg.BatchSize = 16, 2, 8
	cfg.LogInterval, cfg.EvalInterval, cfg.CheckpointInterval = 2, 0, 0
	return cfg
}

func field(t *testing.T, s Setting, name string) string {
	t.Helper()
	for _, f := range s.Fields {
		if f.Name == name {
			return string(f.Value)
		}
	}
	return ""
}

func TestParseDefaultGrid(t *testing.T) {
	grid, err := ParseGrid(DefaultGrid, tinyBase())
	require.NoError(t, err)
	assert.Equal(t, []string{"trm", "no-ema", "attn", "T2n2", "T1n2", "T2n4", "T4n8", "layers4", "separate", "1step-grad", "no-recursion"}, names(grid))
	assert.Equal(t, 87.4, grid[0].Paper)
	assert.Equal(t, 82.4, grid[8].Paper)
	assert.True(t, math.IsNaN(grid[10].Paper))
	assert.Equal(t, "0", field(t, grid[1], "ema_rate"))
	assert.Equal(t, `"rope"`, field(t, grid[2], "pos_encodings"), "attn brings RoPE")
	assert.Equal(t, `"none"`, field(t, grid[0], "pos_encodings"), "mlp needs no positions")
	for _, s := range grid {
		cfg, err := s.Apply(tinyBase())
		require.NoError(t, err, s.Name)
		if s.Name == "T4n8" {
			assert.Equal(t, 4, cfg.HCycles)
			assert.Equal(t, 8, cfg.LCycles)
		}
		if s.Name == "no-recursion" {
			assert.Equal(t, 1, cfg.HaltMaxSteps)
		}
		assert.Equal(t, s.Name == "1step-grad", cfg.OneStepGrad, s.Name)
		assert.Equal(t, s.Name == "separate", cfg.SeparateNets, s.Name)
		if s.Name == "layers4" {
			assert.Equal(t, 4, cfg.LLayers)
		}
	}
}

func TestParseGrid(t *testing.T) {
	base := tinyBase()
	base.EMARate = 0
	grid, err := ParseGrid(" T=2,n=2 ; base ; x:ema=on,lr=3e-4,variant=attn,pos=learned; y:optimizer=adamw", base)
	require.NoError(t, err)
	require.Len(t, grid, 4)
	assert.Equal(t, "T2-n2", grid[0].Name)
	assert.Empty(t, grid[1].Fields, "a bare name is the base config")
	assert.Equal(t, "0.999", field(t, grid[2], "ema_rate"), "ema=on without a base rate")
	assert.Equal(t, `"learned"`, field(t, grid[2], "pos_encodings"), "pos given wins over the variant's")
	assert.Equal(t, "3e-4", field(t, grid[2], "lr"))
	assert.Equal(t, `"adamw"`, field(t, grid[3], "optimizer"))
	cfg, err := grid[2].Apply(base)
	require.NoError(t, err)
	assert.Equal(t, nn.VariantAttn, cfg.Variant)
	assert.Equal(t, trm.PosLearned, cfg.PosEncodings)
	assert.InDelta(t, 3e-4, cfg.LR, 1e-12)

	for spec, want := range map[string]string{
		"a:grad=2step":      "grad=2step, want full",
		"a:nets=three":      "nets=three, want shared",
		"a:T=2;a:T=3":       "given twice",
		"bad/name:T=2":      "letters, digits",
		"a:train_steps=5":   "cannot be changed",
		"a:task=maze":       "cannot be changed",
		"a:variant=rnn":     "want attn or mlp",
		"a:ema=maybe":       "want on, off",
		"a:T":               "not KEY=VALUE",
		" ; ":               "no settings",
		"a:paper=101":       "percentage",
		"a:no_such_field=1": "", // caught by Apply
	} {
		grid, err := ParseGrid(spec, base)
		if want == "" {
			require.NoError(t, err)
			_, err = grid[0].Apply(base)
			assert.ErrorContains(t, err, "no_such_field", spec)
			continue
		}
		assert.ErrorContains(t, err, want, spec)
	}
	_, err = ParseGrid("a:T=0", base)
	require.NoError(t, err)
	g, _ := ParseGrid("a:T=0", base)
	_, err = g[0].Apply(base)
	assert.ErrorContains(t, err, "H_cycles", "Apply validates")
}

func TestBudget(t *testing.T) {
	assert.Error(t, Budget{}.Validate())
	assert.Error(t, Budget{Steps: -1}.Validate())
	assert.NoError(t, Budget{Steps: 10}.Validate())
	assert.NoError(t, Budget{Time: time.Minute}.Validate())
	assert.Equal(t, "10 optimizer steps", Budget{Steps: 10}.String())
	assert.Equal(t, "1m0s of training (at most 10 optimizer steps)", Budget{Steps: 10, Time: time.Minute}.String())
	assert.Equal(t, trm.MaxSteps, Budget{Time: time.Minute}.trainSteps())
}

func readResult(t *testing.T, dir string) result {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, ResultFile))
	require.NoError(t, err)
	var r result
	require.NoError(t, json.Unmarshal(data, &r))
	return r
}

func TestRunAndResume(t *testing.T) {
	dir := t.TempDir()
	base := tinyBase()
	grid, err := ParseGrid("norec:T=1,n=1,nsup=1; rec:T=2,n=1,nsup=2,paper=50", base)
	require.NoError(t, err)
	opts := Options{Base: base, Grid: grid, Budget: Budget{Steps: 3}, Dir: dir, EvalN: 8}

	// Only the second setting first: the table lists the other as missing.
	opts.Only = []string{"rec"}
	tab, err := Run(context.Background(), opts)
	require.NoError(t, err)
	require.Len(t, tab.Rows, 1)
	assert.Equal(t, []string{"norec"}, tab.Missing)
	assert.NoFileExists(t, filepath.Join(dir, "norec", ResultFile))

	opts.Only = nil
	var out bytes.Buffer
	opts.Out = &out
	tab, err = Run(context.Background(), opts)
	require.NoError(t, err)
	require.Len(t, tab.Rows, 2)
	assert.Empty(t, tab.Missing)
	assert.Contains(t, out.String(), "rec: done before")
	for i, r := range tab.Rows {
		assert.Equal(t, grid[i].Name, r.Setting)
		assert.EqualValues(t, 3, r.Steps)
		assert.EqualValues(t, 24, r.Samples)
		assert.Equal(t, 8, r.EvalExamples)
		assert.Len(t, r.ExactPerStep, r.NSup)
		assert.Greater(t, r.SamplesPerSec, 0.0)
		assert.Greater(t, r.Params, int64(0))
	}
	assert.Equal(t, 50.0, tab.Rows[1].Paper)
	for _, f := range []string{"table.md", "table.csv", "norec/model.safetensors", "rec/metrics.jsonl"} {
		assert.FileExists(t, filepath.Join(dir, f))
	}

	// A rerun trains nothing: the results are read back unchanged.
	before, err := os.Stat(filepath.Join(dir, "rec", ResultFile))
	require.NoError(t, err)
	out.Reset()
	again, err := Run(context.Background(), opts)
	require.NoError(t, err)
	require.Len(t, again.Rows, 2)
	for i := range again.Rows {
		a, b := tab.Rows[i], again.Rows[i]
		assert.Equal(t, a.Paper == b.Paper || math.IsNaN(a.Paper) && math.IsNaN(b.Paper), true)
		a.Paper, b.Paper = 0, 0 // NaN != NaN
		assert.Equal(t, a, b)
	}
	assert.Equal(t, 2, strings.Count(out.String(), "done before"), out.String())
	after, err := os.Stat(filepath.Join(dir, "rec", ResultFile))
	require.NoError(t, err)
	assert.Equal(t, before.ModTime(), after.ModTime())

	// Another budget in the same folder is refused, naming the file.
	opts.Budget.Steps = 4
	_, err = Run(context.Background(), opts)
	assert.ErrorContains(t, err, "another config, budget or evaluation")

	// Unknown --only names are refused before anything runs.
	opts.Only = []string{"nope"}
	_, err = Run(context.Background(), opts)
	assert.ErrorContains(t, err, `"nope" is not in the grid`)
}

// A setting whose run was stopped part-way continues from its save to the
// budget rather than starting over.
func TestRunResumesStoppedSetting(t *testing.T) {
	dir := t.TempDir()
	base := tinyBase()
	grid, err := ParseGrid("s:T=1,n=2,nsup=2", base)
	require.NoError(t, err)
	opts := Options{Base: base, Grid: grid, Budget: Budget{Steps: 4}, Dir: dir, EvalN: 8}
	cfg, err := configOf(opts, grid[0])
	require.NoError(t, err)
	cfg.TrainSteps = 2 // the stopped run: 2 of its 4 steps
	_, err = train.Train(context.Background(), cfg, train.TrainOptions{Dir: filepath.Join(dir, "s")})
	require.NoError(t, err)

	tab, err := Run(context.Background(), opts)
	require.NoError(t, err)
	require.Len(t, tab.Rows, 1)
	assert.EqualValues(t, 4, tab.Rows[0].Steps)
	logged, err := train.ReadMetrics(train.Run{Dir: filepath.Join(dir, "s")}.MetricsPath())
	require.NoError(t, err)
	assert.EqualValues(t, []int64{2, 4}, []int64{logged[0].Step, logged[len(logged)-1].Step})
	assert.Len(t, logged, 2, "each step logged once: resumed, not restarted")
}

func TestRunWallTimeBudget(t *testing.T) {
	dir := t.TempDir()
	grid, err := ParseGrid("s:T=1,n=1,nsup=1", tinyBase())
	require.NoError(t, err)
	opts := Options{Base: tinyBase(), Grid: grid, Budget: Budget{Time: 300 * time.Millisecond, Steps: 1_000_000}, Dir: dir, EvalN: 8}
	tab, err := Run(context.Background(), opts)
	require.NoError(t, err)
	require.Len(t, tab.Rows, 1)
	r := tab.Rows[0]
	assert.Less(t, r.Steps, int64(1_000_000), "stopped by the wall time")
	assert.Greater(t, r.TrainSeconds, 0.2)
	assert.Equal(t, opts.Budget, readResult(t, filepath.Join(dir, "s")).Budget)
}

func TestRunInterrupted(t *testing.T) {
	dir := t.TempDir()
	grid, err := ParseGrid("s:T=1,n=1,nsup=1", tinyBase())
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Run(ctx, Options{Base: tinyBase(), Grid: grid, Budget: Budget{Steps: 3}, Dir: dir, EvalN: 8})
	assert.ErrorIs(t, err, context.Canceled)
	assert.NoFileExists(t, filepath.Join(dir, "s", ResultFile))
}

func TestRunRefusesBadOptions(t *testing.T) {
	grid, err := ParseGrid("s:T=1", tinyBase())
	require.NoError(t, err)
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{Base: tinyBase(), Grid: grid, Dir: t.TempDir()}, "no budget"},
		{Options{Base: tinyBase(), Grid: grid, Budget: Budget{Steps: 1}}, "no folder"},
		{Options{Base: tinyBase(), Budget: Budget{Steps: 1}, Dir: t.TempDir()}, "empty grid"},
		{Options{Base: tinyBase(), Grid: []Setting{{Name: "x", Fields: []Field{{"hidden_size", json.RawMessage("0")}}}},
			Budget: Budget{Steps: 1}, Dir: t.TempDir()}, "setting x"},
	} {
		_, err := Run(context.Background(), tc.opts)
		assert.ErrorContains(t, err, tc.want)
	}
}

// onLine is an io.Writer that calls do once, when a line containing
// trigger is written.
type onLine struct {
	trigger string
	do      func()
	done    bool
}

func (w *onLine) Write(p []byte) (int, error) {
	if !w.done && strings.Contains(string(p), w.trigger) {
		w.done = true
		w.do()
	}
	return len(p), nil
}

// TestRunTableSeesOtherCalls: two calls sharing a folder with different
// --only lists (two processes, one core each); the table a call writes at
// its end holds what the other finished while it trained.
func TestRunTableSeesOtherCalls(t *testing.T) {
	base := tinyBase()
	grid, err := ParseGrid("norec:T=1,n=1,nsup=1; rec:T=2,n=1,nsup=2", base)
	require.NoError(t, err)
	other := t.TempDir() // where "the other process" trains norec
	opts := Options{Base: base, Grid: grid, Budget: Budget{Steps: 2}, Dir: other, EvalN: 8, Only: []string{"norec"}}
	_, err = Run(context.Background(), opts)
	require.NoError(t, err)

	dir := t.TempDir()
	opts.Dir, opts.Only = dir, []string{"rec"}
	// While this call trains rec, norec's run folder appears finished.
	opts.Out = &onLine{trigger: "setting 2/2 rec:", do: func() {
		require.NoError(t, os.CopyFS(filepath.Join(dir, "norec"), os.DirFS(filepath.Join(other, "norec"))))
	}}
	tab, err := Run(context.Background(), opts)
	require.NoError(t, err)
	assert.Empty(t, tab.Missing)
	require.Len(t, tab.Rows, 2)
	assert.Equal(t, "norec", tab.Rows[0].Setting)
	md, err := os.ReadFile(filepath.Join(dir, "table.md"))
	require.NoError(t, err)
	assert.NotContains(t, string(md), "Not run yet")
}
