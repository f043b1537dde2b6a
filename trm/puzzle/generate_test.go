package puzzle

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGenerateSudoku(t *testing.T) {
	cases := []SudokuOptions{
		{Shape: Shape4, Blanks: 10},
		{Shape: Shape4, Blanks: 0},
		{Shape: Shape6, Blanks: 22},
		{Shape: Shape9, Blanks: 50},
		{Shape: Shape9, Blanks: 54, MinRating: 1, MaxAttempts: 200},
	}
	for _, opts := range cases {
		t.Run(fmt.Sprintf("%v/%d/%d", opts.Shape, opts.Blanks, opts.MinRating), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, uint64(opts.Blanks)))
			for i := 0; i < 3; i++ {
				p, err := GenerateSudoku(rng, opts)
				require.NoError(t, err)
				assert.Equal(t, opts.Shape, p.Puzzle.Shape)
				assert.Equal(t, opts.Blanks, p.Puzzle.Blanks())
				assert.True(t, p.Solution.IsSolved())
				assert.Empty(t, p.Puzzle.Conflict())
				for c, v := range p.Puzzle.Cells {
					if v != 0 {
						require.Equal(t, v, p.Solution.Cells[c])
					}
				}
				res, err := CountSolutions(p.Puzzle, 2)
				require.NoError(t, err)
				assert.True(t, res.Unique())
				assert.True(t, res.Solution.Equal(p.Solution))
				assert.GreaterOrEqual(t, p.Rating, opts.MinRating)
				assert.Equal(t, res.Rating, p.Rating)
				if opts.Shape.Size() <= 6 {
					assert.Equal(t, 1, bruteCount(p.Puzzle.Clone(), 2), "brute force disagrees on uniqueness")
				}
			}
		})
	}
}

func TestGenerateSudokuDeterministic(t *testing.T) {
	gen := func(seed uint64) []SudokuPuzzle {
		rng := rand.New(rand.NewPCG(seed, 99))
		var out []SudokuPuzzle
		for range 3 {
			p, err := GenerateSudoku(rng, SudokuOptions{Shape: Shape9, Blanks: 45})
			require.NoError(t, err)
			out = append(out, p)
		}
		return out
	}
	a, b, c := gen(1), gen(1), gen(2)
	for i := range a {
		assert.True(t, a[i].Puzzle.Equal(b[i].Puzzle))
		assert.True(t, a[i].Solution.Equal(b[i].Solution))
	}
	assert.False(t, a[0].Puzzle.Equal(c[0].Puzzle), "different seeds gave the same puzzle")
	assert.False(t, a[0].Solution.Equal(a[1].Solution), "two draws gave the same full grid")
}

func TestGenerateSudokuGivesUp(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	// A 4×4 needs at least 4 givens for a unique solution.
	_, err := GenerateSudoku(rng, SudokuOptions{Shape: Shape4, Blanks: 14, MaxAttempts: 20})
	require.ErrorIs(t, err, ErrGiveUp)
	assert.Contains(t, err.Error(), "14 blanks")
	assert.Contains(t, err.Error(), "20 attempts")

	// Propagation alone solves every 4×4, so no rating of 1.
	_, err = GenerateSudoku(rng, SudokuOptions{Shape: Shape4, Blanks: 8, MinRating: 1, MaxAttempts: 10})
	require.ErrorIs(t, err, ErrGiveUp)

	for _, bad := range []SudokuOptions{
		{Shape: Shape9, Blanks: 81},
		{Shape: Shape9, Blanks: -1},
		{Shape: Shape9, Blanks: 40, MinRating: -2},
		{Shape: Shape9, Blanks: 40, MaxAttempts: -1},
		{Shape: Shape{}, Blanks: 1},
	} {
		_, err := GenerateSudoku(rng, bad)
		require.Error(t, err, "%+v", bad)
		assert.NotErrorIs(t, err, ErrGiveUp)
	}
}

func BenchmarkGenerateSudoku(b *testing.B) {
	for _, opts := range []SudokuOptions{
		{Shape: Shape4, Blanks: 10},
		{Shape: Shape6, Blanks: 22},
		{Shape: Shape9, Blanks: 50},
	} {
		b.Run(fmt.Sprintf("%v/blanks=%d", opts.Shape, opts.Blanks), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := GenerateSudoku(rng, opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puzzles/s")
		})
	}
}
