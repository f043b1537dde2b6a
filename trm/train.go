package trm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/tensor"
)

// TrainMode selects how supervision steps are scheduled over the data.
type TrainMode string

// The training modes. Both run, after every supervision step, the loss,
// backward, an optimizer step, the learning-rate warm-up and an EMA update;
// they differ in when a batch slot takes a new sample.
const (
	// ModeCarry is the official persistent batch "carry" (the default): B
	// slots each hold one sample, its (y, z) and its step count. After a
	// step, a slot halts when steps ≥ N_sup or q_halt > 0 — unless, with
	// probability halt_exploration_prob, a random minimum of 2..N_sup steps
	// drawn at that step is not reached yet. A halted slot takes a fresh
	// sample (and y_init, z_init) before the next step; the others keep
	// theirs. Easy samples leave early, so the compute goes to the hard
	// ones: this is what produced the published numbers, hence the default.
	ModeCarry TrainMode = "carry"
	// ModeExplicit is the textbook loop (paper Figure 3): a batch of B
	// fresh samples runs up to N_sup supervision steps with a loss and an
	// optimizer step after each; a sample stops contributing once it halts
	// (same rule as ModeCarry) and the batch ends when every sample has
	// halted. The loss is the mean over the samples still running.
	ModeExplicit TrainMode = "explicit"
)

// ParseTrainMode accepts "carry" or "explicit" ("" is ModeCarry).
func ParseTrainMode(s string) (TrainMode, error) {
	switch TrainMode(s) {
	case "", ModeCarry:
		return ModeCarry, nil
	case ModeExplicit:
		return ModeExplicit, nil
	}
	return "", fmt.Errorf("training mode %q, want %q or %q", s, ModeCarry, ModeExplicit)
}

// TrainOptions are the settings of a training run that are not part of the
// model's Config.
type TrainOptions struct {
	// Mode is ModeCarry (default) or ModeExplicit.
	Mode TrainMode
	// Dir is the run folder (see Run): config.json, model.safetensors (EMA
	// weights), train_state.safetensors and metrics.jsonl. "" keeps nothing
	// on disk.
	Dir string
	// Resume continues the run saved in Dir, bit-identically to a run that
	// was never stopped. The config must equal the saved one except for
	// train_steps and the log/eval/checkpoint intervals.
	Resume bool
	// EvalExamples is the number of test examples of each periodic
	// evaluation (0: 1000).
	EvalExamples int
	// Out, when set, receives the progress: a bar when Progress is set
	// (Out is a terminal), log lines otherwise. The metrics of every
	// logged step and evaluation also go to <Dir>/metrics.jsonl.
	Out      io.Writer
	Progress bool
	// Log, when set, receives the metrics of every logged step (every
	// log_interval steps and the last one).
	Log func(TrainStats)
	// EvalLog, when set, receives each periodic evaluation.
	EvalLog func(step int64, r *EvalResult)
}

// TrainStats are the metrics of the steps since the previous log line.
type TrainStats struct {
	// Step is the number of optimizer steps taken so far.
	Step int64
	// LR is the learning rate of the last step.
	LR float64
	// Loss is the mean batch loss over the logged steps.
	Loss float64
	// TokenAcc and ExactAcc are the accuracies of the samples that halted
	// during the logged steps, at their last step (the official metrics);
	// Halted is how many there were.
	TokenAcc, ExactAcc float64
	Halted             int
	// MeanSteps is their mean number of supervision steps.
	MeanSteps float64
	// SamplesPerSec is the throughput in sample-supervision-steps per second
	// (B per optimizer step).
	SamplesPerSec float64
	// Elapsed is the wall time since the run (or its resumption) started.
	Elapsed time.Duration
}

// Trainer runs deep-supervision training of a Model on a Task. It is not
// safe for concurrent use. Most callers use Train; tests and tools can
// drive a Trainer step by step.
type Trainer struct {
	// Model is the model being trained (training weights; see WithEMA).
	Model *Model
	// Task is the task the config names; training examples come from its
	// train split.
	Task Task
	// Cfg is the run's config.
	Cfg Config
	// Mode is the supervision schedule.
	Mode TrainMode

	dense  nn.Optimizer // AdamATan2 or AdamW on DenseParams
	sparse *nn.SignSGD  // the puzzle embedding, or nil
	ema    *nn.EMA      // over TrainedParams, or nil
	tape   *nn.Tape
	rng    *Rand // halting exploration

	step    int64 // optimizer steps taken
	dataPos int64 // index of the next training example

	// The batch carry: B slots.
	y, z    *tensor.Tensor // [B, L+P, D]
	steps   []int64        // supervision steps the slot's sample has had
	halted  []bool         // the slot needs a new sample (carry) / is done (explicit)
	idx     []int64        // data index of each slot's sample
	tokens  []int32        // [B·L]
	labels  []int32        // [B·L]
	pids    []int32        // [B]
	weights []float32      // per-slot loss weights (explicit mode)
	acc     statsAcc
}

// statsAcc accumulates metrics between log lines.
type statsAcc struct {
	steps, halted, tokens, tokensRight, exact int
	sumSteps                                  int64
	loss                                      float64
	start                                     time.Time
}

// NewTrainer returns a trainer for a fresh model of cfg (initialised from
// cfg.Seed) on the task cfg names.
func NewTrainer(cfg Config, mode TrainMode) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.ACTContinue {
		return nil, errors.New("config: act_continue true is not supported by this trainer, want false")
	}
	if mode == "" {
		mode = ModeCarry
	}
	if _, err := ParseTrainMode(string(mode)); err != nil {
		return nil, err
	}
	task, err := cfg.NewTask()
	if err != nil {
		return nil, err
	}
	m, err := NewModel(cfg, cfg.Seed)
	if err != nil {
		return nil, err
	}
	tr := &Trainer{Model: m, Task: task, Cfg: cfg, Mode: mode, tape: nn.NewTape(), rng: NewRand(cfg.Seed, 0x68616c74)} // "halt"
	switch cfg.Optimizer {
	case OptAdamW:
		tr.dense = nn.NewAdamW(m.DenseParams(), cfg.Beta1, cfg.Beta2, cfg.AdamEps, cfg.WeightDecay)
	default:
		tr.dense = nn.NewAdamATan2(m.DenseParams(), cfg.Beta1, cfg.Beta2, cfg.WeightDecay)
	}
	if m.PuzzleEmb != nil {
		tr.sparse = nn.NewSignSGD([]*nn.Param{m.PuzzleEmb}, cfg.PuzzleEmbWeightDecay, true)
	}
	if cfg.EMARate > 0 {
		tr.ema = nn.NewEMA(m.TrainedParams(), cfg.EMARate)
	}
	B, L := cfg.BatchSize, cfg.SeqLen
	tr.y, tr.z = m.NewCarry(B)
	tr.steps = make([]int64, B)
	tr.halted = make([]bool, B)
	for i := range tr.halted {
		tr.halted[i] = true // every slot takes a sample at the first step
	}
	tr.idx = make([]int64, B)
	tr.tokens = make([]int32, B*L)
	tr.labels = make([]int32, B*L)
	tr.pids = make([]int32, B)
	tr.weights = make([]float32, B)
	tr.acc.start = time.Now()
	return tr, nil
}

// StepCount returns the number of optimizer steps taken.
func (tr *Trainer) StepCount() int64 { return tr.step }

// load puts training example i into slot b.
func (tr *Trainer) load(b int, i int64) error {
	L := tr.Cfg.SeqLen
	j := i
	if n := tr.Task.Len(SplitTrain); n > 0 {
		j = i % int64(n)
	}
	ex, err := tr.Task.Example(SplitTrain, tr.Cfg.Seed, j)
	if err != nil {
		return fmt.Errorf("train: example %d: %w", j, err)
	}
	if err := CheckExample(tr.Task, ex); err != nil {
		return fmt.Errorf("train: example %d: %w", j, err)
	}
	if ex.Label == nil {
		return fmt.Errorf("train: example %d has no labels", j)
	}
	copy(tr.tokens[b*L:(b+1)*L], ex.Input)
	copy(tr.labels[b*L:(b+1)*L], ex.Label)
	tr.pids[b] = ex.PuzzleID
	tr.idx[b] = i
	return nil
}

// refill gives halted slots new samples: each one in ModeCarry, all at once
// when every slot has halted in ModeExplicit.
func (tr *Trainer) refill() error {
	if tr.Mode == ModeExplicit {
		for _, h := range tr.halted {
			if !h {
				return nil
			}
		}
	}
	for b, h := range tr.halted {
		if !h {
			continue
		}
		if err := tr.load(b, tr.dataPos); err != nil {
			return err
		}
		tr.dataPos++
		tr.Model.ResetSample(tr.y, tr.z, b)
		tr.steps[b] = 0
		tr.halted[b] = false
	}
	return nil
}

// Step runs one supervision step on the batch carry: forward through the
// deep recursion, loss, backward, optimizer step(s), EMA update, then the
// halting decisions.
func (tr *Trainer) Step() error {
	if err := tr.refill(); err != nil {
		return err
	}
	cfg, m, t := tr.Cfg, tr.Model, tr.tape
	B := cfg.BatchSize

	var weights []float32
	if tr.Mode == ModeExplicit {
		active := 0
		for _, h := range tr.halted {
			if !h {
				active++
			}
		}
		for b, h := range tr.halted {
			tr.weights[b] = 0
			if !h {
				tr.weights[b] = 1 / float32(active)
			}
		}
		weights = tr.weights
	}

	t.Reset()
	x := m.Input(t, tr.tokens, tr.pids)
	out := m.Step(t, x, t.Const(tr.y), t.Const(tr.z))
	lo := m.Loss(t, out, tr.labels, weights)
	nn.ZeroGrads(m.TrainedParams())
	t.Backward(lo.Loss)

	tr.step++
	lr := nn.WarmupLR(int(tr.step), cfg.LRWarmupSteps, cfg.LR)
	tr.dense.Step(lr)
	if tr.sparse != nil {
		tr.sparse.Step(nn.WarmupLR(int(tr.step), cfg.LRWarmupSteps, cfg.PuzzleEmbLR))
	}
	if tr.ema != nil {
		tr.ema.Update()
	}

	// Carry (detached) and halting.
	copy(tr.y.Data, out.Y.Value.Data)
	copy(tr.z.Data, out.Z.Value.Data)
	q := out.QHalt.Value.Data
	nsup := int64(cfg.HaltMaxSteps)
	a := &tr.acc
	a.steps++
	a.loss += float64(lo.Loss.Value.Data[0])
	for b := range B {
		if tr.halted[b] {
			continue // explicit mode: already done
		}
		tr.steps[b]++
		halt := tr.steps[b] >= nsup
		if nsup > 1 {
			halt = halt || q[b] > 0
			if tr.rng.Float64() < cfg.HaltExplorationProb {
				minSteps := int64(2 + tr.rng.IntN(int(nsup)-1)) // 2..N_sup
				halt = halt && tr.steps[b] >= minSteps
			}
		}
		if halt {
			tr.halted[b] = true
			a.halted++
			a.sumSteps += tr.steps[b]
			a.exact += int(lo.Correct[b])
			a.tokens += lo.Tokens[b]
			a.tokensRight += lo.TokensRight[b]
		}
	}
	if math.IsNaN(float64(lo.Loss.Value.Data[0])) {
		return fmt.Errorf("train: loss is NaN at step %d", tr.step)
	}
	return nil
}

// Stats returns the metrics accumulated since the previous call and starts
// a new accumulation.
func (tr *Trainer) Stats(elapsed time.Duration) TrainStats {
	a := tr.acc
	now := time.Now()
	s := TrainStats{
		Step:     tr.step,
		LR:       nn.WarmupLR(int(tr.step), tr.Cfg.LRWarmupSteps, tr.Cfg.LR),
		Loss:     a.loss / float64(max(a.steps, 1)),
		TokenAcc: ratio(a.tokensRight, a.tokens),
		ExactAcc: ratio(a.exact, a.halted),
		Halted:   a.halted,
		Elapsed:  elapsed,
	}
	if a.halted > 0 {
		s.MeanSteps = float64(a.sumSteps) / float64(a.halted)
	}
	if d := now.Sub(a.start).Seconds(); d > 0 {
		s.SamplesPerSec = float64(a.steps*tr.Cfg.BatchSize) / d
	}
	tr.acc = statsAcc{start: now}
	return s
}

// WithEMA runs f with the EMA weights in the model (the weights that are
// evaluated and saved), then puts the training weights back. Without EMA
// it just runs f.
func (tr *Trainer) WithEMA(f func()) {
	if tr.ema == nil {
		f()
		return
	}
	tr.ema.Swap()
	defer tr.ema.Swap()
	f()
}

// Checkpoint returns the model to save: the EMA weights when EMA is on.
func (tr *Trainer) Checkpoint() *Checkpoint {
	var ck *Checkpoint
	tr.WithEMA(func() { ck = tr.Model.Checkpoint(tr.step) })
	ck.Meta = map[string]string{"weights": "raw"}
	if tr.ema != nil {
		ck.Meta["weights"] = "ema"
	}
	return ck
}

// Names of the training-state entries.
const (
	stParams   = "params/" // raw (non-EMA) weights
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
	nStScalars = 5
)

// State returns everything needed to resume bit-identically.
func (tr *Trainer) State() *TrainState {
	st := &TrainState{
		Step:  tr.step,
		Meta:  map[string]string{stMode: string(tr.Mode), stConfig: string(tr.Cfg.MarshalIndent())},
		F32:   map[string][]float32{},
		I64:   map[string][]int64{},
		Bytes: map[string][]byte{},
	}
	for _, p := range tr.Model.TrainedParams() {
		st.F32[stParams+p.Name] = append([]float32(nil), p.Value.Data...)
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
	st.F32[stCarryY] = append([]float32(nil), tr.y.Data...)
	st.F32[stCarryZ] = append([]float32(nil), tr.z.Data...)
	st.I64[stSteps] = append([]int64(nil), tr.steps...)
	st.I64[stIdx] = append([]int64(nil), tr.idx...)
	h := make([]int64, len(tr.halted))
	for i, v := range tr.halted {
		if v {
			h[i] = 1
		}
	}
	st.I64[stHalted] = h
	st.I64[stScalars] = []int64{tr.dataPos, int64(ds.Step), sparseStep, emaStep, int64(tr.rng.state)}
	return st
}

// restore loads a checkpoint's fixed tensors and a training state into a
// fresh trainer of the same config.
func (tr *Trainer) restore(ck *Checkpoint, st *TrainState) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("resume: train state: "+format, args...)
	}
	if got := st.Meta[stMode]; got != string(tr.Mode) {
		return fail("mode %q, this run asks for %q", got, tr.Mode)
	}
	f32 := func(name string, n int) ([]float32, error) {
		v, ok := st.F32[name]
		if !ok {
			return nil, fail("tensor %q is missing", name)
		}
		if len(v) != n {
			return nil, fail("tensor %q has %d values, want %d", name, len(v), n)
		}
		return v, nil
	}
	i64 := func(name string, n int) ([]int64, error) {
		v, ok := st.I64[name]
		if !ok {
			return nil, fail("tensor %q is missing", name)
		}
		if len(v) != n {
			return nil, fail("tensor %q has %d values, want %d", name, len(v), n)
		}
		return v, nil
	}
	// Fixed tensors (y_init, z_init) come from the checkpoint; trained ones
	// from the raw weights of the state.
	if err := tr.Model.Load(ck); err != nil {
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
	tr.rng.state = uint64(sc[4])
	tr.step = st.Step
	return nil
}

// Save writes the checkpoint (EMA weights) and the training state into the
// run folder dir, atomically.
func (tr *Trainer) Save(dir string) error {
	return Run{Dir: dir}.Save(tr.Checkpoint(), tr.State())
}

// resumable reports whether a saved config may be continued with cfg: they
// must agree on everything but the run length and the intervals.
func resumable(saved, cfg Config) error {
	a, b := saved, cfg
	for _, c := range []*Config{&a, &b} {
		c.TrainSteps, c.LogInterval, c.EvalInterval, c.CheckpointInterval = 0, 0, 0, 0
	}
	if !a.Equal(b) {
		return fmt.Errorf("resume: the config differs from the saved run's (only train_steps, log_interval, eval_interval and checkpoint_interval may change)")
	}
	return nil
}

// ResumeTrainer rebuilds the trainer of the run saved in dir, continuing
// with cfg (equal to the saved config but for train_steps and intervals).
func ResumeTrainer(dir string, cfg Config, mode TrainMode) (*Trainer, error) {
	ck, st, err := Run{Dir: dir}.Resume()
	if err != nil {
		return nil, err
	}
	if err := resumable(ck.Config, cfg); err != nil {
		return nil, err
	}
	if mode == "" {
		mode = TrainMode(st.Meta[stMode])
	}
	tr, err := NewTrainer(cfg, mode)
	if err != nil {
		return nil, err
	}
	if err := tr.restore(ck, st); err != nil {
		return nil, err
	}
	return tr, nil
}

// TrainResult is what Train returns.
type TrainResult struct {
	// Trainer holds the final model (training weights; see
	// Trainer.Checkpoint for the EMA weights) and its state.
	Trainer *Trainer
	// Last is the metrics of the last logged steps.
	Last TrainStats
	// Eval is the last evaluation (nil if none ran).
	Eval *EvalResult
}

// Train trains a model of cfg for cfg.TrainSteps optimizer steps (counting
// the steps of a resumed run), logging every cfg.LogInterval steps,
// evaluating every cfg.EvalInterval steps and saving every
// cfg.CheckpointInterval steps and at the end when opts.Dir is set. When
// ctx is cancelled it saves and returns ctx.Err() with the result so far.
// The same config, data and options give bit-identical weights, and so
// does a run stopped and resumed.
func Train(ctx context.Context, cfg Config, opts TrainOptions) (*TrainResult, error) {
	var (
		tr  *Trainer
		err error
	)
	if opts.Resume {
		if opts.Dir == "" {
			return nil, errors.New("train: resume needs a run folder")
		}
		tr, err = ResumeTrainer(opts.Dir, cfg, opts.Mode)
	} else {
		tr, err = NewTrainer(cfg, opts.Mode)
		if err == nil && opts.Dir != "" {
			err = Run{Dir: opts.Dir}.Create(cfg)
		}
	}
	if err != nil {
		return nil, err
	}
	res := &TrainResult{Trainer: tr}
	start := time.Now()
	var logger *MetricsLogger
	if opts.Dir != "" || opts.Out != nil {
		mo := MetricsOptions{Out: opts.Out, Progress: opts.Progress, TotalSteps: int64(cfg.TrainSteps), StartStep: tr.step}
		if opts.Dir != "" {
			mo.Path = Run{Dir: opts.Dir}.MetricsPath()
		}
		if logger, err = NewMetricsLogger(mo); err != nil {
			return nil, err
		}
		defer logger.Close()
	}
	logStats := func(s TrainStats) error {
		if logger == nil {
			return nil
		}
		_, err := logger.Log(StepMetrics{
			Step: s.Step, Split: string(SplitTrain), Loss: s.Loss, TokenAcc: s.TokenAcc, ExactAcc: s.ExactAcc,
			HaltSteps: s.MeanSteps, LR: s.LR, Samples: s.Step * int64(cfg.BatchSize), SamplesPerSec: s.SamplesPerSec,
			Extra: map[string]float64{"halted": float64(s.Halted)},
		})
		return err
	}
	logEval := func(step int64, r *EvalResult) error {
		if logger == nil {
			return nil
		}
		extra := map[string]float64{
			"early_exact_acc": r.Early.ExactAcc(), "early_token_acc": r.Early.TokenAcc(),
			"examples": float64(r.Full.Examples),
		}
		for i, c := range r.Curve {
			extra[fmt.Sprintf("exact_acc_step%02d", i+1)] = c.ExactAcc()
		}
		_, err := logger.Log(StepMetrics{
			Step: step, Split: string(SplitTest), TokenAcc: r.Full.TokenAcc(), ExactAcc: r.Full.ExactAcc(),
			HaltSteps: r.MeanSteps, Extra: extra,
		})
		return err
	}
	save := func() error {
		if opts.Dir == "" {
			return nil
		}
		return tr.Save(opts.Dir)
	}
	evalN := opts.EvalExamples
	if evalN <= 0 {
		evalN = 1000
	}
	for tr.step < int64(cfg.TrainSteps) {
		if err := ctx.Err(); err != nil {
			if serr := save(); serr != nil {
				return res, errors.Join(err, serr)
			}
			return res, err
		}
		if err := tr.Step(); err != nil {
			return res, err
		}
		last := tr.step == int64(cfg.TrainSteps)
		if tr.step%int64(cfg.LogInterval) == 0 || last {
			res.Last = tr.Stats(time.Since(start))
			if opts.Log != nil {
				opts.Log(res.Last)
			}
			if err := logStats(res.Last); err != nil {
				return res, err
			}
		}
		if cfg.EvalInterval > 0 && (tr.step%int64(cfg.EvalInterval) == 0 || last) {
			var r *EvalResult
			tr.WithEMA(func() {
				r, err = Evaluate(ctx, tr.Model, tr.Task, EvalOptions{N: evalN, BatchSize: cfg.BatchSize})
			})
			if err != nil && ctx.Err() == nil {
				return res, err
			}
			if err == nil {
				res.Eval = r
				if opts.EvalLog != nil {
					opts.EvalLog(tr.step, r)
				}
				if err := logEval(tr.step, r); err != nil {
					return res, err
				}
			}
		}
		if cfg.CheckpointInterval > 0 && tr.step%int64(cfg.CheckpointInterval) == 0 && !last {
			if err := save(); err != nil {
				return res, err
			}
		}
	}
	return res, save()
}

// Checkpoint returns the model's current weights as a checkpoint at step.
func (m *Model) Checkpoint(step int64) *Checkpoint {
	ck := &Checkpoint{Config: m.Config, Step: step, Tensors: make(map[string][]float32, len(m.params))}
	for _, p := range m.params {
		ck.Tensors[p.Name] = append([]float32(nil), p.Value.Data...)
	}
	return ck
}

// Load copies a checkpoint's tensors into the model. The checkpoint's
// config must describe the same model (the same tensors and shapes).
func (m *Model) Load(ck *Checkpoint) error {
	if err := ck.Check(); err != nil {
		return err
	}
	for _, p := range m.params {
		v, ok := ck.Tensors[p.Name]
		if !ok || len(v) != len(p.Value.Data) {
			return fmt.Errorf("checkpoint: tensor %q has %d values, model wants shape %v", p.Name, len(v), p.Value.Shape)
		}
	}
	if len(ck.Tensors) != len(m.params) {
		return fmt.Errorf("checkpoint: %d tensors, model has %d", len(ck.Tensors), len(m.params))
	}
	for _, p := range m.params {
		copy(p.Value.Data, ck.Tensors[p.Name])
	}
	return nil
}

// ModelFromCheckpoint builds the model a checkpoint describes, with its
// weights.
func ModelFromCheckpoint(ck *Checkpoint) (*Model, error) {
	m, err := NewModel(ck.Config, 0)
	if err != nil {
		return nil, err
	}
	if err := m.Load(ck); err != nil {
		return nil, err
	}
	return m, nil
}
