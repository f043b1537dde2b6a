package task

import (
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/trm-go/trm/trm/puzzle"
)

// The maze task ("maze"): mark a shortest path from S to G in an N×N maze.
//
// Encoding (package puzzle, as the official Maze-Hard builder): L = N·N
// positions, the cells row by row; tokens 0 pad (never produced), 1 '#'
// wall, 2 ' ' open, 3 'S' start, 4 'G' goal, 5 'o' path (vocab 6). The
// input is the question, the label the question with the cells of a
// shortest path strictly between S and G marked 'o'; every cell is
// labelled. One puzzle id. A prediction is right when its 'o' cells form
// any shortest path (puzzle.CheckMazePath), not only the label's.
//
// Options:
//
//	size=N          side of the maze, 7..64 (default 11, small enough to
//	                train on a CPU; 30 when a CSV file is given, the size
//	                of Maze-Hard)
//	min_path=K      least number of moves of the shortest path of a
//	                generated maze (default N+1, e.g. 12 for 11×11;
//	                Maze-Hard asks for more than 110 on 30×30)
//	openings=F      fraction 0..1 of the walls between two passages knocked
//	                out after carving, making loops so that several paths
//	                join S and G (default 0.05; 0 gives perfect mazes)
//	augment=BOOL    apply one of the 8 symmetries of the square, drawn at
//	                random, to every train example (default true; test
//	                examples are never transformed)
//	test_percent=P  share of maze classes held out for testing (default 10)
//	csv=PATH        train (and, without test_csv, test) on a Maze-Hard CSV
//	                file (source,question,answer,rating)
//	test_csv=PATH   take the test split from this CSV file, whole
//	limit=K         read only the first K rows of each CSV file
//
// Splits, orders and the option rules are those of the Sudoku tasks (see
// Sudoku), with a maze's class being its 8 images under the symmetries
// of the square, keyed exactly by the least of them.
const (
	defaultMazeSize     = 11
	defaultMazeFileSize = 30
	minMazeSize         = 7
	maxMazeSize         = 64
	defaultMazeOpenings = 0.05
)

func init() {
	Register("maze", fmt.Sprintf("shortest path through an N×N maze, generated (options size=%d..%d, default %d; min_path; openings; augment) or from a Maze-Hard CSV (csv=PATH, test_csv=PATH)",
		minMazeSize, maxMazeSize, defaultMazeSize), func(opts Options) (Task, error) { return newMazeTask(opts) })
}

// Maze is the maze task; see the description above. Create it with
// New("maze", opts).
type Maze struct {
	gridTask
	size     int
	minPath  int
	openings float64
}

func newMazeTask(opts Options) (*Maze, error) {
	const name = "maze"
	src, err := parsePuzzleSource(name, opts, []string{"min_path", "openings"}, []string{"size"})
	if err != nil {
		return nil, err
	}
	t := &Maze{gridTask: gridTask{src: src}}
	defSize := defaultMazeSize
	if src.trainPath != "" || src.testPath != "" {
		defSize = defaultMazeFileSize
	}
	if t.size, err = opts.Int(name, "size", defSize, minMazeSize, maxMazeSize); err != nil {
		return nil, err
	}
	if t.minPath, err = opts.Int(name, "min_path", t.size+1, 0, t.size*t.size); err != nil {
		return nil, err
	}
	t.openings = defaultMazeOpenings
	if s, ok := opts["openings"]; ok {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || !(v >= 0 && v <= 1) {
			return nil, fmt.Errorf("task %s: option openings=%q, want a fraction in [0, 1]", name, s)
		}
		t.openings = v
	}
	if t.augment, err = opts.Bool(name, "augment", true); err != nil {
		return nil, err
	}
	src.cells = t.size * t.size
	src.key = mazeKey
	src.parse = t.parseCSV
	return t, nil
}

// Name implements Task.
func (t *Maze) Name() string { return "maze" }

// Size returns the side N of the mazes.
func (t *Maze) Size() int { return t.size }

// Options implements Task.
func (t *Maze) Options() Options {
	o := t.src.options()
	o["size"] = strconv.Itoa(t.size)
	if t.src.generatesTrain() {
		o["min_path"] = strconv.Itoa(t.minPath)
		o["openings"] = strconv.FormatFloat(t.openings, 'g', -1, 64)
	}
	o["augment"] = strconv.FormatBool(t.augment)
	return o
}

// VocabSize implements Task: pad and the five maze characters.
func (t *Maze) VocabSize() int { return puzzle.MazeVocab }

// SeqLen implements Task: N·N cells.
func (t *Maze) SeqLen() int { return t.size * t.size }

// Example implements Task.
func (t *Maze) Example(split Split, seed uint64, i int64) (Example, error) {
	q, a, r, err := t.src.example(split, seed, i, t.augment, t.generate)
	if err != nil {
		return Example{}, err
	}
	question := puzzle.Maze{N: t.size, Cells: q}
	answer := puzzle.Maze{N: t.size, Cells: a}
	if r != nil {
		question, answer, _ = puzzle.AugmentMaze(r, question, answer)
	}
	in, lab := puzzle.EncodeMaze(question, answer)
	return Example{Input: in, Label: lab}, nil
}

// generate makes one maze with r.
func (t *Maze) generate(r *rand.Rand) (q, a []byte, err error) {
	p, err := puzzle.GenerateMaze(r, puzzle.MazeOptions{Size: t.size, MinPathLen: t.minPath, Openings: t.openings})
	if err != nil {
		return nil, nil, fmt.Errorf("maze: %w", err)
	}
	return p.Question.Cells, p.Answer.Cells, nil
}

// parseCSV reads the mazes of a Maze-Hard file, handing each to add, and
// checks that each is N×N and its answer marks a shortest path.
func (t *Maze) parseCSV(r io.Reader, add func(q, a []byte) error) error {
	return puzzle.ReadMazeCSV(r, func(rec puzzle.MazeRecord) error {
		if rec.Question.N != t.size {
			return fmt.Errorf("a %dx%d maze, the task has size=%d (set the option size=%d)", rec.Question.N, rec.Question.N, t.size, rec.Question.N)
		}
		if err := puzzle.CheckMazePath(rec.Question, rec.Answer); err != nil {
			return fmt.Errorf("answer: %w", err)
		}
		return add(rec.Question.Cells, rec.Answer.Cells)
	})
}

// Encode implements Task. It accepts the maze as N lines of N characters
// (a string with '\n' between lines; "\r\n" and a leading or final line
// break are fine) or as one line of N·N characters, using '#' wall, ' '
// open, 'S' start and 'G' goal: exactly one S and one G, G reachable.
func (t *Maze) Encode(text string) (Example, error) {
	want := fmt.Sprintf("want %d lines of %d characters (or one line of %d) from \"# SG\": '#' wall, ' ' open, one 'S' start, one 'G' goal",
		t.size, t.size, t.SeqLen())
	s := strings.ReplaceAll(text, "\r\n", "\n")
	s = strings.TrimPrefix(s, "\n")
	m, err := puzzle.ParseMaze(s)
	if err != nil {
		return Example{}, fmt.Errorf("maze: %w; %s", err, want)
	}
	if m.N != t.size {
		return Example{}, fmt.Errorf("maze: a %dx%d maze, this task's mazes are %dx%d (option size); %s", m.N, m.N, t.size, t.size, want)
	}
	if err := m.CheckQuestion(); err != nil {
		return Example{}, fmt.Errorf("maze: %w; %s (no path 'o': the model draws it)", err, want)
	}
	if _, err := m.ShortestPathLen(); err != nil {
		return Example{}, fmt.Errorf("%w: walls cut G off from S", err)
	}
	return Example{Input: m.Tokens()}, nil
}

// Format implements Task: the question as N lines ('?' for a token that
// is not a maze character).
func (t *Maze) Format(ex Example) string {
	if len(ex.Input) != t.SeqLen() {
		return "?"
	}
	return puzzle.MazeFromPrediction(t.size, ex.Input).Format()
}

// Decode implements Task: the predicted maze as N lines, the path drawn
// with 'o' ('?' for a token that is not a maze character). When the
// prediction is not a shortest path through the maze of ex.Input, a last
// line says why; the correct answer has no such line.
func (t *Maze) Decode(ex Example, pred []int32) (string, error) {
	if len(pred) != t.SeqLen() {
		return "", fmt.Errorf("maze: prediction has %d tokens, want %d", len(pred), t.SeqLen())
	}
	s := puzzle.MazeFromPrediction(t.size, pred).Format()
	if err := t.CheckPrediction(ex, pred); err != nil {
		s += "(not a solution: " + err.Error() + ")\n"
	}
	return s, nil
}

// Answer implements Answerer: the predicted maze's N·N cells on one line,
// row by row, the path drawn 'o' ('?' for a token that is not a maze
// character).
func (t *Maze) Answer(ex Example, pred []int32) (string, error) {
	if len(pred) != t.SeqLen() {
		return "", fmt.Errorf("maze: prediction has %d tokens, want %d", len(pred), t.SeqLen())
	}
	return string(puzzle.MazeFromPrediction(t.size, pred).Cells), nil
}

// Verify implements Task: pred must mark a shortest path from S to G
// through the maze of ex.Input and change nothing else (any shortest path
// counts, not only the label's).
func (t *Maze) Verify(ex Example, pred []int32) bool { return t.CheckPrediction(ex, pred) == nil }

// CheckAnswer implements Checker: pred must mark a shortest path through
// the maze of ex.Input (see Verify, CheckPrediction). known is false when
// ex.Input is not a maze question of this task's size or pred has the
// wrong length.
func (t *Maze) CheckAnswer(ex Example, pred []int32) (valid, known bool) {
	if len(pred) != t.SeqLen() || len(ex.Input) != t.SeqLen() {
		return false, false
	}
	if q, err := puzzle.DecodeMaze(ex.Input); err != nil || q.CheckQuestion() != nil {
		return false, false
	}
	return t.CheckPrediction(ex, pred) == nil, true
}

// CheckPrediction returns nil when pred solves ex (see Verify), or why not:
// an error wrapping one of puzzle.ErrMazeMismatch, ErrPathOnWall,
// ErrPathDisconnected, ErrPathNotShortest, or saying that ex or pred is
// malformed.
func (t *Maze) CheckPrediction(ex Example, pred []int32) error {
	if len(pred) != t.SeqLen() || len(ex.Input) != t.SeqLen() {
		return fmt.Errorf("maze: prediction has %d tokens and input %d, want %d", len(pred), len(ex.Input), t.SeqLen())
	}
	question, err := puzzle.DecodeMaze(ex.Input)
	if err != nil {
		return fmt.Errorf("maze: input: %w", err)
	}
	return puzzle.CheckMazePath(question, puzzle.MazeFromPrediction(t.size, pred))
}

// mazeKey returns the class key of a maze question: a hash of the least of
// its 8 images under the symmetries of the square.
func mazeKey(q []byte) uint64 {
	n := mazeSide(len(q))
	best := q
	img := make([]byte, len(q))
	for k := 1; k < puzzle.NumDihedral; k++ {
		puzzle.Dihedral(img, q, n, k)
		if string(img) < string(best) {
			best = append([]byte(nil), img...)
		}
	}
	return hashBytes(best)
}

// mazeSide returns ⌊√v⌋ for v ≥ 0: the side of a maze of v cells.
func mazeSide(v int) int {
	r := 0
	for (r+1)*(r+1) <= v {
		r++
	}
	return r
}
