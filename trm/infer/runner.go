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
	pass   int // examples per pass of a supervision step (passFor)
	y, z   *tensor.Tensor
	tokens []int32
	pids   []int32
	preds  []int32
	q      []float32
}

func newRunner(m *trm.Model, batch int) *runner {
	y, z := m.NewCarry(batch)
	e := &runner{
		m: m, batch: batch, pass: passFor(m.Config), tape: nn.NewTape(), y: y, z: z,
		tokens: make([]int32, batch*m.Config.SeqLen),
		pids:   make([]int32, batch),
		preds:  make([]int32, batch*m.Config.SeqLen),
		q:      make([]float32, batch),
	}
	// Each network application runs on the team of workers that has been
	// fastest lately (tensor.Tuner): one worker beside a process that holds
	// a core, when that is faster. The answers are the same either way.
	e.tape.SetTuner(new(tensor.Tuner))
	return e
}

// run starts every example from (y_init, z_init) and runs up to steps
// supervision steps, calling visit after each with the step number (from
// 1), the argmax predictions [len(exs)·L] and q_halt [len(exs)]; it stops
// early when visit returns false. len(exs) must be at most e.batch.
//
// Each supervision step runs the batch in passes of e.pass examples (see
// passFor): the samples are independent, so the answers are those of one
// pass over the whole batch, while each pass's activations stay in cache.
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
	// The weights are fixed for the whole run: each is packed once for
	// the products of all its supervision steps (nn.Tape.FreezeWeights).
	t.FreezeWeights(true)
	defer t.FreezeWeights(false)
	x := m.Input(t, e.tokens[:B*L], e.pids[:B])
	mark := t.Mark()
	for step := 1; step <= steps; step++ {
		for lo := 0; lo < B; lo += e.pass {
			hi := min(lo+e.pass, B)
			xs, ys, zs := rowsOf(&x.Value, lo, hi), rowsOf(y, lo, hi), rowsOf(z, lo, hi)
			out := m.Step(t, t.Const(&xs), t.Const(&ys), t.Const(&zs))
			copy(ys.Data, out.Y.Value.Data)
			copy(zs.Data, out.Z.Value.Data)
			trm.Predictions(e.preds[lo*L:hi*L], &out.Logits.Value)
			copy(e.q[lo:hi], out.QHalt.Value.Data)
			t.Release(mark)
		}
		if !visit(step, e.preds[:B*L], e.q[:B]) {
			break
		}
	}
}

// rowsOf returns the samples [lo, hi) of x [B, ...] as a tensor over x's
// storage.
func rowsOf(x *tensor.Tensor, lo, hi int) tensor.Tensor {
	per := len(x.Data) / x.Shape[0]
	r := tensor.Tensor{Shape: make([]int, len(x.Shape)), Data: x.Data[lo*per : hi*per]}
	copy(r.Shape, x.Shape)
	r.Shape[0] = hi - lo
	return r
}

// passFor returns how many examples one pass of a supervision step runs
// together (see runner.run): as many as keep a pass's [pass, L+P, hidden]
// activations within passFloats (so that the ops that follow each other
// find their inputs in the core's L2), but at least passRows positions so
// that the matrix products keep enough rows to run at speed. The shipped
// 9×9 Sudoku model (L = 81, hidden 64) runs passes of 6; the official
// hidden 512 ones passes of 4.
func passFor(c trm.ModelConfig) int {
	per := c.SeqTotal() * c.HiddenSize
	return max(passFloats/max(per, 1), (passRows+c.SeqTotal()-1)/max(c.SeqTotal(), 1), 1)
}

// passFloats and passRows size runner passes (passFor). Measured on the
// shipped 9×9 model, one worker, 512 examples at batch 256: passes of 1,
// 2, 4, 8 and 256 examples evaluated 57, 66, 61, 64 and 50 examples/s.
const (
	passFloats = 32 << 10
	passRows   = 256
)
