package task

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDatasetRoundTrip(t *testing.T) {
	a := NewArith(3)
	path := filepath.Join(t.TempDir(), "train.jsonl")
	require.NoError(t, WriteDatasetFile(path, a, SplitTrain, 11, 5, 40))

	d, err := LoadDataset(path)
	require.NoError(t, err)
	assert.Equal(t, DatasetHeader{
		Format: DatasetFormat, Task: "arith", Options: Options{"digits": "3"}, Split: SplitTrain, Seed: 11,
		First: 5, N: 40, VocabSize: 12, SeqLen: 10, NumPuzzleIDs: 1,
	}, d.Header)
	require.Len(t, d.Examples, 40)
	require.NoError(t, d.CheckTask(a))
	for i, ex := range d.Examples {
		want, err := a.Example(SplitTrain, 11, int64(5+i))
		require.NoError(t, err)
		assert.Equal(t, want, ex)
		assert.Equal(t, a.Format(want), d.Texts[i])
	}

	// Deterministic: the same arguments give the same bytes.
	var b1, b2 bytes.Buffer
	require.NoError(t, GenerateDataset(&b1, a, SplitTest, 2, 0, 10))
	require.NoError(t, GenerateDataset(&b2, a, SplitTest, 2, 0, 10))
	assert.Equal(t, b1.String(), b2.String())
	lines := strings.Split(strings.TrimSpace(b1.String()), "\n")
	require.Len(t, lines, 11)
	var rec DatasetRecord
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &rec))
	ex, err := a.Encode(rec.Text)
	require.NoError(t, err)
	assert.Equal(t, rec.Input, ex.Input, "the text form encodes to the same input")
	sum, err := a.Decode(ex, rec.Label)
	require.NoError(t, err)
	assert.Equal(t, rec.Answer, sum)

	assert.Error(t, d.CheckTask(NewArith(2)))
}

func TestDatasetGenerateErrors(t *testing.T) {
	a := NewArith(1)
	var b bytes.Buffer
	assert.ErrorContains(t, GenerateDataset(&b, a, "dev", 0, 0, 1), `split "dev"`)
	assert.ErrorContains(t, GenerateDataset(&b, a, SplitTrain, 0, -1, 1), "first -1 and n 1, want both ≥ 0")
	// A failed generation leaves an existing file alone.
	path := filepath.Join(t.TempDir(), "d.jsonl")
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o644))
	require.Error(t, WriteDatasetFile(path, a, "dev", 0, 0, 1))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "old", string(got))
}

func TestReadDatasetLineNumberedErrors(t *testing.T) {
	header := `{"format":"trm-dataset/v1","task":"arith","task_options":{"digits":"1"},"split":"train","seed":0,"first":0,"n":2,"vocab_size":12,"seq_len":4,"num_puzzle_identifiers":1}`
	good := `{"text":"3 + 7","answer":"10","puzzle_id":0,"input":[5,9,1,1],"label":[-100,-100,2,3]}`
	cases := map[string]struct{ data, want string }{
		"empty":           {"", `dataset "d.jsonl": empty file`},
		"header not json": {"{", `line 1: bad header`},
		"wrong format":    {strings.Replace(header, "trm-dataset/v1", "csv", 1), `line 1: format "csv", want "trm-dataset/v1"`},
		"bad split":       {strings.Replace(header, `"train"`, `"val"`, 1), `line 1: split "val"`},
		"bad seq_len":     {strings.Replace(header, `"seq_len":4`, `"seq_len":0`, 1), "line 1: seq_len 0, want ≥ 1"},
		"unknown field":   {strings.Replace(header, `"seed"`, `"sead"`, 1), `line 1: bad header: json: unknown field "sead"`},
		"short input": {header + "\n" + good + "\n" + strings.Replace(good, "[5,9,1,1]", "[5,9,1]", 1),
			`dataset "d.jsonl" line 3: input has 3 tokens, want 4`},
		"missing label": {header + "\n" + `{"input":[5,9,1,1]}`, "line 2: label has 0 tokens, want 4"},
		"token range":   {header + "\n" + strings.Replace(good, "[5,9,1,1]", "[5,12,1,1]", 1), "line 2: input token 12 at position 1, want in [0, 12)"},
		"label range":   {header + "\n" + strings.Replace(good, "-100,2,3", "-100,2,-3", 1), "line 2: label -3 at position 3"},
		"puzzle id":     {header + "\n" + strings.Replace(good, `"puzzle_id":0`, `"puzzle_id":3`, 1), "line 2: puzzle_id 3, want in [0, 1)"},
		"not json":      {header + "\n" + good + "\n\n" + "oops", "line 4: invalid character"},
		"two values":    {header + "\n" + good + " {}", "line 2: more than one JSON value"},
		"truncated":     {header + "\n" + good + "\n", `dataset "d.jsonl": 1 examples, the header promises 2 (truncated file?)`},
		"too many":      {header + "\n" + good + "\n" + good + "\n" + good, "line 4: more examples than the header's n 2"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ReadDataset(strings.NewReader(c.data), "d.jsonl")
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	// Blank lines (and a missing final newline) are fine.
	d, err := ReadDataset(strings.NewReader("\n"+header+"\n\n"+good+"\n"+good), "d.jsonl")
	require.NoError(t, err)
	assert.Len(t, d.Examples, 2)
	assert.Equal(t, "3 + 7", d.Texts[0])

	_, err = LoadDataset(filepath.Join(t.TempDir(), "none.jsonl"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}
