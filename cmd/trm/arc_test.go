package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEvalARCEndToEnd trains a tiny ARC model on the committed tasks for
// two steps, then scores it with the official voting and checks the
// submission file against the competition format.
func TestEvalARCEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	dir := t.TempDir()
	data := filepath.Join("..", "..", "testdata", "arc", "evaluation")
	run := filepath.Join(dir, "run")
	code, _, stderr := trmRun("train", "--task", "arc", "--opt", "eval="+data, "--opt", "aug=2",
		"--hidden_size", "16", "--num_heads", "1", "--L_layers", "1", "--H_cycles", "1", "--L_cycles", "1",
		"--halt_max_steps", "1", "--puzzle_emb_ndim", "16", "--puzzle_emb_len", "1", "--batch", "4", "--steps", "2", "--run", run)
	require.Equal(t, 0, code, stderr)
	sub := filepath.Join(dir, "sub.json")
	code, stdout, stderr := trmRun("eval", "--task", "arc", "--data", data, "--checkpoint", filepath.Join(run, "model.safetensors"),
		"--augmentations", "1", "--submission", sub, "--json")
	require.Equal(t, 0, code, stderr)
	var s map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &s), stdout)
	assert.EqualValues(t, 4, s["tasks"])
	assert.EqualValues(t, 10, s["predictions"], "5 test inputs × (original + 1 augmentation)")
	assert.Contains(t, stderr, "10/10 test examples answered")
	raw, err := os.ReadFile(sub)
	require.NoError(t, err)
	var file map[string][]map[string][][]int
	require.NoError(t, json.Unmarshal(raw, &file))
	require.Len(t, file, 4)
	for id, atts := range file {
		require.NotEmpty(t, atts, id)
		for _, a := range atts {
			require.Len(t, a, 2, id)
			for _, k := range []string{"attempt_1", "attempt_2"} {
				g := a[k]
				require.NotEmpty(t, g, "%s %s", id, k)
				for _, row := range g {
					require.Len(t, row, len(g[0]), "%s %s: rows of one length", id, k)
				}
			}
		}
	}
	assert.Len(t, file["6ea4a07e"], 2, "one entry per test input")
	// --submission is refused for other tasks.
	code, _, stderr = trmRun("eval", "--submission", sub)
	assert.Equal(t, 2, code, stderr)
	assert.Contains(t, stderr, "--task arc")
}
