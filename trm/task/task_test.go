package task

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSplit(t *testing.T) {
	s, err := ParseSplit("test")
	require.NoError(t, err)
	assert.Equal(t, SplitTest, s)
	_, err = ParseSplit("Train")
	assert.ErrorContains(t, err, `split "Train", want "train" or "test"`)
}

func TestParseTaskOptions(t *testing.T) {
	o, err := ParseOptions([]string{"digits=5", " size = 9 ", "empty="})
	require.NoError(t, err)
	assert.Equal(t, Options{"digits": "5", "size": "9", "empty": ""}, o)
	_, err = ParseOptions([]string{"digits"})
	assert.ErrorContains(t, err, `task option "digits", want key=value`)
	_, err = ParseOptions([]string{"=3"})
	assert.Error(t, err)

	v, err := o.Int("t", "size", 4, 4, 9)
	require.NoError(t, err)
	assert.Equal(t, 9, v)
	v, err = o.Int("t", "missing", 4, 4, 9)
	require.NoError(t, err)
	assert.Equal(t, 4, v)
	_, err = o.Int("t", "digits", 4, 6, 9)
	assert.ErrorContains(t, err, `task t: option digits="5", want an integer in [6, 9]`)
	assert.ErrorContains(t, o.CheckKnown("t", "digits"), `task t: unknown option "empty" (known: digits)`)
	assert.ErrorContains(t, Options{"x": "1"}.CheckKnown("t"), "(known: none)")
	assert.NoError(t, o.CheckKnown("t", "digits", "size", "empty"))
}

func TestCheckExample(t *testing.T) {
	a := NewArith(1) // L = 4, vocab 12
	good := Example{Input: []int32{2, 3, 1, 1}, Label: []int32{-100, -100, 7, 2}}
	require.NoError(t, CheckExample(a, good))
	require.NoError(t, CheckExample(a, Example{Input: good.Input}), "no label is fine")
	for want, ex := range map[string]Example{
		"task arith: input has 3 tokens, want 4":          {Input: []int32{2, 3, 1}},
		"label has 5 tokens, want 4":                      {Input: good.Input, Label: []int32{1, 1, 1, 1, 1}},
		"input token 12 at position 1, want in [0, 12)":   {Input: []int32{2, 12, 1, 1}},
		"input token -1 at position 0":                    {Input: []int32{-1, 2, 1, 1}},
		"label -5 at position 2, want in [0, 12) or -100": {Input: good.Input, Label: []int32{-100, -100, -5, 2}},
		"puzzle_id 1, want in [0, 1)":                     {Input: good.Input, PuzzleID: 1},
	} {
		assert.ErrorContains(t, CheckExample(a, ex), want)
	}
}

func TestExactMatchAndScore(t *testing.T) {
	label := []int32{IgnoreLabel, 3, 4}
	assert.True(t, ExactMatch(label, []int32{9, 3, 4}))
	assert.False(t, ExactMatch(label, []int32{9, 3, 5}))
	assert.False(t, ExactMatch(label, []int32{3, 4}))
	assert.False(t, ExactMatch([]int32{IgnoreLabel}, []int32{0}), "nothing labelled is not a match")

	a := NewArith(1)
	ex := a.encodePair(3, 7, true) // label --01
	var s Score
	s.Add(a, ex, tokens("00|01"))
	s.Add(a, ex, tokens("00|00"))
	s.Add(a, ex, tokens("00|__"))
	assert.Equal(t, Score{Examples: 3, Solved: 1, Tokens: 6, TokensGood: 3}, s)
	assert.InDelta(t, 1.0/3, s.ExactAcc(), 1e-12)
	assert.InDelta(t, 0.5, s.TokenAcc(), 1e-12)
	assert.Equal(t, "exact 33.33% (1/3), token 50.00%", s.String())
	var total Score
	total.Merge(s)
	total.Merge(s)
	assert.Equal(t, 6, total.Examples)
	assert.Equal(t, 0.0, Score{}.ExactAcc())
}

func TestRandDeterministicAndUniform(t *testing.T) {
	r1, r2 := NewRand(1, 2), NewRand(1, 2)
	for range 100 {
		require.Equal(t, r1.Uint64(), r2.Uint64())
	}
	assert.NotEqual(t, NewRand(1, 2).Uint64(), NewRand(2, 1).Uint64())
	assert.NotEqual(t, ExampleRand(0, SplitTrain, 5).Uint64(), ExampleRand(0, SplitTest, 5).Uint64())
	// SplitMix64's published first output for seed 0, and a value computed
	// independently (Python) for NewRand(42): pinned so that generated
	// datasets never change silently.
	assert.Equal(t, uint64(0xe220a8397b1dcdaf), (&Rand{}).Uint64())
	assert.Equal(t, uint64(0x5a5666e17c09af40), NewRand(42).Uint64())

	r := NewRand(7)
	counts := make([]int, 6)
	for range 60000 {
		counts[r.IntN(6)]++
	}
	for k, c := range counts {
		assert.InDelta(t, 10000, c, 400, "face %d", k)
	}
	for range 1000 {
		f := r.Float64()
		require.True(t, f >= 0 && f < 1)
	}
	p := r.Perm(10)
	assert.ElementsMatch(t, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, p)
	assert.Panics(t, func() { r.IntN(0) })
	assert.Equal(t, uint64(0), r.Uint64N(1))
}
