package trm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"

	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/trm/task"
)

// PosEncoding selects the positional encoding of the input (the official
// pos_encodings).
type PosEncoding string

// The positional encodings (spec §4).
const (
	// PosRoPE rotates queries and keys (attention variant only).
	PosRoPE PosEncoding = "rope"
	// PosLearned adds a learned [L+P, hidden] table to the embeddings.
	PosLearned PosEncoding = "learned"
	// PosNone adds nothing (the MLP-mixer variant needs no encoding).
	PosNone PosEncoding = "none"
)

// Config is a model and the recipe that trains it: a ModelConfig (what
// NewModel takes, all a checkpoint needs to rebuild the network) and a
// TrainConfig (optimizer, schedule, run length, intervals). Both are
// embedded, so the JSON is one flat object with the official names
// (config/arch/trm.yaml, config/cfg_pretrain.yaml) where one exists: the
// config.json of a run folder and the "config" metadata of a checkpoint.
//
// The paper's names: n = L_cycles, T = H_cycles, N_sup = halt_max_steps;
// y is the official z_H (initialised from H_init), z is z_L (L_init).
type Config struct {
	ModelConfig
	TrainConfig
}

// ModelConfig is the architecture of a TRM and the task it answers: what
// NewModel builds and a checkpoint records. The sizes the task fixes
// (vocab_size, seq_len, num_puzzle_identifiers) are set by SetTask.
type ModelConfig struct {
	// Task names the registered task the model answers (see task.New),
	// TaskOptions its options (e.g. "digits" for arith).
	Task        string       `json:"task"`
	TaskOptions task.Options `json:"task_options,omitempty"`

	// VocabSize is the number of token ids (2..MaxVocabSize); SeqLen the
	// number of input positions L, without the puzzle-embedding prefix
	// (1..MaxSeqLen).
	VocabSize int `json:"vocab_size"`
	SeqLen    int `json:"seq_len"`
	// NumPuzzleIdentifiers is the number of rows of the puzzle-embedding
	// table (1 for Sudoku, Maze and arith: a single learned prefix;
	// 1..MaxPuzzleIdentifiers).
	NumPuzzleIdentifiers int `json:"num_puzzle_identifiers"`

	// HiddenSize is the width of x, y, z and every block
	// (1..MaxHiddenSize).
	HiddenSize int `json:"hidden_size"`
	// NumHeads is the number of attention heads (attn variant,
	// 1..MaxNumHeads); head_dim = HiddenSize / NumHeads.
	NumHeads int `json:"num_heads"`
	// Expansion sizes the SwiGLU hidden layer: see Inter (> 0, at most
	// MaxExpansion).
	Expansion float64 `json:"expansion"`
	// LLayers is the number of blocks in the network (2; at most
	// MaxLayers).
	LLayers int `json:"L_layers"`
	// LCycles is n, the latent updates per recursion (6 for Sudoku; at
	// most MaxCycles).
	LCycles int `json:"L_cycles"`
	// HCycles is T, the recursions per supervision step (3; at most
	// MaxCycles).
	HCycles int `json:"H_cycles"`
	// HaltMaxSteps is N_sup, the maximum number of supervision steps (16;
	// at most MaxHaltSteps).
	HaltMaxSteps int `json:"halt_max_steps"`
	// OneStepGrad trains with HRM's 1-step gradient approximation: the
	// gradient flows through the last latent update and the answer update
	// of each supervision step only (2 net calls), not through the whole
	// last cycle (n+1). The paper's ablation (Table 1: 87.4% → 56.5% on
	// Sudoku-Extreme). It changes training only: the values computed are
	// the same.
	OneStepGrad bool `json:"one_step_grad,omitempty"`
	// SeparateNets gives the answer update y = net(y, z) a network of its
	// own (L_layers more blocks, HRM's H_level: tensors inner.H_level.*)
	// instead of the one the latent updates use: the paper's "separate
	// networks for y and z" ablation (Table 1: 87.4% → 82.4% on
	// Sudoku-Extreme). Twice the block parameters, the same FLOPs. The
	// official TRM has no such option, so ExportTorch refuses it.
	SeparateNets bool `json:"separate_nets,omitempty"`
	// Variant is nn.VariantAttn (TRM-Att) or nn.VariantMLP (TRM-MLP, the
	// official mlp_t).
	Variant nn.Variant `json:"variant"`
	// PosEncodings is PosRoPE, PosLearned or PosNone.
	PosEncodings PosEncoding `json:"pos_encodings"`
	// RopeTheta is the RoPE base θ (10000).
	RopeTheta float64 `json:"rope_theta"`
	// RMSNormEps is the ε of the weightless RMSNorm (1e-5).
	RMSNormEps float64 `json:"rms_norm_eps"`
	// PuzzleEmbNdim is the width of a puzzle-embedding row (0 = no puzzle
	// embedding; at most MaxPuzzleEmbNdim); the row is split into
	// ceil(PuzzleEmbNdim/HiddenSize) prefix tokens.
	PuzzleEmbNdim int `json:"puzzle_emb_ndim"`
	// PuzzleEmbLen is P, the number of prefix positions the puzzle
	// embedding occupies, zero-padded (16); 0 means ceil(ndim/hidden).
	// Either way P is at most MaxPuzzleEmbLen. See PrefixLen.
	PuzzleEmbLen int `json:"puzzle_emb_len"`
}

// TrainConfig is how a model is trained: loss weights, halting
// exploration, optimizer, learning-rate schedule, EMA, batch, seed, run
// length and intervals.
type TrainConfig struct {
	// HaltExplorationProb is the probability that training forces a random
	// minimum of 2..N_sup supervision steps on a sample (0.1).
	HaltExplorationProb float64 `json:"halt_exploration_prob"`
	// HaltLossWeight multiplies the halting BCE in the loss (0.5).
	HaltLossWeight float64 `json:"halt_loss_weight"`
	// ACTContinue enables the HRM-style Q-continue loss (the official
	// no_ACT_continue=False); off by default and not supported by the
	// trainer.
	ACTContinue bool `json:"act_continue"`

	// Optimizer names a registered optimizer (nn.RegisterOptimizer):
	// nn.OptAdamATan2 (official) or nn.OptAdamW (the paper).
	Optimizer string `json:"optimizer"`
	// LR is the peak learning rate, reached linearly over LRWarmupSteps
	// optimizer steps (at most MaxSteps) and then held constant.
	LR            float64 `json:"lr"`
	LRWarmupSteps int     `json:"lr_warmup_steps"`
	// WeightDecay is the decoupled weight decay of the dense parameters.
	WeightDecay float64 `json:"weight_decay"`
	// Beta1 and Beta2 are the Adam moment decay rates (0.9, 0.95).
	Beta1 float64 `json:"beta1"`
	Beta2 float64 `json:"beta2"`
	// AdamEps is AdamW's ε (AdamATan2 has none).
	AdamEps float64 `json:"adam_eps"`
	// PuzzleEmbLR and PuzzleEmbWeightDecay drive the SignSGD update of the
	// puzzle-embedding table.
	PuzzleEmbLR          float64 `json:"puzzle_emb_lr"`
	PuzzleEmbWeightDecay float64 `json:"puzzle_emb_weight_decay"`
	// EMARate is the rate of the exponential moving average of the weights
	// (0.999); 0 turns EMA off.
	EMARate float64 `json:"ema_rate"`
	// BatchSize is the number of samples per optimizer step
	// (1..MaxBatchSize; whether a batch fits in memory is
	// ModelConfig.CheckMemory's question).
	BatchSize int `json:"global_batch_size"`
	// MicroBatch, from 1 to global_batch_size − 1, runs each optimizer
	// step's forward and backward passes over chunks of at most that many
	// samples and adds up their gradients (gradient accumulation): a step's
	// activations then take the memory of micro_batch samples instead of
	// the whole batch's, and each pass's products stay a size the cores
	// run well. The update is the whole batch's up to float rounding (the
	// gradient sums run in another order). The passes run at once, one per
	// worker (data-parallel; bit-identical for every worker count). 0 (the
	// default) picks the pass itself (Config.AutoPassBatch); a value
	// ≥ global_batch_size runs the batch in one pass.
	MicroBatch int `json:"micro_batch,omitempty"`
	// Seed seeds parameter init, data order and halting exploration.
	Seed uint64 `json:"seed"`

	// TrainSteps is the number of optimizer steps of a training run
	// (1..MaxSteps).
	TrainSteps int `json:"train_steps"`
	// LogInterval, EvalInterval and CheckpointInterval are in optimizer
	// steps (at most MaxSteps); 0 turns evaluation or periodic checkpoints
	// off (a final checkpoint is always written).
	LogInterval        int `json:"log_interval"`
	EvalInterval       int `json:"eval_interval"`
	CheckpointInterval int `json:"checkpoint_interval"`
}

// PassBatch returns the number of samples of one forward and backward pass
// of a training step: MicroBatch when it splits the batch, AutoPassBatch
// when MicroBatch is 0, else (MicroBatch ≥ BatchSize) BatchSize.
func (c Config) PassBatch() int {
	switch {
	case c.MicroBatch == 0:
		return min(c.AutoPassBatch(), c.BatchSize)
	case c.MicroBatch < c.BatchSize:
		return c.MicroBatch
	}
	return c.BatchSize
}

// PassRows is the number of sequence positions (samples × (L+P)) that
// AutoPassBatch aims a pass at: enough rows for the matrix products to run
// near the GEMM peak, few enough that a pass's activations stay near the
// caches and a batch splits into passes that run at once on several cores
// (see BENCHMARKS.md, "Passes").
const PassRows = 512

// AutoPassBatch returns the pass a training step runs in when micro_batch
// is 0: the largest power of two P with P·(L+P) ≤ PassRows (at least 1), so
// that examples/s do not fall as the batch grows and a batch of more than
// P samples runs on up to ⌈B/P⌉ cores. It depends on the model's shape
// only, never on the machine: a run computes the same bits everywhere.
func (c Config) AutoPassBatch() int {
	p := 1
	for 2*p*c.SeqTotal() <= PassRows {
		p *= 2
	}
	return p
}

// OptimizerConfig returns the hyper-parameters of the dense optimizer.
func (c TrainConfig) OptimizerConfig() nn.OptimizerConfig {
	return nn.OptimizerConfig{Beta1: c.Beta1, Beta2: c.Beta2, Eps: c.AdamEps, WeightDecay: c.WeightDecay}
}

// SetTask sets c up for task t: its name, options, vocabulary, sequence
// length and number of puzzle ids.
func (c *ModelConfig) SetTask(t task.Task) {
	c.Task = t.Name()
	c.TaskOptions = t.Options()
	c.VocabSize = t.VocabSize()
	c.SeqLen = t.SeqLen()
	c.NumPuzzleIdentifiers = t.NumPuzzleIDs()
}

// CheckTask reports whether c fits task t: same name, vocabulary, sequence
// length and enough puzzle ids.
func (c ModelConfig) CheckTask(t task.Task) error {
	var errs []error
	if c.Task != t.Name() {
		errs = append(errs, fmt.Errorf("config: task %q, but the task is %q", c.Task, t.Name()))
	}
	if c.VocabSize != t.VocabSize() {
		errs = append(errs, fmt.Errorf("config: vocab_size %d, task %s wants %d", c.VocabSize, t.Name(), t.VocabSize()))
	}
	if c.SeqLen != t.SeqLen() {
		errs = append(errs, fmt.Errorf("config: seq_len %d, task %s wants %d", c.SeqLen, t.Name(), t.SeqLen()))
	}
	if c.NumPuzzleIdentifiers < t.NumPuzzleIDs() {
		errs = append(errs, fmt.Errorf("config: num_puzzle_identifiers %d, task %s needs at least %d", c.NumPuzzleIdentifiers, t.Name(), t.NumPuzzleIDs()))
	}
	return errors.Join(errs...)
}

// NewTask builds the task the config names, with its options, and checks
// that it fits the config.
func (c ModelConfig) NewTask() (task.Task, error) {
	t, err := task.New(c.Task, c.TaskOptions)
	if err != nil {
		return nil, err
	}
	if err := c.CheckTask(t); err != nil {
		return nil, err
	}
	return t, nil
}

// validator collects the errors of a Validate, each naming the JSON field
// and the range it should be in.
type validator struct{ errs []error }

func (v *validator) bad(format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf("config: "+format, args...))
}

func (v *validator) atLeast(name string, x, lo int) {
	if x < lo {
		v.bad("%s %d, want ≥ %d", name, x, lo)
	}
}

// inRange complains unless x lies in [lo, hi] ([lo, hi) when open); NaN is
// never in range.
func (v *validator) inRange(name string, x, lo, hi float64, open bool) {
	if !(x >= lo && x <= hi && !(open && x == hi)) {
		closer := "]"
		if open {
			closer = ")"
		}
		v.bad("%s %v, want in [%v, %v%s", name, x, lo, hi, closer)
	}
}

func (v *validator) positive(name string, x float64) {
	if !(x > 0) || math.IsInf(x, 0) {
		v.bad("%s %v, want > 0", name, x)
	}
}

func (v *validator) nonNegative(name string, x float64) {
	if !(x >= 0) || math.IsInf(x, 0) {
		v.bad("%s %v, want ≥ 0", name, x)
	}
}

// Validate checks every field of the model and the training recipe (see
// ModelConfig.Validate and TrainConfig.Validate).
func (c Config) Validate() error {
	return errors.Join(c.ModelConfig.Validate(), c.TrainConfig.validate(c.PuzzleEmbNdim > 0))
}

// Validate checks every architecture field and returns an error naming
// each bad one and the range it should be in (several errors are joined).
// Sizes and counts are bounded by the Max constants, so that nothing
// derived from a valid config overflows; whether the model fits in memory
// is CheckMemory's question.
func (c ModelConfig) Validate() error {
	var v validator
	v.between("vocab_size", c.VocabSize, 2, MaxVocabSize)
	v.between("seq_len", c.SeqLen, 1, MaxSeqLen)
	v.between("num_puzzle_identifiers", c.NumPuzzleIdentifiers, 1, MaxPuzzleIdentifiers)
	v.between("hidden_size", c.HiddenSize, 1, MaxHiddenSize)
	v.positive("expansion", c.Expansion)
	if c.Expansion > MaxExpansion {
		v.bad("expansion %v, want ≤ %d", c.Expansion, MaxExpansion)
	}
	v.between("L_layers", c.LLayers, 1, MaxLayers)
	v.between("L_cycles", c.LCycles, 1, MaxCycles)
	v.between("H_cycles", c.HCycles, 1, MaxCycles)
	v.between("halt_max_steps", c.HaltMaxSteps, 1, MaxHaltSteps)

	switch c.Variant {
	case nn.VariantAttn:
		if c.NumHeads < 1 {
			v.bad("num_heads %d, want ≥ 1 for variant %q", c.NumHeads, c.Variant)
		} else if c.NumHeads > MaxNumHeads {
			v.bad("num_heads %d, want ≤ %d", c.NumHeads, MaxNumHeads)
		} else if c.HiddenSize%c.NumHeads != 0 {
			v.bad("hidden_size %d is not divisible by num_heads %d", c.HiddenSize, c.NumHeads)
		} else if c.PosEncodings == PosRoPE && (c.HiddenSize/c.NumHeads)%2 != 0 {
			v.bad("head_dim %d (hidden_size %d / num_heads %d) is odd, RoPE wants it even", c.HiddenSize/c.NumHeads, c.HiddenSize, c.NumHeads)
		}
	case nn.VariantMLP:
		if c.PosEncodings == PosRoPE {
			v.bad("pos_encodings %q has no effect with variant %q, want %q or %q", c.PosEncodings, c.Variant, PosNone, PosLearned)
		}
	default:
		v.bad("variant %q, want %q or %q", c.Variant, nn.VariantAttn, nn.VariantMLP)
	}
	switch c.PosEncodings {
	case PosRoPE:
		v.positive("rope_theta", c.RopeTheta)
	case PosLearned, PosNone:
	default:
		v.bad("pos_encodings %q, want %q, %q or %q", c.PosEncodings, PosRoPE, PosLearned, PosNone)
	}
	v.positive("rms_norm_eps", c.RMSNormEps)

	v.between("puzzle_emb_ndim", c.PuzzleEmbNdim, 0, MaxPuzzleEmbNdim)
	v.between("puzzle_emb_len", c.PuzzleEmbLen, 0, MaxPuzzleEmbLen)
	if c.PuzzleEmbNdim > 0 && c.PuzzleEmbNdim <= MaxPuzzleEmbNdim && c.PuzzleEmbLen == 0 && c.HiddenSize > 0 {
		if p := ceilDiv(c.PuzzleEmbNdim, c.HiddenSize); p > MaxPuzzleEmbLen {
			v.bad("puzzle_emb_ndim %d over hidden_size %d makes %d prefix positions, want ≤ %d (puzzle_emb_len)",
				c.PuzzleEmbNdim, c.HiddenSize, p, MaxPuzzleEmbLen)
		}
	}
	if c.PuzzleEmbNdim == 0 && c.PuzzleEmbLen > 0 {
		v.bad("puzzle_emb_len %d without a puzzle embedding (puzzle_emb_ndim 0), want 0", c.PuzzleEmbLen)
	}
	if c.PuzzleEmbNdim > 0 && c.HiddenSize > 0 && c.PuzzleEmbLen > 0 {
		if need := ceilDiv(c.PuzzleEmbNdim, c.HiddenSize); c.PuzzleEmbLen < need {
			v.bad("puzzle_emb_len %d is too short for puzzle_emb_ndim %d, want ≥ %d (ceil(ndim / hidden_size %d))",
				c.PuzzleEmbLen, c.PuzzleEmbNdim, need, c.HiddenSize)
		}
	}
	if c.Task != "" {
		for k := range c.TaskOptions {
			if k == "" {
				v.bad("task_options has an empty key")
			}
		}
	}
	return errors.Join(v.errs...)
}

// Validate checks every training field and returns an error naming each
// bad one and the range it should be in (several errors are joined). The
// puzzle-embedding fields are checked when the model has a puzzle
// embedding; Config.Validate knows whether it does.
func (c TrainConfig) Validate() error { return c.validate(true) }

func (c TrainConfig) validate(puzzleEmb bool) error {
	var v validator
	v.inRange("halt_exploration_prob", c.HaltExplorationProb, 0, 1, false)
	v.nonNegative("halt_loss_weight", c.HaltLossWeight)
	v.positive("lr", c.LR)
	v.between("lr_warmup_steps", c.LRWarmupSteps, 0, MaxSteps)
	if err := nn.CheckOptimizer(c.Optimizer, c.OptimizerConfig()); err != nil {
		v.bad("%v", err)
	}
	if puzzleEmb {
		v.nonNegative("puzzle_emb_lr", c.PuzzleEmbLR)
		v.nonNegative("puzzle_emb_weight_decay", c.PuzzleEmbWeightDecay)
	}
	v.inRange("ema_rate", c.EMARate, 0, 1, true)
	v.between("global_batch_size", c.BatchSize, 1, MaxBatchSize)
	v.between("micro_batch", c.MicroBatch, 0, MaxBatchSize)
	v.between("train_steps", c.TrainSteps, 1, MaxSteps)
	v.between("log_interval", c.LogInterval, 1, MaxSteps)
	v.between("eval_interval", c.EvalInterval, 0, MaxSteps)
	v.between("checkpoint_interval", c.CheckpointInterval, 0, MaxSteps)
	return errors.Join(v.errs...)
}

// PrefixLen returns P, the number of puzzle-embedding prefix positions
// placed before the input tokens: 0 without a puzzle embedding, else
// PuzzleEmbLen, or ceil(PuzzleEmbNdim/HiddenSize) when that is 0.
func (c ModelConfig) PrefixLen() int {
	switch {
	case c.PuzzleEmbNdim <= 0:
		return 0
	case c.PuzzleEmbLen > 0:
		return c.PuzzleEmbLen
	default:
		return ceilDiv(c.PuzzleEmbNdim, c.HiddenSize)
	}
}

// SeqTotal returns the length of the sequences the blocks see: L + P.
func (c ModelConfig) SeqTotal() int { return c.SeqLen + c.PrefixLen() }

// HeadDim returns hidden_size / num_heads (0 when num_heads is 0).
func (c ModelConfig) HeadDim() int {
	if c.NumHeads == 0 {
		return 0
	}
	return c.HiddenSize / c.NumHeads
}

// Inter returns the hidden width of a SwiGLU whose input has width in:
// round(expansion·in·2/3) rounded up to a multiple of 256 (the official
// _find_multiple; the rounding is Python's, half to even). Expansion 4:
// 512 → 1536, 97 → 512.
func (c ModelConfig) Inter(in int) int {
	v := int(math.RoundToEven(c.Expansion * float64(in) * 2 / 3))
	return ceilDiv(v, 256) * 256
}

// ParamCount returns the number of trained parameters as the official code
// counts them (the sum over model.parameters()): every tensor of TensorSpecs
// except the puzzle-embedding table and H_init/L_init, which the official
// model keeps as buffers. The official MLP Sudoku model has 5,028,866; the
// attention one 6,828,034.
func (c ModelConfig) ParamCount() int64 {
	var n int64
	for _, s := range c.TensorSpecs() {
		if s.Kind == KindDense {
			n += int64(s.Size())
		}
	}
	return n
}

// MarshalIndent returns c as indented JSON with a trailing newline (the
// form of config.json in a run folder).
func (c Config) MarshalIndent() []byte {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		panic(err) // Config holds only plain values
	}
	return append(b, '\n')
}

// DecodeConfig parses JSON over base: fields present in data replace those
// of base, unknown fields are an error (a typo must not pass silently), and
// so is a key given twice (encoding/json would keep the last silently),
// also in task_options.
// task_options, when present, replaces base's options as a whole; a data
// that names another task without giving options drops base's. The result
// is not validated; call Validate.
func DecodeConfig(data []byte, base Config) (Config, error) {
	c := base
	c.TaskOptions = nil
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	if d.More() {
		return Config{}, errors.New("config: data after the JSON object")
	}
	if err := checkDuplicateKeys(data); err != nil {
		return Config{}, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	if _, ok := fields["task_options"]; !ok && c.Task == base.Task {
		c.TaskOptions = base.TaskOptions.Clone()
	}
	return c, nil
}

// checkDuplicateKeys walks the first JSON value of data (valid JSON) and
// returns an error naming the first key an object repeats. The config's own
// keys are compared as encoding/json matches them to fields, ignoring case
// ("lr" and "LR" set the same field); nested objects (task_options, a map)
// compare exactly.
func checkDuplicateKeys(data []byte) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	return walkKeys(d, "", true)
}

// walkKeys reads one value from d; in an object it checks the keys. in
// names the enclosing key for the error ("" at the top).
func walkKeys(d *json.Decoder, in string, fold bool) error {
	tok, err := d.Token()
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]string{}
		for d.More() {
			tok, err := d.Token()
			if err != nil {
				return fmt.Errorf("config: %w", err)
			}
			key, _ := tok.(string)
			id := key
			if fold {
				id = strings.ToLower(key)
			}
			if prev, dup := seen[id]; dup {
				where := ""
				if in != "" {
					where = " in " + in
				}
				if prev == key {
					return fmt.Errorf("config: key %q appears twice%s", key, where)
				}
				return fmt.Errorf("config: keys %q and %q%s name the same field", prev, key, where)
			}
			seen[id] = key
			if err := walkKeys(d, key, false); err != nil {
				return err
			}
		}
	case json.Delim('['):
		for d.More() {
			if err := walkKeys(d, in, false); err != nil {
				return err
			}
		}
	default:
		return nil
	}
	_, err = d.Token() // the closing delimiter
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// LoadConfig reads a JSON config file over base (see DecodeConfig) and
// validates it.
func LoadConfig(path string, base Config) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	c, err := DecodeConfig(data, base)
	if err != nil {
		return Config{}, fmt.Errorf("%q: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("%q: %w", path, err)
	}
	return c, nil
}

// Equal reports whether two configs are identical (a nil and an empty
// TaskOptions are the same).
func (c Config) Equal(o Config) bool {
	return bytes.Equal(c.MarshalIndent(), o.MarshalIndent())
}

// ceilDiv returns ⌈a/b⌉ for a ≥ 0, b > 0, without the overflow of
// (a+b−1)/b near math.MaxInt.
func ceilDiv(a, b int) int {
	q := a / b
	if a%b != 0 {
		q++
	}
	return q
}
