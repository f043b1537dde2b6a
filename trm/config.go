package trm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
)

// Variant selects the sequence mixer of a TRM block.
type Variant string

// The block variants (spec §4).
const (
	// VariantAttn mixes positions with multi-head self-attention (TRM-Att).
	VariantAttn Variant = "attn"
	// VariantMLP mixes positions with a SwiGLU over the sequence axis
	// (TRM-MLP; the official code's mlp_t=True).
	VariantMLP Variant = "mlp"
)

// The positional encodings (the official pos_encodings).
const (
	PosRoPE    = "rope"
	PosLearned = "learned"
	PosNone    = "none"
)

// The optimizers for the dense parameters.
const (
	// OptAdamATan2 is the official code's optimizer: Adam without ε, the
	// update direction atan2(m̂, √v̂), decoupled weight decay.
	OptAdamATan2 = "adamatan2"
	// OptAdamW is AdamW with decoupled weight decay (what the paper names).
	OptAdamW = "adamw"
)

// Config holds every knob of a TRM model and of its training. The JSON names
// are the official code's (config/arch/trm.yaml, config/cfg_pretrain.yaml)
// where one exists. Sizes that the task fixes (vocab_size, seq_len,
// num_puzzle_identifiers) are set by WithTask.
//
// The paper's names: n = L_cycles, T = H_cycles, N_sup = halt_max_steps;
// y is the official z_H (initialised from H_init), z is z_L (L_init).
type Config struct {
	// Task names the registered task the model is trained on (see NewTask),
	// TaskOptions its options (e.g. "digits" for arith).
	Task        string      `json:"task"`
	TaskOptions TaskOptions `json:"task_options,omitempty"`

	// VocabSize is the number of token ids; SeqLen the number of input
	// positions L (without the puzzle-embedding prefix).
	VocabSize int `json:"vocab_size"`
	SeqLen    int `json:"seq_len"`
	// NumPuzzleIdentifiers is the number of rows of the puzzle-embedding
	// table (1 for Sudoku, Maze and arith: a single learned prefix).
	NumPuzzleIdentifiers int `json:"num_puzzle_identifiers"`

	// HiddenSize is the width of x, y, z and every block.
	HiddenSize int `json:"hidden_size"`
	// NumHeads is the number of attention heads (attn variant);
	// head_dim = HiddenSize / NumHeads.
	NumHeads int `json:"num_heads"`
	// Expansion sizes the SwiGLU hidden layer: see Inter.
	Expansion float64 `json:"expansion"`
	// LLayers is the number of blocks in the network (2).
	LLayers int `json:"L_layers"`
	// LCycles is n, the latent updates per recursion (6 for Sudoku).
	LCycles int `json:"L_cycles"`
	// HCycles is T, the recursions per supervision step (3).
	HCycles int `json:"H_cycles"`
	// HaltMaxSteps is N_sup, the maximum number of supervision steps (16).
	HaltMaxSteps int `json:"halt_max_steps"`
	// HaltExplorationProb is the probability that training forces a random
	// minimum of 2..N_sup supervision steps on a sample (0.1).
	HaltExplorationProb float64 `json:"halt_exploration_prob"`
	// Variant is "attn" (TRM-Att) or "mlp" (TRM-MLP, the official mlp_t).
	Variant Variant `json:"variant"`
	// PosEncodings is "rope", "learned" or "none".
	PosEncodings string `json:"pos_encodings"`
	// RopeTheta is the RoPE base θ (10000).
	RopeTheta float64 `json:"rope_theta"`
	// RMSNormEps is the ε of the weightless RMSNorm (1e-5).
	RMSNormEps float64 `json:"rms_norm_eps"`
	// PuzzleEmbNdim is the width of a puzzle-embedding row (0 = no puzzle
	// embedding); the row is split into ceil(PuzzleEmbNdim/HiddenSize)
	// prefix tokens.
	PuzzleEmbNdim int `json:"puzzle_emb_ndim"`
	// PuzzleEmbLen is P, the number of prefix positions the puzzle
	// embedding occupies, zero-padded (16); 0 means ceil(ndim/hidden). See
	// PrefixLen.
	PuzzleEmbLen int `json:"puzzle_emb_len"`

	// HaltLossWeight multiplies the halting BCE in the loss (0.5).
	HaltLossWeight float64 `json:"halt_loss_weight"`
	// ACTContinue enables the HRM-style Q-continue loss (the official
	// no_ACT_continue=False); off by default.
	ACTContinue bool `json:"act_continue"`

	// Optimizer is "adamatan2" (official) or "adamw" (the paper).
	Optimizer string `json:"optimizer"`
	// LR is the peak learning rate, reached linearly over LRWarmupSteps
	// optimizer steps and then held constant.
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
	// BatchSize is the number of samples per optimizer step.
	BatchSize int `json:"global_batch_size"`
	// Seed seeds parameter init, data order and halting exploration.
	Seed uint64 `json:"seed"`

	// TrainSteps is the number of optimizer steps of a training run.
	TrainSteps int `json:"train_steps"`
	// LogInterval, EvalInterval and CheckpointInterval are in optimizer
	// steps; 0 turns evaluation or periodic checkpoints off (a final
	// checkpoint is always written).
	LogInterval        int `json:"log_interval"`
	EvalInterval       int `json:"eval_interval"`
	CheckpointInterval int `json:"checkpoint_interval"`
}

// DefaultConfig returns the "arith" preset: a model small enough to train
// on a laptop CPU in minutes.
func DefaultConfig() Config {
	c, err := Preset("arith")
	if err != nil {
		panic(err) // the preset table is part of the program
	}
	return c
}

// officialConfig returns the official TRM hyper-parameters (config/arch/
// trm.yaml with the Sudoku/Maze recipe of the README) without a task.
func officialConfig() Config {
	return Config{
		NumPuzzleIdentifiers: 1,
		HiddenSize:           512,
		NumHeads:             8,
		Expansion:            4,
		LLayers:              2,
		LCycles:              6,
		HCycles:              3,
		HaltMaxSteps:         16,
		HaltExplorationProb:  0.1,
		Variant:              VariantAttn,
		PosEncodings:         PosRoPE,
		RopeTheta:            10000,
		RMSNormEps:           1e-5,
		PuzzleEmbNdim:        512,
		PuzzleEmbLen:         16,
		HaltLossWeight:       0.5,
		Optimizer:            OptAdamATan2,
		LR:                   1e-4,
		LRWarmupSteps:        2000,
		WeightDecay:          1.0,
		Beta1:                0.9,
		Beta2:                0.95,
		AdamEps:              1e-8,
		PuzzleEmbLR:          1e-4,
		PuzzleEmbWeightDecay: 1.0,
		EMARate:              0.999,
		BatchSize:            768,
		TrainSteps:           100000,
		LogInterval:          100,
		EvalInterval:         5000,
		CheckpointInterval:   5000,
	}
}

// presets maps a preset name to its description and constructor.
var presets = []struct {
	name, doc string
	make      func() Config
}{
	{"arith", "multi-digit addition, a few hundred thousand parameters, trains on a CPU", func() Config {
		c := officialConfig()
		c.Task = "arith"
		c.TaskOptions = TaskOptions{"digits": fmt.Sprint(defaultArithDigits)}
		c.VocabSize = arithVocab
		c.SeqLen = arithSeqLen(defaultArithDigits)
		// The recipe of the shipped model (checkpoints/arith.config.json,
		// there with digits=5): halt exploration 0.5, because with the
		// official 0.1 the later supervision steps stay untrained.
		c.HiddenSize = 64
		c.NumHeads = 4
		c.LCycles = 2
		c.HCycles = 2
		c.HaltMaxSteps = 4
		c.HaltExplorationProb = 0.5
		c.PuzzleEmbNdim = 0
		c.PuzzleEmbLen = 0
		c.Optimizer = OptAdamW
		c.LR = 1e-3
		c.LRWarmupSteps = 100
		c.WeightDecay = 0.1
		c.EMARate = 0.995
		c.PuzzleEmbLR = 0
		c.PuzzleEmbWeightDecay = 0
		c.BatchSize = 64
		c.TrainSteps = 8000
		c.LogInterval = 50
		c.EvalInterval = 500
		c.CheckpointInterval = 1000
		return c
	}},
	{"sudoku", "TRM-MLP on 9×9 Sudoku-Extreme, the official recipe (5,028,866 parameters)", func() Config {
		c := officialConfig()
		c.Task = "sudoku9"
		c.VocabSize = 11
		c.SeqLen = 81
		c.Variant = VariantMLP
		c.PosEncodings = PosNone
		return c
	}},
	{"sudoku-attn", "TRM-Att on 9×9 Sudoku-Extreme, the official recipe (6,828,034 parameters)", func() Config {
		c := officialConfig()
		c.Task = "sudoku9"
		c.VocabSize = 11
		c.SeqLen = 81
		return c
	}},
	{"maze", "TRM-Att on 30×30 Maze-Hard, the official recipe (n = 4)", func() Config {
		c := officialConfig()
		c.Task = "maze"
		c.TaskOptions = TaskOptions{"size": "30"}
		c.VocabSize = 6
		c.SeqLen = 900
		c.LCycles = 4
		return c
	}},
}

// Preset returns a named configuration: "arith" (the default), "sudoku"
// (official TRM-MLP), "sudoku-attn" (official TRM-Att) or "maze". The
// official presets use the published hyper-parameters; only their
// TrainSteps and intervals are this project's choice.
func Preset(name string) (Config, error) {
	for _, p := range presets {
		if p.name == name {
			return p.make(), nil
		}
	}
	return Config{}, fmt.Errorf("config: unknown preset %q, want one of %s", name, strings.Join(PresetNames(), ", "))
}

// PresetNames lists the preset names, the default first.
func PresetNames() []string {
	names := make([]string, len(presets))
	for i, p := range presets {
		names[i] = p.name
	}
	return names
}

// PresetDoc returns a one-line description of a preset ("" if unknown).
func PresetDoc(name string) string {
	for _, p := range presets {
		if p.name == name {
			return p.doc
		}
	}
	return ""
}

// WithTask returns c set up for task t: its name, options, vocabulary,
// sequence length and number of puzzle ids.
func (c Config) WithTask(t Task) Config {
	c.Task = t.Name()
	c.TaskOptions = t.Options()
	c.VocabSize = t.VocabSize()
	c.SeqLen = t.SeqLen()
	c.NumPuzzleIdentifiers = t.NumPuzzleIDs()
	return c
}

// CheckTask reports whether c fits task t: same name, vocabulary, sequence
// length and enough puzzle ids.
func (c Config) CheckTask(t Task) error {
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
func (c Config) NewTask() (Task, error) {
	t, err := NewTask(c.Task, c.TaskOptions)
	if err != nil {
		return nil, err
	}
	if err := c.CheckTask(t); err != nil {
		return nil, err
	}
	return t, nil
}

// Validate checks every field and returns an error naming each bad one and
// the range it should be in (several errors are joined).
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("config: "+format, args...))
	}
	atLeast := func(name string, v, lo int) {
		if v < lo {
			bad("%s %d, want ≥ %d", name, v, lo)
		}
	}
	// in reports whether v lies in [lo, hi) (hi exclusive when open) and
	// complains otherwise; NaN is never in range.
	inRange := func(name string, v, lo, hi float64, open bool) {
		ok := v >= lo && v <= hi && !(open && v == hi)
		if !ok {
			closer := "]"
			if open {
				closer = ")"
			}
			bad("%s %v, want in [%v, %v%s", name, v, lo, hi, closer)
		}
	}
	positive := func(name string, v float64) {
		if !(v > 0) || math.IsInf(v, 0) {
			bad("%s %v, want > 0", name, v)
		}
	}
	nonNegative := func(name string, v float64) {
		if !(v >= 0) || math.IsInf(v, 0) {
			bad("%s %v, want ≥ 0", name, v)
		}
	}

	atLeast("vocab_size", c.VocabSize, 2)
	atLeast("seq_len", c.SeqLen, 1)
	atLeast("num_puzzle_identifiers", c.NumPuzzleIdentifiers, 1)
	atLeast("hidden_size", c.HiddenSize, 1)
	positive("expansion", c.Expansion)
	atLeast("L_layers", c.LLayers, 1)
	atLeast("L_cycles", c.LCycles, 1)
	atLeast("H_cycles", c.HCycles, 1)
	atLeast("halt_max_steps", c.HaltMaxSteps, 1)
	inRange("halt_exploration_prob", c.HaltExplorationProb, 0, 1, false)

	switch c.Variant {
	case VariantAttn:
		if c.NumHeads < 1 {
			bad("num_heads %d, want ≥ 1 for variant %q", c.NumHeads, c.Variant)
		} else if c.HiddenSize%c.NumHeads != 0 {
			bad("hidden_size %d is not divisible by num_heads %d", c.HiddenSize, c.NumHeads)
		} else if c.PosEncodings == PosRoPE && (c.HiddenSize/c.NumHeads)%2 != 0 {
			bad("head_dim %d (hidden_size %d / num_heads %d) is odd, RoPE wants it even", c.HiddenSize/c.NumHeads, c.HiddenSize, c.NumHeads)
		}
	case VariantMLP:
		if c.PosEncodings == PosRoPE {
			bad("pos_encodings %q has no effect with variant %q, want %q or %q", c.PosEncodings, c.Variant, PosNone, PosLearned)
		}
	default:
		bad("variant %q, want %q or %q", c.Variant, VariantAttn, VariantMLP)
	}
	switch c.PosEncodings {
	case PosRoPE:
		positive("rope_theta", c.RopeTheta)
	case PosLearned, PosNone:
	default:
		bad("pos_encodings %q, want %q, %q or %q", c.PosEncodings, PosRoPE, PosLearned, PosNone)
	}
	positive("rms_norm_eps", c.RMSNormEps)

	atLeast("puzzle_emb_ndim", c.PuzzleEmbNdim, 0)
	atLeast("puzzle_emb_len", c.PuzzleEmbLen, 0)
	if c.PuzzleEmbNdim == 0 && c.PuzzleEmbLen > 0 {
		bad("puzzle_emb_len %d without a puzzle embedding (puzzle_emb_ndim 0), want 0", c.PuzzleEmbLen)
	}
	if c.PuzzleEmbNdim > 0 && c.HiddenSize > 0 && c.PuzzleEmbLen > 0 {
		if need := ceilDiv(c.PuzzleEmbNdim, c.HiddenSize); c.PuzzleEmbLen < need {
			bad("puzzle_emb_len %d is too short for puzzle_emb_ndim %d, want ≥ %d (ceil(ndim / hidden_size %d))",
				c.PuzzleEmbLen, c.PuzzleEmbNdim, need, c.HiddenSize)
		}
	}

	nonNegative("halt_loss_weight", c.HaltLossWeight)
	switch c.Optimizer {
	case OptAdamATan2:
	case OptAdamW:
		positive("adam_eps", c.AdamEps)
	default:
		bad("optimizer %q, want %q or %q", c.Optimizer, OptAdamATan2, OptAdamW)
	}
	positive("lr", c.LR)
	atLeast("lr_warmup_steps", c.LRWarmupSteps, 0)
	nonNegative("weight_decay", c.WeightDecay)
	inRange("beta1", c.Beta1, 0, 1, true)
	inRange("beta2", c.Beta2, 0, 1, true)
	if c.PuzzleEmbNdim > 0 {
		nonNegative("puzzle_emb_lr", c.PuzzleEmbLR)
		nonNegative("puzzle_emb_weight_decay", c.PuzzleEmbWeightDecay)
	}
	inRange("ema_rate", c.EMARate, 0, 1, true)
	atLeast("global_batch_size", c.BatchSize, 1)
	atLeast("train_steps", c.TrainSteps, 1)
	atLeast("log_interval", c.LogInterval, 1)
	atLeast("eval_interval", c.EvalInterval, 0)
	atLeast("checkpoint_interval", c.CheckpointInterval, 0)
	if c.Task != "" {
		for k := range c.TaskOptions {
			if k == "" {
				bad("task_options has an empty key")
			}
		}
	}
	return errors.Join(errs...)
}

// PrefixLen returns P, the number of puzzle-embedding prefix positions
// placed before the input tokens: 0 without a puzzle embedding, else
// PuzzleEmbLen, or ceil(PuzzleEmbNdim/HiddenSize) when that is 0.
func (c Config) PrefixLen() int {
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
func (c Config) SeqTotal() int { return c.SeqLen + c.PrefixLen() }

// HeadDim returns hidden_size / num_heads (0 when num_heads is 0).
func (c Config) HeadDim() int {
	if c.NumHeads == 0 {
		return 0
	}
	return c.HiddenSize / c.NumHeads
}

// Inter returns the hidden width of a SwiGLU whose input has width in:
// round(expansion·in·2/3) rounded up to a multiple of 256 (the official
// _find_multiple; the rounding is Python's, half to even). Expansion 4:
// 512 → 1536, 97 → 512.
func (c Config) Inter(in int) int {
	v := int(math.RoundToEven(c.Expansion * float64(in) * 2 / 3))
	return ceilDiv(v, 256) * 256
}

// ParamCount returns the number of trained parameters as the official code
// counts them (the sum over model.parameters()): every tensor of TensorSpecs
// except the puzzle-embedding table and H_init/L_init, which the official
// model keeps as buffers. The official MLP Sudoku model has 5,028,866; the
// attention one 6,828,034.
func (c Config) ParamCount() int64 {
	var n int64
	for _, s := range c.TensorSpecs() {
		if s.Kind == KindDense {
			n += int64(s.Size())
		}
	}
	return n
}

// StateCount returns the number of float32 values a checkpoint holds: every
// tensor of TensorSpecs.
func (c Config) StateCount() int64 {
	var n int64
	for _, s := range c.TensorSpecs() {
		n += int64(s.Size())
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
// of base, unknown fields are an error (a typo must not pass silently).
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
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	if _, ok := fields["task_options"]; !ok && c.Task == base.Task {
		c.TaskOptions = cloneOptions(base.TaskOptions)
	}
	return c, nil
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

func cloneOptions(o TaskOptions) TaskOptions {
	if o == nil {
		return nil
	}
	out := make(TaskOptions, len(o))
	for k, v := range o {
		out[k] = v
	}
	return out
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
