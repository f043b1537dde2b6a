package puzzle

import (
	"errors"
	"fmt"
	"math/rand/v2"
)

// ErrGiveUp is wrapped by the errors of the generators when no puzzle met the
// constraints within the allowed number of attempts.
var ErrGiveUp = errors.New("constraints not met")

// DefaultMaxAttempts is the number of attempts a generator makes when its
// options leave MaxAttempts at 0.
const DefaultMaxAttempts = 50

// SudokuOptions sets what GenerateSudoku makes.
type SudokuOptions struct {
	// Shape of the grid: Shape4, Shape6 or Shape9 (any valid shape works).
	Shape Shape
	// Blanks is the number of blank cells of the puzzle. A unique solution
	// needs enough givens: at most 12 blanks for 4×4, and in practice about
	// 55–58 for 9×9 with this (greedy) generator.
	Blanks int
	// MinRating is the least rating (solver dead ends before the solution,
	// see SolveResult.Rating) the puzzle must have. 0 accepts any puzzle.
	MinRating int
	// MaxAttempts bounds the number of candidate puzzles made before giving
	// up (DefaultMaxAttempts when 0).
	MaxAttempts int
}

// SudokuPuzzle is a generated puzzle with its unique solution and rating.
type SudokuPuzzle struct {
	Puzzle, Solution Grid
	Rating           int
}

// GenerateSudoku makes a puzzle with a unique solution, exactly opts.Blanks
// blank cells and a rating of at least opts.MinRating. Each attempt draws a
// random full grid (a search from the empty grid with digits tried in random
// order), then visits the cells in random order and blanks each one whose
// removal keeps the solution unique, until the blank count is reached. An
// attempt that runs out of cells, or ends below the rating, is dropped;
// after opts.MaxAttempts of them the error wraps ErrGiveUp. The result
// depends only on opts and the state of rng.
func GenerateSudoku(rng *rand.Rand, opts SudokuOptions) (SudokuPuzzle, error) {
	if !opts.Shape.Valid() {
		return SudokuPuzzle{}, fmt.Errorf("sudoku generator: shape %+v: want positive box sides and N ≤ %d", opts.Shape, MaxSudokuSize)
	}
	cells := opts.Shape.NumCells()
	if opts.Blanks < 0 || opts.Blanks >= cells {
		return SudokuPuzzle{}, fmt.Errorf("sudoku generator: %d blanks for %v: want 0..%d", opts.Blanks, opts.Shape, cells-1)
	}
	if opts.MinRating < 0 {
		return SudokuPuzzle{}, fmt.Errorf("sudoku generator: minimum rating %d: want ≥ 0", opts.MinRating)
	}
	attempts := opts.MaxAttempts
	if attempts == 0 {
		attempts = DefaultMaxAttempts
	}
	if attempts < 0 {
		return SudokuPuzzle{}, fmt.Errorf("sudoku generator: max attempts %d: want ≥ 0", opts.MaxAttempts)
	}
	counter := newSolver(opts.Shape, 2, nil)
	filler := newSolver(opts.Shape, 1, rng)
	order := make([]int, cells)
	for range attempts {
		solution := randomFullGrid(filler)
		puzzle := solution.Clone()
		for i := range order {
			order[i] = i
		}
		rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		blanks := 0
		for _, i := range order {
			if blanks == opts.Blanks {
				break
			}
			d := puzzle.Cells[i]
			puzzle.Cells[i] = 0
			if counter.run(puzzle).Count == 1 {
				blanks++
			} else {
				puzzle.Cells[i] = d
			}
		}
		if blanks < opts.Blanks {
			continue
		}
		res := counter.run(puzzle)
		if res.Rating < opts.MinRating {
			continue
		}
		return SudokuPuzzle{Puzzle: puzzle, Solution: solution, Rating: res.Rating}, nil
	}
	return SudokuPuzzle{}, fmt.Errorf("sudoku generator: no %v puzzle with %d blanks, a unique solution and rating ≥ %d in %d attempts: %w",
		opts.Shape, opts.Blanks, opts.MinRating, attempts, ErrGiveUp)
}

// randomFullGrid draws a complete valid grid: the first solution of the
// empty grid found by s, a solver with limit 1 that tries digits in random
// order.
func randomFullGrid(s *solver) Grid {
	res := s.run(NewGrid(s.shape))
	if res.Count != 1 {
		panic(fmt.Sprintf("puzzle: empty %v grid has no solution", s.shape))
	}
	return res.Solution
}
