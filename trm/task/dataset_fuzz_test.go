package task_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/trm/task"
)

// FuzzReadDataset feeds arbitrary bytes to ReadDataset (the reader of
// `trm gen` files). It must never panic; what it accepts must hold the
// header's n examples, each labelled and within the header's sizes, and
// writing it back as JSON lines must read back to the same dataset.
func FuzzReadDataset(f *testing.F) {
	for _, g := range []struct {
		name string
		opts task.Options
		n    int64
	}{
		{"arith", task.Options{"digits": "1"}, 3},
		{"arith", nil, 1},
		{"sudoku4", nil, 2},
		{"maze", task.Options{"size": "7"}, 1},
	} {
		tk, err := task.New(g.name, g.opts)
		require.NoError(f, err)
		var b bytes.Buffer
		require.NoError(f, task.GenerateDataset(&b, tk, task.SplitTest, 7, 2, g.n))
		f.Add(b.Bytes())
		lines := bytes.SplitAfter(b.Bytes(), []byte("\n"))
		f.Add(bytes.Join(lines[:len(lines)-2], nil))                       // truncated: an example short
		f.Add(append(bytes.Clone(b.Bytes()), lines[1]...))                 // an example too many
		f.Add(bytes.ReplaceAll(b.Bytes(), []byte("\n"), []byte("\r\n\n"))) // CRLF and blank lines
	}
	const h = `{"format":"trm-dataset/v1","task":"arith","split":"train","seed":0,"first":0,"n":1,"vocab_size":12,"seq_len":4,"num_puzzle_identifiers":1}` + "\n"
	for _, s := range []string{
		"",
		"\n\n",
		h,
		h + `{"text":"1 + 2","answer":"3","puzzle_id":0,"input":[3,4,1,1],"label":[-100,-100,5,2]}`,
		h + `{"text":"1 + 2","answer":"3","puzzle_id":0,"input":[3,4,1,1],"label":[-100,-100,5,12]}`,
		h + `{"text":"","puzzle_id":1,"input":[3,4,1,1],"label":[-100,-100,5,2]}`,
		h + `{"input":[3,4,1,1],"label":[-100,-100,5,2],"extra":1}`,
		h + `{"input":[3,4,1,1],"label":[-100,-100,5,2]} {}`,
		h + `{"input":[3,4,1],"label":[-100,-100,5,2]}`,
		h + `{"input":[3,4,1,1]}`,
		h + `[1,2,3]`,
		`{"format":"trm-dataset/v2"}`,
		`{"format":"trm-dataset/v1","split":"dev","n":0,"vocab_size":2,"seq_len":1,"num_puzzle_identifiers":1}`,
		`{"format":"trm-dataset/v1","split":"test","n":0,"vocab_size":2,"seq_len":1,"num_puzzle_identifiers":1}`,
		`{"format":"trm-dataset/v1","split":"test","n":-1,"vocab_size":2,"seq_len":1,"num_puzzle_identifiers":1}`,
		`{"format":"trm-dataset/v1","split":"test","n":1,"vocab_size":2147483648,"seq_len":1,"num_puzzle_identifiers":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := task.ReadDataset(bytes.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		checkDataset(t, d)

		// Write it back: the header, then one record per example.
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		require.NoError(t, enc.Encode(d.Header))
		for i, ex := range d.Examples {
			require.NoError(t, enc.Encode(task.DatasetRecord{Text: d.Texts[i], PuzzleID: ex.PuzzleID, Input: ex.Input, Label: ex.Label}))
		}
		back, err := task.ReadDataset(&b, "fuzz-again")
		require.NoError(t, err, "a dataset written back does not read:\n%s", b.Bytes())
		if len(d.Header.Options) == 0 { // "task_options":{} is omitted
			d.Header.Options = nil
		}
		require.Equal(t, d, back)
	})
}

// checkDataset checks what ReadDataset promises about a dataset it accepts.
func checkDataset(t *testing.T, d *task.Dataset) {
	t.Helper()
	h := d.Header
	require.Equal(t, task.DatasetFormat, h.Format)
	_, err := task.ParseSplit(string(h.Split))
	require.NoError(t, err)
	require.GreaterOrEqual(t, h.VocabSize, 2)
	require.GreaterOrEqual(t, h.SeqLen, 1)
	require.GreaterOrEqual(t, h.NumPuzzleIDs, 1)
	require.EqualValues(t, h.N, len(d.Examples), "the header's n")
	require.Len(t, d.Texts, len(d.Examples))
	for i, ex := range d.Examples {
		require.Len(t, ex.Input, h.SeqLen, "example %d", i)
		require.Len(t, ex.Label, h.SeqLen, "example %d", i)
		for _, v := range ex.Input {
			require.True(t, v >= 0 && int(v) < h.VocabSize, "example %d: input token %d, vocab %d", i, v, h.VocabSize)
		}
		for _, v := range ex.Label {
			require.True(t, v == task.IgnoreLabel || v >= 0 && int(v) < h.VocabSize, "example %d: label %d, vocab %d", i, v, h.VocabSize)
		}
		require.True(t, ex.PuzzleID >= 0 && int(ex.PuzzleID) < h.NumPuzzleIDs, "example %d: puzzle id %d of %d", i, ex.PuzzleID, h.NumPuzzleIDs)
	}
}
