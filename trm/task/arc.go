package task

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ARC-AGI data: grids, pairs and tasks as the public JSON files hold them.

// ARCMaxSize is the largest side of an ARC grid (and of the canvas the
// grids are encoded in).
const ARCMaxSize = 30

// ARCGrid is an ARC grid: H rows of W colours 0..9, row by row in Cells.
type ARCGrid struct {
	H, W  int
	Cells []uint8
}

// At returns the colour at row r, column c.
func (g ARCGrid) At(r, c int) uint8 { return g.Cells[r*g.W+c] }

// Equal reports whether g and h have the same shape and colours.
func (g ARCGrid) Equal(h ARCGrid) bool {
	return g.H == h.H && g.W == h.W && bytes.Equal(g.Cells, h.Cells)
}

// Rows returns the grid as the JSON files write it: a list of rows.
func (g ARCGrid) Rows() [][]int {
	rows := make([][]int, g.H)
	for r := range rows {
		rows[r] = make([]int, g.W)
		for c := range rows[r] {
			rows[r][c] = int(g.At(r, c))
		}
	}
	return rows
}

// MarshalJSON writes the grid as a list of rows.
func (g ARCGrid) MarshalJSON() ([]byte, error) { return json.Marshal(g.Rows()) }

// String renders the grid as rows of digits separated by '/', e.g. "01/23".
func (g ARCGrid) String() string {
	var b strings.Builder
	for r := range g.H {
		if r > 0 {
			b.WriteByte('/')
		}
		for c := range g.W {
			b.WriteByte('0' + g.At(r, c))
		}
	}
	return b.String()
}

// ARCGridFromRows checks rows (1..30 rows of the same length 1..30, values
// 0..9) and returns them as a grid. The error says which row or cell is
// wrong and what was expected.
func ARCGridFromRows(rows [][]int) (ARCGrid, error) {
	if len(rows) == 0 || len(rows) > ARCMaxSize {
		return ARCGrid{}, fmt.Errorf("grid has %d rows, want 1..%d", len(rows), ARCMaxSize)
	}
	w := len(rows[0])
	if w == 0 || w > ARCMaxSize {
		return ARCGrid{}, fmt.Errorf("grid row 0 has %d cells, want 1..%d", w, ARCMaxSize)
	}
	g := ARCGrid{H: len(rows), W: w, Cells: make([]uint8, 0, len(rows)*w)}
	for r, row := range rows {
		if len(row) != w {
			return ARCGrid{}, fmt.Errorf("grid row %d has %d cells, want %d (the length of row 0)", r, len(row), w)
		}
		for c, v := range row {
			if v < 0 || v > 9 {
				return ARCGrid{}, fmt.Errorf("grid cell (%d, %d) is %d, want a colour 0..9", r, c, v)
			}
			g.Cells = append(g.Cells, uint8(v))
		}
	}
	return g, nil
}

// ParseARCGrid reads a grid from text: JSON rows ("[[0,1],[2,3]]") or rows
// of digits separated by '/' or new lines ("01/23").
func ParseARCGrid(text string) (ARCGrid, error) {
	text = strings.TrimSpace(text)
	var rows [][]int
	if strings.HasPrefix(text, "[") {
		if err := json.Unmarshal([]byte(text), &rows); err != nil {
			return ARCGrid{}, fmt.Errorf("grid %q: %w (want JSON rows such as [[0,1],[2,3]])", clip(text), err)
		}
	} else {
		for _, line := range strings.FieldsFunc(text, func(r rune) bool { return r == '/' || r == '\n' }) {
			line = strings.TrimSpace(line)
			row := make([]int, 0, len(line))
			for _, ch := range line {
				if ch < '0' || ch > '9' {
					return ARCGrid{}, fmt.Errorf("grid %q: character %q, want digits 0..9 with rows separated by '/' or JSON rows", clip(text), ch)
				}
				row = append(row, int(ch-'0'))
			}
			rows = append(rows, row)
		}
	}
	g, err := ARCGridFromRows(rows)
	if err != nil {
		return ARCGrid{}, fmt.Errorf("grid %q: %w", clip(text), err)
	}
	return g, nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// ARCPair is one input/output pair of a task. Output is nil (H = 0) for a
// test pair whose answer is not known.
type ARCPair struct {
	Input, Output ARCGrid
}

// ARCTask is one ARC task: demonstration pairs (Train) and test pairs.
type ARCTask struct {
	// ID is the task id: the file name without .json, or the key in a
	// combined file.
	ID    string
	Train []ARCPair
	Test  []ARCPair
	// TestFirst records that the task's JSON object has its "test" key
	// before "train" (as the Kaggle files do): the official builder lists a
	// puzzle's examples in key order, which fixes the order of its
	// examples and so its random translations.
	TestFirst bool
}

// rawPair is a pair as JSON holds it.
type rawPair struct {
	Input  *[][]int `json:"input"`
	Output *[][]int `json:"output"`
}

// parseARCTaskObject reads one task object, {"train": [...], "test": [...]}.
func parseARCTaskObject(id string, data []byte) (ARCTask, error) {
	t := ARCTask{ID: id}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return t, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return t, fmt.Errorf("task is %v, want an object with keys \"train\" and \"test\"", tok)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return t, err
		}
		key := tok.(string)
		var raw []rawPair
		if key != "train" && key != "test" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return t, err
			}
			continue
		}
		if err := dec.Decode(&raw); err != nil {
			return t, fmt.Errorf("%q: %w (want a list of {\"input\": grid, \"output\": grid})", key, err)
		}
		if key == "test" && !seen["train"] {
			t.TestFirst = true
		}
		seen[key] = true
		pairs := make([]ARCPair, len(raw))
		for i, p := range raw {
			if p.Input == nil {
				return t, fmt.Errorf("%s pair %d: no \"input\"", key, i)
			}
			if pairs[i].Input, err = ARCGridFromRows(*p.Input); err != nil {
				return t, fmt.Errorf("%s pair %d input: %w", key, i, err)
			}
			if p.Output == nil {
				if key == "train" {
					return t, fmt.Errorf("train pair %d: no \"output\" (demonstration pairs need one)", i)
				}
				continue
			}
			if pairs[i].Output, err = ARCGridFromRows(*p.Output); err != nil {
				return t, fmt.Errorf("%s pair %d output: %w", key, i, err)
			}
		}
		if key == "train" {
			t.Train = pairs
		} else {
			t.Test = pairs
		}
	}
	for _, k := range []string{"train", "test"} {
		if !seen[k] {
			return t, fmt.Errorf("no %q key (want {\"train\": [...], \"test\": [...]})", k)
		}
	}
	if len(t.Test) == 0 {
		return t, errors.New("\"test\" is empty, want at least one test pair")
	}
	return t, nil
}

// ParseARC reads ARC tasks from the bytes of one JSON file named name: a
// single task ({"train": [...], "test": [...]}, its id the file name
// without .json) or a combined file keyed by task id (the Kaggle
// *_challenges.json), tasks in the file's order. Errors name the file, the
// task and the position.
func ParseARC(name string, data []byte) ([]ARCTask, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("arc file %q: %w (want a task object or an object of tasks keyed by id)", name, err)
	}
	_, hasTrain := top["train"]
	_, hasTest := top["test"]
	if hasTrain || hasTest {
		id := strings.TrimSuffix(filepath.Base(name), ".json")
		t, err := parseARCTaskObject(id, data)
		if err != nil {
			return nil, fmt.Errorf("arc file %q: task %q: %w", name, id, err)
		}
		return []ARCTask{t}, nil
	}
	ids, err := objectKeys(data)
	if err != nil {
		return nil, fmt.Errorf("arc file %q: %w", name, err)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("arc file %q: no tasks", name)
	}
	tasks := make([]ARCTask, 0, len(ids))
	for _, id := range ids {
		t, err := parseARCTaskObject(id, top[id])
		if err != nil {
			return nil, fmt.Errorf("arc file %q: task %q: %w", name, id, err)
		}
		tasks = append(tasks, t)
	}
	return tasks, nil
}

// objectKeys returns the keys of a JSON object in file order, each once.
func objectKeys(data []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	var keys []string
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
		if k := tok.(string); !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// addARCSolutions fills the test outputs of tasks from a Kaggle solutions
// file (task id → list of output grids, one per test pair).
func addARCSolutions(name string, data []byte, tasks []ARCTask) error {
	var sols map[string][][][]int
	if err := json.Unmarshal(data, &sols); err != nil {
		return fmt.Errorf("arc solutions %q: %w (want an object of task id → list of grids)", name, err)
	}
	for i := range tasks {
		t := &tasks[i]
		s, ok := sols[t.ID]
		if !ok {
			return fmt.Errorf("arc solutions %q: no task %q", name, t.ID)
		}
		if len(s) != len(t.Test) {
			return fmt.Errorf("arc solutions %q: task %q has %d solutions, want %d (one per test pair)", name, t.ID, len(s), len(t.Test))
		}
		for j, rows := range s {
			g, err := ARCGridFromRows(rows)
			if err != nil {
				return fmt.Errorf("arc solutions %q: task %q solution %d: %w", name, t.ID, j, err)
			}
			t.Test[j].Output = g
		}
	}
	return nil
}

// LoadARC reads ARC tasks from path: a directory of task files (every
// *.json in it, by name; the public ARC-AGI-1/2 repositories' data/training
// and data/evaluation), a single task file, or a combined Kaggle
// *_challenges.json file, whose test outputs are read from the
// *_solutions.json file beside it when there is one.
func LoadARC(path string) ([]ARCTask, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("arc data: %w", err)
	}
	if st.IsDir() {
		files, err := filepath.Glob(filepath.Join(path, "*.json"))
		if err != nil {
			return nil, fmt.Errorf("arc data %q: %w", path, err)
		}
		sort.Strings(files)
		if len(files) == 0 {
			return nil, fmt.Errorf("arc data %q: no *.json task files in the directory", path)
		}
		var tasks []ARCTask
		for _, f := range files {
			ts, err := loadARCFile(f)
			if err != nil {
				return nil, err
			}
			tasks = append(tasks, ts...)
		}
		return tasks, nil
	}
	tasks, err := loadARCFile(path)
	if err != nil {
		return nil, err
	}
	if sol, ok := strings.CutSuffix(path, "_challenges.json"); ok {
		sol += "_solutions.json"
		data, err := os.ReadFile(sol)
		switch {
		case err == nil:
			if err := addARCSolutions(sol, data, tasks); err != nil {
				return nil, err
			}
		case !errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("arc solutions: %w", err)
		}
	}
	return tasks, nil
}

func loadARCFile(path string) ([]ARCTask, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("arc data: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 1<<30))
	if err != nil {
		return nil, fmt.Errorf("arc file %q: %w", path, err)
	}
	return ParseARC(path, data)
}
