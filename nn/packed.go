package nn

import "github.com/trm-go/trm/tensor"

// Frozen weights. Every Linear multiplies its input by Wᵀ, and the GEMM
// packs that right operand into panels on every call: for a product of few
// rows (one 81-cell Sudoku: m = 81) the packing costs about 16/m of the
// arithmetic, ~20%. Inference runs the same weights through hundreds of
// products (N_sup · T · (n+1) network calls), so a tape whose weights are
// frozen packs each weight once, at its first use, and reuses the pack
// (tensor.GemmPacked, which gives Gemm's bits). MixLinear (the MLP-mixer's
// sequence MLP) is not packed: its weight is the left operand, whose
// packing costs 1/n of the arithmetic (n = hidden, 512 in TRM).

// weightPacks is a tape's cache of packed weights.
type weightPacks struct {
	on  bool
	gen uint64 // incremented by each FreezeWeights(true) that starts a freeze
	m   map[*Node]*weightPack
}

// weightPack is one weight's pack and the freeze it was made in.
type weightPack struct {
	gen uint64
	p   tensor.PackedB
}

// FreezeWeights declares (on = true) that the parameters will not change
// until FreezeWeights(false): Linear then packs each weight once, the first
// time it uses it, and multiplies by the pack from then on. Turning it on
// after it was off starts a new freeze, so the packs of an earlier one are
// never used for changed weights; their storage is reused. The packs hold
// one copy of every weight used (for the lifetime of the tape).
//
// Changing a weight during a freeze is a programmer error whose effect is
// that Linear keeps using the old values: freeze for inference (many steps
// over fixed weights), not around optimizer steps.
func (t *Tape) FreezeWeights(on bool) {
	if on && !t.packs.on {
		t.packs.gen++
	}
	t.packs.on = on
}

// WeightsFrozen reports whether FreezeWeights(true) is in effect.
func (t *Tape) WeightsFrozen() bool { return t.packs.on }

// packedWeight returns Wᵀ of the parameter node w, packed for GemmPacked,
// or nil when the weights are not frozen or w is not a parameter.
func (t *Tape) packedWeight(w *Node) *tensor.PackedB {
	if !t.packs.on || !w.persistent {
		return nil
	}
	e := t.packs.m[w]
	if e == nil {
		if t.packs.m == nil {
			t.packs.m = map[*Node]*weightPack{}
		}
		e = &weightPack{}
		t.packs.m[w] = e
	}
	if e.gen != t.packs.gen {
		out, in := w.Value.Shape[0], w.Value.Shape[1]
		e.p.Pack(true, in, out, w.Value.Data, in)
		e.gen = t.packs.gen
	}
	return &e.p
}
