package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTruncNormal(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, 50000)
	const std = 0.05
	TruncNormal(x, std, rng)
	var s, ss float64
	bound := 2 * std / truncNormalStd
	for _, v := range x {
		s += float64(v)
		ss += float64(v) * float64(v)
		assert.LessOrEqual(t, math.Abs(float64(v)), bound*(1+1e-6))
	}
	n := float64(len(x))
	mean := s / n
	sd := math.Sqrt(ss/n - mean*mean)
	assert.InDelta(t, 0, mean, 4*std/math.Sqrt(n))
	assert.InDelta(t, std, sd, 0.01*std, "the standard deviation is corrected to be exact")
	assert.InDelta(t, 0.8796256610, truncNormalStd, 1e-9, "std of N(0,1) cut at ±2")

	TruncNormal(x[:3], 0, rng)
	assert.Equal(t, []float32{0, 0, 0}, x[:3])

	// Same seed, same values.
	a, b := make([]float32, 10), make([]float32, 10)
	TruncNormal(a, 1, rand.New(rand.NewPCG(3, 4)))
	TruncNormal(b, 1, rand.New(rand.NewPCG(3, 4)))
	assert.Equal(t, a, b)
}

func TestLeCunNormal(t *testing.T) {
	w := NewParam("w", 300, 400)
	LeCunNormal(w, rand.New(rand.NewPCG(1, 1)))
	var ss float64
	for _, v := range w.Value.Data {
		ss += float64(v) * float64(v)
	}
	assert.InDelta(t, 1/math.Sqrt(400), math.Sqrt(ss/float64(len(w.Value.Data))), 0.01/math.Sqrt(400))
}

func TestInterSize(t *testing.T) {
	assert.Equal(t, 1536, InterSize(4, 512))
	assert.Equal(t, 512, InterSize(4, 97))
	assert.Equal(t, 256, InterSize(4, 16))
	assert.Equal(t, 256, InterSize(4, 6))
	assert.Equal(t, 256, InterSize(1, 3))
}

func TestRoPETable(t *testing.T) {
	r := NewRoPE(8, 5, 10000)
	for s := range 5 {
		for i := range 4 {
			a := float64(s) / math.Pow(10000, float64(2*i)/8)
			assert.InDelta(t, math.Cos(a), r.Cos[s*8+i], 1e-6)
			assert.InDelta(t, math.Sin(a), r.Sin[s*8+i], 1e-6)
			assert.Equal(t, r.Cos[s*8+i], r.Cos[s*8+4+i], "halves repeat")
			assert.Equal(t, r.Sin[s*8+i], r.Sin[s*8+4+i], "halves repeat")
		}
	}
	assert.Panics(t, func() { NewRoPE(7, 5, 10000) })
}

func TestBlockConfigValidate(t *testing.T) {
	ok := BlockConfig{Variant: VariantAttn, Hidden: 16, Heads: 2, Expansion: 4}
	assert.NoError(t, ok.Validate())
	bad := ok
	bad.Heads = 3
	assert.ErrorContains(t, bad.Validate(), "hidden 16 and 3 heads")
	bad = ok
	bad.Variant = "conv"
	assert.ErrorContains(t, bad.Validate(), `variant "conv"`)
	bad = BlockConfig{Variant: VariantMLP, Hidden: 16, Expansion: 4}
	assert.ErrorContains(t, bad.Validate(), "sequence length 0")
	_, err := NewNet("", 0, ok, nil, nil)
	assert.Error(t, err)
}

// TestParamCounts checks the official parameter counts (spec §4): the
// Sudoku models minus their embeddings and heads are 2 blocks each.
func TestParamCounts(t *testing.T) {
	mlp, err := NewNet("", 2, BlockConfig{Variant: VariantMLP, Hidden: 512, Expansion: 4, Seq: 97}, nil, nil)
	assert.NoError(t, err)
	att, err := NewNet("", 2, BlockConfig{Variant: VariantAttn, Hidden: 512, Heads: 8, Expansion: 4}, nil, nil)
	assert.NoError(t, err)
	// mlp_t: 2·512·97 + 97·512; mlp: 2·1536·512 + 512·1536; per block.
	assert.Equal(t, 2*(3*512*97+3*1536*512), countParams(mlp.Params()))
	// self_attn: 3·512·512 + 512·512.
	assert.Equal(t, 2*(4*512*512+3*1536*512), countParams(att.Params()))
	// The official totals (5,028,866 and 6,828,034) minus the blocks leave
	// 11·512 (token embedding) + 11·512 (lm_head) + 2·512 + 2 (q_head).
	const rest = 11*512 + 11*512 + 2*512 + 2
	assert.Equal(t, 5028866, countParams(mlp.Params())+rest)
	assert.Equal(t, 6828034, countParams(att.Params())+rest)
}

// countParams returns the total number of scalars in params.
func countParams(params []*Param) int {
	n := 0
	for _, p := range params {
		n += len(p.Value.Data)
	}
	return n
}
