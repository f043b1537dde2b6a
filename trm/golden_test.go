package trm

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/internal/golden"
	"github.com/trm-go/trm/nn"
)

// goldenTRM is trm/testdata/golden_trm_{attn,mlp,mlp_sep}.json.gz, written by
// scripts/golden/make_fixtures.py from the float64 PyTorch reference
// scripts/golden/trm_ref.py.
type goldenTRM struct {
	Config struct {
		Variant       string  `json:"variant"`
		Hidden        int     `json:"hidden"`
		Heads         int     `json:"heads"`
		Expansion     float64 `json:"expansion"`
		Layers        int     `json:"layers"`
		T             int     `json:"T"`
		N             int     `json:"n"`
		Vocab         int     `json:"vocab"`
		SeqLen        int     `json:"seq_len"`
		PuzzleEmbLen  int     `json:"puzzle_emb_len"`
		PuzzleEmbNdim int     `json:"puzzle_emb_ndim"`
		NumPuzzleIDs  int     `json:"num_puzzle_ids"`
		Pos           string  `json:"pos"`
		Batch         int     `json:"batch"`
		Steps         int     `json:"steps"`
		RMSEps        float64 `json:"rms_eps"`
		RopeTheta     float64 `json:"rope_theta"`
		SeparateNets  bool    `json:"separate_nets"`
	} `json:"config"`
	Params map[string]golden.Tensor `json:"params"`
	Inputs struct {
		Tokens    golden.Tensor `json:"tokens"`
		PuzzleIDs golden.Tensor `json:"puzzle_ids"`
		Labels    golden.Tensor `json:"labels"`
	} `json:"inputs"`
	Outputs struct {
		Steps []struct {
			Logits golden.Tensor `json:"logits"`
			QHalt  golden.Tensor `json:"q_halt"`
			Y      golden.Tensor `json:"y"`
			Z      golden.Tensor `json:"z"`
		} `json:"steps"`
		Loss golden.Tensor `json:"loss"`
	} `json:"outputs"`
	Grads map[string]golden.Tensor `json:"grads"`
}

func loadGoldenTRM(t *testing.T, variant string) *goldenTRM {
	path := filepath.Join("testdata", "golden_trm_"+variant+".json.gz")
	var g goldenTRM
	require.NoError(t, golden.Load(path, &g))
	return &g
}

// goldenConfig is the ModelConfig of a fixture's model.
func goldenConfig(g *goldenTRM) ModelConfig {
	gc := g.Config
	return ModelConfig{
		Variant: nn.Variant(gc.Variant), PosEncodings: PosEncoding(gc.Pos),
		HiddenSize: gc.Hidden, NumHeads: gc.Heads, Expansion: gc.Expansion, LLayers: gc.Layers,
		HCycles: gc.T, LCycles: gc.N, HaltMaxSteps: len(g.Outputs.Steps),
		VocabSize: gc.Vocab, SeqLen: gc.SeqLen,
		PuzzleEmbLen: gc.PuzzleEmbLen, PuzzleEmbNdim: gc.PuzzleEmbNdim, NumPuzzleIdentifiers: gc.NumPuzzleIDs,
		RMSNormEps: gc.RMSEps, RopeTheta: gc.RopeTheta, SeparateNets: gc.SeparateNets,
	}
}

// requireClose checks got against want element-wise with a tolerance
// relative to the tensor's largest magnitude.
func requireClose(t *testing.T, want []float64, got []float32, rel float64, what string) {
	t.Helper()
	require.Len(t, got, len(want), what)
	scale := 0.0
	for _, w := range want {
		scale = math.Max(scale, math.Abs(w))
	}
	tol := rel * math.Max(scale, 1e-6)
	for i, w := range want {
		if d := math.Abs(float64(got[i]) - w); d > tol {
			require.Failf(t, "mismatch", "%s[%d]: got %g, want %g (|diff| %g > %g)", what, i, got[i], w, d, tol)
		}
	}
}

// TestGoldenTRM checks the whole model against the PyTorch reference: per
// supervision step the logits, q_halt, y and z; for the first step the loss
// and the gradient of every trained parameter. mlp_sep is the paper's
// separate-networks ablation (the answer update on inner.H_level).
func TestGoldenTRM(t *testing.T) {
	for _, variant := range []string{"attn", "mlp", "mlp_sep"} {
		t.Run(variant, func(t *testing.T) {
			g := loadGoldenTRM(t, variant)
			cfg := goldenConfig(g)
			m, err := NewModel(cfg, 1)
			require.NoError(t, err)

			// Every model tensor is in the fixture, with its shape.
			require.Len(t, m.Params(), len(g.Params))
			for _, p := range m.Params() {
				gp, ok := g.Params[p.Name]
				require.True(t, ok, "fixture lacks %s", p.Name)
				require.Equal(t, gp.Shape, p.Value.Shape, p.Name)
				copy(p.Value.Data, gp.F32())
			}

			tokens := g.Inputs.Tokens.I32()
			pids := g.Inputs.PuzzleIDs.I32()
			labels := g.Inputs.Labels.I32()
			B := g.Config.Batch
			yc, zc := m.NewCarry(B)
			tape := nn.NewTape()
			for step, want := range g.Outputs.Steps {
				tape.Reset()
				nn.ZeroGrads(m.Params())
				x := m.Input(tape, tokens, pids)
				out := m.Step(tape, x, tape.Const(yc), tape.Const(zc))
				requireClose(t, want.Logits.Data, out.Logits.Value.Data, 1e-4, "logits")
				requireClose(t, want.QHalt.Data, out.QHalt.Value.Data, 1e-4, "q_halt")
				requireClose(t, want.Y.Data, out.Y.Value.Data, 1e-4, "y")
				requireClose(t, want.Z.Data, out.Z.Value.Data, 1e-4, "z")
				if step == 0 {
					lo := m.Loss(tape, out, labels, nil, 0.5) // the official halt_loss_weight
					require.Equal(t, []float32{0, 1, 0}, lo.Correct)
					requireClose(t, g.Outputs.Loss.Data, lo.Loss.Value.Data, 1e-3, "loss")
					tape.Backward(lo.Loss)
					trained := m.TrainedParams()
					require.Len(t, trained, len(g.Grads))
					for _, p := range trained {
						gg, ok := g.Grads[p.Name]
						require.True(t, ok, "fixture has no gradient for %s", p.Name)
						requireClose(t, gg.Data, p.Grad.Data, 1e-3, "grad "+p.Name)
					}
					for _, p := range []*nn.Param{m.YInit, m.ZInit} {
						require.Equal(t, make([]float32, len(p.Grad.Data)), p.Grad.Data, "%s is not trained", p.Name)
					}
				}
				copy(yc.Data, out.Y.Value.Data)
				copy(zc.Data, out.Z.Value.Data)
			}
		})
	}
}

// TestGoldenTRMNoGradCyclesAreFree checks that the no-gradient cycles of a
// step record nothing for backward: a model with T = 3 records as many ops
// as with T = 1.
func TestGoldenTRMNoGradCyclesAreFree(t *testing.T) {
	g := loadGoldenTRM(t, "attn")
	count := func(T int) int {
		cfg := goldenConfig(g)
		cfg.HCycles = T
		m, err := NewModel(cfg, 1)
		require.NoError(t, err)
		tape := nn.NewTape()
		yc, zc := m.NewCarry(g.Config.Batch)
		x := m.Input(tape, g.Inputs.Tokens.I32(), g.Inputs.PuzzleIDs.I32())
		m.Step(tape, x, tape.Const(yc), tape.Const(zc))
		return tape.Len()
	}
	require.Equal(t, count(1), count(3))
}
