package task

import (
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/trm-go/trm/trm/puzzle"
)

// The Sudoku tasks ("sudoku4", "sudoku6", "sudoku9"): fill an N×N grid
// (N = 4 with 2×2 boxes, 6 with boxes of 2 rows by 3 columns, 9 with 3×3
// boxes) so that every row, column and box holds 1..N once.
//
// Encoding (package puzzle, as the official Sudoku-Extreme builder):
// L = N·N positions, the cells row by row; tokens 0 pad (never produced),
// 1 blank, 2..N+1 the digits 1..N (vocab N+2). The input is the puzzle, the
// label the whole solution: every cell is labelled, givens too. One puzzle
// id.
//
// Options:
//
//	blanks=B        blank cells of a generated puzzle (default 10, 22, 50
//	                for N = 4, 6, 9; at most 12, 28, 64: a puzzle needs
//	                4, 8, 17 givens to have a unique solution, and the
//	                generator rarely gets beyond 58 for 9×9)
//	min_rating=R    least solver rating (dead ends met, puzzle.Solve) of a
//	                generated puzzle (default 0)
//	augment=BOOL    apply a random validity-preserving relabelling
//	                (puzzle.RandomSudokuAugmentation: digits, bands, rows,
//	                stacks, columns, and a transposition for 4×4 and 9×9)
//	                to every train example (default true; test examples
//	                are never augmented)
//	test_percent=P  share of puzzle classes held out for the test split
//	                (default 10, 1..50; see Split below)
//	csv=PATH        train (and, without test_csv, test) on the puzzles of a
//	                Sudoku-Extreme CSV file (source,question,answer,rating)
//	                instead of generated ones
//	test_csv=PATH   take the test split from this CSV file, whole
//	limit=K         read only the first K rows of each CSV file (default 0:
//	                all; Sudoku-Extreme's train file has millions)
//
// The generator options are refused when csv is set (nothing is
// generated), test_percent when test_csv is set (nothing is bucketed), and
// limit without a file. Files are read on first use (Load, Len or Example),
// not by New, so a checkpoint trained on a file can answer user input
// on a machine without it.
//
// Split. A puzzle's class is the set of all puzzles an augmentation can
// turn it into; its key depends only on the class: an exact
// canonical form for 4×4 and 6×6 (the least relabelled grid over the
// whole symmetry group: 128 and 3,456 geometric maps), and for 9×9 (3.4
// million maps) a hash of invariants of the givens (which pairs of givens
// share a row, column, band, stack or digit, refined once). A fixed hash
// of the key puts test_percent% of the classes in the test bucket. Test
// examples are drawn from the test bucket only, train examples never
// from it, so no augmentation of a train puzzle is a test puzzle, under
// any seed. With a test file, train puzzles (generated or read) whose key
// is that of a test puzzle are dropped instead, and the bucket is unused.
// 4×4 has few classes (its 288 solved grids form 2), so its test split
// holds few kinds of puzzle: with the default 10 blanks, 200 test examples
// span about 33 classes against some 300 in 800 train examples; with 12
// blanks, 2 against 11 (TestSudokuTaskNoOverlap logs the counts).
//
// Order. Every example is a function of (split, seed, i) only. A file's
// test split is a fixed list in file order (Len = its size). Its train
// split is, with augment=false, the fixed list in an order drawn from the
// seed (Len = its size; a trainer wraps i modulo Len); with augment=true an
// endless stream (Len 0): example i is puzzle i mod n of pass i/n, each
// pass a new seeded order of the n puzzles, with a fresh augmentation.

// Defaults and limits of the Sudoku tasks.
const (
	defaultTestPercent = 10
	maxTestPercent     = 50
	// puzzleTestTries bounds the draws made to find a puzzle of the
	// wanted split before Example gives up with an error.
	puzzleTestTries = 5000
	// sudokuSolveBudget bounds the exact search Encode runs on user input
	// (dead ends, see puzzle.CountSolutionsBounded): about a tenth of a
	// second at worst. Real puzzles need far fewer (top95: at most a few
	// hundred); only contrived grids with no solution need more, and
	// those are accepted as not proven unsolvable.
	sudokuSolveBudget = 100_000
)

// sudokuTaskSizes lists the registered sizes with their default and
// greatest number of blanks.
var sudokuTaskSizes = []struct{ n, defBlanks, maxBlanks int }{
	{4, 10, 12},
	{6, 22, 28},
	{9, 50, 64},
}

func init() {
	for _, s := range sudokuTaskSizes {
		name := fmt.Sprintf("sudoku%d", s.n)
		doc := fmt.Sprintf("%d×%d Sudoku, generated (options blanks=1..%d, default %d; min_rating; augment) or from a Sudoku-Extreme CSV (csv=PATH, test_csv=PATH)",
			s.n, s.n, s.maxBlanks, s.defBlanks)
		Register(name, doc, func(opts Options) (Task, error) { return newSudokuTask(name, s.n, s.defBlanks, s.maxBlanks, opts) })
	}
}

// Sudoku is a Sudoku task; see the description above. Create it with
// New("sudoku9", opts) (or "sudoku4", "sudoku6").
type Sudoku struct {
	gridTask
	name      string
	shape     puzzle.Shape
	blanks    int
	minRating int
}

func newSudokuTask(name string, n, defBlanks, maxBlanks int, opts Options) (*Sudoku, error) {
	shape, err := puzzle.ShapeForSize(n)
	if err != nil {
		panic(err) // the size table is part of the program
	}
	src, err := parsePuzzleSource(name, opts, []string{"blanks", "min_rating"}, nil)
	if err != nil {
		return nil, err
	}
	t := &Sudoku{gridTask: gridTask{src: src}, name: name, shape: shape}
	if t.blanks, err = opts.Int(name, "blanks", defBlanks, 1, maxBlanks); err != nil {
		return nil, err
	}
	if t.minRating, err = opts.Int(name, "min_rating", 0, 0, 1_000_000); err != nil {
		return nil, err
	}
	if t.augment, err = opts.Bool(name, "augment", true); err != nil {
		return nil, err
	}
	src.cells = shape.NumCells()
	src.key = t.key
	src.parse = t.parseCSV
	return t, nil
}

// Name implements Task.
func (t *Sudoku) Name() string { return t.name }

// Shape returns the grid geometry.
func (t *Sudoku) Shape() puzzle.Shape { return t.shape }

// Options implements Task.
func (t *Sudoku) Options() Options {
	o := t.src.options()
	if t.src.generatesTrain() {
		o["blanks"] = strconv.Itoa(t.blanks)
		o["min_rating"] = strconv.Itoa(t.minRating)
	}
	o["augment"] = strconv.FormatBool(t.augment)
	return o
}

// VocabSize implements Task: pad, blank and N digits.
func (t *Sudoku) VocabSize() int { return t.shape.Vocab() }

// SeqLen implements Task: N·N cells.
func (t *Sudoku) SeqLen() int { return t.shape.NumCells() }

// Example implements Task.
func (t *Sudoku) Example(split Split, seed uint64, i int64) (Example, error) {
	q, a, r, err := t.src.example(split, seed, i, t.augment, t.generate)
	if err != nil {
		return Example{}, err
	}
	p := puzzle.Grid{Shape: t.shape, Cells: q}
	s := puzzle.Grid{Shape: t.shape, Cells: a}
	if r != nil {
		p, s = puzzle.AugmentSudoku(r, p, s)
	}
	in, lab := puzzle.EncodeSudoku(p, s)
	return Example{Input: in, Label: lab}, nil
}

// generate makes one puzzle with r (see puzzleSource.example).
func (t *Sudoku) generate(r *rand.Rand) (q, a []byte, err error) {
	p, err := puzzle.GenerateSudoku(r, puzzle.SudokuOptions{Shape: t.shape, Blanks: t.blanks, MinRating: t.minRating})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", t.name, err)
	}
	return p.Puzzle.Cells, p.Solution.Cells, nil
}

// parseCSV reads the puzzles of a Sudoku-Extreme file, handing each to add.
func (t *Sudoku) parseCSV(r io.Reader, add func(q, a []byte) error) error {
	return puzzle.ReadSudokuCSV(r, func(rec puzzle.SudokuRecord) error {
		if rec.Puzzle.Shape != t.shape {
			return fmt.Errorf("a %v puzzle, task %s wants %v (%d characters per grid)", rec.Puzzle.Shape, t.name, t.shape, t.shape.NumCells())
		}
		return add(rec.Puzzle.Cells, rec.Solution.Cells)
	})
}

// Encode implements Task. It accepts the N·N cells row by row, a digit
// 1..N or '.' or '0' for a blank, on one line ("53..7....6..195...") or
// laid out in lines, with spaces and the separators '|', '-', '+' ignored
// (the layout Decode writes). Givens that break a rule are refused, and so
// is a puzzle that the exact solver (puzzle.CountSolutionsBounded) proves
// to have no solution. The search is bounded (sudokuSolveBudget dead
// ends, a tenth of a second at worst): a puzzle it cannot decide within
// that budget is accepted. A puzzle with several solutions, an empty grid
// too, is accepted: any of them is a valid answer (see CheckAnswer).
func (t *Sudoku) Encode(text string) (Example, error) {
	n := t.shape.Size()
	want := fmt.Sprintf("want the %d cells of a %v Sudoku row by row, digits 1-%d and '.' or '0' for a blank, on one line or in %d lines",
		t.shape.NumCells(), t.shape, n, n)
	cells, other := 0, false
	for _, ch := range text {
		switch {
		case ch == '.' || ch >= '0' && ch <= '9':
			cells++
		case !strings.ContainsRune(" \t\r\n|-+", ch):
			other = true
		}
	}
	if !other && cells != t.shape.NumCells() {
		return Example{}, fmt.Errorf("%s: %d cells; %s", t.name, cells, want)
	}
	g, err := puzzle.ParseGridShape(text, t.shape)
	if err != nil {
		return Example{}, fmt.Errorf("%s: %w; %s", t.name, err, want)
	}
	if c := g.Conflict(); c != "" {
		return Example{}, fmt.Errorf("%s: the givens break a rule (%s), so the puzzle has no solution", t.name, c)
	}
	res, err := puzzle.CountSolutionsBounded(g, 1, sudokuSolveBudget)
	if err != nil {
		return Example{}, fmt.Errorf("%s: %w", t.name, err)
	}
	if res.Count == 0 && !res.Aborted {
		return Example{}, fmt.Errorf("%s: the puzzle has no solution (the exact solver found none)", t.name)
	}
	return Example{Input: g.Tokens()}, nil
}

// Format implements Task: the puzzle on one line, '.' for a blank ('?' for
// a token that is neither).
func (t *Sudoku) Format(ex Example) string {
	if len(ex.Input) != t.SeqLen() {
		return "?"
	}
	return puzzle.FormatSudokuTokens(t.shape, ex.Input, false)
}

// Decode implements Task: the predicted grid laid out in lines with box
// separators ('.' for a blank, '?' for a token that is not a digit). When
// the grid is not a solution of the puzzle in ex.Input, a last line says
// why (a blank cell, a repeated digit, a changed given); the correct
// answer has no such line.
func (t *Sudoku) Decode(ex Example, pred []int32) (string, error) {
	if len(pred) != t.SeqLen() {
		return "", fmt.Errorf("%s: prediction has %d tokens, want %d", t.name, len(pred), t.SeqLen())
	}
	s := puzzle.FormatSudokuTokens(t.shape, pred, true)
	if why := t.notSolved(ex, pred); why != "" {
		s += "(not a solution: " + why + ")\n"
	}
	return s, nil
}

// Answer implements Answerer: the predicted grid's cells on one line, row
// by row, '.' for a blank and '?' for a token that is not a digit.
func (t *Sudoku) Answer(ex Example, pred []int32) (string, error) {
	if len(pred) != t.SeqLen() {
		return "", fmt.Errorf("%s: prediction has %d tokens, want %d", t.name, len(pred), t.SeqLen())
	}
	return puzzle.FormatSudokuTokens(t.shape, pred, false), nil
}

// notSolved returns why pred is not a solution of ex's puzzle, or "".
func (t *Sudoku) notSolved(ex Example, pred []int32) string {
	g := puzzle.SudokuFromPrediction(t.shape, pred)
	if b := g.Blanks(); b > 0 {
		return fmt.Sprintf("%d of %d cells hold no digit", b, len(g.Cells))
	}
	if c := g.Conflict(); c != "" {
		return c
	}
	p, err := puzzle.DecodeSudoku(t.shape, ex.Input)
	if err != nil {
		return "" // no puzzle to compare with: the grid itself is valid
	}
	n := t.shape.Size()
	for i, v := range p.Cells {
		if v != 0 && g.Cells[i] != v {
			return fmt.Sprintf("r%dc%d holds %d, the puzzle gives %d", i/n+1, i%n+1, g.Cells[i], v)
		}
	}
	return ""
}

// CheckAnswer implements Checker: pred must be a complete grid that breaks
// no rule and keeps every given of the puzzle in ex.Input (any solution of
// a puzzle with several counts). known is false when ex.Input is not a
// puzzle of this task's shape or pred has the wrong length.
func (t *Sudoku) CheckAnswer(ex Example, pred []int32) (valid, known bool) {
	if len(pred) != t.SeqLen() {
		return false, false
	}
	if _, err := puzzle.DecodeSudoku(t.shape, ex.Input); err != nil {
		return false, false
	}
	return t.notSolved(ex, pred) == "", true
}

// Verify implements Task: the whole solution must match the label exactly
// (for a puzzle with a unique solution, the same as being a valid grid
// that keeps the givens; see CheckPrediction for the separate verdicts).
func (t *Sudoku) Verify(ex Example, pred []int32) bool { return ExactMatch(ex.Label, pred) }

// CheckPrediction judges pred against ex separately on exactness,
// completeness, validity and consistency with the givens. It returns an
// error if ex does not hold a puzzle and its solution of this task's shape
// or pred has the wrong length.
func (t *Sudoku) CheckPrediction(ex Example, pred []int32) (puzzle.SudokuCheck, error) {
	c, err := puzzle.CheckSudokuTokens(t.shape, ex.Input, ex.Label, pred)
	if err != nil {
		return puzzle.SudokuCheck{}, fmt.Errorf("%s: %w", t.name, err)
	}
	return c, nil
}
