package checkpoints

import (
	_ "embed"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// arith is the default demo model: sums of numbers of up to 5 digits (see
// the package documentation for how it was trained and how well it does).
//
//go:embed arith.safetensors
var arith []byte

// sudoku6 solves 6×6 Sudoku (boxes of 2 rows by 3 columns, 22 blanks, the
// sudoku6 task's default): a TRM-MLP of 154,754 parameters (hidden 64,
// T = 2, n = 3, N_sup = 6) trained from sudoku6.config.json in this folder
// (see RESULTS.md at the repository root for how and how well).
//
//go:embed sudoku6.safetensors
var sudoku6 []byte

// sudoku9 solves 9×9 Sudoku with 40 blanks (the sudoku9 task's default is
// 50; the model's config records blanks=40): a TRM-MLP of 224,258
// parameters (hidden 64, T = 2, n = 3, N_sup = 6) trained for 35 minutes
// from sudoku9.config.json in this folder (see RESULTS.md).
//
//go:embed sudoku9.safetensors
var sudoku9 []byte

// models maps a task name to its shipped checkpoint.
var models = map[string][]byte{"arith": arith, "sudoku6": sudoku6, "sudoku9": sudoku9}

// Lookup returns the shipped checkpoint (safetensors bytes, as written by
// trm.SaveCheckpoint) for a task, and whether there is one. The bytes are
// shared: do not modify them.
func Lookup(task string) ([]byte, bool) {
	b, ok := models[task]
	return b, ok
}

// Tasks lists the tasks with a shipped model, sorted.
func Tasks() []string {
	names := make([]string, 0, len(models))
	for n := range models {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Prefix marks a shipped model where a checkpoint file is expected:
// "embedded:arith" is the arith model. infer.LoadPredictor and
// infer.LoadCheckpoint accept it, and so every trm command that takes a
// checkpoint (--checkpoint, trm export, trm serve --model NAME=PATH).
const Prefix = "embedded:"

// ErrNotShipped is what Resolve's error for an unknown name matches with
// errors.Is.
var ErrNotShipped = errors.New("no such shipped model")

// NotShippedError reports an "embedded:NAME" whose NAME has no shipped
// model. It matches ErrNotShipped with errors.Is.
type NotShippedError struct{ Name string }

func (e *NotShippedError) Error() string {
	return fmt.Sprintf("no model is shipped for %q (shipped: %s)", e.Name, strings.Join(Tasks(), ", "))
}

// Is reports whether target is ErrNotShipped.
func (e *NotShippedError) Is(target error) bool { return target == ErrNotShipped }

// Resolve returns the checkpoint that src names when it is
// "embedded:NAME" (Prefix and a name of Tasks), with ok true. For any other
// src (a file path) it returns nil, false and no error. A NAME that is not
// shipped is a *NotShippedError (errors.Is(err, ErrNotShipped)) listing
// the shipped ones. The bytes are shared: do not modify them.
func Resolve(src string) (data []byte, ok bool, err error) {
	name, ok := strings.CutPrefix(src, Prefix)
	if !ok {
		return nil, false, nil
	}
	data, found := Lookup(name)
	if !found {
		return nil, true, &NotShippedError{Name: name}
	}
	return data, true, nil
}
