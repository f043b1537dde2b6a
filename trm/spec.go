package trm

import (
	"math"
	"strconv"

	"github.com/trm-go/trm/nn"
)

// Tensor names (spec §4): the official state-dict names without the
// "_orig_mod.model." prefix of a saved checkpoint. The block tensors are
// netPrefix + "layers.{i}." + the names nn.NewBlock gives them
// ("self_attn.qkv_proj.weight", "mlp.down_proj.weight", ...).
const (
	nameYInit     = "inner.H_init"
	nameZInit     = "inner.L_init"
	nameTokenEmb  = "inner.embed_tokens.embedding_weight"
	nameLMHead    = "inner.lm_head"
	nameQHead     = "inner.q_head"
	namePuzzleEmb = "inner.puzzle_emb.weights"
	namePosEmb    = "inner.embed_pos.embedding_weight"
	netPrefix     = "inner.L_level."
	// yNetPrefix names the answer network's blocks when the model has
	// separate networks (ModelConfig.SeparateNets), HRM's name for it.
	yNetPrefix = "inner.H_level."
)

// ParamKind says how a tensor of the model is trained.
type ParamKind int

const (
	// KindDense tensors are updated by the optimizer (AdamATan2/AdamW)
	// with weight decay; ParamCount counts these.
	KindDense ParamKind = iota
	// KindSparse is the puzzle-embedding table, updated by SignSGD on the
	// rows of the batch's puzzle ids (a buffer in the official code).
	KindSparse
	// KindFixed tensors are drawn once at init and saved, never trained:
	// y_init and z_init (the official H_init, L_init buffers).
	KindFixed
)

// String returns "dense", "sparse" or "fixed".
func (k ParamKind) String() string {
	switch k {
	case KindDense:
		return "dense"
	case KindSparse:
		return "sparse"
	case KindFixed:
		return "fixed"
	}
	return "ParamKind(" + strconv.Itoa(int(k)) + ")"
}

// InitKind names a parameter initialisation.
type InitKind int

const (
	// InitTruncNormal draws from a normal of standard deviation Std cut at
	// ±2·Std, rescaled so the standard deviation is exactly Std (the
	// official trunc_normal_init_).
	InitTruncNormal InitKind = iota
	// InitConst fills with Value (0 for zero init).
	InitConst
)

// Init describes how a tensor is initialised.
type Init struct {
	Kind  InitKind
	Std   float64 // InitTruncNormal
	Value float64 // InitConst
}

// TensorSpec describes one tensor of a model: its state-dict name (the
// official one without the "_orig_mod.model." prefix), its shape ([out, in]
// for linear weights, PyTorch's layout), how it is trained and initialised.
type TensorSpec struct {
	Name  string
	Shape []int
	Kind  ParamKind
	Init  Init
}

// Size returns the number of elements.
func (s TensorSpec) Size() int {
	n := 1
	for _, d := range s.Shape {
		n *= d
	}
	return n
}

// TensorSpecs lists every tensor of the model c describes, in the order of
// the official state dict. It is the single source of truth for the
// model's parameters: the model builds them from it and checkpoints are
// checked against it. c should be valid (Validate); the result for an
// invalid config is unspecified.
//
//	inner.H_init, inner.L_init                        [hidden]              y_init, z_init
//	inner.embed_tokens.embedding_weight               [vocab, hidden]
//	inner.lm_head.weight                              [vocab, hidden]
//	inner.q_head.weight, inner.q_head.bias            [2, hidden], [2]
//	inner.puzzle_emb.weights                          [num_ids, ndim]       when puzzle_emb_ndim > 0
//	inner.embed_pos.embedding_weight                  [L+P, hidden]         when pos_encodings = learned
//	inner.L_level.layers.{i}.self_attn.qkv_proj.weight [3·hidden, hidden]   attn variant
//	inner.L_level.layers.{i}.self_attn.o_proj.weight   [hidden, hidden]     attn variant
//	inner.L_level.layers.{i}.mlp_t.gate_up_proj.weight [2·Inter(L+P), L+P]  mlp variant
//	inner.L_level.layers.{i}.mlp_t.down_proj.weight    [L+P, Inter(L+P)]    mlp variant
//	inner.L_level.layers.{i}.mlp.gate_up_proj.weight   [2·Inter(hidden), hidden]
//	inner.L_level.layers.{i}.mlp.down_proj.weight      [hidden, Inter(hidden)]
//	inner.H_level.layers.{i}.*                         as L_level's          when separate_nets
func (c ModelConfig) TensorSpecs() []TensorSpec {
	h, V, S := c.HiddenSize, c.VocabSize, c.SeqTotal()
	linear := func(name string, out, in int) TensorSpec {
		return TensorSpec{name, []int{out, in}, KindDense, Init{Kind: InitTruncNormal, Std: 1 / math.Sqrt(float64(in))}}
	}
	embedStd := 1 / math.Sqrt(float64(h))
	specs := []TensorSpec{
		{nameYInit, []int{h}, KindFixed, Init{Kind: InitTruncNormal, Std: 1}},
		{nameZInit, []int{h}, KindFixed, Init{Kind: InitTruncNormal, Std: 1}},
		{nameTokenEmb, []int{V, h}, KindDense, Init{Kind: InitTruncNormal, Std: embedStd}},
		linear(nameLMHead+".weight", V, h),
		{nameQHead + ".weight", []int{2, h}, KindDense, Init{Kind: InitConst, Value: 0}},
		{nameQHead + ".bias", []int{2}, KindDense, Init{Kind: InitConst, Value: -5}},
	}
	if c.PuzzleEmbNdim > 0 {
		specs = append(specs, TensorSpec{namePuzzleEmb, []int{c.NumPuzzleIdentifiers, c.PuzzleEmbNdim}, KindSparse, Init{Kind: InitConst, Value: 0}})
	}
	if c.PosEncodings == PosLearned {
		specs = append(specs, TensorSpec{namePosEmb, []int{S, h}, KindDense, Init{Kind: InitTruncNormal, Std: embedStd}})
	}
	specs = c.netSpecs(specs, netPrefix, linear)
	if c.SeparateNets {
		specs = c.netSpecs(specs, yNetPrefix, linear)
	}
	return specs
}

// netSpecs appends the tensors of one network of L_layers blocks named
// prefix + "layers.{i}.".
func (c ModelConfig) netSpecs(specs []TensorSpec, prefix string, linear func(name string, out, in int) TensorSpec) []TensorSpec {
	h, S := c.HiddenSize, c.SeqTotal()
	for i := range c.LLayers {
		p := prefix + "layers." + strconv.Itoa(i) + "."
		if c.Variant == nn.VariantMLP {
			in := c.Inter(S)
			specs = append(specs,
				linear(p+"mlp_t.gate_up_proj.weight", 2*in, S),
				linear(p+"mlp_t.down_proj.weight", S, in))
		} else {
			specs = append(specs,
				linear(p+"self_attn.qkv_proj.weight", 3*h, h),
				linear(p+"self_attn.o_proj.weight", h, h))
		}
		in := c.Inter(h)
		specs = append(specs,
			linear(p+"mlp.gate_up_proj.weight", 2*in, h),
			linear(p+"mlp.down_proj.weight", h, in))
	}
	return specs
}
