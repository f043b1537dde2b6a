package task

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/trm/puzzle"
)

// noChecker hides a task's CheckAnswer: CheckAnswer then falls back on
// Verify for labelled examples.
type noChecker struct{ Task }

// TestCheckAnswer: each task judges an answer from the input alone, as
// inference needs for user input (which has no label).
func TestCheckAnswer(t *testing.T) {
	arith := NewArith(5)
	sum, err := arith.Encode("48213 + 99999")
	require.NoError(t, err)
	labelled, err := arith.Encode("48213 + 99999 = 148212")
	require.NoError(t, err)
	answer := func(digits string) []int32 { // the answer 148212 as predicted tokens
		p := append([]int32(nil), sum.Input...)
		for i := range 6 {
			p[10+i] = arithDigit + int32(digits[5-i]-'0')
		}
		return p
	}

	s9 := newSudokuT(t, "sudoku9", nil)
	top1 := "4.....8.5.3..........7......2.....6.....8.4......1.......6.3.7.5..2.....1.4......"
	puz, err := s9.Encode(top1)
	require.NoError(t, err)
	sol, _, err := puzzle.Solve(mustGrid(t, top1))
	require.NoError(t, err)
	swapped := append([]int32(nil), sol.Tokens()...)
	swapped[0], swapped[1] = swapped[1], swapped[0]
	holed := append([]int32(nil), sol.Tokens()...)
	holed[40] = puzzle.SudokuBlankToken
	s4 := newSudokuT(t, "sudoku4", nil)
	empty4, err := s4.Encode("................")
	require.NoError(t, err)
	given4, err := s4.Encode("1...............")
	require.NoError(t, err)
	anyGrid := mustGrid(t, "2143341243211234").Tokens()

	mz := newMazeT(t, Options{"size": "7"})
	maze, err := mz.Encode(open7)
	require.NoError(t, err)
	path := func(s string) []int32 {
		m, err := puzzle.ParseMaze(s)
		require.NoError(t, err)
		return m.Tokens()
	}

	for _, c := range []struct {
		name         string
		task         Task
		ex           Example
		pred         []int32
		valid, known bool
	}{
		{"arith: the sum", arith, sum, answer("148212"), true, true},
		{"arith: a wrong digit", arith, sum, answer("148211"), false, true},
		{"arith: a leading digit too many", arith, sum, answer("948212"), false, true},
		{"arith: a blank", arith, sum, append(answer("148212")[:15:15], arithBlank), false, true},
		{"arith: wrong length", arith, sum, answer("148212")[1:], false, false},
		{"arith: not a digit in an operand", arith, Example{Input: make([]int32, 16)}, answer("148212"), false, false},
		{"arith: the label is not needed", arith, labelled, answer("148212"), true, true},
		{"sudoku: the solution", s9, puz, sol.Tokens(), true, true},
		{"sudoku: a rule broken", s9, puz, swapped, false, true},
		{"sudoku: a blank", s9, puz, holed, false, true},
		{"sudoku: a given changed", s4, given4, anyGrid, false, true},
		{"sudoku: any solution of an empty grid", s4, empty4, anyGrid, true, true},
		{"sudoku: the puzzle itself", s9, puz, puz.Input, false, true},
		{"sudoku: wrong length", s9, puz, sol.Tokens()[1:], false, false},
		{"sudoku: not a puzzle", s9, Example{Input: make([]int32, 81)}, sol.Tokens(), false, false},
		{"maze: a shortest path", mz, maze, path(in7("#####\n#Soo#\n#  o#\n#  G#\n#####")), true, true},
		{"maze: another shortest path", mz, maze, path(in7("#####\n#S  #\n#o  #\n#ooG#\n#####")), true, true},
		{"maze: a longer path", mz, maze, path(in7("#####\n#Soo#\n#o o#\n#  G#\n#####")), false, true},
		{"maze: no path", mz, maze, maze.Input, false, true},
		{"maze: wrong length", mz, maze, maze.Input[1:], false, false},
		{"maze: not a maze", mz, Example{Input: make([]int32, 49)}, maze.Input, false, false},
		{"no checker, labelled: Verify", noChecker{arith}, labelled, answer("148212"), true, true},
		{"no checker, labelled, wrong", noChecker{arith}, labelled, answer("148213"), false, true},
		{"no checker, no label: unknown", noChecker{arith}, sum, answer("148212"), false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			valid, known := CheckAnswer(c.task, c.ex, c.pred)
			assert.Equal(t, c.valid, valid, "valid")
			assert.Equal(t, c.known, known, "known")
		})
	}
	var _ Checker = arith
	var _ Checker = s9
	var _ Checker = mz
}
