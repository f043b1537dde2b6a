package trm_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/trm-go/trm/internal/trmtest"
	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/tensor"
	"github.com/trm-go/trm/trm"
)

func TestModelShapes(t *testing.T) {
	for _, v := range []nn.Variant{nn.VariantAttn, nn.VariantMLP} {
		t.Run(string(v), func(t *testing.T) {
			c := trmtest.TinyConfig(t, v)
			c.PuzzleEmbNdim, c.PuzzleEmbLen, c.NumPuzzleIdentifiers = 24, 2, 3
			c.PuzzleEmbLR, c.PuzzleEmbWeightDecay = 1e-2, 0.1
			if v == nn.VariantMLP {
				c.PosEncodings = trm.PosLearned
			}
			m, err := trm.NewModel(c.ModelConfig, 7)
			require.NoError(t, err)
			specs := c.TensorSpecs()
			require.Len(t, m.Params(), len(specs))
			for i, s := range specs {
				assert.Equal(t, s.Name, m.Params()[i].Name)
				assert.Equal(t, s.Shape, m.Params()[i].Value.Shape)
			}
			assert.Equal(t, []float32{-5, -5}, m.QHead.Bias.Value.Data)
			assert.Equal(t, make([]float32, len(m.QHead.Weight.Value.Data)), m.QHead.Weight.Value.Data)
			assert.Len(t, m.TrainedParams(), len(specs)-2, "all but y_init and z_init")

			B, L, S, D := 3, c.SeqLen, c.SeqTotal(), c.HiddenSize
			tape := nn.NewTape()
			tokens := make([]int32, B*L)
			for i := range tokens {
				tokens[i] = int32(i % c.VocabSize)
			}
			x := m.Input(tape, tokens, []int32{0, 2, 1})
			require.Equal(t, []int{B, S, D}, x.Shape())
			y, z := m.NewCarry(B)
			out := m.Step(tape, x, tape.Const(y), tape.Const(z))
			assert.Equal(t, []int{B, S, D}, out.Y.Shape())
			assert.Equal(t, []int{B, S, D}, out.Z.Shape())
			assert.Equal(t, []int{B, L, c.VocabSize}, out.Logits.Shape())
			assert.Equal(t, []int{B}, out.QHalt.Shape())
			// q_head starts at "do not halt": q_halt = −5 for every sample.
			assert.Equal(t, []float32{-5, -5, -5}, out.QHalt.Value.Data)
		})
	}
}

// TestLatentNormsBounded runs many supervision steps and checks that y and
// z keep the RMS the post-norm blocks give them (about 1): the recursion
// neither explodes nor collapses.
func TestLatentNormsBounded(t *testing.T) {
	for _, v := range []nn.Variant{nn.VariantAttn, nn.VariantMLP} {
		c := trmtest.TinyConfig(t, v)
		c.HCycles, c.LCycles = 3, 4
		m, err := trm.NewModel(c.ModelConfig, 3)
		require.NoError(t, err)
		B, L := 4, c.SeqLen
		tokens := make([]int32, B*L)
		for i := range tokens {
			tokens[i] = int32(1 + i%(c.VocabSize-1))
		}
		tape := nn.NewTape()
		y, z := m.NewCarry(B)
		for range 12 {
			tape.Reset()
			tape.SetNoGrad(true)
			out := m.Step(tape, m.Input(tape, tokens, nil), tape.Const(y), tape.Const(z))
			copy(y.Data, out.Y.Value.Data)
			copy(z.Data, out.Z.Value.Data)
			for _, s := range [][]float32{y.Data, z.Data} {
				var ss float64
				for _, v := range s {
					ss += float64(v) * float64(v)
				}
				rms := math.Sqrt(ss / float64(len(s)))
				require.False(t, math.IsNaN(rms))
				require.InDelta(t, 1, rms, 0.05, "%s: RMS of the state", v)
			}
		}
	}
}

// TestStepNoGradSameValues: a step on a tape with gradients off (which
// frees every cycle's activations, the last one's too) gives exactly the
// values of a step that keeps them for backward.
func TestStepNoGradSameValues(t *testing.T) {
	for _, v := range []nn.Variant{nn.VariantAttn, nn.VariantMLP} {
		t.Run(string(v), func(t *testing.T) {
			c := trmtest.TinyConfig(t, v)
			m, err := trm.NewModel(c.ModelConfig, 11)
			require.NoError(t, err)
			// Non-trivial halting head, so q_halt depends on y.
			for i := range m.QHead.Weight.Value.Data {
				m.QHead.Weight.Value.Data[i] = float32(i%7-3) / 10
			}
			B, L := 2, c.SeqLen
			tokens := make([]int32, B*L)
			for i := range tokens {
				tokens[i] = int32((i * 5) % c.VocabSize)
			}
			run := func(noGrad bool) (trm.StepOut, *nn.Tape) {
				tape := nn.NewTape()
				tape.SetNoGrad(noGrad)
				x := m.Input(tape, tokens, []int32{0, 0})
				y, z := m.NewCarry(B)
				out := m.Step(tape, x, tape.Const(y), tape.Const(z))
				out = m.Step(tape, x, tape.Const(&out.Y.Value), tape.Const(&out.Z.Value))
				return out, tape
			}
			graded, _ := run(false)
			free, _ := run(true)
			assert.Equal(t, graded.Y.Value.Data, free.Y.Value.Data)
			assert.Equal(t, graded.Z.Value.Data, free.Z.Value.Data)
			assert.Equal(t, graded.Logits.Value.Data, free.Logits.Value.Data)
			assert.Equal(t, graded.QHalt.Value.Data, free.QHalt.Value.Data)
		})
	}
}

// TestStepObserved: the observed step sees every net call in order (n
// latent updates then the answer update, T times) with the carry as it
// evolves, and returns exactly Step's outputs.
func TestStepObserved(t *testing.T) {
	c := trmtest.TinyConfig(t, nn.VariantMLP)
	m, err := trm.NewModel(c.ModelConfig, 5)
	require.NoError(t, err)
	for i := range m.QHead.Weight.Value.Data {
		m.QHead.Weight.Value.Data[i] = float32(i%5-2) / 10
	}
	B, L := 2, c.SeqLen
	tokens := make([]int32, B*L)
	for i := range tokens {
		tokens[i] = int32((i * 3) % c.VocabSize)
	}
	tape := nn.NewTape()
	tape.SetNoGrad(true)
	x := m.Input(tape, tokens, []int32{0, 0})
	y0, z0 := m.NewCarry(B)
	want := m.Step(tape, x, tape.Const(y0), tape.Const(z0))
	wantY := append([]float32(nil), want.Y.Value.Data...)
	wantLogits := append([]float32(nil), want.Logits.Value.Data...)
	wantQ := append([]float32(nil), want.QHalt.Value.Data...)

	tape2 := nn.NewTape()
	tape2.SetNoGrad(true)
	x2 := m.Input(tape2, tokens, []int32{0, 0})
	var seen []trm.Cycle
	var lastZ []float32
	got, err := m.StepObserved(tape2, x2, tape2.Const(y0), tape2.Const(z0), func(cy trm.Cycle, y, z *tensor.Tensor) {
		seen = append(seen, cy)
		lastZ = append(lastZ[:0], z.Data...)
	})
	require.NoError(t, err)
	var order []trm.Cycle
	for h := 1; h <= c.HCycles; h++ {
		for i := 1; i <= c.LCycles; i++ {
			order = append(order, trm.Cycle{Cycle: h, Inner: i})
		}
		order = append(order, trm.Cycle{Cycle: h})
	}
	assert.Equal(t, order, seen)
	assert.Equal(t, wantY, got.Y.Value.Data)
	assert.Equal(t, wantLogits, got.Logits.Value.Data)
	assert.Equal(t, wantQ, got.QHalt.Value.Data)
	assert.Equal(t, got.Z.Value.Data, lastZ, "the last observation is the step's z")

	_, err = m.StepObserved(nn.NewTape(), x2, tape2.Const(y0), tape2.Const(z0), func(trm.Cycle, *tensor.Tensor, *tensor.Tensor) {})
	assert.ErrorContains(t, err, "gradients off")
}

// TestOneStepGrad: HRM's 1-step gradient computes the same values as the
// full last-cycle gradient; with n = 1 the two gradients are the same
// (both run through the one latent update and the answer update), and
// with n > 1 they differ (the earlier latent updates of the last cycle no
// longer pass gradient).
func TestOneStepGrad(t *testing.T) {
	grads := func(n int, oneStep bool) (out trm.StepOut, g map[string][]float32) {
		c := trmtest.TinyConfig(t, nn.VariantMLP)
		c.LCycles, c.OneStepGrad = n, oneStep
		m, err := trm.NewModel(c.ModelConfig, 13)
		require.NoError(t, err)
		for i := range m.QHead.Weight.Value.Data {
			m.QHead.Weight.Value.Data[i] = float32(i%5-2) / 10
		}
		B, L := 2, c.SeqLen
		tokens := make([]int32, B*L)
		labels := make([]int32, B*L)
		for i := range tokens {
			tokens[i] = int32((i * 7) % c.VocabSize)
			labels[i] = int32((i * 3) % c.VocabSize)
		}
		tape := nn.NewTape()
		nn.ZeroGrads(m.Params())
		x := m.Input(tape, tokens, []int32{0, 0})
		y, z := m.NewCarry(B)
		out = m.Step(tape, x, tape.Const(y), tape.Const(z))
		lo := m.Loss(tape, out, labels, nil, 0.5)
		tape.Backward(lo.Loss)
		g = map[string][]float32{}
		for _, p := range m.TrainedParams() {
			g[p.Name] = append([]float32(nil), p.Grad.Data...)
		}
		return out, g
	}
	full1, g1 := grads(1, false)
	one1, o1 := grads(1, true)
	assert.Equal(t, full1.Logits.Value.Data, one1.Logits.Value.Data)
	assert.Equal(t, g1, o1, "n = 1: the 1-step gradient is the full one")

	full3, g3 := grads(3, false)
	one3, o3 := grads(3, true)
	assert.Equal(t, full3.Logits.Value.Data, one3.Logits.Value.Data, "the same values")
	assert.Equal(t, full3.QHalt.Value.Data, one3.QHalt.Value.Data)
	differ := 0
	for name, want := range g3 {
		if !assert.ObjectsAreEqual(want, o3[name]) {
			differ++
		}
		nonzero := false
		for _, v := range o3[name] {
			nonzero = nonzero || v != 0
		}
		if name != "inner.puzzle_emb.weights" {
			assert.True(t, nonzero, "%s gets a 1-step gradient", name)
		}
	}
	assert.Positive(t, differ, "n = 3: the 1-step gradient is not the full one")
}

// TestSeparateNets: the paper's separate-networks ablation adds one
// network's tensors (inner.H_level.*), computes exactly the shared model's
// values when the answer network holds the latent network's weights, and
// differs from it (in y, not in the first latent update) when it does not.
// The same model goes through a checkpoint unchanged; the official export
// refuses it. The PyTorch comparison is TestGoldenTRM/mlp_sep.
func TestSeparateNets(t *testing.T) {
	for _, v := range []nn.Variant{nn.VariantAttn, nn.VariantMLP} {
		t.Run(string(v), func(t *testing.T) {
			c := trmtest.TinyConfig(t, v)
			shared, err := trm.NewModel(c.ModelConfig, 5)
			require.NoError(t, err)
			sc := c
			sc.SeparateNets = true
			sep, err := trm.NewModel(sc.ModelConfig, 5)
			require.NoError(t, err)
			require.NotNil(t, sep.YNet)
			assert.Nil(t, shared.YNet)

			var netParams int64
			for _, p := range shared.Net.Params() {
				netParams += int64(len(p.Value.Data))
			}
			assert.Equal(t, c.ParamCount()+netParams, sc.ParamCount(), "one more network")
			assert.Len(t, sep.Params(), len(shared.Params())+len(shared.Net.Params()))
			for i, p := range sep.YNet.Params() {
				assert.Equal(t, "inner.H_level."+shared.Net.Params()[i].Name[len("inner.L_level."):], p.Name)
			}

			B, L := 2, c.SeqLen
			tokens := make([]int32, B*L)
			for i := range tokens {
				tokens[i] = int32((i * 7) % c.VocabSize)
			}
			run := func(m *trm.Model) trm.StepOut {
				tape := nn.NewTape()
				x := m.Input(tape, tokens, []int32{0, 0})
				y, z := m.NewCarry(B)
				return m.Step(tape, x, tape.Const(y), tape.Const(z))
			}
			// Same weights everywhere, the answer network a copy of the
			// latent one: bit-identical to the shared model.
			for _, p := range shared.Params() {
				copy(sep.Param(p.Name).Value.Data, p.Value.Data)
			}
			for i, p := range sep.YNet.Params() {
				copy(p.Value.Data, shared.Net.Params()[i].Value.Data)
			}
			want, got := run(shared), run(sep)
			assert.Equal(t, want.Y.Value.Data, got.Y.Value.Data)
			assert.Equal(t, want.Logits.Value.Data, got.Logits.Value.Data)

			// Its own weights: y differs.
			fresh, err := trm.NewModel(sc.ModelConfig, 6)
			require.NoError(t, err)
			for i, p := range sep.YNet.Params() {
				copy(p.Value.Data, fresh.YNet.Params()[i].Value.Data)
			}
			got = run(sep)
			assert.NotEqual(t, want.Y.Value.Data, got.Y.Value.Data, "y = H_level(y, z)")

			// Through a checkpoint file and back.
			path := t.TempDir() + "/sep.safetensors"
			require.NoError(t, trm.SaveCheckpoint(path, sep.Checkpoint(3)))
			ck, err := trm.LoadCheckpoint(path)
			require.NoError(t, err)
			assert.True(t, ck.Config.SeparateNets)
			back, err := trm.ModelFromCheckpoint(ck)
			require.NoError(t, err)
			assert.Equal(t, got.Logits.Value.Data, run(back).Logits.Value.Data)

			_, _, err = trm.ExportTorch(ck, t.TempDir(), "step_3", trm.ExportOptions{})
			assert.ErrorContains(t, err, "separate_nets")
		})
	}
}
