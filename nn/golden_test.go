package nn

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/internal/golden"
	"github.com/trm-go/trm/tensor"
)

// goldenBlockFile is nn/testdata/golden_block_{attn,mlp}.json.gz, written by
// scripts/golden from an independent PyTorch implementation.
type goldenBlockFile struct {
	Config struct {
		Variant   string  `json:"variant"`
		Hidden    int     `json:"hidden"`
		Heads     int     `json:"heads"`
		Expansion float64 `json:"expansion"`
		Layers    int     `json:"layers"`
		Batch     int     `json:"batch"`
		Seq       int     `json:"seq"`
		Vocab     int     `json:"vocab"`
		RMSEps    float64 `json:"rms_eps"`
		RopeTheta float64 `json:"rope_theta"`
		Pos       string  `json:"pos"`
	} `json:"config"`
	Params  map[string]golden.Tensor `json:"params"`
	Inputs  map[string]golden.Tensor `json:"inputs"`
	Outputs map[string]golden.Tensor `json:"outputs"`
	Grads   map[string]golden.Tensor `json:"grads"`
}

func TestGoldenBlocks(t *testing.T) {
	for _, variant := range []string{"attn", "mlp"} {
		t.Run(variant, func(t *testing.T) {
			// A missing fixture fails the test (golden.Load's error): it is
			// committed, and scripts/golden remakes it.
			path := filepath.Join("testdata", "golden_block_"+variant+".json.gz")
			var g goldenBlockFile
			require.NoError(t, golden.Load(path, &g))
			checkGoldenBlocks(t, &g)
		})
	}
}

func checkGoldenBlocks(t *testing.T, g *goldenBlockFile) {
	c := g.Config
	require.Equal(t, c.Variant, map[string]string{"rope": "attn", "none": "mlp"}[c.Pos], "fixture variant/pos")
	cfg := BlockConfig{Variant: Variant(c.Variant), Hidden: c.Hidden, Heads: c.Heads,
		Expansion: c.Expansion, Seq: c.Seq, Eps: float32(c.RMSEps)}
	var rope *RoPE
	if c.Pos == "rope" {
		rope = NewRoPE(c.Hidden/c.Heads, c.Seq, c.RopeTheta)
	}
	net, err := NewNet("", c.Layers, cfg, rope, nil)
	require.NoError(t, err)
	lmHead := NewLinear("lm_head", c.Hidden, c.Vocab, false, nil)
	qHead := NewLinear("q_head", c.Hidden, 2, true, nil)
	params := append(append(net.Params(), lmHead.Params()...), qHead.Params()...)
	require.Len(t, g.Params, len(params), "fixture parameter count")
	for _, p := range params {
		src, ok := g.Params[p.Name]
		require.True(t, ok, "parameter %s missing from the fixture", p.Name)
		require.Equal(t, p.Shape(), src.Shape, "shape of %s", p.Name)
		copy(p.Value.Data, src.F32())
	}

	tp := NewTape()
	in := func(name string) *Node {
		x := g.Inputs[name]
		return tp.Var(tensor.FromSlice(x.F32(), x.Shape...))
	}
	h, inject := in("h"), in("inject")
	labels := g.Inputs["labels"].I32()
	bsz, seq, d := c.Batch, c.Seq, c.Hidden

	out := net.Forward(tp, h, inject)
	logits := lmHead.Forward(tp, out)
	first := tp.Reshape(tp.Slice(out, 1, 0, 1), bsz, d)
	qHalt := tp.Reshape(tp.Slice(qHead.Forward(tp, first), 1, 0, 1), bsz)
	targets := make([]float32, bsz)
	SequenceCorrect(targets, logits.Value.Data, labels, bsz, seq, c.Vocab)
	ce := tp.StablemaxCE(logits, labels)
	bce := tp.BCEWithLogits(qHalt, targets)
	loss := tp.Mean(tp.Add(ce, tp.Scale(bce, 0.5)))
	ZeroGrads(params)
	tp.Backward(loss)

	for name, got := range map[string]*Node{"out": out, "logits": logits, "q_halt": qHalt, "loss": loss} {
		want := g.Outputs[name]
		require.Equal(t, want.Shape, append([]int{}, got.Shape()...), "shape of output %s", name)
		e := relErr(got.Value.Data, want.Data, 1e-6)
		t.Logf("output %s: relative error %.2g", name, e)
		require.LessOrEqual(t, e, 1e-4, "output %s", name)
	}
	grads := map[string][]float32{"h": h.Grad.Data, "inject": inject.Grad.Data}
	for _, p := range params {
		grads[p.Name] = p.Grad.Data
	}
	require.Len(t, g.Grads, len(grads), "fixture gradient count")
	worst := 0.0
	for name, got := range grads {
		want, ok := g.Grads[name]
		require.True(t, ok, "gradient %s missing from the fixture", name)
		require.Len(t, got, len(want.Data), "gradient %s", name)
		e := relErr(got, want.Data, 1e-6)
		worst = max(worst, e)
		require.LessOrEqual(t, e, 1e-3, "gradient %s", name)
	}
	t.Logf("gradients: largest relative error %.2g over %d tensors", worst, len(grads))
}
