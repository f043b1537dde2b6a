package trm

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/trm-go/trm/trm/safetensors"
)

// Checkpoint and training-state formats, stored under "format" in the
// safetensors metadata.
const (
	CheckpointFormat = "trm/v1"
	TrainStateFormat = "trm-train/v1"
)

// ParamKind says how a tensor of the model is trained.
type ParamKind int

const (
	// KindDense tensors are updated by the optimizer (AdamATan2/AdamW)
	// with weight decay; ParamCount counts these.
	KindDense ParamKind = iota
	// KindSparse is the puzzle-embedding table, updated by SignSGD on the
	// rows of the batch's puzzle ids (a buffer in the official code).
	KindSparse
	// KindFixed tensors are drawn once at init and saved, never trained:
	// y_init and z_init (the official H_init, L_init buffers).
	KindFixed
)

// String returns "dense", "sparse" or "fixed".
func (k ParamKind) String() string {
	switch k {
	case KindDense:
		return "dense"
	case KindSparse:
		return "sparse"
	case KindFixed:
		return "fixed"
	}
	return "ParamKind(" + strconv.Itoa(int(k)) + ")"
}

// InitKind names a parameter initialisation.
type InitKind int

const (
	// InitTruncNormal draws from a normal of standard deviation Std cut at
	// ±2·Std, rescaled so the standard deviation is exactly Std (the
	// official trunc_normal_init_).
	InitTruncNormal InitKind = iota
	// InitConst fills with Value (0 for zero init).
	InitConst
)

// Init describes how a tensor is initialised.
type Init struct {
	Kind  InitKind
	Std   float64 // InitTruncNormal
	Value float64 // InitConst
}

// TensorSpec describes one tensor of a model: its state-dict name (the
// official one without the "_orig_mod.model." prefix), its shape ([out, in]
// for linear weights, PyTorch's layout), how it is trained and initialised.
type TensorSpec struct {
	Name  string
	Shape []int
	Kind  ParamKind
	Init  Init
}

// Size returns the number of elements.
func (s TensorSpec) Size() int {
	n := 1
	for _, d := range s.Shape {
		n *= d
	}
	return n
}

// TensorSpecs lists every tensor of the model c describes, in the order of
// the official state dict. It is the single source of truth for the
// model's parameters: the model builds them from it and checkpoints are
// checked against it. c should be valid (Validate); the result for an
// invalid config is unspecified.
//
//	inner.H_init, inner.L_init                        [hidden]              y_init, z_init
//	inner.embed_tokens.embedding_weight               [vocab, hidden]
//	inner.lm_head.weight                              [vocab, hidden]
//	inner.q_head.weight, inner.q_head.bias            [2, hidden], [2]
//	inner.puzzle_emb.weights                          [num_ids, ndim]       when puzzle_emb_ndim > 0
//	inner.embed_pos.embedding_weight                  [L+P, hidden]         when pos_encodings = learned
//	inner.L_level.layers.{i}.self_attn.qkv_proj.weight [3·hidden, hidden]   attn variant
//	inner.L_level.layers.{i}.self_attn.o_proj.weight   [hidden, hidden]     attn variant
//	inner.L_level.layers.{i}.mlp_t.gate_up_proj.weight [2·Inter(L+P), L+P]  mlp variant
//	inner.L_level.layers.{i}.mlp_t.down_proj.weight    [L+P, Inter(L+P)]    mlp variant
//	inner.L_level.layers.{i}.mlp.gate_up_proj.weight   [2·Inter(hidden), hidden]
//	inner.L_level.layers.{i}.mlp.down_proj.weight      [hidden, Inter(hidden)]
func (c Config) TensorSpecs() []TensorSpec {
	h, V, S := c.HiddenSize, c.VocabSize, c.SeqTotal()
	linear := func(name string, out, in int) TensorSpec {
		return TensorSpec{name, []int{out, in}, KindDense, Init{Kind: InitTruncNormal, Std: 1 / math.Sqrt(float64(in))}}
	}
	embedStd := 1 / math.Sqrt(float64(h))
	specs := []TensorSpec{
		{"inner.H_init", []int{h}, KindFixed, Init{Kind: InitTruncNormal, Std: 1}},
		{"inner.L_init", []int{h}, KindFixed, Init{Kind: InitTruncNormal, Std: 1}},
		{"inner.embed_tokens.embedding_weight", []int{V, h}, KindDense, Init{Kind: InitTruncNormal, Std: embedStd}},
		linear("inner.lm_head.weight", V, h),
		{"inner.q_head.weight", []int{2, h}, KindDense, Init{Kind: InitConst, Value: 0}},
		{"inner.q_head.bias", []int{2}, KindDense, Init{Kind: InitConst, Value: -5}},
	}
	if c.PuzzleEmbNdim > 0 {
		specs = append(specs, TensorSpec{"inner.puzzle_emb.weights", []int{c.NumPuzzleIdentifiers, c.PuzzleEmbNdim}, KindSparse, Init{Kind: InitConst, Value: 0}})
	}
	if c.PosEncodings == PosLearned {
		specs = append(specs, TensorSpec{"inner.embed_pos.embedding_weight", []int{S, h}, KindDense, Init{Kind: InitTruncNormal, Std: embedStd}})
	}
	for i := range c.LLayers {
		p := fmt.Sprintf("inner.L_level.layers.%d.", i)
		if c.Variant == VariantMLP {
			in := c.Inter(S)
			specs = append(specs,
				linear(p+"mlp_t.gate_up_proj.weight", 2*in, S),
				linear(p+"mlp_t.down_proj.weight", S, in))
		} else {
			specs = append(specs,
				linear(p+"self_attn.qkv_proj.weight", 3*h, h),
				linear(p+"self_attn.o_proj.weight", h, h))
		}
		in := c.Inter(h)
		specs = append(specs,
			linear(p+"mlp.gate_up_proj.weight", 2*in, h),
			linear(p+"mlp.down_proj.weight", h, in))
	}
	return specs
}

// Checkpoint is a saved model: its config and its tensors by state-dict
// name (see TensorSpecs). Step is the optimizer step the weights are from;
// Meta holds further string metadata (e.g. "weights": "ema"), saved and
// loaded as is.
type Checkpoint struct {
	Config  Config
	Step    int64
	Tensors map[string][]float32
	Meta    map[string]string
}

// Reserved metadata keys of a checkpoint.
const (
	metaFormat = "format"
	metaConfig = "config"
	metaStep   = "step"
)

// Check verifies the checkpoint against its config: a valid config, and
// exactly the tensors of TensorSpecs with their sizes. Errors name the
// tensor and both shapes.
func (ck *Checkpoint) Check() error {
	if err := ck.Config.Validate(); err != nil {
		return err
	}
	var errs []error
	want := ck.Config.TensorSpecs()
	for _, s := range want {
		t, ok := ck.Tensors[s.Name]
		if !ok {
			errs = append(errs, fmt.Errorf("tensor %q is missing, config wants shape %v", s.Name, s.Shape))
		} else if len(t) != s.Size() {
			errs = append(errs, fmt.Errorf("tensor %q has %d values, config wants shape %v (%d)", s.Name, len(t), s.Shape, s.Size()))
		}
	}
	errs = append(errs, extraNames(want, ck.Tensors)...)
	return errors.Join(errs...)
}

func extraNames[T any](want []TensorSpec, have map[string]T) []error {
	var errs []error
	known := make(map[string]bool, len(want))
	for _, s := range want {
		known[s.Name] = true
	}
	var extra []string
	for name := range have {
		if !known[name] {
			extra = append(extra, name)
		}
	}
	slices.Sort(extra)
	for _, name := range extra {
		errs = append(errs, fmt.Errorf("tensor %q is not part of this config's model", name))
	}
	return errs
}

// SaveCheckpoint writes ck to path atomically as safetensors, every tensor
// as F32 with its TensorSpecs shape, the config as JSON under metadata
// "config", "format" = CheckpointFormat and "step". It refuses (without
// touching path) a checkpoint that does not match its config.
func SaveCheckpoint(path string, ck *Checkpoint) error {
	if err := ck.Check(); err != nil {
		return fmt.Errorf("checkpoint %q: %w", path, err)
	}
	for _, k := range []string{metaFormat, metaConfig, metaStep} {
		if _, ok := ck.Meta[k]; ok {
			return fmt.Errorf("checkpoint %q: metadata key %q is reserved", path, k)
		}
	}
	f := &safetensors.File{Metadata: map[string]string{}, Tensors: map[string]safetensors.Tensor{}}
	for k, v := range ck.Meta {
		f.Metadata[k] = v
	}
	f.Metadata[metaFormat] = CheckpointFormat
	f.Metadata[metaConfig] = string(ck.Config.MarshalIndent())
	f.Metadata[metaStep] = strconv.FormatInt(ck.Step, 10)
	for _, s := range ck.Config.TensorSpecs() {
		f.Tensors[s.Name] = safetensors.FromFloat32(s.Shape, ck.Tensors[s.Name])
	}
	return safetensors.Write(path, f)
}

// LoadCheckpoint reads a checkpoint written by SaveCheckpoint and checks it
// against its config: format, a valid config, no missing or extra tensor,
// each F32 with the shape the config wants.
func LoadCheckpoint(path string) (*Checkpoint, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	return DecodeCheckpoint(data, path)
}

// DecodeCheckpoint parses a checkpoint held in memory (an embedded model,
// for instance); name labels the errors. See LoadCheckpoint.
func DecodeCheckpoint(data []byte, name string) (*Checkpoint, error) {
	f, err := safetensors.Unmarshal(data, name)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	fail := func(err error) error { return fmt.Errorf("checkpoint %q: %w", name, err) }
	if got := f.Metadata[metaFormat]; got != CheckpointFormat {
		return nil, fail(fmt.Errorf("format %q, want %q", got, CheckpointFormat))
	}
	js, ok := f.Metadata[metaConfig]
	if !ok {
		return nil, fail(errors.New("metadata has no config"))
	}
	cfg, err := DecodeConfig([]byte(js), Config{})
	if err != nil {
		return nil, fail(err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fail(err)
	}
	ck := &Checkpoint{Config: cfg, Tensors: make(map[string][]float32, len(f.Tensors))}
	if s, ok := f.Metadata[metaStep]; ok {
		if ck.Step, err = strconv.ParseInt(s, 10, 64); err != nil || ck.Step < 0 {
			return nil, fail(fmt.Errorf("step %q, want a whole number ≥ 0", s))
		}
	}
	for k, v := range f.Metadata {
		if k != metaFormat && k != metaConfig && k != metaStep {
			if ck.Meta == nil {
				ck.Meta = map[string]string{}
			}
			ck.Meta[k] = v
		}
	}

	var errs []error
	want := cfg.TensorSpecs()
	for _, s := range want {
		t, ok := f.Tensors[s.Name]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("tensor %q is missing, config wants shape %v", s.Name, s.Shape))
		case t.DType != safetensors.F32:
			errs = append(errs, fmt.Errorf("tensor %q has dtype %s, want F32", s.Name, t.DType))
		case !slices.Equal(t.Shape, s.Shape):
			errs = append(errs, fmt.Errorf("tensor %q has shape %v, config wants %v", s.Name, t.Shape, s.Shape))
		default:
			v, err := t.Float32s()
			if err != nil {
				errs = append(errs, fmt.Errorf("tensor %q: %w", s.Name, err))
				continue
			}
			ck.Tensors[s.Name] = v
		}
	}
	errs = append(errs, extraNames(want, f.Tensors)...)
	if len(errs) > 0 {
		for i, e := range errs {
			errs[i] = fail(e)
		}
		return nil, errors.Join(errs...)
	}
	return ck, nil
}

// TrainState is everything beyond the model weights that a training run
// needs to resume exactly: optimizer moments, raw (non-EMA) weights, RNG
// states, the data position, the step. It is a generic bundle of named
// tensors and string metadata; the trainer chooses the names (suggested:
// "adam.m.<param>", "adam.v.<param>", "params.<param>", "rng.<stream>").
// The three maps may be nil.
type TrainState struct {
	// Step is the number of optimizer steps taken.
	Step int64
	// Meta holds free-form strings (e.g. the run's config JSON).
	Meta map[string]string
	// F32 holds float32 vectors (moments, weights), I64 integer vectors
	// (data positions, per-slot step counts), Bytes opaque blobs (an RNG's
	// MarshalBinary). Shapes are flattened: each is saved one-dimensional.
	F32   map[string][]float32
	I64   map[string][]int64
	Bytes map[string][]byte
}

// Name prefixes that keep the three kinds of a TrainState apart in the
// safetensors file.
const (
	prefixF32   = "f32/"
	prefixI64   = "i64/"
	prefixBytes = "bytes/"
)

// SaveTrainState writes s to path atomically.
func SaveTrainState(path string, s *TrainState) error {
	f := &safetensors.File{Metadata: map[string]string{}, Tensors: map[string]safetensors.Tensor{}}
	for k, v := range s.Meta {
		if k == metaFormat || k == metaStep {
			return fmt.Errorf("train state %q: metadata key %q is reserved", path, k)
		}
		f.Metadata[k] = v
	}
	f.Metadata[metaFormat] = TrainStateFormat
	f.Metadata[metaStep] = strconv.FormatInt(s.Step, 10)
	for k, v := range s.F32 {
		f.Tensors[prefixF32+k] = safetensors.FromFloat32([]int{len(v)}, v)
	}
	for k, v := range s.I64 {
		f.Tensors[prefixI64+k] = safetensors.FromInt64([]int{len(v)}, v)
	}
	for k, v := range s.Bytes {
		f.Tensors[prefixBytes+k] = safetensors.FromBytes(v)
	}
	return safetensors.Write(path, f)
}

// LoadTrainState reads a file written by SaveTrainState.
func LoadTrainState(path string) (*TrainState, error) {
	f, err := safetensors.Read(path)
	if err != nil {
		return nil, fmt.Errorf("train state: %w", err)
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("train state %q: %s", path, fmt.Sprintf(format, args...))
	}
	if got := f.Metadata[metaFormat]; got != TrainStateFormat {
		return nil, fail("format %q, want %q", got, TrainStateFormat)
	}
	s := &TrainState{Meta: map[string]string{}, F32: map[string][]float32{}, I64: map[string][]int64{}, Bytes: map[string][]byte{}}
	step := f.Metadata[metaStep]
	if s.Step, err = strconv.ParseInt(step, 10, 64); err != nil || s.Step < 0 {
		return nil, fail("step %q, want a whole number ≥ 0", step)
	}
	for k, v := range f.Metadata {
		if k != metaFormat && k != metaStep {
			s.Meta[k] = v
		}
	}
	for _, name := range f.Names() {
		t := f.Tensors[name]
		var err error
		switch {
		case strings.HasPrefix(name, prefixF32):
			s.F32[name[len(prefixF32):]], err = t.Float32s()
		case strings.HasPrefix(name, prefixI64):
			s.I64[name[len(prefixI64):]], err = t.Int64s()
		case strings.HasPrefix(name, prefixBytes):
			s.Bytes[name[len(prefixBytes):]], err = t.Bytes()
		default:
			err = fmt.Errorf("name has none of the prefixes %s, %s, %s", prefixF32, prefixI64, prefixBytes)
		}
		if err != nil {
			return nil, fail("tensor %q: %v", name, err)
		}
	}
	return s, nil
}

// Run is a training run's folder:
//
//	<dir>/config.json             the config (written at start)
//	<dir>/model.safetensors       the latest checkpoint (EMA weights when EMA is on)
//	<dir>/train_state.safetensors the state to resume from, same step as the model
//	<dir>/metrics.jsonl           one JSON line per logged step (see MetricsLogger)
type Run struct{ Dir string }

// ConfigPath returns <dir>/config.json.
func (r Run) ConfigPath() string { return filepath.Join(r.Dir, "config.json") }

// ModelPath returns <dir>/model.safetensors.
func (r Run) ModelPath() string { return filepath.Join(r.Dir, "model.safetensors") }

// StatePath returns <dir>/train_state.safetensors.
func (r Run) StatePath() string { return filepath.Join(r.Dir, "train_state.safetensors") }

// MetricsPath returns <dir>/metrics.jsonl.
func (r Run) MetricsPath() string { return filepath.Join(r.Dir, "metrics.jsonl") }

// Create makes the folder (and parents) and writes config.json atomically.
func (r Run) Create(cfg Config) error {
	if err := os.MkdirAll(r.Dir, 0o755); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	return safetensors.WriteFileAtomic(r.ConfigPath(), func(w io.Writer) error {
		_, err := w.Write(cfg.MarshalIndent())
		return err
	})
}

// Save writes the training state, then the model, each atomically. Both
// carry the same step; a crash between the two writes leaves steps that
// differ, which Resume reports instead of resuming from a mix.
func (r Run) Save(ck *Checkpoint, st *TrainState) error {
	if ck.Step != st.Step {
		return fmt.Errorf("run %q: model step %d and train state step %d differ", r.Dir, ck.Step, st.Step)
	}
	if err := SaveTrainState(r.StatePath(), st); err != nil {
		return err
	}
	return SaveCheckpoint(r.ModelPath(), ck)
}

// Resume loads the model and the training state of a run and checks that
// they are from the same step.
func (r Run) Resume() (*Checkpoint, *TrainState, error) {
	ck, err := LoadCheckpoint(r.ModelPath())
	if err != nil {
		return nil, nil, err
	}
	st, err := LoadTrainState(r.StatePath())
	if err != nil {
		return nil, nil, err
	}
	if ck.Step != st.Step {
		return nil, nil, fmt.Errorf("run %q: model is at step %d but train state at step %d (interrupted save?)", r.Dir, ck.Step, st.Step)
	}
	return ck, st, nil
}
