package task

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/trm-go/trm/internal/atomicfile"
)

// DatasetFormat identifies the dataset file format in its header line.
const DatasetFormat = "trm-dataset/v1"

// A dataset file (what `trm gen` writes) is JSON lines, UTF-8:
//
//	line 1     the header, a DatasetHeader:
//	           {"format":"trm-dataset/v1","task":"arith","task_options":{"digits":"2"},
//	            "split":"train","seed":1,"first":0,"n":3,"vocab_size":12,"seq_len":7,
//	            "num_puzzle_identifiers":1}
//	lines 2…   one example each, a DatasetRecord:
//	           {"text":"48 + 75","answer":"123","puzzle_id":0,
//	            "input":[10,6,7,9,1,1,1],"label":[-100,-100,-100,-100,5,4,3]}
//
// The token arrays are what the model sees; "text" (Task.Format) and
// "answer" (Task.Decode of the label) are for people and are not checked
// on reading. Examples are examples first … first+n-1 of the split under
// the seed, so a file can be regenerated, or extended, exactly.

// DatasetHeader is the first line of a dataset file.
type DatasetHeader struct {
	Format       string  `json:"format"`
	Task         string  `json:"task"`
	Options      Options `json:"task_options,omitempty"`
	Split        Split   `json:"split"`
	Seed         uint64  `json:"seed"`
	First        int64   `json:"first"`
	N            int64   `json:"n"`
	VocabSize    int     `json:"vocab_size"`
	SeqLen       int     `json:"seq_len"`
	NumPuzzleIDs int     `json:"num_puzzle_identifiers"`
}

// DatasetRecord is one example line of a dataset file.
type DatasetRecord struct {
	Text     string  `json:"text"`
	Answer   string  `json:"answer"`
	PuzzleID int32   `json:"puzzle_id"`
	Input    []int32 `json:"input"`
	Label    []int32 `json:"label"`
}

// Dataset is a dataset file in memory.
type Dataset struct {
	Header   DatasetHeader
	Examples []Example
	// Texts holds each example's "text" field (same order as Examples).
	Texts []string
}

// GenerateDataset writes examples first … first+n-1 of split under seed
// in the dataset format to w.
func GenerateDataset(w io.Writer, t Task, split Split, seed uint64, first, n int64) error {
	if _, err := ParseSplit(string(split)); err != nil {
		return err
	}
	if first < 0 || n < 0 {
		return fmt.Errorf("dataset: first %d and n %d, want both ≥ 0", first, n)
	}
	if l := int64(t.Len(split)); l > 0 && first+n > l {
		return fmt.Errorf("dataset: examples [%d, %d) requested, task %s split %s holds %d", first, first+n, t.Name(), split, l)
	}
	h := DatasetHeader{
		Format: DatasetFormat, Task: t.Name(), Options: t.Options(), Split: split, Seed: seed,
		First: first, N: n, VocabSize: t.VocabSize(), SeqLen: t.SeqLen(), NumPuzzleIDs: t.NumPuzzleIDs(),
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(h); err != nil {
		return err
	}
	for i := first; i < first+n; i++ {
		ex, err := t.Example(split, seed, i)
		if err != nil {
			return err
		}
		ans, err := t.Decode(ex, ex.Label)
		if err != nil {
			return err
		}
		rec := DatasetRecord{Text: t.Format(ex), Answer: ans, PuzzleID: ex.PuzzleID, Input: ex.Input, Label: ex.Label}
		if err := enc.Encode(rec); err != nil {
			return err
		}
	}
	return nil
}

// WriteDatasetFile generates a dataset (see GenerateDataset) into path,
// atomically.
func WriteDatasetFile(path string, t Task, split Split, seed uint64, first, n int64) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		return GenerateDataset(w, t, split, seed, first, n)
	})
}

// ReadDataset parses a dataset from r; name labels the errors, which give
// the line number: `dataset "train.jsonl" line 7: input has 6 tokens, want 7`.
// Every example is checked against the header's sizes, and the number of
// examples against its n (a truncated file is an error).
func ReadDataset(r io.Reader, name string) (*Dataset, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	line := 0
	fail := func(format string, args ...any) error {
		return fmt.Errorf("dataset %q line %d: %s", name, line, fmt.Sprintf(format, args...))
	}
	next := func() ([]byte, bool) {
		for sc.Scan() {
			line++
			if b := bytes.TrimSpace(sc.Bytes()); len(b) > 0 {
				return b, true
			}
		}
		return nil, false
	}
	d := &Dataset{}
	first, ok := next()
	if !ok {
		if err := sc.Err(); err != nil {
			return nil, fail("%v", err)
		}
		return nil, fmt.Errorf("dataset %q: empty file, want a header line", name)
	}
	if err := strictJSON(first, &d.Header); err != nil {
		return nil, fail("bad header: %v", err)
	}
	h := d.Header
	switch {
	case h.Format != DatasetFormat:
		return nil, fail("format %q, want %q", h.Format, DatasetFormat)
	case h.VocabSize < 2:
		return nil, fail("vocab_size %d, want ≥ 2", h.VocabSize)
	case h.SeqLen < 1:
		return nil, fail("seq_len %d, want ≥ 1", h.SeqLen)
	case h.NumPuzzleIDs < 1:
		return nil, fail("num_puzzle_identifiers %d, want ≥ 1", h.NumPuzzleIDs)
	case h.N < 0:
		return nil, fail("n %d, want ≥ 0", h.N)
	}
	if _, err := ParseSplit(string(h.Split)); err != nil {
		return nil, fail("%v", err)
	}
	// Reserve for a few thousand examples at most: the header's n is not
	// trusted until the lines are there (a tiny file must not allocate much).
	reserve := min(h.N, 4096)
	d.Examples = make([]Example, 0, reserve)
	d.Texts = make([]string, 0, reserve)
	for {
		b, ok := next()
		if !ok {
			break
		}
		if int64(len(d.Examples)) >= h.N {
			return nil, fail("more examples than the header's n %d", h.N)
		}
		var rec DatasetRecord
		if err := strictJSON(b, &rec); err != nil {
			return nil, fail("%v", err)
		}
		ex := Example{Input: rec.Input, Label: rec.Label, PuzzleID: rec.PuzzleID}
		if err := checkExample(ex, h.SeqLen, h.VocabSize, h.NumPuzzleIDs, true); err != nil {
			return nil, fail("%v", err)
		}
		d.Examples = append(d.Examples, ex)
		d.Texts = append(d.Texts, rec.Text)
	}
	if err := sc.Err(); err != nil {
		return nil, fail("%v", err)
	}
	if int64(len(d.Examples)) != h.N {
		return nil, fmt.Errorf("dataset %q: %d examples, the header promises %d (truncated file?)", name, len(d.Examples), h.N)
	}
	return d, nil
}

// LoadDataset reads a dataset file (see ReadDataset).
func LoadDataset(path string) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	return ReadDataset(f, path)
}

// CheckTask reports whether the dataset was made for task t (name and
// sizes), so a model is never fed data of another layout.
func (d *Dataset) CheckTask(t Task) error {
	h := d.Header
	if h.Task != t.Name() || h.VocabSize != t.VocabSize() || h.SeqLen != t.SeqLen() || h.NumPuzzleIDs > t.NumPuzzleIDs() {
		return fmt.Errorf("dataset of task %s (vocab %d, seq_len %d, %d puzzle ids) does not fit task %s (vocab %d, seq_len %d, %d puzzle ids)",
			h.Task, h.VocabSize, h.SeqLen, h.NumPuzzleIDs, t.Name(), t.VocabSize(), t.SeqLen(), t.NumPuzzleIDs())
	}
	return nil
}

func strictJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("more than one JSON value on the line")
	}
	return nil
}
