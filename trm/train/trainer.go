package train

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/tensor"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/task"
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
	Model *trm.Model
	// Task is the task the config names; training examples come from its
	// train split.
	Task task.Task
	// Cfg is the run's config.
	Cfg trm.Config
	// Mode is the supervision schedule.
	Mode TrainMode
	// Recovered, set by ResumeTrainer, says what it repaired in the run
	// folder after an interrupted save ("" when nothing).
	Recovered string

	dense  nn.Optimizer // AdamATan2 or AdamW on DenseParams
	sparse *nn.SignSGD  // the puzzle embedding, or nil
	ema    *nn.EMA      // over TrainedParams, or nil
	tape   *nn.Tape
	rng    *task.Rand // halting exploration

	step    int64     // optimizer steps taken
	dataPos int64     // index of the next training example
	feed    *feedSlot // generates examples dataPos, dataPos+1, … ahead (nil until NewTrainer or the first refill)

	// The batch carry: B slots.
	y, z    *tensor.Tensor // [B, L+P, D]
	steps   []int64        // supervision steps the slot's sample has had
	halted  []bool         // the slot needs a new sample (carry) / is done (explicit)
	idx     []int64        // data index of each slot's sample
	tokens  []int32        // [B·L]
	labels  []int32        // [B·L]
	pids    []int32        // [B]
	weights []float32      // per-slot loss weights (explicit mode)
	passes  []pass         // the batch's chunks when micro_batch splits it, else nil
	runners []*nn.Tape     // one tape per pass run at once, gradients private (passSteps)
	q       []float32      // [B] q_halt of the step, gathered from the passes
	correct []float32      // [B] exactness of the step's answers, from the passes
	right   []int          // [B] right labelled positions, from the passes
	tokenN  []int          // [B] labelled positions, from the passes
	acc     statsAcc
	started time.Time // when the run started, moved back by the time of earlier segments
}

// pass is one chunk of a batch split by micro_batch: slots [lo, hi) and
// views of their rows of the carry.
type pass struct {
	lo, hi int
	y, z   *tensor.Tensor // [hi−lo, L+P, D], over the batch carry's storage
	loss   float64        // the pass's share of the batch loss, from its last run
}

// statsAcc accumulates metrics between log lines.
type statsAcc struct {
	steps, halted, tokens, tokensRight, exact int
	sumSteps                                  int64
	loss                                      float64
	start                                     time.Time
}

// availableMemory is where NewTrainer learns the memory it may use (tests
// replace it).
var availableMemory = trm.AvailableMemory

// CheckMemory reports whether a training run of cfg fits in the memory
// available (trm.ModelConfig.CheckMemory at global_batch_size, with the
// evaluation pass when eval_interval > 0); a *trm.MemoryError says by how
// much it does not. Where the available memory is unknown it says yes.
func CheckMemory(cfg trm.Config) error {
	avail, ok := availableMemory()
	if !ok {
		return nil
	}
	run := trm.MemoryCheck{Batch: cfg.BatchSize, BatchField: "global_batch_size", Training: true,
		Eval: cfg.EvalInterval > 0, Pass: cfg.PassBatch(), Runners: tensor.Workers()}
	return cfg.ModelConfig.CheckMemory(run, avail)
}

// NewTrainer returns a trainer for a fresh model of cfg (initialised from
// cfg.Seed) on the task cfg names. It refuses, before allocating anything,
// a config whose training step would not fit in the available memory
// (trm.ModelConfig.CheckMemory at global_batch_size).
//
// The first examples are generated from here on, beside whatever the
// caller does before the first Step (Close stops that).
func NewTrainer(cfg trm.Config, mode TrainMode) (*Trainer, error) {
	tr, err := newTrainer(cfg, mode)
	if err != nil {
		return nil, err
	}
	tr.startFeed()
	return tr, nil
}

// newTrainer is NewTrainer without the feed started (ResumeTrainer starts
// it once it knows where the run is).
func newTrainer(cfg trm.Config, mode TrainMode) (*Trainer, error) {
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
	// Refuse a run that cannot fit before allocating any of it.
	if err := CheckMemory(cfg); err != nil {
		return nil, err
	}
	t, err := cfg.NewTask()
	if err != nil {
		return nil, err
	}
	m, err := trm.NewModel(cfg.ModelConfig, cfg.Seed)
	if err != nil {
		return nil, err
	}
	dense, err := nn.NewOptimizer(cfg.Optimizer, m.DenseParams(), cfg.OptimizerConfig())
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	tr := &Trainer{Model: m, Task: t, Cfg: cfg, Mode: mode, tape: nn.NewTape(), dense: dense,
		rng: task.NewRand(cfg.Seed, 0x68616c74)} // "halt"
	// Each network application, and the backward pass, runs on the team of
	// workers that has been fastest lately (tensor.Tuner): fewer than
	// tensor.Workers() when another process holds a core and that is
	// faster. The weights it trains are the same either way.
	tr.tape.SetTuner(new(tensor.Tuner))
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
	if P := cfg.PassBatch(); P < B {
		S, D := cfg.SeqTotal(), cfg.HiddenSize
		for lo := 0; lo < B; lo += P {
			hi := min(lo+P, B)
			tr.passes = append(tr.passes, pass{lo: lo, hi: hi,
				y: tensor.FromSlice(tr.y.Data[lo*S*D:hi*S*D], hi-lo, S, D),
				z: tensor.FromSlice(tr.z.Data[lo*S*D:hi*S*D], hi-lo, S, D)})
		}
		tr.q = make([]float32, B)
		tr.correct = make([]float32, B)
		tr.right = make([]int, B)
		tr.tokenN = make([]int, B)
	}
	tr.acc.start = time.Now()
	tr.started = tr.acc.start
	return tr, nil
}

// StepCount returns the number of optimizer steps taken.
func (tr *Trainer) StepCount() int64 { return tr.step }

// load puts training example i into slot b. A fixed list of n examples is
// visited again and again: example i is its i mod n.
func (tr *Trainer) load(b int, i int64) error {
	ex, err := task.Labeled(tr.Task, task.SplitTrain, tr.Cfg.Seed, trainIndex(tr.Task, i))
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	tr.put(b, i, ex)
	return nil
}

// trainIndex returns the index in t's train split of a run's example i:
// i, or i mod n for a fixed list of n examples.
func trainIndex(t task.Task, i int64) int64 {
	if n := int64(t.Len(task.SplitTrain)); n > 0 {
		return i % n
	}
	return i
}

// loadNext puts the next training example (dataPos) into slot b, taking
// it from the feed, which generates it ahead of time.
func (tr *Trainer) loadNext(b int) error {
	ex, err := tr.startFeed().take(tr.dataPos)
	if err != nil {
		return err
	}
	tr.put(b, tr.dataPos, ex)
	tr.dataPos++
	return nil
}

// startFeed returns the feed that generates examples dataPos, dataPos+1,
// …, starting one unless it already runs there: up to two batches ahead of
// the steps, the first of them before the first step needs them.
func (tr *Trainer) startFeed() *feed {
	if tr.feed == nil {
		tr.feed = &feedSlot{}
		runtime.AddCleanup(tr, (*feedSlot).close, tr.feed) // a Trainer dropped without Close
	}
	if f := tr.feed.f; f == nil || f.next != tr.dataPos {
		tr.feed.close()
		tr.feed.f = startFeed(tr.Task, tr.Cfg.Seed, tr.dataPos, 2*tr.Cfg.BatchSize)
	}
	return tr.feed.f
}

// Close stops the goroutine that generates training examples ahead of the
// steps; a later Step starts it again. A Trainer dropped without Close
// stops it when it is garbage collected.
func (tr *Trainer) Close() {
	if tr.feed != nil {
		tr.feed.close()
	}
}

// put puts ex, training example i, into slot b.
func (tr *Trainer) put(b int, i int64, ex task.Example) {
	L := tr.Cfg.SeqLen
	copy(tr.tokens[b*L:(b+1)*L], ex.Input)
	copy(tr.labels[b*L:(b+1)*L], ex.Label)
	tr.pids[b] = ex.PuzzleID
	tr.idx[b] = i
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
		if err := tr.loadNext(b); err != nil {
			return err
		}
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

	var (
		loss                 float64
		q, correct           []float32
		tokensRight, tokensN []int
	)
	if tr.passes == nil {
		t.Reset()
		// The weights stay as they are until the optimizer step below:
		// each is packed once for the step's net calls, not once a call.
		t.FreezeWeights(true)
		x := m.Input(t, tr.tokens, tr.pids)
		out := m.Step(t, x, t.Const(tr.y), t.Const(tr.z))
		lo := m.Loss(t, out, tr.labels, weights, cfg.HaltLossWeight)
		nn.ZeroGrads(m.TrainedParams())
		t.Backward(lo.Loss)
		t.FreezeWeights(false)
		// Carry (detached).
		copy(tr.y.Data, out.Y.Value.Data)
		copy(tr.z.Data, out.Z.Value.Data)
		loss = float64(lo.Loss.Value.Data[0])
		q, correct, tokensRight, tokensN = out.QHalt.Value.Data, lo.Correct, lo.TokensRight, lo.Tokens
	} else {
		loss = tr.passSteps(weights)
		q, correct, tokensRight, tokensN = tr.q, tr.correct, tr.right, tr.tokenN
	}

	tr.step++
	lr := nn.WarmupLR(int(tr.step), cfg.LRWarmupSteps, cfg.LR)
	// The element-wise updates run on the team the tape's tuner settled
	// on (bit-identical for every team).
	if d, ok := tr.dense.(interface{ SetTeam(tensor.Team) }); ok {
		d.SetTeam(t.Team())
	}
	if tr.ema != nil {
		tr.ema.SetTeam(t.Team())
	}
	tr.dense.Step(lr)
	if tr.sparse != nil {
		tr.sparse.Step(nn.WarmupLR(int(tr.step), cfg.LRWarmupSteps, cfg.PuzzleEmbLR))
	}
	if tr.ema != nil {
		tr.ema.Update()
	}

	// Halting.
	nsup := int64(cfg.HaltMaxSteps)
	a := &tr.acc
	a.steps++
	a.loss += loss
	for b := range B {
		if tr.halted[b] {
			continue // explicit mode: already done
		}
		tr.steps[b]++
		halt := trm.ShouldHalt(int(tr.steps[b]), cfg.HaltMaxSteps, q[b])
		// Exploration: with probability halt_exploration_prob a sample
		// must first reach a random minimum of 2..N_sup steps.
		if nsup > 1 && tr.rng.Float64() < cfg.HaltExplorationProb {
			minSteps := int64(2 + tr.rng.IntN(int(nsup)-1))
			halt = halt && tr.steps[b] >= minSteps
		}
		if halt {
			tr.halted[b] = true
			a.halted++
			a.sumSteps += tr.steps[b]
			a.exact += int(correct[b])
			a.tokens += tokensN[b]
			a.tokensRight += tokensRight[b]
		}
	}
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return fmt.Errorf("train: loss is %v at step %d (diverged: lower lr or check the data)", loss, tr.step)
	}
	return nil
}

// passSteps runs the forward and backward passes of one supervision step
// chunk by chunk (micro_batch) and leaves the new carry, q_halt and the
// per-sample metrics in the trainer's batch-wide buffers. Each sample's loss
// is weighted as in the whole batch (1/B, or its explicit-mode weight), so
// the gradients sum to the whole batch's. It returns the batch loss.
//
// The passes are data-parallel: each runs on a tape of its own whose
// gradients are private (nn.Tape.SetPrivateGrads), up to one pass per
// worker at a time (tensor.Workers()), the workers shared out among the
// passes running together. The Params' gradients are then the passes'
// gradients added in pass order, and the loss the passes' losses in pass
// order, so the result is bit-identical for every worker count.
func (tr *Trainer) passSteps(weights []float32) float64 {
	cfg, m := tr.Cfg, tr.Model
	if weights == nil {
		// The whole batch's mean: every sample weighs 1/B.
		w := 1 / float32(cfg.BatchSize)
		for b := range tr.weights {
			tr.weights[b] = w
		}
		weights = tr.weights
	}
	W := tensor.Workers()
	R := min(W, len(tr.passes))
	for len(tr.runners) < R {
		t := nn.NewTape()
		t.SetPrivateGrads(m.TrainedParams())
		tr.runners = append(tr.runners, t)
	}
	nn.ZeroGrads(m.TrainedParams())
	var loss float64
	for lo := 0; lo < len(tr.passes); lo += R {
		wave := tr.passes[lo:min(lo+R, len(tr.passes))]
		var wg sync.WaitGroup
		for k := range wave {
			t := tr.runners[k]
			// W workers shared out among the wave's passes.
			t.SetTeam(tensor.Team(W/len(wave) + btoi(k < W%len(wave))))
			if k == 0 {
				continue // the caller's goroutine runs it, below
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				tr.runPass(t, &wave[k], weights)
			}()
		}
		tr.runPass(tr.runners[0], &wave[0], weights)
		wg.Wait()
		for k := range wave {
			tr.runners[k].AddPrivateGrads()
			loss += wave[k].loss
		}
	}
	return loss
}

// runPass runs the forward and backward pass of p on tape t, whose
// gradients are private: t's gradient buffers hold p's gradients
// afterwards, p.loss its loss, and the trainer's batch-wide buffers its
// rows of the carry and metrics (rows no other pass touches).
func (tr *Trainer) runPass(t *nn.Tape, p *pass, weights []float32) {
	cfg, m := tr.Cfg, tr.Model
	L := cfg.SeqLen
	t.ZeroPrivateGrads()
	t.Reset()
	t.FreezeWeights(true) // the weights change after the step's passes: packed once a pass
	x := m.Input(t, tr.tokens[p.lo*L:p.hi*L], tr.pids[p.lo:p.hi])
	out := m.Step(t, x, t.Const(p.y), t.Const(p.z))
	lo := m.Loss(t, out, tr.labels[p.lo*L:p.hi*L], weights[p.lo:p.hi], cfg.HaltLossWeight)
	t.Backward(lo.Loss)
	t.FreezeWeights(false)
	// The pass's rows of the carry (detached): its inputs were read
	// during the forward pass and no other pass touches these rows.
	copy(p.y.Data, out.Y.Value.Data)
	copy(p.z.Data, out.Z.Value.Data)
	copy(tr.q[p.lo:p.hi], out.QHalt.Value.Data)
	copy(tr.correct[p.lo:p.hi], lo.Correct)
	copy(tr.right[p.lo:p.hi], lo.TokensRight)
	copy(tr.tokenN[p.lo:p.hi], lo.Tokens)
	p.loss = float64(lo.Loss.Value.Data[0])
}

// btoi is 1 for true, 0 for false.
func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
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
		TokenAcc: fraction(a.tokensRight, a.tokens),
		ExactAcc: fraction(a.exact, a.halted),
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

// Checkpoint returns the model to save: the EMA weights when EMA is on,
// with the run's config.
func (tr *Trainer) Checkpoint() *trm.Checkpoint {
	var ck *trm.Checkpoint
	tr.WithEMA(func() { ck = tr.Model.Checkpoint(tr.step) })
	ck.Config = tr.Cfg
	ck.Meta = map[string]string{"weights": "raw"}
	if tr.ema != nil {
		ck.Meta["weights"] = "ema"
	}
	return ck
}

// fraction returns a/b, or 0 when b is 0.
func fraction(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
