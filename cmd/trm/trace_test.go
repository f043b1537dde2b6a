package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/trm/infer"
)

// TestTrace: the terminal view shows every step with its grid and the
// changed cells marked, the halting step and the net calls; --json is the
// library's trace; bad input and flags are refused.
func TestTrace(t *testing.T) {
	puzzle := "4.....8.5.3..........7......2.....6.....8.4......1.......6.3.7.5..2.....1.4......"
	code, out, errOut := trmRunIn(context.Background(), "", "trace", "--task", "sudoku9", "--steps", "3", puzzle)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "trace of sudoku9 on embedded:sudoku9: 3 supervision steps")
	for _, want := range []string{"step 1: q_halt", "step 2: q_halt", "step 3: q_halt", "cycle 1: ‖Δz‖", "then ‖Δy‖", " 4 . . . . . 8 . 5"} {
		assert.Contains(t, out, want)
	}
	assert.NotContains(t, out, "step 4:")
	assert.Contains(t, out, "*", "changed cells are marked")

	code, out, errOut = trmRunIn(context.Background(), "", "trace", "--json", "3 + 7")
	require.Equal(t, exitOK, code, errOut)
	var tr infer.Trace
	require.NoError(t, json.Unmarshal([]byte(out), &tr))
	assert.Equal(t, "3 + 7", tr.Input)
	require.Len(t, tr.Steps, 4)
	assert.Equal(t, "10", tr.Steps[3].Answer)

	code, _, errOut = trmRunIn(context.Background(), "", "trace", "3 plus 7")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "3 plus 7")
	code, _, errOut = trmRunIn(context.Background(), "", "trace", "1 + 1", "2 + 2")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "want exactly one input")
	code, _, errOut = trmRunIn(context.Background(), "", "trace", "--steps", "9", "1 + 1")
	assert.Equal(t, exitUsage, code)
	assert.True(t, strings.Contains(errOut, "--steps-beyond-nsup"), errOut)
}
