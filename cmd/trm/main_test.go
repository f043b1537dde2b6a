package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/asm"
	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/task"
	"github.com/trm-go/trm/trm/train"
)

// trmRun runs the command line and returns its exit code and outputs.
func trmRun(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestVersion(t *testing.T) {
	code, out, errOut := trmRun("version")
	require.Equal(t, 0, code, errOut)
	assert.Empty(t, errOut)
	assert.True(t, strings.HasPrefix(out, "trm "), out)
	assert.Contains(t, out, "go:         "+runtime.Version())
	assert.Contains(t, out, "platform:   "+runtime.GOOS+"/"+runtime.GOARCH)
	assert.Contains(t, out, "kernels:    "+asm.Impl())
	assert.Contains(t, out, "gemm:       "+asm.GemmImpl())
	assert.Contains(t, out, "exp rows:   "+asm.RowImpl())
	assert.Contains(t, out, "GOMAXPROCS: ")

	code, out, _ = trmRun("version", "--json")
	require.Equal(t, 0, code)
	var b buildInfo
	require.NoError(t, json.Unmarshal([]byte(out), &b))
	assert.Equal(t, runtime.Version(), b.Go)
	assert.Equal(t, asm.Impl(), b.Kernels)
	assert.Equal(t, asm.GemmImpl(), b.GemmKernel)
	assert.Equal(t, asm.RowImpl(), b.RowKernel)
	assert.Equal(t, runtime.GOMAXPROCS(0), b.GOMAXPROCS)
	assert.NotEmpty(t, b.Version)
}

func TestGenToFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "train.jsonl")
	code, out, errOut := trmRun("gen", "--task", "arith", "--digits", "5", "--split", "train", "--n", "50", "--seed", "1", "--out", path)
	require.Equal(t, 0, code, errOut)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "wrote 50 train examples of arith (digits=5) (seed 1) to "+path)

	d, err := task.LoadDataset(path)
	require.NoError(t, err)
	assert.Equal(t, "arith", d.Header.Task)
	assert.Equal(t, task.Options{"digits": "5"}, d.Header.Options)
	assert.Equal(t, task.SplitTrain, d.Header.Split)
	assert.Equal(t, uint64(1), d.Header.Seed)
	require.Len(t, d.Examples, 50)
	arith := task.NewArith(5)
	for i, ex := range d.Examples {
		want, err := arith.Example(task.SplitTrain, 1, int64(i))
		require.NoError(t, err)
		assert.Equal(t, want, ex)
	}
}

func TestGenToStdoutIsDeterministic(t *testing.T) {
	args := []string{"gen", "--digits", "1", "--split", "test", "--n", "5", "--seed", "3", "--out", "-"}
	code, out1, errOut := trmRun(args...)
	require.Equal(t, 0, code, errOut)
	_, out2, _ := trmRun(args...)
	assert.Equal(t, out1, out2)
	lines := strings.Split(strings.TrimSpace(out1), "\n")
	require.Len(t, lines, 6)
	assert.Contains(t, lines[0], `"format":"trm-dataset/v1"`)
	assert.Contains(t, lines[0], `"split":"test"`)
	var rec task.DatasetRecord
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &rec))
	assert.Regexp(t, `^\d \+ \d$`, rec.Text)
	assert.Len(t, rec.Input, 4)

	// --opt digits=1 is the same as --digits 1.
	_, out3, _ := trmRun("gen", "--opt", "digits=1", "--split", "test", "--n", "5", "--seed", "3", "--out", "-")
	assert.Equal(t, out1, out3)
}

func TestBadCommandLinesExit2(t *testing.T) {
	chessConfig := filepath.Join(t.TempDir(), "chess.json")
	require.NoError(t, os.WriteFile(chessConfig, []byte(`{"task": "chess"}`), 0o644))
	cases := []struct {
		args []string
		want string
	}{
		{nil, "Usage:"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"version", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"version", "extra"}, `unexpected argument "extra"`},
		{[]string{"gen", "--n", "ten", "--out", "-"}, `invalid value "ten" for flag -n`},
		{[]string{"gen", "--n", "-1", "--out", "-"}, "--n -1, want ≥ 0"},
		{[]string{"gen"}, "--out is required"},
		{[]string{"gen", "--split", "dev", "--out", "-"}, `--split: split "dev", want "train" or "test"`},
		{[]string{"gen", "--task", "chess", "--out", "-"}, `unknown task "chess", want one of arc, arith`},
		{[]string{"gen", "--digits", "0", "--out", "-"}, `task arith: option digits="0", want an integer in [1, 18]`},
		{[]string{"gen", "--opt", "digit=3", "--out", "-"}, `unknown option "digit"`},
		{[]string{"gen", "--opt", "digits", "--out", "-"}, `want key=value`},
		{[]string{"gen", "--digits", "2", "--opt", "digits=3", "--out", "-"}, "--digits 2 and --opt digits=3 disagree"},
		{[]string{"train", "--threads", "-2"}, "--threads -2, want ≥ 0"},
		{[]string{"train", "--preset", "huge"}, `--preset: config: unknown preset "huge"`},
		{[]string{"train", "--mode", "fast"}, `--mode: training mode "fast"`},
		{[]string{"train", "--batch", "0"}, "config: global_batch_size 0, want ≥ 1"},
		{[]string{"train", "--lr", "-1"}, "config: lr -1, want > 0"},
		{[]string{"train", "--resume", "--lr", "1"}, "--lr cannot change a resumed run"},
		{[]string{"train", "--config", "/nonexistent/c.json"}, "no such file"},
		{[]string{"train", "--config", chessConfig}, `unknown task "chess"`},
		{[]string{"eval", "--halt", "sometimes"}, `--halt: halt mode "sometimes"`},
		{[]string{"eval", "--split", "valid"}, `--split: split "valid"`},
		{[]string{"eval", "--data", "d.jsonl", "--seed", "3"}, "--data and --split/--seed exclude each other"},
		{[]string{"eval", "--n", "-5"}, "--n -5, want ≥ 0"},
		{[]string{"infer", "--steps", "-1", "3 + 7"}, "--steps -1, want ≥ 0"},
		{[]string{"infer", "--json=maybe"}, "invalid boolean value"},
		{[]string{"help", "frobnicate"}, `unknown command "frobnicate"`},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			code, out, errOut := trmRun(c.args...)
			assert.Equal(t, 2, code, "stderr: %s", errOut)
			assert.Contains(t, errOut, c.want)
			assert.Empty(t, out)
			assert.NotContains(t, errOut, "goroutine", "no panic")
		})
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		code, out, errOut := trmRun(args...)
		assert.Equal(t, 0, code)
		assert.Empty(t, errOut)
		for _, c := range []string{"version", "gen", "train", "eval", "infer"} {
			assert.Contains(t, out, "  "+c)
		}
	}
	code, out, _ := trmRun("help", "gen")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "Usage: trm gen")
	assert.Contains(t, out, "-digits")
	assert.Contains(t, out, "-seed")

	code, _, errOut := trmRun("train", "-h")
	assert.Equal(t, 0, code)
	for _, f := range []string{"-threads", "-cpuprofile", "-memprofile", "-json", "-steps", "-task", "-run", "-resume", "-preset", "-config"} {
		assert.Contains(t, errOut, f)
	}
	code, _, errOut = trmRun("infer", "-h")
	assert.Equal(t, 0, code)
	for _, f := range []string{"-checkpoint", "-halt", "-steps", "-threads", "-json", "-task"} {
		assert.Contains(t, errOut, f)
	}
}

func TestPrintConfig(t *testing.T) {
	code, out, errOut := trmRun("train", "--preset", "sudoku", "--steps", "7", "--lr", "0.001", "--print-config")
	require.Equal(t, 0, code, errOut)
	cfg, err := trm.DecodeConfig([]byte(out), trm.Config{})
	require.NoError(t, err)
	assert.Equal(t, 7, cfg.TrainSteps)
	assert.Equal(t, 0.001, cfg.LR)
	assert.Equal(t, nn.VariantMLP, cfg.Variant)

	// Task flags rebuild the sizes; a --config file applies over the preset.
	path := filepath.Join(t.TempDir(), "c.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"hidden_size": 32, "num_heads": 2}`), 0o644))
	code, out, errOut = trmRun("train", "--config", path, "--digits", "4", "--print-config")
	require.Equal(t, 0, code, errOut)
	cfg, err = trm.DecodeConfig([]byte(out), trm.Config{})
	require.NoError(t, err)
	assert.Equal(t, 32, cfg.HiddenSize)
	assert.Equal(t, 13, cfg.SeqLen)
	assert.Equal(t, task.Options{"digits": "4"}, cfg.TaskOptions)

	// Another task through --config gets its sizes from the task.
	require.NoError(t, os.WriteFile(path, []byte(`{"task": "sudoku9"}`), 0o644))
	code, out, errOut = trmRun("train", "--config", path, "--print-config")
	require.Equal(t, 0, code, errOut)
	cfg, err = trm.DecodeConfig([]byte(out), trm.Config{})
	require.NoError(t, err)
	assert.Equal(t, 81, cfg.SeqLen)
	assert.Equal(t, 11, cfg.VocabSize)

	// --opt merges over the preset's options of the same task...
	code, out, errOut = trmRun("train", "--preset", "maze", "--opt", "augment=false", "--print-config")
	require.Equal(t, 0, code, errOut)
	cfg, err = trm.DecodeConfig([]byte(out), trm.Config{})
	require.NoError(t, err)
	assert.Equal(t, "30", cfg.TaskOptions["size"])
	assert.Equal(t, "false", cfg.TaskOptions["augment"])
	assert.Equal(t, 900, cfg.SeqLen)
	// ...and --task switches to the other task's own options.
	code, out, errOut = trmRun("train", "--preset", "maze", "--task", "arith", "--digits", "3", "--print-config")
	require.Equal(t, 0, code, errOut)
	cfg, err = trm.DecodeConfig([]byte(out), trm.Config{})
	require.NoError(t, err)
	assert.Equal(t, task.Options{"digits": "3"}, cfg.TaskOptions)
	assert.Equal(t, 10, cfg.SeqLen)
}

func TestResumeConfig(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	code, _, errOut := trmRun("train", "--run", dir, "--resume", "--print-config")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "cannot resume")

	cfg := train.DefaultConfig()
	cfg.HiddenSize = 32
	require.NoError(t, train.Run{Dir: dir}.Create(cfg))
	code, out, errOut := trmRun("train", "--run", dir, "--resume", "--steps", "99", "--print-config")
	require.Equal(t, 0, code, errOut)
	got, err := trm.DecodeConfig([]byte(out), trm.Config{})
	require.NoError(t, err)
	assert.Equal(t, 32, got.HiddenSize)
	assert.Equal(t, 99, got.TrainSteps)
}

func TestProfilesAndThreads(t *testing.T) {
	dir := t.TempDir()
	cpu, mem := filepath.Join(dir, "cpu.prof"), filepath.Join(dir, "mem.prof")
	before := runtime.GOMAXPROCS(0)
	rt := runtimeFlags{threads: 1, cpuProfile: cpu, memProfile: mem}
	var during int
	require.NoError(t, rt.withRuntime(func() error {
		during = runtime.GOMAXPROCS(0)
		return nil
	}))
	assert.Equal(t, 1, during)
	assert.Equal(t, before, runtime.GOMAXPROCS(0), "threads are restored")
	for _, p := range []string{cpu, mem} {
		st, err := os.Stat(p)
		require.NoError(t, err)
		assert.Greater(t, st.Size(), int64(0), p)
	}

	rt = runtimeFlags{cpuProfile: filepath.Join(dir, "missing", "cpu.prof")}
	assert.Error(t, rt.withRuntime(func() error { return nil }))
	assert.Equal(t, before, runtime.GOMAXPROCS(0))
}

func TestIsTerminal(t *testing.T) {
	assert.False(t, isTerminal(&bytes.Buffer{}))
	f, err := os.CreateTemp(t.TempDir(), "x")
	require.NoError(t, err)
	defer f.Close()
	assert.False(t, isTerminal(f), "a regular file is not a terminal")
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		assert.True(t, isTerminal(tty))
	}
}

// TestErrorsSayTheCommandOnce: each command's failure is one line that
// names the command once, whatever prefix the library put on its error
// (trm.ImportTorch's "import: ...": before, "trm import: import: open ...").
func TestErrorsSayTheCommandOnce(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	for _, args := range [][]string{
		{"import", missing, "--out", filepath.Join(t.TempDir(), "x.safetensors")},
		{"export", missing, "--out", t.TempDir()},
		{"export", "embedded:chess", "--out", t.TempDir()},
		{"infer", "--checkpoint", missing, "3 + 7"},
		{"infer", "--checkpoint", "embedded:chess", "3 + 7"},
		{"eval", "--checkpoint", missing},
		{"trace", "--checkpoint", missing, "3 + 7"},
		{"gen", "--task", "arith", "--out", filepath.Join(missing, "x.jsonl")},
	} {
		code, _, errOut := trmRun(args...)
		assert.NotEqual(t, 0, code, "%v", args)
		first, _, _ := strings.Cut(errOut, "\n")
		assert.True(t, strings.HasPrefix(first, "trm "+args[0]), "%v: %q", args, errOut)
		assert.Equal(t, 1, strings.Count(first, args[0]+": "), "%v says the command once: %q", args, first)
		assert.NotContains(t, errOut, ".tmp", "%v names no temporary file", args)
		if code == exitFailure {
			assert.Equal(t, 1, strings.Count(errOut, "\n"), "%v: one line: %q", args, errOut)
		}
	}
}

func TestErrorLine(t *testing.T) {
	for _, c := range []struct{ name, msg, want string }{
		{"import", "import: open x: no such file or directory", "trm import: open x: no such file or directory"},
		{"import", `import "x": no all_config.yaml beside it`, `trm import "x": no all_config.yaml beside it`},
		{"export", "export: export: bad", "trm export: bad"},
		{"plot", "plots: no runs", "trm plot: plots: no runs"},
		{"import", "config: want\n  struct {\n    A int\n  }\n", "trm import: config: want; struct {; A int; }"},
		{"train", "training diverged", "trm train: training diverged"},
	} {
		assert.Equal(t, c.want, errorLine(c.name, errors.New(c.msg)), c.msg)
	}
}
