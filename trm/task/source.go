package task

import (
	"errors"
	"fmt"
	"io"
	"math/bits"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// gridTask holds what the grid-puzzle tasks (Sudoku, maze) share: their
// puzzle source and whether train examples are augmented. It implements
// the Task methods that only consult the source.
type gridTask struct {
	augment bool
	src     *puzzleSource
}

// NumPuzzleIDs implements Task: a single id.
func (g *gridTask) NumPuzzleIDs() int { return 1 }

// Load reads the task's CSV files now, if it has any and they are not read
// yet, and returns the first error met (also returned by every later
// Example). Calling it is optional: Len and Example load on first use.
func (g *gridTask) Load() error { return g.src.load() }

// Len implements Task: the number of puzzles of a file split (0 when the
// split is generated, when the train split of a file is augmented, or when
// the file cannot be read: Example then returns the error).
func (g *gridTask) Len(split Split) int { return g.src.length(split, g.augment) }

// The data behind the grid-puzzle tasks (Sudoku and maze): generated
// puzzles or CSV files, the class keys that keep the train and test splits
// apart, and the order in which file examples are visited. See the Sudoku
// task's description for the rules.

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
	parse func(r io.Reader, add func(q, a []byte) error) error // a CSV file

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
func parsePuzzleSource(task string, opts Options, genOpts, otherOpts []string) (*puzzleSource, error) {
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
func (s *puzzleSource) options() Options {
	o := Options{}
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
		l, err := s.readFile(path)
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

// readFile reads up to limit (0: all) puzzles of a CSV file with parse.
func (s *puzzleSource) readFile(path string) (*puzzleList, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	l := &puzzleList{cells: s.cells}
	err = s.parse(f, func(q, a []byte) error {
		l.add(q, a)
		if s.limit > 0 && l.Len() == s.limit {
			return errStopReading
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStopReading) {
		return nil, err
	}
	return l, nil
}

// list returns the file list of split, or nil when it is generated.
func (s *puzzleSource) list(split Split) *puzzleList {
	if split == SplitTest {
		return s.test
	}
	return s.train
}

// length implements Task.Len (see Sudoku.Len).
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
