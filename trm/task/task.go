package task

import (
	"fmt"
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
	// that New(Name(), Options()) rebuilds the same task.
	Options() Options
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

// CheckLabeled is CheckExample for an example a model is trained or scored
// on: it must also carry labels.
func CheckLabeled(t Task, ex Example) error {
	if err := CheckExample(t, ex); err != nil {
		return err
	}
	if ex.Label == nil {
		return fmt.Errorf("task %s: example has no labels", t.Name())
	}
	return nil
}

// Labeled returns example i of split under seed, checked against t and
// labelled (CheckLabeled): the one way training and evaluation fetch data.
// Errors name the split and the index.
func Labeled(t Task, split Split, seed uint64, i int64) (Example, error) {
	ex, err := t.Example(split, seed, i)
	if err == nil {
		err = CheckLabeled(t, ex)
	}
	if err != nil {
		return Example{}, fmt.Errorf("%s example %d: %w", split, i, err)
	}
	return ex, nil
}

// Checker is implemented by a task that can judge an answer from the
// input alone, without a label: whether a predicted Sudoku grid solves
// the puzzle, whether a maze path is a shortest one, whether a sum is
// right. Inference uses it to say whether an answer to user input (which
// has no label) is valid; see CheckAnswer. The tasks here all implement
// it.
type Checker interface {
	// CheckAnswer reports whether pred (SeqLen tokens) is a correct
	// answer to the input of ex; ex.Label is not looked at. A puzzle with
	// several solutions accepts any of them. known is false when the task
	// cannot tell for this example (an input that is not one of its
	// puzzles, a prediction of the wrong length); valid is then false.
	CheckAnswer(ex Example, pred []int32) (valid, known bool)
}

// CheckAnswer judges pred as an answer to ex: with t's Checker when t
// implements it, else, for a labelled example, with t.Verify. known is
// false when neither can tell.
func CheckAnswer(t Task, ex Example, pred []int32) (valid, known bool) {
	if c, ok := t.(Checker); ok {
		return c.CheckAnswer(ex, pred)
	}
	if ex.Label != nil && len(pred) == len(ex.Label) {
		return t.Verify(ex, pred), true
	}
	return false, false
}

// Answerer is implemented by a task whose answer has a compact one-line
// form: the digits of a sum, a Sudoku grid as its cells row by row ('.'
// for a blank), a maze as its N·N cells with the path drawn 'o'. Where the
// task reads grids, the form is one its Encode accepts. A server answers
// with it (see AnswerText); Decode is the form for people at a terminal.
type Answerer interface {
	// Answer renders pred (SeqLen tokens, predicted for ex) on one line,
	// '?' where a token cannot be part of an answer.
	Answer(ex Example, pred []int32) (string, error)
}

// AnswerText renders pred as t's compact answer (Answerer), or as Decode
// does when t has none.
func AnswerText(t Task, ex Example, pred []int32) (string, error) {
	if a, ok := t.(Answerer); ok {
		return a.Answer(ex, pred)
	}
	return t.Decode(ex, pred)
}
