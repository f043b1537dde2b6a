package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/trm/infer"
	"github.com/trm-go/trm/trm/task"
)

// arcInferJSON is the output of trm infer --task arc --json as a reader
// sees it.
type arcInferJSON struct {
	TaskID        string   `json:"task_id"`
	PuzzleIDs     string   `json:"puzzle_ids"`
	Augmentations int      `json:"augmentations"`
	Pass1         *float64 `json:"pass@1"`
	Pass2         *float64 `json:"pass@2"`
	Test          []struct {
		Input    [][]int  `json:"input"`
		Output   *[][]int `json:"output"`
		Copies   int      `json:"copies"`
		Attempts []struct {
			Grid       [][]int  `json:"grid"`
			Votes      int      `json:"votes"`
			Confidence *float64 `json:"confidence"`
			Correct    *bool    `json:"correct"`
		} `json:"attempts"`
	} `json:"test"`
}

// TestInferARC runs trm infer --task arc end to end with a tiny ARC model
// trained for two steps on the committed evaluation tasks (as
// TestEvalARCEndToEnd does; about a second).
func TestInferARC(t *testing.T) {
	dir := t.TempDir()
	evalDir := filepath.Join("..", "..", "testdata", "arc", "evaluation")
	taskFile := filepath.Join(evalDir, "6ea4a07e.json")
	run := filepath.Join(dir, "run")
	code, _, stderr := trmRun("train", "--task", "arc", "--opt", "eval="+evalDir, "--opt", "aug=2",
		"--hidden_size", "16", "--num_heads", "1", "--L_layers", "1", "--H_cycles", "1", "--L_cycles", "1",
		"--halt_max_steps", "1", "--puzzle_emb_ndim", "16", "--puzzle_emb_len", "1", "--batch", "4", "--steps", "2", "--run", run)
	require.Equal(t, 0, code, stderr)
	ckpt := filepath.Join(run, "model.safetensors")
	infer := func(args ...string) (int, string, string) {
		return trmRun(append([]string{"infer", "--task", "arc", "--checkpoint", ckpt}, args...)...)
	}

	t.Run("text", func(t *testing.T) {
		// Flags after the file, as in trm infer --task arc FILE.json --json.
		code, out, stderr := infer(taskFile, "--augmentations", "1")
		require.Equal(t, 0, code, stderr)
		assert.Contains(t, out, "task 6ea4a07e ("+taskFile+"): 2 test input(s)\n")
		assert.Contains(t, out, "trained puzzle ids: the task is in the model's test set")
		assert.Contains(t, out, "votes: the original and 1 augmented copies of each test input, --halt full\n")
		assert.Contains(t, out, "\ntest 1 of 2\ninput: 3×3\n  300\n  333\n  003\nattempt 1: ")
		assert.Contains(t, out, "\ntest 2 of 2\ninput: 3×3\n  050\n  550\n  005\nattempt 1: ")
		assert.Contains(t, out, "of 2 votes, confidence ")
		assert.Contains(t, out, "expected: 3×3\n  011\n  000\n  110\n")
		assert.Contains(t, out, "\nright: ")
		assert.NotContains(t, out, "\x1b[", "no colour when standard output is not a terminal")
		assert.Contains(t, stderr, "arc: 4/4 copies of the test inputs answered")
	})

	t.Run("json matches trm eval", func(t *testing.T) {
		code, out, stderr := infer("--json", taskFile, "--augmentations", "1")
		require.Equal(t, 0, code, stderr)
		var r arcInferJSON
		require.NoError(t, json.Unmarshal([]byte(out), &r), out)
		assert.Equal(t, "6ea4a07e", r.TaskID)
		assert.Equal(t, "trained", r.PuzzleIDs)
		assert.Equal(t, 1, r.Augmentations)
		require.NotNil(t, r.Pass1)
		require.NotNil(t, r.Pass2)
		require.Len(t, r.Test, 2)
		assert.Equal(t, [][]int{{3, 0, 0}, {3, 3, 3}, {0, 0, 3}}, r.Test[0].Input)
		require.NotNil(t, r.Test[0].Output)
		assert.Equal(t, [][]int{{0, 1, 1}, {0, 0, 0}, {1, 1, 0}}, *r.Test[0].Output)

		// The same attempts as trm eval --task arc on the model's test set.
		sub := filepath.Join(dir, "sub.json")
		code, _, stderr = trmRun("eval", "--task", "arc", "--data", evalDir, "--checkpoint", ckpt, "--augmentations", "1", "--submission", sub, "--json")
		require.Equal(t, 0, code, stderr)
		raw, err := os.ReadFile(sub)
		require.NoError(t, err)
		var file map[string][]map[string][][]int
		require.NoError(t, json.Unmarshal(raw, &file))
		blank := func(g [][]int) [][]int {
			if len(g) == 0 {
				return [][]int{{0}}
			}
			return g
		}
		for i, tt := range r.Test {
			assert.Equal(t, 2, tt.Copies)
			require.NotEmpty(t, tt.Attempts, "test %d", i)
			require.LessOrEqual(t, len(tt.Attempts), 2, "test %d", i)
			votes := 0
			for _, at := range tt.Attempts {
				require.NotNil(t, at.Confidence)
				require.NotNil(t, at.Correct, "the file has the test outputs")
				assert.Equal(t, len(at.Grid) > 0 && assert.ObjectsAreEqual(at.Grid, *tt.Output), *at.Correct)
				votes += at.Votes
			}
			assert.LessOrEqual(t, votes, tt.Copies)
			want := file["6ea4a07e"][i]
			assert.Equal(t, want["attempt_1"], blank(tt.Attempts[0].Grid), "test %d attempt 1", i)
			a2 := tt.Attempts[0].Grid
			if len(tt.Attempts) > 1 {
				a2 = tt.Attempts[1].Grid
			}
			assert.Equal(t, want["attempt_2"], blank(a2), "test %d attempt 2", i)
		}
	})

	t.Run("color", func(t *testing.T) {
		code, out, stderr := infer(taskFile, "--color", "always", "--augmentations", "0")
		require.Equal(t, 0, code, stderr)
		assert.Contains(t, out, "input: 3×3\n  \x1b[48;2;46;204;64m  \x1b[48;2;0;0;0m  \x1b[48;2;0;0;0m  \x1b[0m\n", "green 3, black 0")
		code, out, stderr = infer(taskFile, "--color", "never", "--augmentations", "0")
		require.Equal(t, 0, code, stderr)
		assert.NotContains(t, out, "\x1b")
		assert.Contains(t, out, "input: 3×3\n  300\n")
	})

	t.Run("a Kaggle file with --id", func(t *testing.T) {
		challenges := filepath.Join("..", "..", "testdata", "arc", "arc-agi_training_challenges.json")
		code, out, stderr := infer("--json", "--id", "6150a2bd", challenges)
		require.Equal(t, 0, code, stderr)
		var r arcInferJSON
		require.NoError(t, json.Unmarshal([]byte(out), &r), out)
		assert.Equal(t, "6150a2bd", r.TaskID)
		assert.Equal(t, "rebuilt", r.PuzzleIDs, "a task the model never saw")
		require.Len(t, r.Test, 1)
		require.NotNil(t, r.Test[0].Output, "from the solutions file beside it")
		assert.Equal(t, 3, r.Test[0].Copies, "the original and the model's 2 augmentations")

		code, _, stderr = infer(challenges)
		assert.Equal(t, 2, code)
		assert.Contains(t, stderr, "holds 4 tasks (6150a2bd, d631b094, 0d3d703e, 5582e5ca): choose one with --id")
		code, _, stderr = infer(challenges, "--id", "nope")
		assert.Equal(t, 2, code)
		assert.Contains(t, stderr, "--id nope: ")
	})

	t.Run("a grid argument", func(t *testing.T) {
		code, out, stderr := infer("01/23")
		require.Equal(t, 0, code, stderr)
		assert.True(t, strings.HasPrefix(out, "01/23 = "), out)
	})

	t.Run("bad input", func(t *testing.T) {
		write := func(name, content string) string {
			p := filepath.Join(dir, name)
			require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
			return p
		}
		malformed := write("malformed.json", `{"train": [`)
		ragged := write("ragged.json", `{"train": [{"input": [[1, 2], [3]], "output": [[1]]}], "test": [{"input": [[1]]}]}`)
		for _, c := range []struct {
			name string
			args []string
			code int
			msg  string
		}{
			{"a missing file", []string{filepath.Join(dir, "none.json")}, 1, "no such file"},
			{"malformed JSON", []string{malformed}, 2, `arc file "` + malformed + `": unexpected end of JSON input`},
			{"ragged rows", []string{ragged}, 2, `task "ragged": train pair 0 input: grid row 1 has 1 cells, want 2`},
			{"a bad --color", []string{taskFile, "--color", "blue"}, 2, `--color "blue", want auto, always or never`},
			{"a bad --augmentations", []string{taskFile, "--augmentations", "-2"}, 2, "--augmentations -2"},
			{"two files", []string{"--id", "x", taskFile, taskFile}, 2, "want one ARC task file, got 2 arguments"},
		} {
			t.Run(c.name, func(t *testing.T) {
				code, out, stderr := infer(c.args...)
				assert.Equal(t, c.code, code, stderr)
				assert.Empty(t, out)
				assert.Contains(t, stderr, c.msg)
				assert.True(t, strings.HasPrefix(stderr, "trm infer: "), stderr)
			})
		}
		// A model of another task, and ARC flags without --task arc.
		sudoku := filepath.Join("..", "..", "checkpoints", "sudoku6.safetensors")
		code, _, stderr := trmRun("infer", "--task", "arc", "--checkpoint", sudoku, taskFile)
		assert.Equal(t, 2, code, stderr)
		assert.Contains(t, stderr, `is a model of task "sudoku6", not an ARC model`)
		code, _, stderr = trmRun("infer", "--checkpoint", sudoku, "--color", "always", "......")
		assert.Equal(t, 2, code, stderr)
		assert.Contains(t, stderr, "--id, --augmentations and --color are for an ARC task file")
	})
}

// TestARCInferTests checks the answers built from hand-made rankings:
// right and wrong attempts, a missing second attempt, an empty grid, an
// expected output taken from the model's copy of the task, and pass@k
// only when every output is known; then their rendering.
func TestARCInferTests(t *testing.T) {
	g := func(rows ...string) task.ARCGrid {
		gr, err := task.ParseARCGrid(strings.Join(rows, "/"))
		require.NoError(t, err)
		return gr
	}
	right, wrong := g("12", "34"), g("99")
	want := task.ARCTask{ID: "x", Test: []task.ARCPair{
		{Input: g("0"), Output: right},
		{Input: g("1"), Output: right},
		{Input: g("2")}, // output known to the model's copy only
	}}
	modelTask := task.ARCTask{ID: "x", Test: []task.ARCPair{{Input: g("0")}, {Input: g("1")}, {Input: g("2"), Output: wrong}}}
	ranked := [][]infer.ARCCandidate{
		{{Grid: wrong, Votes: 3, Confidence: 0.25}, {Grid: right, Votes: 2, Confidence: 0.75}},
		{{Grid: right, Votes: 5, Confidence: 0.5}},
		{{Grid: task.ARCGrid{}, Votes: 4, Confidence: 0.125}},
	}
	tests, p1, p2 := arcInferTests(want, modelTask, ranked, []int{5, 5, 4})
	require.Len(t, tests, 3)
	require.NotNil(t, p1)
	assert.InDelta(t, 1.0/3, *p1, 1e-12)
	assert.InDelta(t, 2.0/3, *p2, 1e-12)
	require.Len(t, tests[0].Attempts, 2)
	assert.False(t, *tests[0].Attempts[0].Correct)
	assert.True(t, *tests[0].Attempts[1].Correct)
	require.Len(t, tests[1].Attempts, 1)
	assert.True(t, *tests[1].Attempts[0].Correct)
	require.NotNil(t, tests[2].Output)
	assert.True(t, tests[2].Output.Equal(wrong), "the model's copy's output")
	assert.False(t, *tests[2].Attempts[0].Correct, "an empty grid is never right")

	_, p1, p2 = arcInferTests(want, task.ARCTask{ID: "x"}, ranked, []int{5, 5, 4})
	assert.Nil(t, p1, "an output unknown")
	assert.Nil(t, p2)

	var b bytes.Buffer
	r := arcInferResult{TaskID: "x", File: "x.json", Checkpoint: "m", PuzzleIDs: "trained", Augmentations: 4, Halt: "full"}
	r.Test, r.Pass1, r.Pass2 = arcInferTests(want, modelTask, ranked, []int{5, 5, 4})
	require.NoError(t, printARCInfer(&b, r, false))
	out := b.String()
	for _, s := range []string{
		"test 1 of 3\ninput: 1×1\n  0\nattempt 1: 1×2, 3 of 5 votes, confidence 0.250, wrong\n  99\nattempt 2: 2×2, 2 of 5 votes, confidence 0.750, right\n  12\n  34\nexpected: 2×2\n",
		"test 2 of 3\ninput: 1×1\n  1\nattempt 1: 2×2, 5 of 5 votes, confidence 0.500, right\n  12\n  34\nattempt 2: none (every copy gave attempt 1)\n",
		"attempt 1: an empty grid (no colour at the top-left corner), 4 of 4 votes, confidence 0.125, wrong\n",
		"\nright: 1 of 3 test input(s) at attempt 1, 2 within two attempts\n",
	} {
		assert.Contains(t, out, s)
	}
	b.Reset()
	require.NoError(t, printARCInfer(&b, r, true))
	assert.Contains(t, b.String(), "  \x1b[48;2;0;116;217m  \x1b[48;2;255;65;54m  \x1b[0m\n", "1 blue, 2 red")
	assert.Contains(t, b.String(), "  \x1b[48;2;135;12;37m  \x1b[48;2;135;12;37m  \x1b[0m\n", "9 maroon")
}

// TestUseColor: --color always and never win; auto colours only a
// character device, and not with NO_COLOR set or TERM=dumb.
func TestUseColor(t *testing.T) {
	var b bytes.Buffer
	assert.True(t, useColor("always", &b))
	assert.False(t, useColor("never", os.Stdout))
	assert.False(t, useColor("auto", &b), "not a terminal")
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Skip(err)
	}
	defer devNull.Close()
	st, err := devNull.Stat()
	require.NoError(t, err)
	if st.Mode()&os.ModeCharDevice == 0 {
		t.Skip(os.DevNull + " is not a character device here")
	}
	t.Setenv("TERM", "xterm-256color")
	t.Setenv("NO_COLOR", "")
	assert.True(t, useColor("auto", devNull), "a character device")
	t.Setenv("NO_COLOR", "1")
	assert.False(t, useColor("auto", devNull), "NO_COLOR")
	t.Setenv("NO_COLOR", "")
	t.Setenv("TERM", "dumb")
	assert.False(t, useColor("auto", devNull), "TERM=dumb")
}
