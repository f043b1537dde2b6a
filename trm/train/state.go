package train

import (
	"fmt"
	"strconv"
	"time"

	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/task"
)

// Names of the training-state entries.
const (
	stParams   = "params/" // raw (non-EMA) weights
	stFixed    = "fixed/"  // y_init, z_init: with them the state alone rebuilds the model
	stDense    = "dense/"  // dense optimizer tensors (m/…, v/…)
	stEMA      = "ema/"    // EMA tensors are named ema/<param> by nn
	stCarryY   = "carry.y" // [B, L+P, D]
	stCarryZ   = "carry.z" // [B, L+P, D]
	stSteps    = "carry.steps"
	stHalted   = "carry.halted"
	stIdx      = "carry.idx"
	stScalars  = "scalars" // data position, optimizer steps, EMA step, RNG state
	stMode     = "mode"
	stConfig   = "config"
	stElapsed  = "elapsed_s" // wall time of the run at the save, set by Trainer.Save
	nStScalars = 5
)

// State returns everything needed to resume bit-identically: a copy,
// which later steps do not change.
func (tr *Trainer) State() *TrainState { return tr.state(true) }

// state is State; without clone, the weights and the carry are the
// trainer's own storage (for Save, which writes them before the next step
// can change them; the optimizer and EMA states are copies either way).
func (tr *Trainer) state(clone bool) *TrainState {
	own := func(v []float32) []float32 {
		if clone {
			return append([]float32(nil), v...)
		}
		return v
	}
	st := &TrainState{
		Step:  tr.step,
		Meta:  map[string]string{stMode: string(tr.Mode), stConfig: string(tr.Cfg.MarshalIndent())},
		F32:   map[string][]float32{},
		I64:   map[string][]int64{},
		Bytes: map[string][]byte{},
	}
	for _, p := range tr.Model.TrainedParams() {
		st.F32[stParams+p.Name] = own(p.Value.Data)
	}
	for _, p := range []*nn.Param{tr.Model.YInit, tr.Model.ZInit} {
		st.F32[stFixed+p.Name] = own(p.Value.Data)
	}
	ds := tr.dense.State()
	for k, v := range ds.Tensors {
		st.F32[stDense+k] = v
	}
	var sparseStep, emaStep int64
	if tr.sparse != nil {
		sparseStep = int64(tr.sparse.State().Step)
	}
	if tr.ema != nil {
		es := tr.ema.State()
		for k, v := range es.Tensors {
			st.F32[k] = v
		}
		emaStep = int64(es.Step)
	}
	st.F32[stCarryY] = own(tr.y.Data)
	st.F32[stCarryZ] = own(tr.z.Data)
	st.I64[stSteps] = append([]int64(nil), tr.steps...)
	st.I64[stIdx] = append([]int64(nil), tr.idx...)
	h := make([]int64, len(tr.halted))
	for i, v := range tr.halted {
		if v {
			h[i] = 1
		}
	}
	st.I64[stHalted] = h
	st.I64[stScalars] = []int64{tr.dataPos, int64(ds.Step), sparseStep, emaStep, int64(tr.rng.State())}
	return st
}

// restore loads a checkpoint's fixed tensors and a training state into a
// fresh trainer of the same config.
func (tr *Trainer) restore(ck *trm.Checkpoint, st *TrainState) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("resume: train state: "+format, args...)
	}
	if got := st.Meta[stMode]; got != string(tr.Mode) {
		return fail("mode %q, this run asks for %q", got, tr.Mode)
	}
	f32 := func(name string, n int) ([]float32, error) { return entry(st.F32, name, n) }
	i64 := func(name string, n int) ([]int64, error) { return entry(st.I64, name, n) }
	// Fixed tensors (y_init, z_init) come from the state, or, in states
	// written before it kept them, from the checkpoint of the same step;
	// trained ones from the raw weights of the state.
	if _, ok := st.F32[stFixed+tr.Model.YInit.Name]; ok {
		for _, p := range []*nn.Param{tr.Model.YInit, tr.Model.ZInit} {
			v, err := f32(stFixed+p.Name, len(p.Value.Data))
			if err != nil {
				return err
			}
			copy(p.Value.Data, v)
		}
	} else if ck == nil {
		return fail("no y_init/z_init, and no model file of step %d to take them from", st.Step)
	} else if err := tr.Model.Load(ck); err != nil {
		return err
	}
	for _, p := range tr.Model.TrainedParams() {
		v, err := f32(stParams+p.Name, len(p.Value.Data))
		if err != nil {
			return err
		}
		copy(p.Value.Data, v)
	}
	sc, err := i64(stScalars, nStScalars)
	if err != nil {
		return err
	}
	ds := &nn.State{Step: int(sc[1]), Tensors: map[string][]float32{}}
	for k, v := range st.F32 {
		if len(k) > len(stDense) && k[:len(stDense)] == stDense {
			ds.Tensors[k[len(stDense):]] = v
		}
	}
	if err := tr.dense.SetState(ds); err != nil {
		return fail("%v", err)
	}
	if tr.sparse != nil {
		if err := tr.sparse.SetState(&nn.State{Step: int(sc[2]), Tensors: map[string][]float32{}}); err != nil {
			return fail("%v", err)
		}
	}
	if tr.ema != nil {
		es := &nn.State{Step: int(sc[3]), Tensors: map[string][]float32{}}
		for _, p := range tr.Model.TrainedParams() {
			v, err := f32(stEMA+p.Name, len(p.Value.Data))
			if err != nil {
				return err
			}
			es.Tensors[stEMA+p.Name] = v
		}
		if err := tr.ema.SetState(es); err != nil {
			return fail("%v", err)
		}
	}
	y, err := f32(stCarryY, len(tr.y.Data))
	if err != nil {
		return err
	}
	z, err := f32(stCarryZ, len(tr.z.Data))
	if err != nil {
		return err
	}
	B := tr.Cfg.BatchSize
	steps, err := i64(stSteps, B)
	if err != nil {
		return err
	}
	idx, err := i64(stIdx, B)
	if err != nil {
		return err
	}
	halted, err := i64(stHalted, B)
	if err != nil {
		return err
	}
	copy(tr.y.Data, y)
	copy(tr.z.Data, z)
	copy(tr.steps, steps)
	for b := range B {
		tr.halted[b] = halted[b] != 0
		if idx[b] < 0 || idx[b] >= sc[0] && !tr.halted[b] {
			return fail("slot %d holds example %d, beyond the data position %d", b, idx[b], sc[0])
		}
		if !tr.halted[b] {
			if err := tr.load(b, idx[b]); err != nil {
				return err
			}
		}
		tr.idx[b] = idx[b]
	}
	tr.dataPos = sc[0]
	tr.rng = task.RandFromState(uint64(sc[4]))
	tr.step = st.Step
	return nil
}

// Save commits the checkpoint (EMA weights) and the training state into the
// run folder dir (see Run.Save), with the run's wall time so far.
func (tr *Trainer) Save(dir string) error {
	st := tr.state(false)
	st.Meta[stElapsed] = strconv.FormatFloat(tr.Elapsed().Seconds(), 'f', 3, 64)
	return Run{Dir: dir}.Save(tr.Checkpoint(), st)
}

// Elapsed returns the wall time the run has trained, over all its resumed
// segments.
func (tr *Trainer) Elapsed() time.Duration { return time.Since(tr.started) }

// resumable reports whether a saved config may be continued with cfg: they
// must agree on everything but the run length, the intervals and
// micro_batch.
func resumable(saved, cfg trm.Config) error {
	a, b := saved, cfg
	for _, c := range []*trm.Config{&a, &b} {
		c.TrainSteps, c.LogInterval, c.EvalInterval, c.CheckpointInterval = 0, 0, 0, 0
		c.MicroBatch = 0 // how a step is cut into passes, not what it computes
	}
	if !a.Equal(b) {
		return fmt.Errorf("resume: the config differs from the saved run's (only train_steps, log_interval, eval_interval, checkpoint_interval and micro_batch may change)")
	}
	return nil
}

// ResumeTrainer rebuilds the trainer of the run saved in dir, continuing
// with cfg (equal to the saved config but for train_steps and intervals).
// When a crash left the model file at another step than the training state
// (see Run.Save), it rewrites the model from the state and says so in
// Recovered.
func ResumeTrainer(dir string, cfg trm.Config, mode TrainMode) (*Trainer, error) {
	run := Run{Dir: dir}
	ck, st, err := run.Resume()
	if err != nil {
		return nil, err
	}
	saved, err := trm.DecodeConfig([]byte(st.Meta[stConfig]), trm.Config{})
	if err != nil {
		return nil, fmt.Errorf("resume: train state %q: %w", run.StatePath(), err)
	}
	if err := resumable(saved, cfg); err != nil {
		return nil, err
	}
	if mode == "" {
		mode = TrainMode(st.Meta[stMode])
	}
	tr, err := newTrainer(cfg, mode)
	if err != nil {
		return nil, err
	}
	if err := tr.restore(ck, st); err != nil {
		return nil, err
	}
	if e, ok := st.Meta[stElapsed]; ok {
		secs, err := strconv.ParseFloat(e, 64)
		if err != nil || !(secs >= 0) {
			return nil, fmt.Errorf("resume: train state %q: %s %q, want seconds ≥ 0", run.StatePath(), stElapsed, e)
		}
		tr.started = time.Now().Add(-time.Duration(secs * float64(time.Second)))
	}
	if ck == nil {
		if err := trm.SaveCheckpoint(run.ModelPath(), tr.Checkpoint()); err != nil {
			return nil, err
		}
		tr.Recovered = fmt.Sprintf("%s was not at step %d (a save was interrupted); rewrote it from %s",
			run.ModelPath(), st.Step, run.StatePath())
	}
	tr.startFeed() // last: a trainer refused above starts no goroutine
	return tr, nil
}

// entry returns the train-state vector name of m, which must hold n values.
func entry[T any](m map[string][]T, name string, n int) ([]T, error) {
	v, ok := m[name]
	if !ok {
		return nil, fmt.Errorf("resume: train state: tensor %q is missing", name)
	}
	if len(v) != n {
		return nil, fmt.Errorf("resume: train state: tensor %q has %d values, want %d", name, len(v), n)
	}
	return v, nil
}
