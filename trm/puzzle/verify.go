package puzzle

import "fmt"

// SudokuCheck is the verdict on a predicted grid.
type SudokuCheck struct {
	// Exact: the prediction equals the reference solution cell for cell.
	Exact bool
	// Complete: no blank cell.
	Complete bool
	// Valid: complete, and every row, column and box holds each digit once.
	Valid bool
	// Consistent: every given of the puzzle is kept.
	Consistent bool
}

// Solved reports whether the prediction is a valid grid that keeps the
// givens: a correct answer even where it differs from the reference (which
// cannot happen for a puzzle with a unique solution).
func (c SudokuCheck) Solved() bool { return c.Valid && c.Consistent }

// CheckSudoku judges pred against a puzzle and its reference solution. It
// panics if the three grids differ in shape (a programming error).
func CheckSudoku(puzzle, solution, pred Grid) SudokuCheck {
	if puzzle.Shape != pred.Shape || solution.Shape != pred.Shape ||
		len(puzzle.Cells) != len(pred.Cells) || len(solution.Cells) != len(pred.Cells) {
		panic(fmt.Sprintf("puzzle: CheckSudoku: puzzle %v, solution %v, prediction %v", puzzle.Shape, solution.Shape, pred.Shape))
	}
	c := SudokuCheck{Exact: pred.Equal(solution), Complete: pred.Blanks() == 0, Consistent: true}
	c.Valid = c.Complete && pred.Check() == nil && pred.Conflict() == ""
	for i, v := range puzzle.Cells {
		if v != 0 && pred.Cells[i] != v {
			c.Consistent = false
			break
		}
	}
	return c
}

// CheckSudokuTokens is CheckSudoku on encoded sequences (see EncodeSudoku):
// the input and label tokens of one example and the predicted tokens. Pred
// tokens that are not digits count as blanks. It returns an error if the
// input or labels do not decode.
func CheckSudokuTokens(shape Shape, inputs, labels, pred []int32) (SudokuCheck, error) {
	puzzle, err := DecodeSudoku(shape, inputs)
	if err != nil {
		return SudokuCheck{}, fmt.Errorf("inputs: %w", err)
	}
	solution, err := DecodeSudoku(shape, labels)
	if err != nil {
		return SudokuCheck{}, fmt.Errorf("labels: %w", err)
	}
	if len(pred) != len(inputs) {
		return SudokuCheck{}, fmt.Errorf("prediction has %d tokens, want %d", len(pred), len(inputs))
	}
	return CheckSudoku(puzzle, solution, SudokuFromPrediction(shape, pred)), nil
}
