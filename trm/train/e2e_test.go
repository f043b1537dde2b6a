package train_test

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/trm-go/trm/internal/puzzletest"
	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/infer"
	"github.com/trm-go/trm/trm/puzzle"
	"github.com/trm-go/trm/trm/task"
	"github.com/trm-go/trm/trm/train"
)

// open7Maze is a 7×7 maze with an open 3×3 room, S and G in opposite
// corners (the task tests' open7).
const open7Maze = "#######\n#S  ###\n#   ###\n#  G###\n#######\n#######\n#######\n"

// puzzleTrainConfig returns a tiny model config for task.
func puzzleTrainConfig(t *testing.T, tk task.Task) trm.Config {
	t.Helper()
	c := train.DefaultConfig()
	c.SetTask(tk)
	c.HiddenSize, c.NumHeads, c.Expansion = 16, 2, 2
	c.HCycles, c.LCycles, c.HaltMaxSteps = 1, 2, 2
	c.BatchSize = 4
	c.Optimizer = nn.OptAdamW
	c.TrainSteps, c.LogInterval, c.EvalInterval, c.CheckpointInterval = 1, 1, 1, 0
	require.NoError(t, c.Validate())
	return c
}

// The puzzle tasks run end to end: training with periodic evaluation, a
// saved checkpoint, and a predictor that parses user text and decodes its
// answer. A task read from CSV files reads them only when it needs data,
// so the checkpoint still answers once the files are gone. (Generated
// data goes through the same Example calls: see the other tests.)
func TestPuzzleTasksEndToEnd(t *testing.T) {
	dir := t.TempDir()
	mazePath, _ := puzzletest.MazeCSV(t, dir, 7, 40)
	sudokuPath, _ := puzzletest.SudokuCSV(t, dir, "four.csv", puzzle.Shape4, 8, 40, 3)
	for _, c := range []struct {
		name  string
		opts  task.Options
		input string
		file  string
	}{
		{"sudoku4", task.Options{"csv": sudokuPath}, "1... ..2. .3.. ...4", sudokuPath},
		{"maze", task.Options{"csv": mazePath, "size": "7", "augment": "false"}, open7Maze, mazePath},
	} {
		tk, err := task.New(c.name, c.opts)
		require.NoError(t, err)
		cfg := puzzleTrainConfig(t, tk)
		run := filepath.Join(t.TempDir(), "run")
		res, err := train.Train(t.Context(), cfg, train.TrainOptions{Dir: run, EvalExamples: 4})
		require.NoError(t, err, "%s %v", c.name, c.opts)
		require.NotNil(t, res.Eval)
		wantN := 4
		if n := tk.Len(task.SplitTest); n > 0 {
			wantN = min(n, 4) // a test file's split can be smaller
		}
		assert.Equal(t, wantN, res.Eval.Full.Examples)
		if c.file != "" {
			require.NoError(t, os.Rename(c.file, c.file+".gone"))
		}
		p, err := infer.LoadPredictor(train.Run{Dir: run}.ModelPath())
		require.NoError(t, err)
		out, err := p.Predict(c.input)
		require.NoError(t, err)
		require.Len(t, out, 1)
		// An untrained model's answer: a grid of one line per row at
		// least, with a note unless it happens to solve the puzzle.
		assert.Equal(t, tk.SeqLen(), len(out[0].Tokens))
		side := int(math.Sqrt(float64(tk.SeqLen())))
		assert.GreaterOrEqual(t, strings.Count(out[0].Answer, "\n"), side, out[0].Answer)
		_, err = p.Predict("not a puzzle")
		assert.Error(t, err)
		if c.file != "" {
			require.NoError(t, os.Rename(c.file+".gone", c.file))
		}
	}
}
