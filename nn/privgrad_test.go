package nn

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/tensor"
)

// TestPrivateGradsDataParallel: passes over the parts of a batch run at once
// on tapes with private gradients, then added into the Params in part
// order, give exactly the gradients of the parts computed one after the
// other on a plain tape and added in the same order; the Params' Grad is
// not touched by the concurrent backward passes; a Param left out of
// SetPrivateGrads still gets its gradient in its Grad.
func TestPrivateGradsDataParallel(t *testing.T) {
	for _, v := range []Variant{VariantAttn, VariantMLP} {
		t.Run(string(v), func(t *testing.T) {
			const B, S, D, parts = 6, 9, 32, 3
			rng := rand.New(rand.NewPCG(7, 7))
			blk, err := NewBlock("b", BlockConfig{Variant: v, Hidden: D, Heads: 4, Expansion: 4, Seq: S}, NewRoPE(8, S, 10000), rng)
			require.NoError(t, err)
			ps := blk.Params()
			x := tensor.New(B, S, D)
			for i := range x.Data {
				x.Data[i] = float32(rng.NormFloat64())
			}
			per := B / parts
			part := func(i int) *tensor.Tensor {
				return tensor.FromSlice(x.Data[i*per*S*D:(i+1)*per*S*D], per, S, D)
			}
			// loss of a part: Σ h² of the block's output, through every op.
			loss := func(tp *Tape, i int) *Node {
				tp.Reset()
				h := blk.Forward(tp, tp.Const(part(i)))
				return tp.Sum(tp.Mul(h, h))
			}

			// Reference: each part's gradient alone, then added in order.
			want := make([][]float32, len(ps))
			for j, p := range ps {
				want[j] = make([]float32, len(p.Value.Data))
			}
			plain := NewTape()
			for i := range parts {
				ZeroGrads(ps)
				plain.Backward(loss(plain, i))
				for j, p := range ps {
					for k, g := range p.Grad.Data {
						want[j][k] += g
					}
				}
			}

			// Data-parallel: one tape per part, all at once.
			nan := float32(math.NaN())
			for _, p := range ps {
				for k := range p.Grad.Data {
					p.Grad.Data[k] = nan
				}
			}
			tapes := make([]*Tape, parts)
			var wg sync.WaitGroup
			for i := range tapes {
				tapes[i] = NewTape()
				tapes[i].SetPrivateGrads(ps)
				tapes[i].SetTeam(1)
				wg.Add(1)
				go func() {
					defer wg.Done()
					tapes[i].Backward(loss(tapes[i], i))
				}()
			}
			wg.Wait()
			for _, p := range ps {
				for k, g := range p.Grad.Data {
					require.True(t, g != g, "%s[%d] written by a backward pass with private gradients", p.Name, k)
				}
			}
			ZeroGrads(ps)
			for _, tp := range tapes {
				require.NotNil(t, tp.PrivateGrad(ps[0]))
				tp.AddPrivateGrads()
			}
			for j, p := range ps {
				require.Equal(t, want[j], p.Grad.Data, "%s: parts run at once on private gradients", p.Name)
			}

			// A Param left out keeps its gradient in Grad; off again, every
			// gradient goes to Grad.
			tp := tapes[0]
			tp.SetPrivateGrads(ps[1:])
			require.Nil(t, tp.PrivateGrad(ps[0]))
			ZeroGrads(ps)
			tp.Backward(loss(tp, 0))
			require.NotEqual(t, make([]float32, len(ps[0].Grad.Data)), ps[0].Grad.Data, "%s not private: its Grad", ps[0].Name)
			for _, p := range ps[1:] {
				require.Equal(t, make([]float32, len(p.Grad.Data)), p.Grad.Data, "%s private: Grad untouched", p.Name)
			}
			tp.SetPrivateGrads(nil)
			ZeroGrads(ps)
			tp.Backward(loss(tp, 0))
			for _, p := range ps {
				require.NotEqual(t, make([]float32, len(p.Grad.Data)), p.Grad.Data, "%s: private gradients off", p.Name)
			}
		})
	}
}
