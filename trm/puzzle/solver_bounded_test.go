package puzzle

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// norvigImpossible has no solution and breaks no rule directly; refuting
// it takes this solver some 2.6 million dead ends (seconds): the worst
// case a bounded search exists for.
const norvigImpossible = ".....5.8....6.1.43..........1.5........1.6...3.......553.....61........4........."

func TestCountSolutionsBounded(t *testing.T) {
	for _, c := range []struct {
		name        string
		grid        string
		limit, max  int
		wantCount   int
		wantAborted bool
	}{
		{"empty grid: a solution at once", ".................................................................................", 1, 1000, 1, false},
		{"empty grid: not unique", ".................................................................................", 2, 1000, 2, false},
		{"unsolvable, refuted at once", "..9.287..8.6..4..5..3.....46.........2.71345.........23.....5..9..4..8.7..125.3..", 1, 1000, 0, false},
		{"conflicting givens", "11...............................................................................", 1, 1000, 0, false},
		{"pathological: budget spent", norvigImpossible, 1, 10_000, 0, true},
		{"no budget: exact", "4.....8.5.3..........7......2.....6.....8.4......1.......6.3.7.5..2.....1.4......", 2, 0, 1, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			g, err := ParseGridShape(c.grid, Shape9)
			require.NoError(t, err)
			res, err := CountSolutionsBounded(g, c.limit, c.max)
			require.NoError(t, err)
			assert.Equal(t, c.wantCount, res.Count)
			assert.Equal(t, c.wantAborted, res.Aborted)
			if c.max > 0 {
				assert.LessOrEqual(t, res.Backtracks, c.max)
			}
			if res.Count > 0 {
				assert.True(t, res.Solution.IsSolved())
			}
		})
	}

	// The hardest puzzles of top95 are solved well within the budget that
	// task.Sudoku.Encode uses (100,000 dead ends), uniqueness included.
	puzzles, solutions := loadTop95(t)
	for i, p := range puzzles {
		res, err := CountSolutionsBounded(p, 2, 100_000)
		require.NoError(t, err)
		require.False(t, res.Aborted, "top95 #%d", i+1)
		require.Equal(t, 1, res.Count, "top95 #%d", i+1)
		require.True(t, res.Solution.Equal(solutions[i]), "top95 #%d", i+1)
	}

	_, err := CountSolutionsBounded(NewGrid(Shape9), 1, -1)
	assert.ErrorContains(t, err, "dead-end budget -1")
	_, err = CountSolutionsBounded(NewGrid(Shape9), 0, 10)
	assert.ErrorContains(t, err, "solution limit 0")
}
