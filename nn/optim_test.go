package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/tensor"
)

// scalarParam returns a one-element parameter with value v.
func scalarParam(name string, v float32) *Param {
	p := NewParam(name, 1)
	p.Value.Data[0] = v
	return p
}

// The expected values below are worked out by hand from the update rules
// with θ₀ = 1, lr = 0.1, wd = 0.01, β = (0.9, 0.95), g₁ = 0.5, g₂ = −0.25.
//
// Step 1: m = 0.05, v = 0.0125, 1−β1 = 0.1, 1−β2 = 0.05, so m̂ = 0.5 and
// v̂ = 0.25. Step 2: m = 0.9·0.05 − 0.025 = 0.02,
// v = 0.95·0.0125 + 0.05·0.0625 = 0.015, 1−β1² = 0.19, 1−β2² = 0.0975.

func TestAdamWByHand(t *testing.T) {
	p := scalarParam("p", 1)
	o := NewAdamW([]*Param{p}, 0.9, 0.95, 1e-8, 0.01)
	p.Grad.Data[0] = 0.5
	o.Step(0.1)
	// θ = 1·(1 − 0.001) − 0.1·0.5/(√0.25 + 1e-8) = 0.999 − 0.1 = 0.899
	assert.InDelta(t, 0.899, p.Value.Data[0], 1e-6)
	p.Grad.Data[0] = -0.25
	o.Step(0.1)
	// θ = 0.899·0.999 − 0.1·(0.02/0.19)/√(0.015/0.0975)
	//   = 0.898101 − 0.1·0.10526316/0.39223227 = 0.898101 − 0.02683694
	assert.InDelta(t, 0.87126406, p.Value.Data[0], 1e-6)
}

func TestAdamATan2ByHand(t *testing.T) {
	p := scalarParam("p", 1)
	o := NewAdamATan2([]*Param{p}, 0.9, 0.95, 0.01)
	p.Grad.Data[0] = 0.5
	o.Step(0.1)
	// θ = 0.999 − (0.1/0.1)·atan2(0.05, √(0.0125/0.05)) = 0.999 − atan(0.1)
	//   = 0.999 − 0.09966865
	assert.InDelta(t, 0.89933135, p.Value.Data[0], 1e-6)
	p.Grad.Data[0] = -0.25
	o.Step(0.1)
	// θ = 0.89933135·0.999 − (0.1/0.19)·atan2(0.02, √(0.015/0.0975))
	//   = 0.89843202 − 0.52631579·atan(0.05099020) = 0.89843202 − 0.02681372
	assert.InDelta(t, 0.87161830, p.Value.Data[0], 1e-6)
}

func TestAdamATan2BoundedStep(t *testing.T) {
	// |atan2| < π/2: even a huge gradient moves θ by less than lr·π/2/(1−β1).
	p := scalarParam("p", 0)
	o := NewAdamATan2([]*Param{p}, 0.9, 0.95, 0)
	p.Grad.Data[0] = 1e30
	o.Step(1e-3)
	assert.Less(t, math.Abs(float64(p.Value.Data[0])), 1e-3*math.Pi/2/0.1)
	assert.False(t, math.IsNaN(float64(p.Value.Data[0])))
}

func TestSignSGDByHand(t *testing.T) {
	p := NewParam("emb", 2, 3)
	copy(p.Value.Data, []float32{1, -2, 0.5, 4, 4, 4})
	copy(p.Grad.Data, []float32{0.3, 0, -1, 0, 0, 0})
	o := NewSignSGD([]*Param{p}, 0.5, true)
	o.Step(0.1)
	// Row 0: θ·(1 − 0.05) − 0.1·sign(g) = [0.95−0.1, −1.9, 0.475+0.1].
	// Row 1 has no gradient: untouched (decay included) with RowsTouched.
	want := []float32{0.85, -1.9, 0.575, 4, 4, 4}
	for i := range want {
		assert.InDelta(t, want[i], p.Value.Data[i], 1e-6, "element %d", i)
	}
	o.RowsTouched = false
	o.Step(0.1)
	assert.InDelta(t, 4*0.95, p.Value.Data[3], 1e-6, "dense mode decays every row")
}

func TestWarmupLR(t *testing.T) {
	assert.InDelta(t, 1e-5, WarmupLR(1, 10, 1e-4), 1e-12)
	assert.InDelta(t, 5e-5, WarmupLR(5, 10, 1e-4), 1e-12)
	assert.Equal(t, 1e-4, WarmupLR(10, 10, 1e-4))
	assert.Equal(t, 1e-4, WarmupLR(10000, 10, 1e-4))
	assert.Equal(t, 1e-4, WarmupLR(0, 0, 1e-4))
}

func TestEMA(t *testing.T) {
	p := scalarParam("p", 1)
	e := NewEMA([]*Param{p}, 0.9)
	p.Value.Data[0] = 2
	e.Update()
	assert.InDelta(t, 1.1, e.Average(0)[0], 1e-6) // 0.9·1 + 0.1·2
	view := p.Value.Data
	e.Swap()
	assert.True(t, e.Swapped())
	assert.InDelta(t, 1.1, view[0], 1e-6, "swapped in place")
	assert.InDelta(t, 1.1, p.Value.Data[0], 1e-6)
	assert.InDelta(t, 1.1, e.Average(0)[0], 1e-6)
	assert.Panics(t, e.Update)
	e.Swap()
	assert.Equal(t, float32(2), p.Value.Data[0])
	e.CopyTo()
	assert.InDelta(t, 1.1, p.Value.Data[0], 1e-6)
}

// TestOptimizerStateRoundTrip: an optimizer restored from an exported state
// continues exactly like the original.
func TestOptimizerStateRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	mk := func() []*Param {
		a, b := NewParam("a", 3, 2), NewParam("b", 4)
		r := rand.New(rand.NewPCG(9, 9))
		TruncNormal(a.Value.Data, 1, r)
		TruncNormal(b.Value.Data, 1, r)
		return []*Param{a, b}
	}
	grads := make([][]float32, 6)
	for i := range grads {
		grads[i] = randF32(rng, 10)
	}
	setGrads := func(ps []*Param, g []float32) {
		copy(ps[0].Grad.Data, g[:6])
		copy(ps[1].Grad.Data, g[6:])
	}
	makers := map[string]func([]*Param) Optimizer{
		"AdamW":     func(ps []*Param) Optimizer { return NewAdamW(ps, 0.9, 0.95, 1e-8, 0.1) },
		"AdamATan2": func(ps []*Param) Optimizer { return NewAdamATan2(ps, 0.9, 0.95, 0.1) },
		"SignSGD":   func(ps []*Param) Optimizer { return NewSignSGD(ps, 0.1, false) },
	}
	for name, mkOpt := range makers {
		t.Run(name, func(t *testing.T) {
			p1, p2 := mk(), mk()
			o1, o2 := mkOpt(p1), mkOpt(p2)
			e1, e2 := NewEMA(p1, 0.9), NewEMA(p2, 0.9)
			for i := range 3 {
				setGrads(p1, grads[i])
				o1.Step(0.01)
				e1.Update()
			}
			// p2 takes p1's weights and both states, then both continue.
			for i := range p1 {
				copy(p2[i].Value.Data, p1[i].Value.Data)
			}
			require.NoError(t, o2.SetState(o1.State()))
			require.NoError(t, e2.SetState(e1.State()))
			for i := 3; i < 6; i++ {
				setGrads(p1, grads[i])
				setGrads(p2, grads[i])
				o1.Step(0.01)
				o2.Step(0.01)
				e1.Update()
				e2.Update()
			}
			for i := range p1 {
				assert.Equal(t, p1[i].Value.Data, p2[i].Value.Data)
				assert.Equal(t, e1.Average(i), e2.Average(i))
			}
			assert.Equal(t, o1.State(), o2.State())
		})
	}
}

func TestStateErrors(t *testing.T) {
	p := NewParam("w", 2)
	o := NewAdamW([]*Param{p}, 0.9, 0.95, 1e-8, 0)
	s := o.State()
	assert.Equal(t, []string{"m/w", "v/w"}, s.Names())
	s.Tensors["m/w"] = []float32{1}
	assert.ErrorContains(t, o.SetState(s), `"m/w" has 1 values, parameter has 2`)
	delete(s.Tensors, "m/w")
	assert.ErrorContains(t, o.SetState(s), `"m/w" missing`)
	e := NewEMA([]*Param{p}, 0.9)
	assert.ErrorContains(t, e.SetState(&State{Tensors: map[string][]float32{"ema/x": {1, 2}}}), `"ema/w" missing`)
	assert.Error(t, NewSignSGD(nil, 0, false).SetState(&State{Step: -1}))
}

// The updates run in pieces on a team: the same bits for every team, and the
// pieces cover each element once, in order. Parameters of several pieces,
// one of a single element and one empty.
func TestUpdatesTeamBitIdentical(t *testing.T) {
	sizes := []int{3*pieceLen + 17, 1, 0, pieceLen, 1000}
	run := func(team tensor.Team) [][]float32 {
		r := rand.New(rand.NewPCG(1, 1))
		var ps []*Param
		for i, n := range sizes {
			p := NewParam(fmt.Sprintf("p%d", i), max(n, 1))
			if n == 0 {
				p = &Param{Name: "empty"}
				p.Value.Data, p.Grad.Data = []float32{}, []float32{}
			}
			TruncNormal(p.Value.Data, 1, r)
			ps = append(ps, p)
		}
		w, a, e := NewAdamW(ps, 0.9, 0.95, 1e-8, 0.1), NewAdamATan2(ps, 0.9, 0.95, 0.1), NewEMA(ps, 0.99)
		w.SetTeam(team)
		a.SetTeam(team)
		e.SetTeam(team)
		for step := range 3 {
			for _, p := range ps {
				TruncNormal(p.Grad.Data, 1, r)
			}
			w.Step(1e-3)
			a.Step(1e-3 * float64(step+1))
			e.Update()
		}
		var out [][]float32
		for i, p := range ps {
			out = append(out, slices.Clone(p.Value.Data), slices.Clone(e.Average(i)))
		}
		return out
	}
	one := run(1)
	for _, team := range []tensor.Team{2, 3, 0} {
		assert.Equal(t, one, run(team), "team %d", team)
	}

	// The pieces cover every element once, in order.
	ps := []*Param{NewParam("a", 2*pieceLen+1), NewParam("b", 5)}
	assert.Equal(t, []piece{{0, 0, pieceLen}, {0, pieceLen, 2 * pieceLen}, {0, 2 * pieceLen, 2*pieceLen + 1}, {1, 0, 5}}, cut(ps))
}
