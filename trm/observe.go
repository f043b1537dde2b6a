package trm

import (
	"errors"

	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/tensor"
)

// Cycle identifies one net call inside a supervision step: the Inner-th
// latent update z = net(z, y + x) of recursion cycle Cycle (Inner from 1
// to n), or that cycle's answer update y = net(y, z) (Inner 0).
type Cycle struct {
	// Cycle is the recursion cycle, 1 to T (H_cycles).
	Cycle int
	// Inner is the latent update, 1 to n (L_cycles), or 0 for the answer
	// update.
	Inner int
}

// IsY reports whether c is an answer update (y = net(y, z)).
func (c Cycle) IsY() bool { return c.Inner == 0 }

// StepObserved is Step on a tape with gradients off (inference) that
// calls observe after every net call with the carry (y, z) at that point,
// both [B, L+P, D]; y and z are only valid during the call. Its outputs
// equal Step's exactly: the same operations in the same order. It is how
// a trace looks inside the recursion (trm trace): does the latent settle
// or keep moving?
func (m *Model) StepObserved(t *nn.Tape, x, y, z *nn.Node, observe func(c Cycle, y, z *tensor.Tensor)) (StepOut, error) {
	if !t.NoGrad() {
		return StepOut{}, errors.New("trm: StepObserved needs a tape with gradients off (SetNoGrad(true))")
	}
	T, n := m.Config.HCycles, m.Config.LCycles
	shape := y.Shape()
	yb := tensor.Tensor{Shape: shape, Data: t.Alloc(len(y.Value.Data))}
	zb := tensor.Tensor{Shape: shape, Data: t.Alloc(len(z.Value.Data))}
	copy(yb.Data, y.Value.Data)
	copy(zb.Data, z.Value.Data)
	y, z = t.Const(&yb), t.Const(&zb)
	mark := t.Mark()
	for c := 1; c <= T; c++ {
		for i := 1; i <= n; i++ {
			copy(zb.Data, m.Net.Forward(t, z, t.Add(y, x)).Value.Data)
			t.Release(mark)
			observe(Cycle{Cycle: c, Inner: i}, &yb, &zb)
		}
		copy(yb.Data, m.Net.Forward(t, y, z).Value.Data)
		t.Release(mark)
		observe(Cycle{Cycle: c}, &yb, &zb)
	}
	return StepOut{Y: y, Z: z, Logits: m.lmHead(t, y), QHalt: m.qHalt(t, y)}, nil
}
