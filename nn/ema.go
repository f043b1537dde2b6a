package nn

import (
	"fmt"

	"github.com/trm-go/trm/tensor"
)

// EMA keeps an exponential moving average of parameter values, updated
// after every optimizer step: ema ← rate·ema + (1 − rate)·θ (TRM: rate
// 0.999). Evaluation and saved checkpoints use the averaged weights: Swap
// them in, evaluate or save, Swap back.
type EMA struct {
	// Rate is the weight of the old average in each update (0.999 in TRM).
	Rate    float64
	params  []*Param
	shadow  [][]float32
	swapped bool
	step    int
	team    tensor.Team
	pieces  []piece
	job     emaJob
}

// emaJob is one EMA update, run piece by piece.
type emaJob struct {
	e    *EMA
	a, b float32
}

// RunPart implements tensor.Job: the update of one piece.
func (j *emaJob) RunPart(k int) {
	pc := j.e.pieces[k]
	a, b := j.a, j.b
	s, v := j.e.shadow[pc.p][pc.lo:pc.hi], j.e.params[pc.p].Value.Data[pc.lo:pc.hi]
	for i, vi := range v {
		s[i] = a*s[i] + b*vi
	}
}

// SetTeam sets how many goroutines Update may use, the caller's included
// (tensor.Team(0), the default, is tensor.Workers()); the averages are
// bit-identical for every Team.
func (e *EMA) SetTeam(w tensor.Team) { e.team = w }

// NewEMA returns an EMA over params, starting from their current values.
func NewEMA(params []*Param, rate float64) *EMA {
	e := &EMA{Rate: rate, params: params, pieces: cut(params)}
	for _, p := range params {
		e.shadow = append(e.shadow, append([]float32(nil), p.Value.Data...))
	}
	return e
}

// Update folds the current parameter values into the average. It panics if
// the EMA weights are swapped in (a programmer error).
func (e *EMA) Update() {
	if e.swapped {
		panic("nn: EMA.Update while the EMA weights are swapped in")
	}
	e.step++
	e.job = emaJob{e: e, a: float32(e.Rate), b: float32(1 - e.Rate)}
	e.team.Parallel(len(e.pieces), &e.job)
	e.job.e = nil
}

// Swap exchanges the parameter values and the averages, so that the model
// computes with the EMA weights; a second Swap restores the trained weights.
// Values are exchanged in place: slices of the parameters' storage taken
// before stay valid and see the swapped-in values.
func (e *EMA) Swap() {
	for i, p := range e.params {
		s := e.shadow[i]
		for j, v := range p.Value.Data {
			p.Value.Data[j], s[j] = s[j], v
		}
	}
	e.swapped = !e.swapped
}

// Swapped reports whether the EMA weights are currently in the parameters.
func (e *EMA) Swapped() bool { return e.swapped }

// Average returns the averaged values of params[i] (live storage: copy it to
// keep it), whichever way the weights are swapped.
func (e *EMA) Average(i int) []float32 {
	if e.swapped {
		return e.params[i].Value.Data
	}
	return e.shadow[i]
}

// CopyTo writes the averaged values into the parameters (the trained values
// are lost): for a model that is only evaluated from now on.
func (e *EMA) CopyTo() {
	for i, p := range e.params {
		copy(p.Value.Data, e.Average(i))
	}
}

// State exports the averages as tensors "ema/<param>" and the update count.
func (e *EMA) State() *State {
	s := &State{Step: e.step, Tensors: make(map[string][]float32, len(e.params))}
	for i, p := range e.params {
		s.Tensors["ema/"+p.Name] = append([]float32(nil), e.Average(i)...)
	}
	return s
}

// SetState restores averages exported by State, checking names and lengths.
func (e *EMA) SetState(s *State) error {
	if len(s.Tensors) != len(e.params) || s.Step < 0 {
		return fmt.Errorf("nn: EMA state: %d tensors and step %d, want %d tensors and step >= 0", len(s.Tensors), s.Step, len(e.params))
	}
	for _, p := range e.params {
		src, ok := s.Tensors["ema/"+p.Name]
		if !ok {
			return fmt.Errorf("nn: EMA state: tensor %q missing", "ema/"+p.Name)
		}
		if len(src) != len(p.Value.Data) {
			return fmt.Errorf("nn: EMA state: tensor %q has %d values, parameter has %d", "ema/"+p.Name, len(src), len(p.Value.Data))
		}
	}
	for i, p := range e.params {
		copy(e.Average(i), s.Tensors["ema/"+p.Name])
	}
	e.step = s.Step
	return nil
}
