package trm

import (
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

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
// not by NewTask, so a checkpoint trained on a file can answer user input
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
		RegisterTask(name, doc, func(opts TaskOptions) (Task, error) { return newSudokuTask(name, s.n, s.defBlanks, s.maxBlanks, opts) })
	}
}

// SudokuTask is a Sudoku task; see the description above. Create it with
// NewTask("sudoku9", opts) (or "sudoku4", "sudoku6").
type SudokuTask struct {
	name      string
	shape     puzzle.Shape
	blanks    int
	minRating int
	augment   bool
	src       *puzzleSource
}

func newSudokuTask(name string, n, defBlanks, maxBlanks int, opts TaskOptions) (*SudokuTask, error) {
	shape, err := puzzle.ShapeForSize(n)
	if err != nil {
		panic(err) // the size table is part of the program
	}
	src, err := parsePuzzleSource(name, opts, []string{"blanks", "min_rating"}, nil)
	if err != nil {
		return nil, err
	}
	t := &SudokuTask{name: name, shape: shape, src: src}
	if t.blanks, err = opts.Int(name, "blanks", defBlanks, 1, maxBlanks); err != nil {
		return nil, err
	}
	if t.minRating, err = opts.Int(name, "min_rating", 0, 0, 1_000_000); err != nil {
		return nil, err
	}
	if t.augment, err = optBool(opts, name, "augment", true); err != nil {
		return nil, err
	}
	src.cells = shape.NumCells()
	src.key = t.key
	src.read = t.readCSV
	return t, nil
}

// Name implements Task.
func (t *SudokuTask) Name() string { return t.name }

// Shape returns the grid geometry.
func (t *SudokuTask) Shape() puzzle.Shape { return t.shape }

// Options implements Task.
func (t *SudokuTask) Options() TaskOptions {
	o := t.src.options()
	if t.src.generatesTrain() {
		o["blanks"] = strconv.Itoa(t.blanks)
		o["min_rating"] = strconv.Itoa(t.minRating)
	}
	o["augment"] = strconv.FormatBool(t.augment)
	return o
}

// VocabSize implements Task: pad, blank and N digits.
func (t *SudokuTask) VocabSize() int { return t.shape.Vocab() }

// SeqLen implements Task: N·N cells.
func (t *SudokuTask) SeqLen() int { return t.shape.NumCells() }

// NumPuzzleIDs implements Task: a single id.
func (t *SudokuTask) NumPuzzleIDs() int { return 1 }

// Load reads the task's CSV files now, if it has any and they are not read
// yet, and returns the first error met (also returned by every later
// Example). Calling it is optional: Len and Example load on first use.
func (t *SudokuTask) Load() error { return t.src.load() }

// Len implements Task: the number of puzzles of a file split (0 when the
// split is generated, when the train split of a file is augmented, or when
// the file cannot be read: Example then returns the error).
func (t *SudokuTask) Len(split Split) int { return t.src.length(split, t.augment) }

// Example implements Task.
func (t *SudokuTask) Example(split Split, seed uint64, i int64) (Example, error) {
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
func (t *SudokuTask) generate(r *rand.Rand) (q, a []byte, err error) {
	p, err := puzzle.GenerateSudoku(r, puzzle.SudokuOptions{Shape: t.shape, Blanks: t.blanks, MinRating: t.minRating})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", t.name, err)
	}
	return p.Puzzle.Cells, p.Solution.Cells, nil
}

// readCSV reads up to limit (0: all) puzzles of a Sudoku-Extreme file.
func (t *SudokuTask) readCSV(path string, limit int) (*puzzleList, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	l := &puzzleList{cells: t.shape.NumCells()}
	err = puzzle.ReadSudokuCSV(f, func(rec puzzle.SudokuRecord) error {
		if rec.Puzzle.Shape != t.shape {
			return fmt.Errorf("a %v puzzle, task %s wants %v (%d characters per grid)", rec.Puzzle.Shape, t.name, t.shape, t.shape.NumCells())
		}
		l.add(rec.Puzzle.Cells, rec.Solution.Cells)
		if limit > 0 && l.Len() == limit {
			return errStopReading
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStopReading) {
		return nil, err
	}
	return l, nil
}

// Encode implements Task. It accepts the N·N cells row by row, a digit
// 1..N or '.' or '0' for a blank, on one line ("53..7....6..195...") or
// laid out in lines, with spaces and the separators '|', '-', '+' ignored
// (the layout Decode writes). Givens that break a rule are refused.
func (t *SudokuTask) Encode(text string) (Example, error) {
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
	return Example{Input: g.Tokens()}, nil
}

// Format implements Task: the puzzle on one line, '.' for a blank ('?' for
// a token that is neither).
func (t *SudokuTask) Format(ex Example) string {
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
func (t *SudokuTask) Decode(ex Example, pred []int32) (string, error) {
	if len(pred) != t.SeqLen() {
		return "", fmt.Errorf("%s: prediction has %d tokens, want %d", t.name, len(pred), t.SeqLen())
	}
	s := puzzle.FormatSudokuTokens(t.shape, pred, true)
	if why := t.notSolved(ex, pred); why != "" {
		s += "(not a solution: " + why + ")\n"
	}
	return s, nil
}

// notSolved returns why pred is not a solution of ex's puzzle, or "".
func (t *SudokuTask) notSolved(ex Example, pred []int32) string {
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

// Verify implements Task: the whole solution must match the label exactly
// (for a puzzle with a unique solution, the same as being a valid grid
// that keeps the givens; see CheckPrediction for the separate verdicts).
func (t *SudokuTask) Verify(ex Example, pred []int32) bool { return ExactMatch(ex.Label, pred) }

// CheckPrediction judges pred against ex separately on exactness,
// completeness, validity and consistency with the givens. It returns an
// error if ex does not hold a puzzle and its solution of this task's shape
// or pred has the wrong length.
func (t *SudokuTask) CheckPrediction(ex Example, pred []int32) (puzzle.SudokuCheck, error) {
	c, err := puzzle.CheckSudokuTokens(t.shape, ex.Input, ex.Label, pred)
	if err != nil {
		return puzzle.SudokuCheck{}, fmt.Errorf("%s: %w", t.name, err)
	}
	return c, nil
}

// key returns the class key of a puzzle (see Split above).
func (t *SudokuTask) key(q []byte) uint64 {
	if t.shape.Size() <= 6 {
		return hashBytes(sudokuCanonical(t.shape, q))
	}
	return sudokuInvariant(t.shape, q)
}

// sudokuCanonical returns the canonical form of the puzzle q (cells row by
// row, 0 blank): over every map of the augmentation group (transposition
// when the boxes are square, band and row, stack and column permutations),
// the lexicographically least grid with digits renamed in order of first
// appearance (which is the least renaming of each mapped grid). Two puzzles
// have the same form exactly when an augmentation maps one to the other.
// It enumerates the whole group: use it for small shapes only.
func sudokuCanonical(shape puzzle.Shape, q []byte) []byte {
	n := shape.Size()
	rows, cols := sudokuGroupPerms(shape)
	transposes := []bool{false}
	if shape.BoxRows == shape.BoxCols {
		transposes = append(transposes, true)
	}
	best := make([]byte, n*n)
	cur := make([]byte, n*n)
	have := false
	for _, tr := range transposes {
		for _, rp := range rows {
			for _, cp := range cols {
				var rename [puzzle.MaxSudokuSize + 1]byte
				next := byte(1)
				less := !have // cur is already known to be below best
				worse := false
				for i := range cur {
					sr, sc := rp[i/n], cp[i%n]
					if tr {
						sr, sc = sc, sr
					}
					v := q[sr*n+sc]
					if v != 0 {
						if rename[v] == 0 {
							rename[v] = next
							next++
						}
						v = rename[v]
					}
					cur[i] = v
					if !less {
						if v > best[i] {
							worse = true
							break
						}
						less = v < best[i]
					}
				}
				if !worse && less {
					copy(best, cur)
					have = true
				}
			}
		}
	}
	return best
}

// sudokuPermCache maps a puzzle.Shape to its [2][][]int row and column
// permutations (see sudokuGroupPerms).
var sudokuPermCache sync.Map

// sudokuGroupPerms returns the row permutations (bands and rows within
// them) and the column permutations (stacks and columns within them) of
// the shape's augmentation group, computed once per shape. The caller must
// not change them.
func sudokuGroupPerms(shape puzzle.Shape) (rows, cols [][]int) {
	if v, ok := sudokuPermCache.Load(shape); ok {
		p := v.([2][][]int)
		return p[0], p[1]
	}
	n := shape.Size()
	p := [2][][]int{allGroupedPerms(n/shape.BoxRows, shape.BoxRows), allGroupedPerms(n/shape.BoxCols, shape.BoxCols)}
	v, _ := sudokuPermCache.LoadOrStore(shape, p)
	p = v.([2][][]int)
	return p[0], p[1]
}

// allGroupedPerms lists every permutation of groups·size items that keeps
// blocks of size consecutive items together (the blocks permuted, and the
// items within each block).
func allGroupedPerms(groups, size int) [][]int {
	blockOrders := allPerms(groups)
	inner := allPerms(size)
	var out [][]int
	var rec func(prefix []int, order []int, b int)
	rec = func(prefix []int, order []int, b int) {
		if b == len(order) {
			out = append(out, append([]int(nil), prefix...))
			return
		}
		for _, in := range inner {
			p := prefix
			for _, k := range in {
				p = append(p, order[b]*size+k)
			}
			rec(p, order, b+1)
		}
	}
	for _, order := range blockOrders {
		rec(make([]int, 0, groups*size), order, 0)
	}
	return out
}

// allPerms lists the n! permutations of 0..n-1.
func allPerms(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var out [][]int
	for _, p := range allPerms(n - 1) {
		for pos := 0; pos <= len(p); pos++ {
			q := make([]int, 0, n)
			q = append(q, p[:pos]...)
			q = append(q, n-1)
			q = append(q, p[pos:]...)
			out = append(out, q)
		}
	}
	return out
}

// sudokuInvariant returns a hash of the puzzle q that no augmentation
// changes: for each given, the counts of the other givens by relation
// (same row, column, band, stack; same digit), refined once by the
// multiset of its neighbours' counts, summed over the givens; for square
// boxes the least of the grid's and its transpose's values. Different
// classes may share a value (they then fall in the same split, which is
// harmless); one class never has two.
func sudokuInvariant(shape puzzle.Shape, q []byte) uint64 {
	h := sudokuInvariantOnce(shape, q, false)
	if shape.BoxRows == shape.BoxCols {
		h = min(h, sudokuInvariantOnce(shape, q, true))
	}
	return h
}

func sudokuInvariantOnce(shape puzzle.Shape, q []byte, transpose bool) uint64 {
	n := shape.Size()
	// The givens: row, column, band, stack and digit.
	var r, c, band, stack, d [puzzle.MaxSudokuSize * puzzle.MaxSudokuSize]uint8
	g := 0
	for i, v := range q {
		if v == 0 {
			continue
		}
		ri, ci := i/n, i%n
		if transpose {
			ri, ci = ci, ri
		}
		r[g], c[g], d[g] = uint8(ri), uint8(ci), v
		band[g], stack[g] = uint8(ri/shape.BoxRows), uint8(ci/shape.BoxCols)
		g++
	}
	// rel is the relation of givens i and j as 5 bits.
	rel := func(i, j int) int {
		k := 0
		if r[i] == r[j] {
			k |= 1
		}
		if c[i] == c[j] {
			k |= 2
		}
		if band[i] == band[j] {
			k |= 4
		}
		if stack[i] == stack[j] {
			k |= 8
		}
		if d[i] == d[j] {
			k |= 16
		}
		return k
	}
	// Round 1: f[i] = hash of the counts of the other givens per relation
	// (each count < 81 fits a byte; 32 bytes packed in 4 words).
	var f [puzzle.MaxSudokuSize * puzzle.MaxSudokuSize]uint64
	for i := range g {
		var counts [32]uint8
		for j := range g {
			if i != j {
				counts[rel(i, j)]++
			}
		}
		h := uint64(0x243f6a8885a308d3)
		for w := range 4 {
			var word uint64
			for b := range 8 {
				word |= uint64(counts[8*w+b]) << (8 * b)
			}
			h = mix64(h ^ word)
		}
		f[i] = h
	}
	// Round 2: each given's own value and the multiset (a sum of hashes,
	// which ignores order) of (relation, neighbour value).
	var total uint64
	for i := range g {
		var sum uint64
		for j := range g {
			if i != j {
				sum += mix64(f[j] ^ (uint64(rel(i, j)) * 0x9e3779b97f4a7c15))
			}
		}
		total += mix64(f[i] ^ mix64(sum))
	}
	return mix64(total ^ uint64(g))
}

// hashBytes is FNV-1a over b, finished with mix64.
func hashBytes(b []byte) uint64 {
	h := uint64(0xcbf29ce484222325)
	for _, c := range b {
		h ^= uint64(c)
		h *= 0x100000001b3
	}
	return mix64(h)
}

// puzzleTestBucket reports whether class key k is held out for testing
// when percent% of the classes are.
func puzzleTestBucket(k uint64, percent int) bool {
	return mix64(k^0x510e527fade682d1)%100 < uint64(percent)
}

// errStopReading ends a CSV read early (the limit option).
var errStopReading = errors.New("enough rows read")

// optBool returns option key as a boolean (true/false, 1/0), or def when
// it is absent.
func optBool(o TaskOptions, task, key string, def bool) (bool, error) {
	s, ok := o[key]
	if !ok {
		return def, nil
	}
	v, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return false, fmt.Errorf("task %s: option %s=%q, want true or false", task, key, s)
	}
	return v, nil
}

// puzzleList holds puzzles flat: question and answer of cells bytes each.
type puzzleList struct {
	cells int
	q, a  []byte
}

// Len returns the number of puzzles.
func (l *puzzleList) Len() int { return len(l.q) / l.cells }

func (l *puzzleList) add(q, a []byte) {
	l.q = append(l.q, q...)
	l.a = append(l.a, a...)
}

// at returns copies of puzzle i's question and answer.
func (l *puzzleList) at(i int) (q, a []byte) {
	lo, hi := i*l.cells, (i+1)*l.cells
	return append([]byte(nil), l.q[lo:hi]...), append([]byte(nil), l.a[lo:hi]...)
}

// puzzleSource is the data behind a grid-puzzle task's splits, shared by
// the Sudoku and maze tasks: generated puzzles or CSV files, the class
// keys that keep the splits apart, and the order of file examples (see the
// Sudoku task's description).
type puzzleSource struct {
	task        string
	trainPath   string // csv: "" when train is generated
	testPath    string // test_csv: "" when test comes from the bucket
	limit       int
	testPercent int

	// Set by the task after parsePuzzleSource.
	cells int
	key   func(q []byte) uint64
	read  func(path string, limit int) (*puzzleList, error)

	once        sync.Once
	err         error
	train, test *puzzleList // nil when generated
	testKeys    map[uint64]bool
	dropped     int // train file puzzles dropped as test puzzles
}

// parsePuzzleSource reads the options shared by the grid-puzzle tasks (csv,
// test_csv, test_percent, limit; augment is the task's) and checks that no
// option outside those, genOpts and otherOpts is given, and that genOpts
// (the generator's) are given only when the train split is generated.
func parsePuzzleSource(task string, opts TaskOptions, genOpts, otherOpts []string) (*puzzleSource, error) {
	known := append([]string{"augment", "csv", "limit", "test_csv", "test_percent"}, genOpts...)
	known = append(known, otherOpts...)
	slices.Sort(known)
	if err := opts.CheckKnown(task, known...); err != nil {
		return nil, err
	}
	s := &puzzleSource{task: task, trainPath: strings.TrimSpace(opts["csv"]), testPath: strings.TrimSpace(opts["test_csv"])}
	for _, k := range []string{"csv", "test_csv"} {
		if v, ok := opts[k]; ok && strings.TrimSpace(v) == "" {
			return nil, fmt.Errorf("task %s: option %s is empty, want the path of a CSV file", task, k)
		}
	}
	if s.trainPath != "" {
		for _, k := range genOpts {
			if _, ok := opts[k]; ok {
				return nil, fmt.Errorf("task %s: option %s does nothing with csv=%s (the puzzles are read, not generated)", task, k, s.trainPath)
			}
		}
	}
	var err error
	if s.testPath != "" {
		if _, ok := opts["test_percent"]; ok {
			return nil, fmt.Errorf("task %s: option test_percent does nothing with test_csv=%s (the test split is that file)", task, s.testPath)
		}
	} else if s.testPercent, err = opts.Int(task, "test_percent", defaultTestPercent, 1, maxTestPercent); err != nil {
		return nil, err
	}
	if s.trainPath == "" && s.testPath == "" {
		if _, ok := opts["limit"]; ok {
			return nil, fmt.Errorf("task %s: option limit needs csv or test_csv (it limits the rows read)", task)
		}
	}
	if s.limit, err = opts.Int(task, "limit", 0, 0, 1<<40); err != nil {
		return nil, err
	}
	return s, nil
}

// options returns the source's options with defaults filled in.
func (s *puzzleSource) options() TaskOptions {
	o := TaskOptions{}
	if s.trainPath != "" {
		o["csv"] = s.trainPath
	}
	if s.testPath != "" {
		o["test_csv"] = s.testPath
	} else {
		o["test_percent"] = strconv.Itoa(s.testPercent)
	}
	if s.trainPath != "" || s.testPath != "" {
		o["limit"] = strconv.Itoa(s.limit)
	}
	return o
}

// generatesTrain reports whether train puzzles are generated.
func (s *puzzleSource) generatesTrain() bool { return s.trainPath == "" }

// load reads the files once (see the Split and Order notes).
func (s *puzzleSource) load() error {
	s.once.Do(func() { s.err = s.loadFiles() })
	return s.err
}

func (s *puzzleSource) loadFiles() error {
	readFile := func(path string) (*puzzleList, error) {
		l, err := s.read(path, s.limit)
		if err != nil {
			return nil, fmt.Errorf("task %s: csv %q: %w", s.task, path, err)
		}
		if l.Len() == 0 {
			return nil, fmt.Errorf("task %s: csv %q holds no puzzle, want the header source,question,answer,rating and at least one row", s.task, path)
		}
		return l, nil
	}
	if s.testPath != "" {
		test, err := readFile(s.testPath)
		if err != nil {
			return err
		}
		s.test = test
		s.testKeys = make(map[uint64]bool, test.Len())
		for i := range test.Len() {
			q, _ := test.at(i)
			s.testKeys[s.key(q)] = true
		}
	}
	if s.trainPath == "" {
		return nil
	}
	all, err := readFile(s.trainPath)
	if err != nil {
		return err
	}
	train := &puzzleList{cells: s.cells}
	test := &puzzleList{cells: s.cells}
	for i := range all.Len() {
		q, a := all.at(i)
		k := s.key(q)
		switch {
		case s.testKeys != nil && s.testKeys[k]:
			s.dropped++
		case s.testKeys == nil && puzzleTestBucket(k, s.testPercent):
			test.add(q, a)
		default:
			train.add(q, a)
		}
	}
	if train.Len() == 0 {
		return fmt.Errorf("task %s: csv %q: none of its %d puzzles is left for training (%d are test puzzles)", s.task, s.trainPath, all.Len(), all.Len()-train.Len())
	}
	s.train = train
	if s.testPath == "" {
		if test.Len() == 0 {
			return fmt.Errorf("task %s: csv %q: none of its %d puzzles falls in the test bucket (test_percent=%d): give more rows, a larger test_percent or test_csv", s.task, s.trainPath, all.Len(), s.testPercent)
		}
		s.test = test
	}
	return nil
}

// list returns the file list of split, or nil when it is generated.
func (s *puzzleSource) list(split Split) *puzzleList {
	if split == SplitTest {
		return s.test
	}
	return s.train
}

// length implements Task.Len (see SudokuTask.Len).
func (s *puzzleSource) length(split Split, augment bool) int {
	if s.load() != nil {
		return 0
	}
	l := s.list(split)
	if l == nil || (split == SplitTrain && augment) {
		return 0
	}
	return l.Len()
}

// example returns the question and answer of example i of split, and the
// generator to augment it with (nil for none: test examples, or augment
// off). gen makes one puzzle from a random source.
func (s *puzzleSource) example(split Split, seed uint64, i int64, augment bool,
	gen func(*rand.Rand) (q, a []byte, err error)) (q, a []byte, aug *rand.Rand, err error) {
	if _, err := ParseSplit(string(split)); err != nil {
		return nil, nil, nil, fmt.Errorf("task %s: %w", s.task, err)
	}
	if i < 0 {
		return nil, nil, nil, fmt.Errorf("task %s: example index %d, want ≥ 0", s.task, i)
	}
	if err := s.load(); err != nil {
		return nil, nil, nil, err
	}
	r := rand.New(ExampleRand(seed, split, i))
	if split == SplitTrain && augment {
		aug = r
	}
	if l := s.list(split); l != nil {
		n := int64(l.Len())
		if split == SplitTest {
			if i >= n {
				return nil, nil, nil, fmt.Errorf("task %s: test example %d, the test file holds %d (want 0..%d)", s.task, i, n, n-1)
			}
			q, a = l.at(int(i))
			return q, a, nil, nil
		}
		if !augment && i >= n {
			return nil, nil, nil, fmt.Errorf("task %s: train example %d, the train split holds %d (want 0..%d)", s.task, i, n, n-1)
		}
		q, a = l.at(int(filePermute(seed, i/n, i%n, n)))
		return q, a, aug, nil
	}
	// Generated: draw until the puzzle belongs to split.
	for range puzzleTestTries {
		q, a, err := gen(r)
		if err != nil {
			return nil, nil, nil, err
		}
		k := s.key(q)
		var isTest bool
		if s.testKeys != nil {
			isTest = s.testKeys[k]
		} else {
			isTest = puzzleTestBucket(k, s.testPercent)
		}
		if isTest == (split == SplitTest) {
			return q, a, aug, nil
		}
	}
	return nil, nil, nil, fmt.Errorf("task %s: no %s puzzle in %d generated ones: these options allow too few kinds of puzzle to hold some out for testing (raise test_percent, or allow more puzzles: a larger size, other blanks or min_path)",
		s.task, split, puzzleTestTries)
}

// filePermute maps position p of pass e over a list of n items to an item:
// an affine permutation p → (a·p + b) mod n with a coprime to n, drawn from
// (seed, e), so each pass visits every item once in a new order.
func filePermute(seed uint64, e, p, n int64) int64 {
	if n <= 1 {
		return 0
	}
	r := NewRand(seed, uint64(e), 0x66696c65) // "file"
	var a uint64
	for {
		a = 1 + r.Uint64N(uint64(n-1))
		if gcd(a, uint64(n)) == 1 {
			break
		}
	}
	b := r.Uint64N(uint64(n))
	return int64((mulMod(a, uint64(p), uint64(n)) + b) % uint64(n))
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// mulMod returns a·b mod m (m > 0).
func mulMod(a, b, m uint64) uint64 {
	hi, lo := bits.Mul64(a%m, b%m)
	return bits.Rem64(hi, lo, m)
}
