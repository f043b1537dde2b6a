package trm

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// IgnoreLabel marks a label position that carries no loss and no score
// (the official IGNORE_LABEL_ID).
const IgnoreLabel = -100

// Example is one sample of a task: SeqLen input tokens, SeqLen labels
// (IgnoreLabel where a position is not supervised; nil when the answer is
// unknown, as for user input) and the puzzle id selecting the row of the
// puzzle-embedding table.
type Example struct {
	Input    []int32
	Label    []int32
	PuzzleID int32
}

// Split names a part of a task's data. The parts never share an example:
// what is tested was never trained on.
type Split string

// The splits.
const (
	SplitTrain Split = "train"
	SplitTest  Split = "test"
)

// ParseSplit accepts "train" or "test".
func ParseSplit(s string) (Split, error) {
	switch Split(s) {
	case SplitTrain, SplitTest:
		return Split(s), nil
	}
	return "", fmt.Errorf("split %q, want %q or %q", s, SplitTrain, SplitTest)
}

// Task is a problem family TRM is trained on: its token vocabulary, its
// sequence layout, a deterministic example generator, and the translation
// between user text and tokens. Arithmetic (arith) is implemented here;
// grid puzzles (Sudoku, mazes) register themselves the same way.
//
// Implementations must be safe for concurrent use.
type Task interface {
	// Name is the registry name, e.g. "arith", "sudoku9".
	Name() string
	// Options returns the task's options with every default filled in, so
	// that NewTask(Name(), Options()) rebuilds the same task.
	Options() TaskOptions
	// VocabSize is the number of token ids (every token is in
	// [0, VocabSize)).
	VocabSize() int
	// SeqLen is the number of positions L of Input and Label.
	SeqLen() int
	// NumPuzzleIDs is the number of distinct puzzle ids (1 when the task
	// uses a single learned prefix).
	NumPuzzleIDs() int
	// Len returns how many distinct examples split holds when it is a
	// fixed list (a test file), and 0 when examples are generated without
	// bound. When Len > 0, Example(split, seed, i) for i in [0, Len)
	// enumerates them all, in an order that may depend on seed.
	Len(split Split) int
	// Example returns example i of split. It is a pure function of
	// (split, seed, i): the same arguments give the same example on every
	// machine, so a training run can resume at a data position. It returns
	// an error for a negative i or, when Len(split) > 0, i ≥ Len(split).
	Example(split Split, seed uint64, i int64) (Example, error)
	// Encode parses user text (e.g. "3 + 7") into an example with nil
	// Label. The error says what the input should look like.
	Encode(text string) (Example, error)
	// Format renders an example's input as text that Encode accepts.
	Format(ex Example) string
	// Decode renders predicted tokens (SeqLen of them, for the example ex)
	// as the answer text, e.g. "10". Positions holding a token that cannot
	// be part of an answer are shown as '?'. Decode(ex, ex.Label) is the
	// correct answer.
	Decode(ex Example, pred []int32) (string, error)
	// Verify reports whether pred solves ex. For the tasks here that is an
	// exact match on every labelled position (ExactMatch).
	Verify(ex Example, pred []int32) bool
}

// TaskOptions are a task's settings as strings (they come from flags and
// JSON), e.g. {"digits": "5"}.
type TaskOptions map[string]string

// Int returns option key as an integer in [lo, hi], or def when it is
// absent. The error names the task, the option and the range.
func (o TaskOptions) Int(task, key string, def, lo, hi int) (int, error) {
	s, ok := o[key]
	if !ok {
		return def, nil
	}
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || v < lo || v > hi {
		return 0, fmt.Errorf("task %s: option %s=%q, want an integer in [%d, %d]", task, key, s, lo, hi)
	}
	return v, nil
}

// CheckKnown returns an error naming the first option (in sorted order) not
// among known: a misspelt option must not be silently ignored.
func (o TaskOptions) CheckKnown(task string, known ...string) error {
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(known, k) {
			want := "none"
			if len(known) > 0 {
				want = strings.Join(known, ", ")
			}
			return fmt.Errorf("task %s: unknown option %q (known: %s)", task, k, want)
		}
	}
	return nil
}

// ParseTaskOptions parses "key=value" pairs (the CLI's --opt flags).
func ParseTaskOptions(pairs []string) (TaskOptions, error) {
	o := TaskOptions{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("task option %q, want key=value", p)
		}
		o[k] = strings.TrimSpace(v)
	}
	return o, nil
}

// TaskFactory builds a task from its options. It must reject unknown
// options (see TaskOptions.CheckKnown) and out-of-range values.
type TaskFactory func(opts TaskOptions) (Task, error)

type taskEntry struct {
	doc     string
	factory TaskFactory
}

var (
	taskMu       sync.RWMutex
	taskRegistry = map[string]taskEntry{}
)

// RegisterTask makes a task available by name to NewTask, the CLI and
// checkpoints. doc is a one-line description for help output. It panics if
// the name is empty or already taken (a programming error), so call it
// from an init function.
func RegisterTask(name, doc string, f TaskFactory) {
	taskMu.Lock()
	defer taskMu.Unlock()
	if name == "" || f == nil {
		panic("trm: RegisterTask with an empty name or a nil factory")
	}
	if _, dup := taskRegistry[name]; dup {
		panic("trm: RegisterTask called twice for task " + strconv.Quote(name))
	}
	taskRegistry[name] = taskEntry{doc, f}
}

// NewTask builds the registered task name with opts (nil for defaults).
func NewTask(name string, opts TaskOptions) (Task, error) {
	taskMu.RLock()
	e, ok := taskRegistry[name]
	taskMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("unknown task %q, want one of %s", name, strings.Join(TaskNames(), ", "))
	}
	return e.factory(opts)
}

// TaskNames lists the registered tasks in sorted order.
func TaskNames() []string {
	taskMu.RLock()
	defer taskMu.RUnlock()
	names := make([]string, 0, len(taskRegistry))
	for n := range taskRegistry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// TaskDoc returns the one-line description of a registered task.
func TaskDoc(name string) string {
	taskMu.RLock()
	defer taskMu.RUnlock()
	return taskRegistry[name].doc
}

// CheckExample reports whether ex fits t: lengths, token and label ranges,
// puzzle id (a nil Label is allowed). It is what a trainer or a server uses
// to refuse bad data with a clear message.
func CheckExample(t Task, ex Example) error {
	if err := checkExample(ex, t.SeqLen(), t.VocabSize(), t.NumPuzzleIDs(), false); err != nil {
		return fmt.Errorf("task %s: %w", t.Name(), err)
	}
	return nil
}

// checkExample checks ex against sequence length L, vocabulary V and the
// number of puzzle ids; needLabel refuses a nil Label.
func checkExample(ex Example, L, V, ids int, needLabel bool) error {
	if len(ex.Input) != L {
		return fmt.Errorf("input has %d tokens, want %d", len(ex.Input), L)
	}
	if (ex.Label != nil || needLabel) && len(ex.Label) != L {
		return fmt.Errorf("label has %d tokens, want %d", len(ex.Label), L)
	}
	for i, v := range ex.Input {
		if v < 0 || int(v) >= V {
			return fmt.Errorf("input token %d at position %d, want in [0, %d)", v, i, V)
		}
	}
	for i, v := range ex.Label {
		if v != IgnoreLabel && (v < 0 || int(v) >= V) {
			return fmt.Errorf("label %d at position %d, want in [0, %d) or %d (ignored)", v, i, V, IgnoreLabel)
		}
	}
	if ex.PuzzleID < 0 || int(ex.PuzzleID) >= ids {
		return fmt.Errorf("puzzle_id %d, want in [0, %d)", ex.PuzzleID, ids)
	}
	return nil
}

// ExactMatch reports whether pred equals label at every labelled position
// (false when nothing is labelled or the lengths differ).
func ExactMatch(label, pred []int32) bool {
	if len(label) != len(pred) {
		return false
	}
	n := 0
	for i, l := range label {
		if l == IgnoreLabel {
			continue
		}
		if pred[i] != l {
			return false
		}
		n++
	}
	return n > 0
}

// Score accumulates evaluation results: token accuracy over labelled
// positions and exact (whole-answer) accuracy.
type Score struct {
	Examples, Solved   int
	Tokens, TokensGood int
}

// Add scores one prediction for ex (exactness by t.Verify).
func (s *Score) Add(t Task, ex Example, pred []int32) {
	s.Examples++
	if t.Verify(ex, pred) {
		s.Solved++
	}
	for i, l := range ex.Label {
		if l == IgnoreLabel {
			continue
		}
		s.Tokens++
		if i < len(pred) && pred[i] == l {
			s.TokensGood++
		}
	}
}

// Merge adds the counts of o to s.
func (s *Score) Merge(o Score) {
	s.Examples += o.Examples
	s.Solved += o.Solved
	s.Tokens += o.Tokens
	s.TokensGood += o.TokensGood
}

// ExactAcc returns the fraction of examples solved (0 when empty).
func (s Score) ExactAcc() float64 { return ratio(s.Solved, s.Examples) }

// TokenAcc returns the fraction of labelled tokens predicted right.
func (s Score) TokenAcc() float64 { return ratio(s.TokensGood, s.Tokens) }

// String renders the score as "exact 97.50% (195/200), token 99.10%".
func (s Score) String() string {
	return fmt.Sprintf("exact %.2f%% (%d/%d), token %.2f%%", 100*s.ExactAcc(), s.Solved, s.Examples, 100*s.TokenAcc())
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Rand is a small deterministic random number generator (SplitMix64) for
// task generators. Unlike math/rand its sequence is fixed by this code, so
// generated datasets are the same on every machine and Go release.
type Rand struct{ state uint64 }

// NewRand returns a generator seeded by the given words; different word
// lists give independent streams.
func NewRand(words ...uint64) *Rand {
	var s uint64 = 0x6a09e667f3bcc909
	for _, w := range words {
		s = mix64(s ^ mix64(w+0x9e3779b97f4a7c15))
	}
	return &Rand{state: s}
}

// ExampleRand returns the generator for example i of split under seed: the
// source of randomness Task.Example implementations should use.
func ExampleRand(seed uint64, split Split, i int64) *Rand {
	var salt uint64
	for _, c := range []byte(split) {
		salt = salt*131 + uint64(c)
	}
	return NewRand(seed, salt, uint64(i))
}

// Uint64 returns 64 random bits.
func (r *Rand) Uint64() uint64 {
	r.state += 0x9e3779b97f4a7c15
	return mix64(r.state)
}

// IntN returns a uniform integer in [0, n). It panics if n ≤ 0.
func (r *Rand) IntN(n int) int {
	if n <= 0 {
		panic("trm: Rand.IntN with n ≤ 0")
	}
	return int(r.Uint64N(uint64(n)))
}

// Uint64N returns a uniform integer in [0, n). It panics if n is 0.
func (r *Rand) Uint64N(n uint64) uint64 {
	if n == 0 {
		panic("trm: Rand.Uint64N with n = 0")
	}
	// Rejection sampling: drop the bottom 2^64 mod n values so every
	// residue is equally likely.
	limit := -n % n
	for {
		if v := r.Uint64(); v >= limit {
			return v % n
		}
	}
}

// Float64 returns a uniform float64 in [0, 1).
func (r *Rand) Float64() float64 { return float64(r.Uint64()>>11) / (1 << 53) }

// Perm returns a uniform random permutation of [0, n).
func (r *Rand) Perm(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	r.Shuffle(n, func(i, j int) { p[i], p[j] = p[j], p[i] })
	return p
}

// Shuffle permutes n elements uniformly (Fisher–Yates) through swap.
func (r *Rand) Shuffle(n int, swap func(i, j int)) {
	for i := n - 1; i > 0; i-- {
		swap(i, r.IntN(i+1))
	}
}

// mix64 is the SplitMix64 finaliser: a bijective 64-bit hash.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
