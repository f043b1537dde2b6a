package nn

import (
	"fmt"
	"math"
	"sort"

	"github.com/trm-go/trm/asm"
	"github.com/trm-go/trm/tensor"
)

// State is the exportable state of an optimizer or an EMA: a step count and
// named float32 slices (e.g. "m/layers.0.mlp.down_proj.weight"), enough to
// resume training exactly. Slices are copies, not views of live state.
type State struct {
	// Step is the number of updates made.
	Step int
	// Tensors maps names to values (copies).
	Tensors map[string][]float32
}

// Names returns the tensor names in sorted order.
func (s *State) Names() []string {
	names := make([]string, 0, len(s.Tensors))
	for n := range s.Tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Optimizer updates parameters from their gradients.
type Optimizer interface {
	// Step applies one update with learning rate lr and counts the step.
	Step(lr float64)
	// State exports the optimizer state (a copy).
	State() *State
	// SetState restores a state exported by State, checking every name and
	// length.
	SetState(s *State) error
}

// moments holds per-parameter first and second moments.
type moments struct {
	params []*Param
	m, v   [][]float32
	step   int
	team   tensor.Team
	pieces []piece // the update's parallel parts (see cut)
}

// newMoments returns zero moments for params. The moments and the
// parameters' gradients, which a training step writes from its first
// backward pass on, are mapped now (prefault: one system call each where
// the OS has one) rather than a page fault per 4 KiB in the first step; a
// model loaded only for inference, with no optimizer, never maps its
// gradients.
func newMoments(params []*Param) moments {
	mo := moments{params: params, pieces: cut(params)}
	for _, p := range params {
		mo.m = append(mo.m, make([]float32, len(p.Value.Data)))
		mo.v = append(mo.v, make([]float32, len(p.Value.Data)))
		prefault(p.Grad.Data)
		prefault(mo.m[len(mo.m)-1])
		prefault(mo.v[len(mo.v)-1])
	}
	return mo
}

// SetTeam sets how many goroutines an update may use, the caller's
// included (tensor.Team(0), the default, is tensor.Workers()). Every
// element is updated by the same arithmetic whichever goroutine runs it:
// the results are bit-identical for every Team.
func (mo *moments) SetTeam(w tensor.Team) { mo.team = w }

// piece is elements [lo, hi) of parameter p: a part of an element-wise
// update over a list of parameters.
type piece struct{ p, lo, hi int }

// pieceLen is the most elements of a piece: large enough that handing a
// piece to a helper costs little against it, small enough that a few
// large weights split evenly over the workers.
const pieceLen = 1 << 15

// cut splits params into pieces of at most pieceLen elements.
func cut(params []*Param) []piece {
	var ps []piece
	for i, p := range params {
		for lo := 0; lo < len(p.Value.Data); lo += pieceLen {
			ps = append(ps, piece{i, lo, min(lo+pieceLen, len(p.Value.Data))})
		}
	}
	return ps
}

func (mo *moments) state() *State {
	s := &State{Step: mo.step, Tensors: make(map[string][]float32, 2*len(mo.params))}
	for i, p := range mo.params {
		s.Tensors["m/"+p.Name] = append([]float32(nil), mo.m[i]...)
		s.Tensors["v/"+p.Name] = append([]float32(nil), mo.v[i]...)
	}
	return s
}

func (mo *moments) setState(kind string, s *State) error {
	if s.Step < 0 {
		return fmt.Errorf("nn: %s state: step %d, want >= 0", kind, s.Step)
	}
	for _, p := range mo.params {
		for _, pre := range [2]string{"m/", "v/"} {
			name := pre + p.Name
			src, ok := s.Tensors[name]
			if !ok {
				return fmt.Errorf("nn: %s state: tensor %q missing", kind, name)
			}
			if len(src) != len(p.Value.Data) {
				return fmt.Errorf("nn: %s state: tensor %q has %d values, parameter has %d", kind, name, len(src), len(p.Value.Data))
			}
		}
	}
	if want := 2 * len(mo.params); len(s.Tensors) != want {
		return fmt.Errorf("nn: %s state: %d tensors, want %d (m/ and v/ per parameter)", kind, len(s.Tensors), want)
	}
	for i, p := range mo.params {
		copy(mo.m[i], s.Tensors["m/"+p.Name])
		copy(mo.v[i], s.Tensors["v/"+p.Name])
	}
	mo.step = s.Step
	return nil
}

// AdamW is Adam with decoupled weight decay (Loshchilov & Hutter), as in
// torch.optim.AdamW: θ ← θ·(1 − lr·wd); m ← β1·m + (1−β1)·g;
// v ← β2·v + (1−β2)·g²; θ ← θ − lr/(1−β1ᵗ) · m / (√(v/(1−β2ᵗ)) + ε).
type AdamW struct {
	// Beta1 and Beta2 are the decay rates of the moments; Eps is added to
	// the denominator; WeightDecay is the decoupled decay coefficient.
	Beta1, Beta2, Eps, WeightDecay float64
	moments
	job adamWJob
}

// adamWJob is one AdamW update, run piece by piece.
type adamWJob struct {
	o                                    *AdamW
	b1, b2, decay, stepSize, invBC2, eps float32
}

// NewAdamW returns an AdamW optimizer over params with β = (beta1, beta2),
// epsilon eps and weight decay wd.
func NewAdamW(params []*Param, beta1, beta2, eps, wd float64) *AdamW {
	return &AdamW{Beta1: beta1, Beta2: beta2, Eps: eps, WeightDecay: wd, moments: newMoments(params)}
}

// Step implements Optimizer. The parameters are updated piece by piece on
// the optimizer's Team (SetTeam).
func (o *AdamW) Step(lr float64) {
	o.step++
	bc1 := 1 - math.Pow(o.Beta1, float64(o.step))
	bc2 := 1 - math.Pow(o.Beta2, float64(o.step))
	o.job = adamWJob{
		o:     o,
		decay: float32(1 - lr*o.WeightDecay),
		b1:    float32(o.Beta1), b2: float32(o.Beta2),
		stepSize: float32(lr / bc1),
		invBC2:   float32(1 / math.Sqrt(bc2)),
		eps:      float32(o.Eps),
	}
	o.team.Parallel(len(o.pieces), &o.job)
	o.job.o = nil
}

// RunPart implements tensor.Job: the update of one piece.
func (j *adamWJob) RunPart(k int) {
	o, pc := j.o, j.o.pieces[k]
	b1, b2, decay, stepSize, invBC2, eps := j.b1, j.b2, j.decay, j.stepSize, j.invBC2, j.eps
	m, v := o.m[pc.p][pc.lo:pc.hi], o.v[pc.p][pc.lo:pc.hi]
	w, g := o.params[pc.p].Value.Data[pc.lo:pc.hi], o.params[pc.p].Grad.Data[pc.lo:pc.hi]
	for i, gi := range g {
		m[i] = b1*m[i] + (1-b1)*gi
		v[i] = b2*v[i] + (1-b2)*gi*gi
		den := float32(math.Sqrt(float64(v[i])))*invBC2 + eps
		w[i] = w[i]*decay - stepSize*m[i]/den
	}
}

// State implements Optimizer: tensors "m/<param>" and "v/<param>".
func (o *AdamW) State() *State { return o.state() }

// SetState implements Optimizer.
func (o *AdamW) SetState(s *State) error { return o.setState("AdamW", s) }

// AdamATan2 is the optimizer of the official TRM code: Adam without ε,
// the division replaced by atan2:
// θ ← θ·(1 − lr·wd); θ ← θ − lr/(1−β1ᵗ) · atan2(m, √(v/(1−β2ᵗ))).
type AdamATan2 struct {
	// Beta1 and Beta2 are the decay rates of the moments; WeightDecay is the
	// decoupled decay coefficient.
	Beta1, Beta2, WeightDecay float64
	moments
	job adamATan2Job
}

// NewAdamATan2 returns an AdamATan2 optimizer over params (TRM: β = (0.9,
// 0.95)).
func NewAdamATan2(params []*Param, beta1, beta2, wd float64) *AdamATan2 {
	return &AdamATan2{Beta1: beta1, Beta2: beta2, WeightDecay: wd, moments: newMoments(params)}
}

// Step implements Optimizer.
func (o *AdamATan2) Step(lr float64) {
	o.step++
	bc1 := 1 - math.Pow(o.Beta1, float64(o.step))
	bc2 := 1 - math.Pow(o.Beta2, float64(o.step))
	o.job = adamATan2Job{
		o:     o,
		decay: float32(1 - lr*o.WeightDecay),
		b1:    float32(o.Beta1), b2: float32(o.Beta2),
		stepSize: lr / bc1,
		invBC2:   1 / bc2,
	}
	o.team.Parallel(len(o.pieces), &o.job)
	o.job.o = nil
}

// adamATan2Job is one AdamATan2 update, run piece by piece.
type adamATan2Job struct {
	o                *AdamATan2
	b1, b2, decay    float32
	stepSize, invBC2 float64
}

// RunPart implements tensor.Job: the update of one piece (asm.AdamATan2:
// m and v in float32, the step atan2(m, √(v/(1−β2ᵗ))) in float64).
func (j *adamATan2Job) RunPart(k int) {
	o, pc := j.o, j.o.pieces[k]
	m, v := o.m[pc.p][pc.lo:pc.hi], o.v[pc.p][pc.lo:pc.hi]
	w, g := o.params[pc.p].Value.Data[pc.lo:pc.hi], o.params[pc.p].Grad.Data[pc.lo:pc.hi]
	asm.AdamATan2(w, m, v, g, j.b1, j.b2, j.decay, j.stepSize, j.invBC2)
}

// State implements Optimizer: tensors "m/<param>" and "v/<param>".
func (o *AdamATan2) State() *State { return o.state() }

// SetState implements Optimizer.
func (o *AdamATan2) SetState(s *State) error { return o.setState("AdamATan2", s) }

// SignSGD is sign descent with decoupled weight decay, the optimizer of
// TRM's puzzle embedding: p ← p·(1 − lr·wd) − lr·sign(g).
//
// With RowsTouched, a parameter is treated as a table of rows (its last axis)
// and only rows with a non-zero gradient are updated, weight decay included,
// like the official sparse embedding update, which touches only the rows of
// the ids in the batch.
type SignSGD struct {
	// WeightDecay is the decoupled decay coefficient.
	WeightDecay float64
	// RowsTouched restricts updates to rows with a non-zero gradient.
	RowsTouched bool
	params      []*Param
	step        int
}

// NewSignSGD returns a SignSGD optimizer over params.
func NewSignSGD(params []*Param, wd float64, rowsTouched bool) *SignSGD {
	return &SignSGD{WeightDecay: wd, RowsTouched: rowsTouched, params: params}
}

// Step implements Optimizer.
func (o *SignSGD) Step(lr float64) {
	o.step++
	decay := float32(1 - lr*o.WeightDecay)
	l := float32(lr)
	for _, p := range o.params {
		cols := p.Value.Cols()
		if !o.RowsTouched {
			cols = len(p.Value.Data)
		}
		for r := 0; r < len(p.Value.Data); r += cols {
			w, g := p.Value.Data[r:r+cols], p.Grad.Data[r:r+cols]
			if o.RowsTouched && allZero(g) {
				continue
			}
			for j, gj := range g {
				s := float32(0)
				switch {
				case gj > 0:
					s = 1
				case gj < 0:
					s = -1
				}
				w[j] = w[j]*decay - l*s
			}
		}
	}
}

func allZero(x []float32) bool {
	for _, v := range x {
		if v != 0 {
			return false
		}
	}
	return true
}

// State implements Optimizer: SignSGD keeps only a step count.
func (o *SignSGD) State() *State { return &State{Step: o.step, Tensors: map[string][]float32{}} }

// SetState implements Optimizer.
func (o *SignSGD) SetState(s *State) error {
	if s.Step < 0 || len(s.Tensors) != 0 {
		return fmt.Errorf("nn: SignSGD state: step %d and %d tensors, want step >= 0 and none", s.Step, len(s.Tensors))
	}
	o.step = s.Step
	return nil
}

// WarmupLR returns the learning rate of step (counted from 1) under a linear
// warm-up over warmup steps to base, then constant: base·min(1, step/warmup)
// (the official schedule with min_ratio 1).
func WarmupLR(step, warmup int, base float64) float64 {
	if step >= warmup || warmup <= 0 {
		return base
	}
	return base * float64(step) / float64(warmup)
}
