package task

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAnswerText: each task's compact answer of a labelled example is its
// solution on one line, in a form the task reads back where it reads
// grids (a Sudoku solution is a puzzle with no blanks; a maze with its
// path is refused only for the path), and '?' marks a token that is not
// part of an answer.
func TestAnswerText(t *testing.T) {
	arith := NewArith(5)
	ex, err := arith.Encode("48213 + 99999 = 148212")
	require.NoError(t, err)
	got, err := AnswerText(arith, ex, ex.Label)
	require.NoError(t, err)
	assert.Equal(t, "148212", got)

	s9 := newSudokuT(t, "sudoku9", nil)
	ex, err = Labeled(s9, SplitTest, 1, 0)
	require.NoError(t, err)
	got, err = AnswerText(s9, ex, ex.Label)
	require.NoError(t, err)
	assert.Len(t, got, 81)
	assert.NotContains(t, got, ".")
	assert.NotContains(t, got, "\n")
	back, err := s9.Encode(got)
	require.NoError(t, err, "the answer is a grid Encode reads")
	assert.Equal(t, ex.Label, back.Input, "a full grid's tokens are its labels")
	bad := append([]int32(nil), ex.Label...)
	bad[3] = 0
	got, err = AnswerText(s9, ex, bad)
	require.NoError(t, err)
	assert.Equal(t, byte('?'), got[3])
	_, err = AnswerText(s9, ex, bad[:80])
	assert.ErrorContains(t, err, "80 tokens, want 81")

	mz, err := New("maze", Options{"size": "8"})
	require.NoError(t, err)
	ex, err = Labeled(mz, SplitTest, 1, 0)
	require.NoError(t, err)
	got, err = AnswerText(mz, ex, ex.Label)
	require.NoError(t, err)
	assert.Len(t, got, 64)
	assert.Contains(t, got, "o", "the path is drawn")
	q := strings.ReplaceAll(mz.Format(ex), "\n", "")
	assert.Equal(t, q, strings.ReplaceAll(got, "o", " "), "the answer is the question with the path drawn")
}
