package checkpoints_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/checkpoints"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/infer"
	"github.com/trm-go/trm/trm/task"
)

func TestShippedArith(t *testing.T) {
	data, ok := checkpoints.Lookup("arith")
	require.True(t, ok)
	assert.Less(t, len(data), 3<<20, "keep the embedded model under 3 MB")
	assert.Equal(t, []string{"arith", "sudoku6", "sudoku9"}, checkpoints.Tasks())
	_, ok = checkpoints.Lookup("maze")
	assert.False(t, ok)

	p, err := infer.DecodePredictor(data, "arith")
	require.NoError(t, err)
	assert.Equal(t, "5", p.Model.Config.TaskOptions["digits"])
	if testing.Short() {
		return
	}
	got, err := p.Predict("3 + 7", "48213 + 99999", "5 + 9", "0 + 0", "99999 + 99999", "12345 + 54321")
	require.NoError(t, err)
	want := []string{"10", "148212", "14", "0", "199998", "66666"}
	for i, g := range got {
		assert.Equal(t, want[i], g.Answer, g.Input)
		assert.Greater(t, g.Confidence, 0.5, g.Input)
	}
}

// TestShippedArithCarryChains checks the shipped model on the sums with the
// longest carry chains, (10^k − 1) + j and j + (10^k − 1), with all N_sup
// supervision steps (with early exit the halting head stops a few of them
// one step too soon; see the package documentation).
func TestShippedArithCarryChains(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the shipped model on 90 sums")
	}
	data, _ := checkpoints.Lookup("arith")
	p, err := infer.DecodePredictor(data, "arith")
	require.NoError(t, err)
	p.Halt = trm.HaltFull
	var inputs, want []string
	for k, nines := 1, 9; k <= 5; k, nines = k+1, nines*10+9 {
		for j := 1; j <= 9; j++ {
			inputs = append(inputs, fmt.Sprintf("%d + %d", nines, j), fmt.Sprintf("%d + %d", j, nines))
			want = append(want, fmt.Sprint(nines+j), fmt.Sprint(nines+j))
		}
	}
	got, err := p.Predict(inputs...)
	require.NoError(t, err)
	for i, g := range got {
		assert.Equal(t, want[i], g.Answer, g.Input)
		assert.Equal(t, p.Model.Config.HaltMaxSteps, g.Steps)
	}

	// Random sums whose carry runs through 3 to 5 digits: a digit pair
	// summing to ≥ 10, then pairs summing to 9.
	rng := task.NewRand(2026)
	inputs, want = inputs[:0], want[:0]
	for range 200 {
		var a, b [5]int
		for i := range a {
			a[i], b[i] = rng.IntN(10), rng.IntN(10)
		}
		start := rng.IntN(2)
		chain := 3 + rng.IntN(3-start)
		s := 10 + rng.IntN(9)
		a[start] = s - 9 + rng.IntN(19-s)
		b[start] = s - a[start]
		for i := start + 1; i < min(5, start+1+chain); i++ {
			a[i] = rng.IntN(10)
			b[i] = 9 - a[i]
		}
		x, y := 0, 0
		for i := 4; i >= 0; i-- {
			x, y = 10*x+a[i], 10*y+b[i]
		}
		inputs = append(inputs, fmt.Sprintf("%d + %d", x, y))
		want = append(want, fmt.Sprint(x+y))
	}
	got, err = p.Predict(inputs...)
	require.NoError(t, err)
	right := 0
	for i, g := range got {
		if g.Answer == want[i] {
			right++
		}
	}
	t.Logf("carry chains: %d/%d right", right, len(got))
	assert.GreaterOrEqual(t, right, 196, "at least 98%% of long carry chains")

	// The dynamical claim of the recursion: on these sums, exact accuracy
	// rises with the number of supervision steps (measured: 65% after one
	// step, all after two).
	exs := make([]task.Example, len(inputs))
	for i, in := range inputs {
		exs[i], err = p.Task.Encode(in + " = " + want[i])
		require.NoError(t, err, in)
	}
	res, err := infer.Evaluate(context.Background(), p.Model, p.Task, infer.EvalOptions{Examples: exs})
	require.NoError(t, err)
	require.Len(t, res.Curve, p.Model.Config.HaltMaxSteps)
	first, last := res.Curve[0].ExactAcc(), res.Curve[len(res.Curve)-1].ExactAcc()
	t.Logf("exact accuracy after each supervision step: first %.3f, last %.3f", first, last)
	assert.Less(t, first, 0.9, "one supervision step should not be enough for long carry chains")
	assert.Greater(t, last, first+0.2, "accuracy must rise with supervision steps")
}

func TestShippedSudoku6(t *testing.T) {
	data, ok := checkpoints.Lookup("sudoku6")
	require.True(t, ok)
	assert.Less(t, len(data), 3<<20, "keep the embedded model under 3 MB")
	p, err := infer.DecodePredictor(data, "sudoku6")
	require.NoError(t, err)
	if testing.Short() {
		return
	}
	p.Halt = trm.HaltFull
	got, err := p.Predict("2...1414...3.....5.3..21....4.6..35.")
	require.NoError(t, err)
	digits := gridDigits(got[0].Answer)
	assert.Equal(t, "263514145263421635536421352146614352", digits, "got\n%s", got[0].Answer)
	assert.NotContains(t, got[0].Answer, "not a solution")
}

func TestShippedSudoku9(t *testing.T) {
	data, ok := checkpoints.Lookup("sudoku9")
	require.True(t, ok)
	assert.Less(t, len(data), 3<<20, "keep the embedded model under 3 MB")
	p, err := infer.DecodePredictor(data, "sudoku9")
	require.NoError(t, err)
	if testing.Short() {
		return
	}
	// A held-out puzzle: the first of trm gen --task sudoku9 --split test
	// --n 1 --seed 7 (40 blanks).
	p.Halt = trm.HaltFull
	got, err := p.Predict(".1.5.3.6..5..........69731.6..78....82........4..321...9..756.3...4.985.......279")
	require.NoError(t, err)
	digits := gridDigits(got[0].Answer)
	assert.Equal(t, "917523468356841927482697315631784592829156734745932186198275643273469851564318279", digits, "got\n%s", got[0].Answer)

	// 100 more held-out puzzles (measured on 1,000: 99.6% exact; one
	// supervision step alone 85.4%).
	res, err := infer.Evaluate(context.Background(), p.Model, p.Task, infer.EvalOptions{N: 100, Seed: 11})
	require.NoError(t, err)
	first, last := res.Curve[0].ExactAcc(), res.Curve[len(res.Curve)-1].ExactAcc()
	t.Logf("100 held-out puzzles: exact %.2f after step 1, %.2f after step %d", first, last, len(res.Curve))
	assert.GreaterOrEqual(t, res.Full.ExactAcc(), 0.95)
	assert.Greater(t, last, first, "accuracy must rise with supervision steps")
}

// gridDigits returns the digits of a printed grid, row by row, without the
// separators.
func gridDigits(grid string) string {
	return strings.Map(func(r rune) rune {
		if r >= '1' && r <= '9' {
			return r
		}
		return -1
	}, grid)
}

// TestResolve: "embedded:NAME" names a shipped model; anything else is a
// file path for the caller to read; an unknown NAME lists the shipped ones.
func TestResolve(t *testing.T) {
	data, ok, err := checkpoints.Resolve("embedded:sudoku9")
	require.NoError(t, err)
	assert.True(t, ok)
	want, _ := checkpoints.Lookup("sudoku9")
	assert.Equal(t, want, data)

	data, ok, err = checkpoints.Resolve("runs/a5/model.safetensors")
	assert.NoError(t, err)
	assert.False(t, ok)
	assert.Nil(t, data)

	_, ok, err = checkpoints.Resolve("embedded:chess")
	assert.True(t, ok)
	require.ErrorIs(t, err, checkpoints.ErrNotShipped)
	assert.EqualError(t, err, `no model is shipped for "chess" (shipped: arith, sudoku6, sudoku9)`)
}

// TestDocumentedParamCounts: the documentation states each shipped model's
// parameter count as trm.ModelConfig.ParamCount counts it (the trained
// parameters, as the official code's model.parameters(): without the
// y_init/z_init buffers, H_init/L_init there, nor a puzzle-embedding
// table), the one count trm train, trm import/export, trm ablate and
// GET /v1/models report.
func TestDocumentedParamCounts(t *testing.T) {
	docs := map[string]string{}
	for _, f := range []string{"doc.go", "embed.go", "../README.md", "../RESULTS.md"} {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		docs[f] = string(b)
	}
	mentions := map[string][]string{
		"arith":   {"doc.go", "../README.md"},
		"sudoku6": {"doc.go", "embed.go", "../README.md", "../RESULTS.md"},
		"sudoku9": {"doc.go", "embed.go", "../README.md", "../RESULTS.md"},
	}
	for _, name := range checkpoints.Tasks() {
		data, _ := checkpoints.Lookup(name)
		ck, err := trm.DecodeCheckpoint(data, name)
		require.NoError(t, err)
		n := ck.Config.ParamCount()
		var all int64
		for _, tn := range ck.Tensors {
			all += int64(len(tn))
		}
		hidden := int64(ck.Config.HiddenSize)
		assert.Equal(t, all-2*hidden, n, "%s: every tensor but y_init and z_init", name)
		for _, f := range mentions[name] {
			assert.True(t, strings.Contains(docs[f], withCommas(n)), "%s states %s's %s parameters", f, name, withCommas(n))
			assert.False(t, strings.Contains(docs[f], withCommas(all)), "%s counts %s's y_init/z_init buffers (%s)", f, name, withCommas(all))
		}
	}
}

// withCommas formats n with thousands separators: 132738 → "132,738".
func withCommas(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
