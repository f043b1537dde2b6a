// Package puzzletest writes the puzzle CSV files the tests of the trm
// packages read (Sudoku-Extreme and Maze-Hard formats). Only tests import it.
package puzzletest

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/trm-go/trm/trm/puzzle"
)

// SudokuCSV writes n generated puzzles of shape with the given blanks to
// dir/name in the Sudoku-Extreme CSV format and returns the path and the
// records.
func SudokuCSV(tb testing.TB, dir, name string, shape puzzle.Shape, blanks, n int, seed uint64) (string, []puzzle.SudokuRecord) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(seed, 5))
	recs := make([]puzzle.SudokuRecord, n)
	for i := range recs {
		p, err := puzzle.GenerateSudoku(rng, puzzle.SudokuOptions{Shape: shape, Blanks: blanks})
		require.NoError(tb, err)
		recs[i] = puzzle.SudokuRecord{Source: "test", Puzzle: p.Puzzle, Solution: p.Solution, Rating: p.Rating}
	}
	var buf bytes.Buffer
	require.NoError(tb, puzzle.WriteSudokuCSV(&buf, recs))
	path := filepath.Join(dir, name)
	require.NoError(tb, os.WriteFile(path, buf.Bytes(), 0o644))
	return path, recs
}

// MazeCSV writes n generated size×size mazes to dir/maze<size>.csv in the
// Maze-Hard CSV format and returns the path and the records.
func MazeCSV(tb testing.TB, dir string, size, n int) (string, []puzzle.MazeRecord) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(9, 9))
	recs := make([]puzzle.MazeRecord, n)
	for i := range recs {
		p, err := puzzle.GenerateMaze(rng, puzzle.MazeOptions{Size: size, MinPathLen: size})
		require.NoError(tb, err)
		recs[i] = puzzle.MazeRecord{Source: "test", Question: p.Question, Answer: p.Answer, Rating: p.PathLen}
	}
	var buf bytes.Buffer
	require.NoError(tb, puzzle.WriteMazeCSV(&buf, recs))
	path := filepath.Join(dir, "maze"+strconv.Itoa(size)+".csv")
	require.NoError(tb, os.WriteFile(path, buf.Bytes(), 0o644))
	return path, recs
}
