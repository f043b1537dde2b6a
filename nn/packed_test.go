package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/trm-go/trm/tensor"
)

// TestFreezeWeights: with the weights frozen, a network's forward pass
// gives the same bits as without (both variants, several passes reusing
// the packs, 1 and 2 workers); a new freeze after a weight changed uses
// the new weight; a change inside a freeze is not seen (the documented
// contract).
func TestFreezeWeights(t *testing.T) {
	for _, v := range []Variant{VariantAttn, VariantMLP} {
		t.Run(string(v), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			cfg := BlockConfig{Variant: v, Hidden: 32, Heads: 2, Expansion: 4, Seq: 19}
			net, err := NewNet("", 2, cfg, NewRoPE(16, 19, 10000), rng)
			require.NoError(t, err)
			h, inj := tensor.New(3, 19, 32), tensor.New(3, 19, 32)
			TruncNormal(h.Data, 1, rng)
			TruncNormal(inj.Data, 1, rng)
			forward := func(tp *Tape) []float32 {
				tp.Reset()
				tp.SetNoGrad(true)
				return slices.Clone(net.Forward(tp, tp.Const(h), tp.Const(inj)).Value.Data)
			}
			for _, w := range []int{1, 2} {
				prev := tensor.Workers()
				tensor.SetWorkers(w)
				want := forward(NewTape())
				tp := NewTape()
				tp.FreezeWeights(true)
				assert.True(t, tp.WeightsFrozen())
				for range 3 {
					got := forward(tp)
					require.True(t, sameBits(want, got), "workers=%d: frozen weights change the result", w)
				}
				assert.True(t, tp.WeightsFrozen(), "Reset keeps the freeze")

				// A weight changes inside the freeze: the pack is used.
				var wt *Param
				for _, p := range net.Params() {
					if p.Name == "layers.0.mlp.gate_up_proj.weight" {
						wt = p
					}
				}
				require.NotNil(t, wt)
				for i := range wt.Value.Data {
					wt.Value.Data[i] *= 1.5
				}
				require.True(t, sameBits(want, forward(tp)), "inside a freeze the packed weights are used")
				// A new freeze packs the new weights.
				tp.FreezeWeights(false)
				changed := forward(NewTape())
				require.False(t, sameBits(want, changed))
				require.True(t, sameBits(changed, forward(tp)), "unfrozen: the weights as they are")
				tp.FreezeWeights(true)
				require.True(t, sameBits(changed, forward(tp)), "a new freeze packs the changed weights")
				for i := range wt.Value.Data {
					wt.Value.Data[i] /= 1.5
				}
				tensor.SetWorkers(prev)
			}
		})
	}
}

// sameBits reports whether x and y hold the same float bits.
func sameBits(x, y []float32) bool {
	return slices.EqualFunc(x, y, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) })
}
