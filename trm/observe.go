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
	if observe == nil {
		return StepOut{}, errors.New("trm: StepObserved needs an observe function")
	}
	y, z = m.noGradCycles(t, x, y, z, m.Config.HCycles, m.Config.LCycles, observe)
	return StepOut{Y: y, Z: z, Logits: m.lmHead(t, y), QHalt: m.qHalt(t, y)}, nil
}
