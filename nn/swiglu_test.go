package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/tensor"
)

// The fused SwiGLULinear and SwiGLURowsMixLinear give the values and the
// gradients of the two ops they replace, bit for bit (the SwiGLU computed
// again in the backward pass is the forward's), on one worker and on
// three, and keep nothing of the SwiGLU's output after the forward pass.
func TestSwiGLUFusedBitIdentical(t *testing.T) {
	const b, s, d, inter, out = 3, 7, 20, 24, 9
	rng := rand.New(rand.NewPCG(5, 6))
	type run func(tp *Tape, gu, w, bias *Node) *Node
	cases := []struct {
		name           string
		gu, w, bias    []int
		fused, twoOps  run
		hidden, output int // floats of the SwiGLU's output and of the result
	}{
		{"SwiGLULinear", []int{b, s, 2 * inter}, []int{out, inter}, []int{out},
			func(tp *Tape, gu, w, bias *Node) *Node { return tp.SwiGLULinear(gu, w, bias) },
			func(tp *Tape, gu, w, bias *Node) *Node { return tp.Linear(tp.SwiGLU(gu), w, bias) },
			b * s * inter, b * s * out},
		{"SwiGLURowsMixLinear", []int{b, 2 * inter, d}, []int{out, inter}, nil,
			func(tp *Tape, gu, w, _ *Node) *Node { return tp.SwiGLURowsMixLinear(gu, w) },
			func(tp *Tape, gu, w, _ *Node) *Node { return tp.MixLinear(tp.SwiGLURows(gu), w) },
			b * inter * d, b * out * d},
	}
	for _, c := range cases {
		for _, team := range []tensor.Team{1, 3} {
			gu, w := randF32(rng, tensor.Size(c.gu)), randF32(rng, tensor.Size(c.w))
			var bias []float32
			if c.bias != nil {
				bias = randF32(rng, tensor.Size(c.bias))
			}
			weights := randF32(rng, c.output)
			type result struct {
				y, dgu, dw, db []float32
				held           int
			}
			eval := func(f run) result {
				tp := NewTape()
				tp.SetTeam(team)
				gn, wn := tp.Var(tensor.FromSlice(gu, c.gu...)), tp.Var(tensor.FromSlice(w, c.w...))
				var bn *Node
				if bias != nil {
					bn = tp.Var(tensor.FromSlice(bias, c.bias...))
				}
				live := tp.arena.live
				y := f(tp, gn, wn, bn)
				held := tp.arena.live - live
				// Twice through the same output, so that gu's gradient
				// is accumulated into (not only written).
				loss := tp.Sum(tp.Mul(tp.Add(y, y), tp.Const(tensor.FromSlice(weights, y.Shape()...))))
				tp.Backward(loss)
				r := result{y: y.Value.Data, dgu: gn.Grad.Data, dw: wn.Grad.Data, held: held}
				if bn != nil {
					r.db = bn.Grad.Data
				}
				return r
			}
			fused, two := eval(c.fused), eval(c.twoOps)
			for _, p := range []struct {
				what      string
				got, want []float32
			}{{"value", fused.y, two.y}, {"d gu", fused.dgu, two.dgu}, {"d w", fused.dw, two.dw}, {"d bias", fused.db, two.db}} {
				require.Len(t, p.got, len(p.want), "%s team %d: %s", c.name, team, p.what)
				for i := range p.want {
					require.Equal(t, math.Float32bits(p.want[i]), math.Float32bits(p.got[i]),
						"%s team %d: %s[%d]", c.name, team, p.what, i)
				}
			}
			align := func(n int) int { return (n + arenaAlign - 1) &^ (arenaAlign - 1) }
			assert.Equal(t, align(c.output), fused.held, "%s: the forward keeps only its result", c.name)
			assert.Equal(t, align(c.output)+align(c.hidden), two.held, "%s: the two ops keep the SwiGLU's output too", c.name)
		}
	}
}

// On a tape without gradients the fused ops record nothing and their
// result requires no gradient.
func TestSwiGLUFusedNoGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	tp := NewTape()
	tp.SetNoGrad(true)
	gu := tp.Var(tensor.FromSlice(randF32(rng, 2*5*8), 2, 5, 8))
	w := tp.Var(tensor.FromSlice(randF32(rng, 3*4), 3, 4))
	y := tp.SwiGLULinear(gu, w, nil)
	assert.False(t, y.requiresGrad)
	w2 := tp.Var(tensor.FromSlice(randF32(rng, 3*2), 3, 2))
	z := tp.SwiGLURowsMixLinear(tp.Var(tensor.FromSlice(randF32(rng, 2*4*3), 2, 4, 3)), w2)
	assert.False(t, z.requiresGrad)
	assert.Zero(t, tp.Len(), "nothing recorded")
}
