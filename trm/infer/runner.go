package infer

import (
	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/tensor"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/task"
)

// stepsFor returns the supervision steps to run: steps, or the model's
// N_sup (halt_max_steps) when steps ≤ 0.
func stepsFor(m *trm.Model, steps int) int {
	if steps <= 0 {
		return m.Config.HaltMaxSteps
	}
	return steps
}

// batchFor returns bs, or defaultBatch when bs ≤ 0.
func batchFor(bs int) int {
	if bs <= 0 {
		return defaultBatch
	}
	return bs
}

// runner runs batches of examples through the supervision steps without
// gradients, reusing its tape and buffers: the loop Evaluate and Predictor
// share.
type runner struct {
	m      *trm.Model
	batch  int // the most examples run holds
	tape   *nn.Tape
	y, z   *tensor.Tensor
	tokens []int32
	pids   []int32
	preds  []int32
	q      []float32
}

func newRunner(m *trm.Model, batch int) *runner {
	y, z := m.NewCarry(batch)
	return &runner{
		m: m, batch: batch, tape: nn.NewTape(), y: y, z: z,
		tokens: make([]int32, batch*m.Config.SeqLen),
		pids:   make([]int32, batch),
		preds:  make([]int32, batch*m.Config.SeqLen),
		q:      make([]float32, batch),
	}
}

// run starts every example from (y_init, z_init) and runs up to steps
// supervision steps, calling visit after each with the step number (from
// 1), the argmax predictions [len(exs)·L] and q_halt [len(exs)]; it stops
// early when visit returns false. len(exs) must be at most e.batch.
func (e *runner) run(exs []task.Example, steps int, visit func(step int, preds []int32, q []float32) bool) {
	m, t := e.m, e.tape
	S, D, L := m.Config.SeqTotal(), m.Config.HiddenSize, m.Config.SeqLen
	B := len(exs)
	for b, ex := range exs {
		copy(e.tokens[b*L:(b+1)*L], ex.Input)
		e.pids[b] = ex.PuzzleID
	}
	y := &tensor.Tensor{Shape: []int{B, S, D}, Data: e.y.Data[:B*S*D]}
	z := &tensor.Tensor{Shape: []int{B, S, D}, Data: e.z.Data[:B*S*D]}
	for b := range B {
		m.ResetSample(y, z, b)
	}
	t.Reset()
	t.SetNoGrad(true)
	x := m.Input(t, e.tokens[:B*L], e.pids[:B])
	mark := t.Mark()
	for step := 1; step <= steps; step++ {
		out := m.Step(t, x, t.Const(y), t.Const(z))
		copy(y.Data, out.Y.Value.Data)
		copy(z.Data, out.Z.Value.Data)
		trm.Predictions(e.preds[:B*L], &out.Logits.Value)
		copy(e.q, out.QHalt.Value.Data)
		t.Release(mark)
		if !visit(step, e.preds[:B*L], e.q[:B]) {
			break
		}
	}
}
