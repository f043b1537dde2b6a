package trm

import (
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"

	"github.com/trm-go/trm/trm/safetensors"
)

// Checkpoint format, stored under "format" in the safetensors metadata.
const CheckpointFormat = "trm/v1"

// Checkpoint is a saved model: its config (the architecture and the recipe
// it was trained with) and its tensors by state-dict name (see
// TensorSpecs). Step is the optimizer step the weights are from;
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

// Check verifies the checkpoint against its config: a valid ModelConfig,
// exactly the tensors of TensorSpecs with their sizes, and every value
// finite (a NaN or ±Inf weight, the mark of a diverged run, would turn
// every answer into garbage). Errors name the tensor and both shapes, or
// the first value that is not finite and its index. The training fields
// are a record of how the weights were trained and are not checked here.
func (ck *Checkpoint) Check() error {
	if err := ck.Config.ModelConfig.Validate(); err != nil {
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
		} else if err := checkFinite(s.Name, t); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, extraNames(want, ck.Tensors)...)
	return errors.Join(errs...)
}

// checkFinite returns an error naming tensor name and the index of its
// first NaN or ±Inf value, or nil when every value is finite.
func checkFinite(name string, v []float32) error {
	for i, x := range v {
		if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("tensor %q holds %v at index %d, want finite weights", name, f, i)
		}
	}
	return nil
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
// touching path) a checkpoint that does not pass Check: one that does not
// match its config or holds a NaN or ±Inf weight, so that a diverged run
// never overwrites a good model.
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
// against its config: format, a valid model config, no missing or extra tensor,
// each F32 with the shape the config wants and only finite values (the
// first NaN or ±Inf of a tensor is reported with its index).
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
	if err := cfg.ModelConfig.Validate(); err != nil {
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
			if err := checkFinite(s.Name, v); err != nil {
				errs = append(errs, err)
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

// Checkpoint returns the model's current weights as a checkpoint at step.
// Its config holds the model's ModelConfig and a zero TrainConfig: a
// trainer fills in the recipe the weights come from.
func (m *Model) Checkpoint(step int64) *Checkpoint {
	ck := &Checkpoint{Config: Config{ModelConfig: m.Config}, Step: step, Tensors: make(map[string][]float32, len(m.params))}
	for _, p := range m.params {
		ck.Tensors[p.Name] = append([]float32(nil), p.Value.Data...)
	}
	return ck
}

// Load copies a checkpoint's tensors into the model. The checkpoint's
// config must describe the same model (the same tensors and shapes).
// The training fields of the checkpoint's config are not looked at.
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
	m, err := NewModel(ck.Config.ModelConfig, 0)
	if err != nil {
		return nil, err
	}
	if err := m.Load(ck); err != nil {
		return nil, err
	}
	return m, nil
}
