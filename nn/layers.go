package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
)

// Linear is a dense layer y = x·Wᵀ + b with PyTorch's weight layout
// [out, in]. TRM uses no biases except in q_head.
type Linear struct {
	// Weight is [Out, In]; its name ends in ".weight".
	Weight *Param
	// Bias is [Out] (name ending in ".bias"), or nil for no bias.
	Bias *Param
}

// NewLinear returns a Linear layer named name (its parameters are
// name+".weight" and name+".bias") with LeCun-normal weights and a zero bias
// when bias is true. rng may be nil to leave the weights zero.
func NewLinear(name string, in, out int, bias bool, rng *rand.Rand) *Linear {
	l := &Linear{Weight: NewParam(name+".weight", out, in)}
	if bias {
		l.Bias = NewParam(name+".bias", out)
	}
	if rng != nil {
		LeCunNormal(l.Weight, rng)
	}
	return l
}

// In returns the input size.
func (l *Linear) In() int { return l.Weight.Value.Shape[1] }

// Out returns the output size.
func (l *Linear) Out() int { return l.Weight.Value.Shape[0] }

// Forward applies the layer to x [..., In], giving [..., Out].
func (l *Linear) Forward(t *Tape, x *Node) *Node {
	return t.Linear(x, &l.Weight.Node, l.biasNode())
}

// biasNode returns the bias's node, or nil without a bias.
func (l *Linear) biasNode() *Node {
	if l.Bias == nil {
		return nil
	}
	return &l.Bias.Node
}

// Params returns the layer's parameters (weight, then bias if any).
func (l *Linear) Params() []*Param {
	if l.Bias != nil {
		return []*Param{l.Weight, l.Bias}
	}
	return []*Param{l.Weight}
}

// Embedding is a lookup table [Vocab, Dim]; its output rows are multiplied by
// Scale (TRM scales token embeddings by √hidden).
type Embedding struct {
	// Weight is the [Vocab, Dim] table.
	Weight *Param
	// Scale multiplies every output row.
	Scale float32
}

// NewEmbedding returns a table named name of vocab rows of size dim,
// initialised with TruncNormal of standard deviation std (nil rng: zeros).
func NewEmbedding(name string, vocab, dim int, std float64, scale float32, rng *rand.Rand) *Embedding {
	e := &Embedding{Weight: NewParam(name, vocab, dim), Scale: scale}
	if rng != nil {
		TruncNormal(e.Weight.Value.Data, std, rng)
	}
	return e
}

// Forward returns Scale·Weight[ids], shape [len(ids), Dim]. ids must stay
// unchanged until Backward is done.
func (e *Embedding) Forward(t *Tape, ids []int32) *Node {
	return t.Embedding(&e.Weight.Node, ids, e.Scale)
}

// Params returns the table.
func (e *Embedding) Params() []*Param { return []*Param{e.Weight} }

// InterSize returns the SwiGLU intermediate size for input size in:
// round(expansion·in·2/3) rounded up to a multiple of 256 (hidden 512 and
// expansion 4 give 1536; 97 gives 512).
func InterSize(expansion float64, in int) int {
	n := int(math.RoundToEven(expansion * float64(in) * 2 / 3))
	return (n + 255) / 256 * 256
}

// SwiGLU is the gated MLP down_proj(silu(gate)·up) with gate and up the two
// halves of gate_up_proj(x).
type SwiGLU struct {
	// GateUp is gate_up_proj, [2·Inter, in] without bias.
	GateUp *Linear
	// Down is down_proj, [in, Inter] without bias.
	Down *Linear
}

// NewSwiGLU returns a SwiGLU MLP named name (parameters
// name+".gate_up_proj.weight" and name+".down_proj.weight") for inputs of
// size in, with intermediate size InterSize(expansion, in).
func NewSwiGLU(name string, in int, expansion float64, rng *rand.Rand) *SwiGLU {
	inter := InterSize(expansion, in)
	return &SwiGLU{
		GateUp: NewLinear(name+".gate_up_proj", in, 2*inter, false, rng),
		Down:   NewLinear(name+".down_proj", inter, in, false, rng),
	}
}

// Forward applies the MLP over the last axis of x. The SwiGLU's output is
// not kept for the backward pass (Tape.SwiGLULinear).
func (m *SwiGLU) Forward(t *Tape, x *Node) *Node {
	return t.SwiGLULinear(m.GateUp.Forward(t, x), &m.Down.Weight.Node, m.Down.biasNode())
}

// MixForward applies the MLP over the second-to-last axis of x [..., S, D]
// (S its input width): Forward(xᵀ)ᵀ, without a transposed copy (MixLinear,
// SwiGLURows). It panics if a projection has a bias.
func (m *SwiGLU) MixForward(t *Tape, x *Node) *Node {
	if m.GateUp.Bias != nil || m.Down.Bias != nil {
		panic("nn: SwiGLU.MixForward: projections with a bias")
	}
	return t.SwiGLURowsMixLinear(t.MixLinear(x, &m.GateUp.Weight.Node), &m.Down.Weight.Node)
}

// Params returns gate_up_proj's and down_proj's weights.
func (m *SwiGLU) Params() []*Param { return []*Param{m.GateUp.Weight, m.Down.Weight} }

// Attention is TRM's self-attention: a fused qkv_proj [3·hidden, hidden]
// (query heads, key heads, value heads), optional RoPE, non-causal
// softmax(q·kᵀ/√hd)·v and o_proj [hidden, hidden], no biases.
type Attention struct {
	QKV   *Linear // qkv_proj
	O     *Linear // o_proj
	Heads int     // number of heads; head size = hidden/Heads
	// RoPE, when not nil, rotates queries and keys.
	RoPE *RoPE
}

// NewAttention returns an attention layer named name (parameters
// name+".qkv_proj.weight", name+".o_proj.weight").
func NewAttention(name string, hidden, heads int, rope *RoPE, rng *rand.Rand) *Attention {
	if heads <= 0 || hidden%heads != 0 {
		panic(fmt.Sprintf("nn: NewAttention: hidden %d not divisible by %d heads", hidden, heads))
	}
	return &Attention{
		QKV:   NewLinear(name+".qkv_proj", hidden, 3*hidden, false, rng),
		O:     NewLinear(name+".o_proj", hidden, hidden, false, rng),
		Heads: heads,
		RoPE:  rope,
	}
}

// Forward applies attention to x [B, S, hidden].
func (a *Attention) Forward(t *Tape, x *Node) *Node {
	return a.O.Forward(t, t.Attention(a.QKV.Forward(t, x), a.Heads, a.RoPE))
}

// Params returns qkv_proj's and o_proj's weights.
func (a *Attention) Params() []*Param { return []*Param{a.QKV.Weight, a.O.Weight} }

// Variant selects the sequence mixer of a TRM block.
type Variant string

// The two block variants.
const (
	// VariantAttn mixes positions with self-attention (TRM-Att).
	VariantAttn Variant = "attn"
	// VariantMLP mixes positions with a SwiGLU over the sequence axis
	// ("mlp_t", TRM-MLP).
	VariantMLP Variant = "mlp"
)

// BlockConfig sizes a TRM block.
type BlockConfig struct {
	Variant   Variant // VariantAttn or VariantMLP
	Hidden    int     // D
	Heads     int     // attention heads (VariantAttn)
	Expansion float64 // SwiGLU expansion, 4 in TRM
	Seq       int     // sequence length L+P (the mlp_t input size for VariantMLP)
	Eps       float32 // RMSNorm epsilon; 0 means RMSEps
}

// Validate returns an error when the configuration is unusable.
func (c BlockConfig) Validate() error {
	switch {
	case c.Hidden <= 0:
		return fmt.Errorf("nn: block hidden size %d, want > 0", c.Hidden)
	case c.Expansion <= 0:
		return fmt.Errorf("nn: block expansion %g, want > 0", c.Expansion)
	case c.Variant == VariantAttn && (c.Heads <= 0 || c.Hidden%c.Heads != 0 || (c.Hidden/c.Heads)%2 != 0):
		return fmt.Errorf("nn: attention block with hidden %d and %d heads, want an even head size", c.Hidden, c.Heads)
	case c.Variant == VariantMLP && c.Seq <= 0:
		return fmt.Errorf("nn: mlp block with sequence length %d, want > 0", c.Seq)
	case c.Variant != VariantAttn && c.Variant != VariantMLP:
		return fmt.Errorf("nn: block variant %q, want %q or %q", c.Variant, VariantAttn, VariantMLP)
	}
	return nil
}

func (c BlockConfig) eps() float32 {
	if c.Eps == 0 {
		return RMSEps
	}
	return c.Eps
}

// mixerColumnsMin is the smallest hidden size at which the MLP-mixer's
// sequence MLP runs on h as it lies (MixForward, AddRMSNormCols) instead
// of on transposed copies; a variable for tests.
//
// Without the transposes the products take the weight as their left
// operand, packed again for every sample (1/hidden of the arithmetic), and
// the column norm makes more passes than the row norm; with them, two
// copies of h each way. Measured on one block's mixer, forward, one
// worker (Zen 5): columns/transposes 1.02–1.04× the time at hidden 64 and
// 1.08–1.13× at 64 × 6 samples, a tie at 128, 0.92–0.94× at 256 and
// 0.89–0.93× at 512 (and 6% less peak memory in a hidden-512 training
// step).
var mixerColumnsMin = 256

// MixerColumns reports whether an MLP-mixer block of the given hidden size
// runs its sequence MLP without transposing h (see SwiGLU.MixForward).
// Both ways compute the same function; they round differently.
func MixerColumns(hidden int) bool { return hidden >= mixerColumnsMin }

// Block is one post-norm TRM block:
//
//	attn: h = rms(h + attn(h));                        h = rms(h + mlp(h))
//	mlp:  h = rms(h + mlp_t(hᵀ)ᵀ) (norm over the sequence axis); h = rms(h + mlp(h))
type Block struct {
	// Config is the configuration the block was built with.
	Config BlockConfig
	// SelfAttn is the attention mixer (self_attn), nil for VariantMLP.
	SelfAttn *Attention
	// MLPT is the sequence mixer (mlp_t) over the sequence axis, nil for
	// VariantAttn: on transposed copies [B, D, S], or, from hidden 256
	// (MixerColumns), on h [B, S, D] as it lies.
	MLPT *SwiGLU
	// MLP is the channel MLP (mlp).
	MLP *SwiGLU
}

// NewBlock returns a block named name (e.g. "layers.0": parameters
// "layers.0.self_attn.qkv_proj.weight", "layers.0.mlp.down_proj.weight", ...).
// rope is used by VariantAttn and may be nil (no positional rotation).
func NewBlock(name string, cfg BlockConfig, rope *RoPE, rng *rand.Rand) (*Block, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b := &Block{Config: cfg, MLP: NewSwiGLU(name+".mlp", cfg.Hidden, cfg.Expansion, rng)}
	if cfg.Variant == VariantAttn {
		b.SelfAttn = NewAttention(name+".self_attn", cfg.Hidden, cfg.Heads, rope, rng)
	} else {
		b.MLPT = NewSwiGLU(name+".mlp_t", cfg.Seq, cfg.Expansion, rng)
	}
	return b, nil
}

// Forward applies the block to h [B, S, D].
func (b *Block) Forward(t *Tape, h *Node) *Node {
	eps := b.Config.eps()
	if b.SelfAttn != nil {
		h = t.AddRMSNorm(h, b.SelfAttn.Forward(t, h), eps)
	} else if MixerColumns(b.Config.Hidden) {
		// rms(hᵀ + mlp_t(hᵀ))ᵀ, computed on h [B, S, D] as it lies.
		h = t.AddRMSNormCols(h, b.MLPT.MixForward(t, h), eps)
	} else {
		ht := t.Transpose(h) // [B, D, S]
		ht = t.AddRMSNorm(ht, b.MLPT.Forward(t, ht), eps)
		h = t.Transpose(ht)
	}
	return t.AddRMSNorm(h, b.MLP.Forward(t, h), eps)
}

// Params returns the block's parameters in state-dict order
// (self_attn or mlp_t first, then mlp).
func (b *Block) Params() []*Param {
	var ps []*Param
	if b.SelfAttn != nil {
		ps = append(ps, b.SelfAttn.Params()...)
	}
	if b.MLPT != nil {
		ps = append(ps, b.MLPT.Params()...)
	}
	return append(ps, b.MLP.Params()...)
}

// Net is TRM's shared network (the official ReasoningModule): a stack of
// blocks applied to the sum of the state and the injection,
// net(h, inject) = blocks(h + inject).
type Net struct {
	// Layers are applied in order (official: L_layers = 2).
	Layers []*Block
}

// NewNet returns n blocks named prefix+"layers.{i}" (prefix "" gives
// "layers.0...", "inner.L_level." gives the official state-dict names).
func NewNet(prefix string, n int, cfg BlockConfig, rope *RoPE, rng *rand.Rand) (*Net, error) {
	if n <= 0 {
		return nil, fmt.Errorf("nn: network with %d layers, want > 0", n)
	}
	net := &Net{}
	for i := range n {
		b, err := NewBlock(prefix+"layers."+strconv.Itoa(i), cfg, rope, rng)
		if err != nil {
			return nil, err
		}
		net.Layers = append(net.Layers, b)
	}
	return net, nil
}

// Forward returns blocks(h + inject); inject may be nil (no injection).
func (n *Net) Forward(t *Tape, h, inject *Node) *Node {
	// One application is the unit of the tape's tuner (Tape.SetTuner).
	t.beginUnit(len(h.Value.Data))
	defer t.endUnit()
	if inject != nil {
		h = t.Add(h, inject)
	}
	for _, b := range n.Layers {
		h = b.Forward(t, h)
	}
	return h
}

// Params returns every block's parameters, in order.
func (n *Net) Params() []*Param {
	var ps []*Param
	for _, b := range n.Layers {
		ps = append(ps, b.Params()...)
	}
	return ps
}
