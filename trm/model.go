package trm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/tensor"
)

// learnedPosScale is the official constant (trm.py, _input_embeddings) that
// scales token plus learned position embeddings: 0.707106781, not 1/√2.
const learnedPosScale = 0.707106781

// Model is a Tiny Recursive Model (spec §1, §4): input embeddings, one
// shared network of L_layers blocks that updates both the latent z and the
// answer y (or, for the paper's ablation, one network each: see
// ModelConfig.SeparateNets), and two heads.
//
// The paper's names are used throughout: x is the input embedding, y the
// answer state (the official z_H), z the latent (z_L), n = L_cycles,
// T = H_cycles, N_sup = halt_max_steps.
type Model struct {
	// Config is the model's architecture (validated).
	Config ModelConfig

	// TokenEmb is inner.embed_tokens.embedding_weight, [vocab, hidden].
	TokenEmb *nn.Param
	// PuzzleEmb is inner.puzzle_emb.weights, [num_puzzle_ids, ndim], or nil
	// without a puzzle embedding. It is trained by SignSGD.
	PuzzleEmb *nn.Param
	// PosEmb is inner.embed_pos.embedding_weight, [L+P, hidden], present
	// only with learned positional encodings.
	PosEmb *nn.Param
	// YInit and ZInit are inner.H_init and inner.L_init, [hidden]: the
	// fixed starting states, saved but never trained.
	YInit, ZInit *nn.Param
	// Net is the shared network inner.L_level: net(h, inject) = blocks(h + inject).
	Net *nn.Net
	// YNet is the answer update's own network inner.H_level when
	// Config.SeparateNets is set (the paper's ablation), else nil: Net
	// updates y too.
	YNet *nn.Net
	// LMHead is inner.lm_head, [vocab, hidden], no bias.
	LMHead *nn.Linear
	// QHead is inner.q_head, [2, hidden] with a bias; row 0 is the halting
	// logit q_halt, row 1 the (unused by default) q_continue.
	QHead *nn.Linear

	rope   *nn.RoPE
	params []*nn.Param // every tensor, in TensorSpecs order
	byName map[string]*nn.Param
}

// NewModel builds a model for cfg with the official initialisation drawn
// from seed: truncated-normal token (and position) embeddings of std
// 1/√hidden, LeCun-normal Linear weights (std 1/√fan_in), truncated-normal
// y_init and z_init of std 1, a zero puzzle embedding, and q_head with
// weight 0 and bias −5 ("do not halt yet").
//
// The parameters are exactly the tensors of cfg.TensorSpecs(), the single
// source of truth for names, shapes and init; the network's blocks are
// nn.NewNet's, checked against it.
func NewModel(cfg ModelConfig, seed uint64) (*Model, error) {
	return newModel(cfg, seed, true)
}

// newModel is NewModel; without init the weights are left as allocated
// (zero, and never touched: the caller replaces them).
func newModel(cfg ModelConfig, seed uint64, init bool) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Model{Config: cfg, byName: map[string]*nn.Param{}}
	if cfg.Variant == nn.VariantAttn && cfg.PosEncodings == PosRoPE {
		m.rope = nn.NewRoPE(cfg.HeadDim(), cfg.SeqTotal(), cfg.RopeTheta)
	}
	bc := nn.BlockConfig{
		Variant:   cfg.Variant,
		Hidden:    cfg.HiddenSize,
		Heads:     cfg.NumHeads,
		Expansion: cfg.Expansion,
		Seq:       cfg.SeqTotal(),
		Eps:       float32(cfg.RMSNormEps),
	}
	net, err := nn.NewNet(netPrefix, cfg.LLayers, bc, m.rope, nil) // weights drawn below, in spec order
	if err != nil {
		return nil, fmt.Errorf("trm: %w", err)
	}
	m.Net = net
	fromNet := map[string]*nn.Param{}
	for _, p := range net.Params() {
		fromNet[p.Name] = p
	}
	if cfg.SeparateNets {
		if m.YNet, err = nn.NewNet(yNetPrefix, cfg.LLayers, bc, m.rope, nil); err != nil {
			return nil, fmt.Errorf("trm: %w", err)
		}
		for _, p := range m.YNet.Params() {
			fromNet[p.Name] = p
		}
	}
	specs := cfg.TensorSpecs()
	for _, s := range specs {
		p, ok := fromNet[s.Name]
		switch {
		case !ok:
			p = nn.NewParam(s.Name, s.Shape...)
		case !slices.Equal(p.Value.Shape, s.Shape):
			// TensorSpecs and nn disagree: a programming error.
			panic(fmt.Sprintf("trm: tensor %q has shape %v in nn, %v in TensorSpecs", s.Name, p.Value.Shape, s.Shape))
		}
		delete(fromNet, s.Name)
		m.params = append(m.params, p)
		m.byName[s.Name] = p
	}
	for name := range fromNet {
		panic(fmt.Sprintf("trm: nn's tensor %q is not in TensorSpecs", name))
	}
	m.TokenEmb = m.byName[nameTokenEmb]
	m.LMHead = &nn.Linear{Weight: m.byName[nameLMHead+".weight"]}
	m.QHead = &nn.Linear{Weight: m.byName[nameQHead+".weight"], Bias: m.byName[nameQHead+".bias"]}
	m.YInit = m.byName[nameYInit]
	m.ZInit = m.byName[nameZInit]
	m.PuzzleEmb = m.byName[namePuzzleEmb] // nil without a puzzle embedding
	m.PosEmb = m.byName[namePosEmb]       // nil unless learned positions

	if !init {
		return m, nil
	}
	rng := rand.New(rand.NewPCG(seed, 0x7472_6d5f_696e_6974)) // "trm_init"
	for i, s := range specs {
		switch s.Init.Kind {
		case InitTruncNormal:
			nn.TruncNormal(m.params[i].Value.Data, s.Init.Std, rng)
		case InitConst:
			m.params[i].Value.Fill(float32(s.Init.Value))
		default:
			panic(fmt.Sprintf("trm: tensor %q has unknown init kind %d", s.Name, s.Init.Kind))
		}
	}
	return m, nil
}

// Params returns every tensor of the model in TensorSpecs order, the
// untrained y_init/z_init included.
func (m *Model) Params() []*nn.Param { return m.params }

// Param returns the tensor with the given checkpoint name, or nil.
func (m *Model) Param(name string) *nn.Param { return m.byName[name] }

// DenseParams returns the parameters trained by the main optimizer: all
// but the puzzle embedding (SignSGD) and y_init/z_init (fixed).
func (m *Model) DenseParams() []*nn.Param {
	var ps []*nn.Param
	for _, p := range m.params {
		if p != m.PuzzleEmb && p != m.YInit && p != m.ZInit {
			ps = append(ps, p)
		}
	}
	return ps
}

// TrainedParams returns every trained parameter: DenseParams plus the
// puzzle embedding when there is one.
func (m *Model) TrainedParams() []*nn.Param {
	ps := m.DenseParams()
	if m.PuzzleEmb != nil {
		ps = append(ps, m.PuzzleEmb)
	}
	return ps
}

// Input returns the input embedding x [B, L+P, D] of a batch: tokens holds
// B·L token ids (row-major), puzzleIDs B ids (ignored without a puzzle
// embedding). Following the official code,
//
//	x = √D · [puzzle prefix, token embeddings]                 (rope, none)
//	x = √D · 0.707106781 · ([puzzle prefix, tokens] + pos)      (learned)
//
// where the puzzle prefix is the id's table row zero-padded to P·D values
// and read as P tokens. tokens and puzzleIDs must stay unchanged until
// Backward is done.
func (m *Model) Input(t *nn.Tape, tokens, puzzleIDs []int32) *nn.Node {
	c := m.Config
	L, D, P := c.SeqLen, c.HiddenSize, c.PrefixLen()
	if len(tokens)%L != 0 {
		panic(fmt.Sprintf("trm: Input: %d tokens is not a multiple of seq_len %d", len(tokens), L))
	}
	B := len(tokens) / L
	h := t.Reshape(t.Embedding(&m.TokenEmb.Node, tokens, 1), B, L, D) // [B, L, D]
	if P > 0 {
		if len(puzzleIDs) != B {
			panic(fmt.Sprintf("trm: Input: %d puzzle ids for %d sequences", len(puzzleIDs), B))
		}
		pe := t.Embedding(&m.PuzzleEmb.Node, puzzleIDs, 1) // [B, ndim]
		if pad := P*D - c.PuzzleEmbNdim; pad > 0 {
			pe = t.Concat(1, pe, t.Zeros(B, pad)) // [B, P·D]
		}
		h = t.Concat(1, t.Reshape(pe, B, P, D), h) // [B, P+L, D]
	}
	if m.PosEmb != nil {
		h = t.Scale(t.Add(h, &m.PosEmb.Node), learnedPosScale)
	}
	return t.Scale(h, float32(math.Sqrt(float64(D))))
}

// StepOut is the result of one supervision step.
type StepOut struct {
	// Y and Z are the new answer and latent states [B, L+P, D]. They carry
	// the gradient of the recorded cycle; copy them out (detach) as the
	// carry of the next step.
	Y, Z *nn.Node
	// Logits are lm_head(y) without the prefix positions, [B, L, V].
	Logits *nn.Node
	// QHalt is the halting logit q_head(y[:, 0])[0], [B].
	QHalt *nn.Node
}

// Step runs one supervision step ("deep recursion", spec §1) from the carry
// (y, z) with input x, all [B, L+P, D]:
//
//	without gradient, T−1 times: n times z = net(z, y + x); then y = net(y, z)
//	with gradient, once:         n times z = net(z, y + x); then y = net(y, z)
//	logits = lm_head(y)[:, P:];  q_halt = q_head(y[:, 0])[0]
//
// x is not injected into the y update: that is how the shared network tells
// its two jobs apart. Gradients reach the parameters through the last
// cycle only (n+1 net calls; with Config.OneStepGrad, the last latent
// update and the answer update only). The no-gradient cycles reuse the tape's
// storage, so memory does not grow with T; on a tape with gradients off
// (t.NoGrad, inference) every cycle does.
func (m *Model) Step(t *nn.Tape, x, y, z *nn.Node) StepOut {
	T, n := m.Config.HCycles, m.Config.LCycles
	if t.NoGrad() {
		// Inference: nothing is kept for a backward pass, so the last
		// cycle frees its activations too (the same values; for the
		// shipped 9×9 model at batch 16 the tape needed 91 MB with it
		// kept).
		y, z = m.noGradCycles(t, x, y, z, T, n, nil)
		return StepOut{Y: y, Z: z, Logits: m.lmHead(t, y), QHalt: m.qHalt(t, y)}
	}
	y, z = m.noGradCycles(t, x, y, z, T-1, n, nil) // T−1 cycles without gradient
	graded := n
	if m.Config.OneStepGrad {
		z = m.noGradLatent(t, x, y, z, n-1) // HRM's 1-step gradient: only the last z update is graded
		graded = 1
	}
	for range graded {
		z = m.Net.Forward(t, z, t.Add(y, x)) // z = net(z, y + x)
	}
	y = m.yNet().Forward(t, y, z) // y = net(y, z)
	return StepOut{Y: y, Z: z, Logits: m.lmHead(t, y), QHalt: m.qHalt(t, y)}
}

// noGradCycles runs `cycles` recursion cycles without gradient,
//
//	n times z = net(z, y + x); then y = net(y, z)
//
// and returns the resulting (y, z) as constants. Each net call's
// activations are freed as soon as its result is copied into the two state
// buffers, so memory does not grow with T. observe, when not nil, is called
// after every net call with the carry at that point (see StepObserved).
func (m *Model) noGradCycles(t *nn.Tape, x, y, z *nn.Node, cycles, n int, observe func(c Cycle, y, z *tensor.Tensor)) (*nn.Node, *nn.Node) {
	if cycles <= 0 {
		return y, z
	}
	prev := t.SetNoGrad(true)
	defer t.SetNoGrad(prev)
	shape := y.Shape()
	yb := tensor.Tensor{Shape: shape, Data: t.Alloc(len(y.Value.Data))}
	zb := tensor.Tensor{Shape: shape, Data: t.Alloc(len(z.Value.Data))}
	copy(yb.Data, y.Value.Data)
	copy(zb.Data, z.Value.Data)
	y, z = t.Const(&yb), t.Const(&zb)
	mark := t.Mark()
	for c := 1; c <= cycles; c++ {
		for i := 1; i <= n; i++ {
			copy(zb.Data, m.Net.Forward(t, z, t.Add(y, x)).Value.Data)
			t.Release(mark)
			if observe != nil {
				observe(Cycle{Cycle: c, Inner: i}, &yb, &zb)
			}
		}
		copy(yb.Data, m.yNet().Forward(t, y, z).Value.Data)
		t.Release(mark)
		if observe != nil {
			observe(Cycle{Cycle: c}, &yb, &zb)
		}
	}
	return y, z
}

// noGradLatent runs k latent updates z = net(z, y + x) without gradient
// and returns z as a constant, freeing each call's activations.
func (m *Model) noGradLatent(t *nn.Tape, x, y, z *nn.Node, k int) *nn.Node {
	if k <= 0 {
		return z
	}
	prev := t.SetNoGrad(true)
	defer t.SetNoGrad(prev)
	zb := tensor.Tensor{Shape: z.Shape(), Data: t.Alloc(len(z.Value.Data))}
	copy(zb.Data, z.Value.Data)
	z = t.Const(&zb)
	mark := t.Mark()
	for range k {
		copy(zb.Data, m.Net.Forward(t, z, t.Add(y, x)).Value.Data)
		t.Release(mark)
	}
	return z
}

// yNet returns the network of the answer update: YNet with separate
// networks, else the shared Net.
func (m *Model) yNet() *nn.Net {
	if m.YNet != nil {
		return m.YNet
	}
	return m.Net
}

// lmHead returns lm_head(y)[:, P:], [B, L, V].
func (m *Model) lmHead(t *nn.Tape, y *nn.Node) *nn.Node {
	P, S := m.Config.PrefixLen(), m.Config.SeqTotal()
	if P > 0 {
		y = t.Slice(y, 1, P, S)
	}
	return m.LMHead.Forward(t, y)
}

// qHalt returns q_head(y[:, 0])[:, 0], [B].
func (m *Model) qHalt(t *nn.Tape, y *nn.Node) *nn.Node {
	B, D := y.Shape()[0], m.Config.HiddenSize
	q := m.QHead.Forward(t, t.Reshape(t.Slice(y, 1, 0, 1), B, D)) // [B, 2]
	return t.Reshape(t.Slice(q, 1, 0, 1), B)
}

// initRows fills every row of dst (a multiple of D values) with init.
func (m *Model) initRows(dst []float32, init *nn.Param) {
	D := m.Config.HiddenSize
	for i := 0; i < len(dst); i += D {
		copy(dst[i:i+D], init.Value.Data)
	}
}

// ResetSample sets sample b of the carry (y, z), both [B, L+P, D], to the
// starting states y_init and z_init.
func (m *Model) ResetSample(y, z *tensor.Tensor, b int) {
	n := m.Config.SeqTotal() * m.Config.HiddenSize
	m.initRows(y.Data[b*n:(b+1)*n], m.YInit)
	m.initRows(z.Data[b*n:(b+1)*n], m.ZInit)
}

// NewCarry returns a carry (y, z) for a batch of B samples, every sample at
// the starting states.
func (m *Model) NewCarry(B int) (y, z *tensor.Tensor) {
	S, D := m.Config.SeqTotal(), m.Config.HiddenSize
	y, z = tensor.New(B, S, D), tensor.New(B, S, D)
	m.initRows(y.Data, m.YInit)
	m.initRows(z.Data, m.ZInit)
	return y, z
}
