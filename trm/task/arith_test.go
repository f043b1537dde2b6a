package task

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tokens turns a string of digits and '_' into arith tokens, in the order
// given (so callers write sequences least significant digit first).
func tokens(s string) []int32 {
	out := make([]int32, 0, len(s))
	for _, c := range s {
		switch {
		case c == '_':
			out = append(out, arithBlank)
		case c == '-':
			out = append(out, IgnoreLabel)
		case c >= '0' && c <= '9':
			out = append(out, arithDigit+int32(c-'0'))
		case c == ' ', c == '|':
		default:
			panic("bad test token " + string(c))
		}
	}
	return out
}

func TestArithEncodingLayout(t *testing.T) {
	a := NewArith(2)
	assert.Equal(t, 7, a.SeqLen())
	assert.Equal(t, 12, a.VocabSize())
	ex, err := a.Encode("48 + 75")
	require.NoError(t, err)
	assert.Equal(t, tokens("84|57|___"), ex.Input)
	assert.Nil(t, ex.Label)
	assert.Equal(t, int32(0), ex.PuzzleID)

	// The generated form carries the label, least significant digit first.
	full := a.encodePair(48, 75, true)
	assert.Equal(t, ex.Input, full.Input)
	assert.Equal(t, tokens("--|--|321"), full.Label)
	got, err := a.Decode(full, full.Label)
	require.NoError(t, err)
	assert.Equal(t, "123", got)
	assert.Equal(t, "48 + 75", a.Format(full))
}

func TestArithSeedExamples(t *testing.T) {
	a := NewArith(1)
	for _, c := range []struct{ in, sum string }{{"3 + 7", "10"}, {"5 + 9", "14"}, {"0+0", "0"}, {"9 + 9 =", "18"}} {
		ex, err := a.Encode(c.in)
		require.NoError(t, err, c.in)
		x, y := ex.Input[0]-arithDigit, ex.Input[1]-arithDigit
		full := a.encodePair(uint64(x), uint64(y), true)
		got, err := a.Decode(full, full.Label)
		require.NoError(t, err)
		assert.Equal(t, c.sum, got, c.in)
	}
}

func TestArithEncodeAcceptsAndRejects(t *testing.T) {
	a := NewArith(5)
	for in, want := range map[string]string{
		"3 + 7":             "3 + 7",
		"3+7":               "3 + 7",
		" 48213 + 99999 ":   "48213 + 99999",
		"00042+0001":        "42 + 1",
		"12 + 34 =":         "12 + 34",
		"\t0 +  99999\n":    "0 + 99999",
		"0000000000099+1 =": "99 + 1",
	} {
		ex, err := a.Encode(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, a.Format(ex), in)
		assert.Nil(t, ex.Label, "no answer given, no labels: %q", in)
	}

	// With its answer, a sum is a labelled example, the same as the
	// generator would make.
	ex, err := a.Encode(" 99999 + 1 = 100000 ")
	require.NoError(t, err)
	require.NoError(t, CheckExample(a, ex))
	assert.Equal(t, "100000", readDigits(ex.Label[10:]))
	assert.True(t, a.Verify(ex, ex.Label))
	for in, want := range map[string]string{
		"":             `want "a + b"`,
		"3 - 7":        `want "a + b"`,
		"3 + ":         "an operand is missing",
		"+ 4":          "an operand is missing",
		"3 + 4 + 5":    `operand "4 + 5" is not a whole number`,
		"-3 + 4":       `operand "-3" is not a whole number`,
		"3.5 + 4":      `operand "3.5" is not a whole number`,
		"3 + x":        `operand "x" is not a whole number`,
		"123456 + 1":   "operand 123456 has 6 digits, this task adds numbers of at most 5",
		"1 + ١٢":       "is not a whole number",
		"3 + 4 = 8":    `the answer "8" is not the sum 7`,
		"3 + 4 = x":    `the answer "x" is not the sum 7`,
		"999999999999": `want "a + b"`,
	} {
		_, err := a.Encode(in)
		if assert.Error(t, err, in) {
			assert.Contains(t, err.Error(), want, in)
			assert.Contains(t, err.Error(), "arith: ", in)
		}
	}
}

func TestArithDecodeShowsBadTokens(t *testing.T) {
	a := NewArith(2)
	ex := a.encodePair(1, 2, true)
	pred := tokens("00|00|3__") // model left two blanks
	got, err := a.Decode(ex, pred)
	require.NoError(t, err)
	assert.Equal(t, "??3", got)
	pred = tokens("00|00|300")
	got, err = a.Decode(ex, pred)
	require.NoError(t, err)
	assert.Equal(t, "3", got, "leading zeros are dropped")
	_, err = a.Decode(ex, pred[:3])
	assert.ErrorContains(t, err, "prediction has 3 tokens, want 7")
	assert.True(t, a.Verify(ex, tokens("99|99|300")), "only labelled positions count")
	assert.False(t, a.Verify(ex, tokens("00|00|400")))
}

func TestArithExamplesAreCorrectAndDeterministic(t *testing.T) {
	for _, d := range []int{1, 2, 5, 18} {
		a := NewArith(d)
		for _, split := range []Split{SplitTrain, SplitTest} {
			for i := range int64(200) {
				ex, err := a.Example(split, 7, i)
				require.NoError(t, err)
				require.NoError(t, CheckExample(a, ex))
				again, err := a.Example(split, 7, i)
				require.NoError(t, err)
				require.Equal(t, ex, again, "example %d of %s is not a pure function", i, split)

				// The label is the true sum of the operands.
				x, y := operands(t, a, ex)
				sum, err := a.Decode(ex, ex.Label)
				require.NoError(t, err)
				require.Equal(t, strconv.FormatUint(x+y, 10), sum)
				require.Equal(t, split, ArithSplit(x, y))
				require.True(t, a.Verify(ex, ex.Label))
				// Encoding the text form gives the same input.
				enc, err := a.Encode(a.Format(ex))
				require.NoError(t, err)
				require.Equal(t, ex.Input, enc.Input)
			}
		}
	}
}

func operands(t *testing.T, a *Arith, ex Example) (uint64, uint64) {
	D := a.Digits()
	x, err := strconv.ParseUint(readDigits(ex.Input[:D]), 10, 64)
	require.NoError(t, err)
	y, err := strconv.ParseUint(readDigits(ex.Input[D:2*D]), 10, 64)
	require.NoError(t, err)
	return x, y
}

func TestArithSplitsNeverOverlap(t *testing.T) {
	// D = 1: all 100 ordered pairs; both splits non-empty, commuted pairs
	// in the same split.
	a := NewArith(1)
	test := 0
	for x := range uint64(10) {
		for y := range uint64(10) {
			assert.Equal(t, ArithSplit(x, y), ArithSplit(y, x))
			if ArithSplit(x, y) == SplitTest {
				test++
			}
		}
	}
	assert.Greater(t, test, 0)
	assert.Less(t, test, 30)

	// Sampled train and test sets of several seeds share no sum.
	a = NewArith(2)
	seen := map[[2]uint64]Split{}
	for _, seed := range []uint64{0, 1, 99} {
		for _, split := range []Split{SplitTrain, SplitTest} {
			for i := range int64(500) {
				ex, err := a.Example(split, seed, i)
				require.NoError(t, err)
				x, y := operands(t, a, ex)
				key := [2]uint64{min(x, y), max(x, y)}
				if s, ok := seen[key]; ok {
					require.Equal(t, s, split, "%d + %d in both splits", x, y)
				}
				seen[key] = split
			}
		}
	}
	// About 10% of pairs are test pairs.
	test = 0
	for x := range uint64(100) {
		for y := range uint64(100) {
			if ArithSplit(x, y) == SplitTest {
				test++
			}
		}
	}
	assert.InDelta(t, 1000, test, 150)
}

func TestArithSeedsDiffer(t *testing.T) {
	a := NewArith(5)
	same := 0
	for i := range int64(100) {
		e1, _ := a.Example(SplitTrain, 1, i)
		e2, _ := a.Example(SplitTrain, 2, i)
		if a.Format(e1) == a.Format(e2) {
			same++
		}
	}
	assert.Less(t, same, 5)
}

func TestArithOperandLengths(t *testing.T) {
	// Operand lengths are spread over 1..D rather than almost all D.
	a := NewArith(4)
	counts := map[int]int{}
	for i := range int64(2000) {
		ex, err := a.Example(SplitTrain, 3, i)
		require.NoError(t, err)
		x, _ := operands(t, a, ex)
		counts[len(strconv.FormatUint(x, 10))]++
	}
	for k := 1; k <= 4; k++ {
		assert.InDelta(t, 500, counts[k], 120, "length %d", k)
	}
}

func TestArithExampleErrors(t *testing.T) {
	a := NewArith(2)
	_, err := a.Example(SplitTrain, 0, -1)
	assert.ErrorContains(t, err, "example index -1, want ≥ 0")
	_, err = a.Example("valid", 0, 0)
	assert.ErrorContains(t, err, `split "valid", want "train" or "test"`)
}

func TestArithRegistry(t *testing.T) {
	assert.Contains(t, Names(), "arith")
	assert.NotEmpty(t, Doc("arith"))
	task, err := New("arith", nil)
	require.NoError(t, err)
	assert.Equal(t, defaultArithDigits, task.(*Arith).Digits())
	again, err := New(task.Name(), task.Options())
	require.NoError(t, err)
	assert.Equal(t, task.Options(), again.Options())

	_, err = New("arith", Options{"digits": "0"})
	assert.ErrorContains(t, err, `task arith: option digits="0", want an integer in [1, 18]`)
	_, err = New("arith", Options{"digits": "two"})
	assert.ErrorContains(t, err, `option digits="two"`)
	_, err = New("arith", Options{"digit": "2"})
	assert.ErrorContains(t, err, `task arith: unknown option "digit" (known: digits)`)
	assert.Panics(t, func() { NewArith(19) })
	assert.Panics(t, func() { Register("arith", "again", func(Options) (Task, error) { return nil, nil }) })
}
