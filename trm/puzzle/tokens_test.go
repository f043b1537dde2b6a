package puzzle

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSudokuTokens(t *testing.T) {
	p, err := ParseGrid(norvigEasy)
	require.NoError(t, err)
	s, _, err := Solve(p)
	require.NoError(t, err)
	in, lab := EncodeSudoku(p, s)
	require.Len(t, in, 81)
	require.Len(t, lab, 81)
	// "..3.2.6.." → blank 1, digit d → d+1.
	assert.Equal(t, []int32{1, 1, 4, 1, 3, 1, 7, 1, 1}, in[:9])
	for i := range lab {
		assert.Equal(t, int32(s.Cells[i])+1, lab[i])
		assert.GreaterOrEqual(t, lab[i], int32(2))
		assert.Less(t, lab[i], int32(Shape9.Vocab()))
	}

	// Round trips for every shape.
	rng := rand.New(rand.NewPCG(4, 4))
	for _, opts := range []SudokuOptions{{Shape: Shape4, Blanks: 8}, {Shape: Shape6, Blanks: 18}, {Shape: Shape9, Blanks: 45}} {
		g, err := GenerateSudoku(rng, opts)
		require.NoError(t, err)
		in, lab := EncodeSudoku(g.Puzzle, g.Solution)
		back, err := DecodeSudoku(opts.Shape, in)
		require.NoError(t, err)
		assert.True(t, back.Equal(g.Puzzle))
		back, err = DecodeSudoku(opts.Shape, lab)
		require.NoError(t, err)
		assert.True(t, back.Equal(g.Solution))
		assert.Equal(t, in, g.Puzzle.AppendTokens(nil))
	}

	// Predictions render with '?' for tokens that are not cells.
	g4, err := ParseGrid("1...34....2....3")
	require.NoError(t, err)
	pred := g4.Tokens()
	pred[1], pred[2] = PadToken, 9
	assert.Equal(t, "1??.34....2....3", FormatSudokuTokens(Shape4, pred, false))
	assert.Equal(t, "1 ? | ? .\n3 4 | . .\n----+----\n. . | 2 .\n. . | . 3\n", FormatSudokuTokens(Shape4, pred, true))
	assert.Equal(t, g4.Format(), FormatSudokuTokens(Shape4, g4.Tokens(), true))
	assert.Panics(t, func() { FormatSudokuTokens(Shape9, pred, false) })

	_, err = DecodeSudoku(Shape4, make([]int32, 15))
	require.Error(t, err)
	bad := Grid{Shape: Shape4, Cells: make([]uint8, 16)}.Tokens()
	bad[3] = 6 // digit 5 in a 4×4
	_, err = DecodeSudoku(Shape4, bad)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "token 6 at position 3")
	bad[3] = PadToken
	_, err = DecodeSudoku(Shape4, bad)
	require.Error(t, err)
	assert.Panics(t, func() { EncodeSudoku(NewGrid(Shape4), NewGrid(Shape9)) })
}

func TestCheckSudoku(t *testing.T) {
	p, err := ParseGrid(norvigEasy)
	require.NoError(t, err)
	s, _, err := Solve(p)
	require.NoError(t, err)

	c := CheckSudoku(p, s, s)
	assert.Equal(t, SudokuCheck{Exact: true, Complete: true, Valid: true, Consistent: true}, c)
	assert.True(t, c.Solved())

	// Swapping two digits of a row breaks columns: complete, not valid.
	w := s.Clone()
	w.Cells[0], w.Cells[1] = w.Cells[1], w.Cells[0]
	c = CheckSudoku(p, s, w)
	assert.False(t, c.Exact)
	assert.True(t, c.Complete)
	assert.False(t, c.Valid)
	assert.True(t, c.Consistent) // both cells were blanks

	// Relabelling digits gives a valid grid that breaks the givens.
	a := IdentitySudokuAugmentation(Shape9)
	a.Digits = []uint8{0, 2, 1, 3, 4, 5, 6, 7, 8, 9}
	c = CheckSudoku(p, s, a.Apply(s))
	assert.True(t, c.Valid)
	assert.False(t, c.Consistent)
	assert.False(t, c.Solved())

	// The puzzle itself is incomplete.
	c = CheckSudoku(p, s, p)
	assert.False(t, c.Complete)
	assert.False(t, c.Valid)
	assert.True(t, c.Consistent)

	// On tokens: a pad or blank token in the prediction is a blank.
	in, lab := EncodeSudoku(p, s)
	c, err = CheckSudokuTokens(Shape9, in, lab, lab)
	require.NoError(t, err)
	assert.True(t, c.Exact)
	pred := append([]int32(nil), lab...)
	pred[40] = PadToken
	c, err = CheckSudokuTokens(Shape9, in, lab, pred)
	require.NoError(t, err)
	assert.False(t, c.Exact)
	assert.False(t, c.Complete)
	_, err = CheckSudokuTokens(Shape9, in, lab, pred[:80])
	require.Error(t, err)
	_, err = CheckSudokuTokens(Shape9, in, pred, lab)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "labels")
}

func TestMazeTokens(t *testing.T) {
	for i, ch := range []byte(MazeCharset) {
		assert.Equal(t, int32(i+1), MazeToken(ch))
	}
	assert.Equal(t, int32(1), MazeToken('#'))
	assert.Equal(t, int32(2), MazeToken(' '))
	assert.Equal(t, int32(3), MazeToken('S'))
	assert.Equal(t, int32(4), MazeToken('G'))
	assert.Equal(t, int32(5), MazeToken('o'))
	assert.Equal(t, PadToken, MazeToken('x'))
	assert.Equal(t, 6, MazeVocab)

	rng := rand.New(rand.NewPCG(6, 6))
	p, err := GenerateMaze(rng, MazeOptions{Size: 12, MinPathLen: 10, Openings: 0.1})
	require.NoError(t, err)
	in, lab := EncodeMaze(p.Question, p.Answer)
	require.Len(t, in, 144)
	q, err := DecodeMaze(in)
	require.NoError(t, err)
	assert.True(t, q.Equal(p.Question))
	a, err := DecodeMaze(lab)
	require.NoError(t, err)
	assert.True(t, a.Equal(p.Answer))
	assert.True(t, MazeFromPrediction(12, lab).Equal(p.Answer))

	// Every cell is labelled, and the question differs from the answer
	// exactly on the path cells strictly between S and G.
	differ := 0
	for i, l := range lab {
		require.NotEqual(t, PadToken, l, "cell %d", i)
		if in[i] != l {
			differ++
		}
	}
	assert.Equal(t, p.PathLen-1, differ)

	_, err = DecodeMaze(in[:143])
	require.Error(t, err)
	bad := append([]int32(nil), in...)
	bad[7] = 9
	_, err = DecodeMaze(bad)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "token 9 at position 7")
	garbled := MazeFromPrediction(12, bad)
	assert.Equal(t, byte('?'), garbled.Cells[7])
	require.ErrorIs(t, CheckMazePath(p.Question, garbled), ErrMazeMismatch)
}
