package nn_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/tensor"
)

// A forward pass, a backward pass and an optimizer step on a tape: a tiny
// two-layer regression. The tape is Reset at the start of each step; its
// arena is reused, so steady-state steps do not allocate.
func Example() {
	rng := rand.New(rand.NewPCG(1, 2))
	l1 := nn.NewLinear("l1", 4, 8, true, rng)
	l2 := nn.NewLinear("l2", 8, 1, false, rng)
	params := append(l1.Params(), l2.Params()...)
	opt := nn.NewAdamW(params, 0.9, 0.95, 1e-8, 0.01)

	x := tensor.New(16, 4) // inputs [N, 4]
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	target := tensor.New(16, 1)
	for i := range 16 {
		target.Data[i] = x.Data[4*i] - 2*x.Data[4*i+1]
	}

	tape := nn.NewTape()
	var first, last float32
	for step := range 300 {
		tape.Reset()
		h := tape.SiLU(l1.Forward(tape, tape.Const(x)))
		diff := tape.Add(l2.Forward(tape, h), tape.Scale(tape.Const(target), -1))
		loss := tape.Mean(tape.Mul(diff, diff))

		nn.ZeroGrads(params)
		tape.Backward(loss)
		opt.Step(nn.WarmupLR(step+1, 10, 0.05))

		if step == 0 {
			first = loss.Value.Data[0]
		}
		last = loss.Value.Data[0]
	}
	fmt.Println("loss went down:", last < first/10)

	// Without gradients nothing is recorded; Mark/Release reuses the
	// storage of throw-away passes.
	tape.Reset()
	tape.SetNoGrad(true)
	m := tape.Mark()
	y := l2.Forward(tape, tape.SiLU(l1.Forward(tape, tape.Const(x))))
	fmt.Println("recorded ops:", tape.Len(), "requires grad:", y.RequiresGrad())
	tape.Release(m)
	// Output:
	// loss went down: true
	// recorded ops: 0 requires grad: false
}
