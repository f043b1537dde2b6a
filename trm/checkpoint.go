package trm

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unsafe"

	"github.com/trm-go/trm/internal/readfile"
	"github.com/trm-go/trm/trm/safetensors"
	"github.com/trm-go/trm/trm/torchfile"
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

	// checked is set by the readers, which check every tensor (Check) as
	// they decode it: ModelFromCheckpoint then need not scan a multi-GB
	// model a second time.
	checked bool
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

// checkShapes is Check without the scan of the values: a valid config and
// exactly its tensors, each of the right size.
func (ck *Checkpoint) checkShapes() error {
	if err := ck.Config.ModelConfig.Validate(); err != nil {
		return err
	}
	want := ck.Config.TensorSpecs()
	if len(ck.Tensors) != len(want) {
		return ck.Check()
	}
	for _, s := range want {
		if t, ok := ck.Tensors[s.Name]; !ok || len(t) != s.Size() {
			return ck.Check() // the full report
		}
	}
	return nil
}

// checkFinite returns an error naming tensor name and the index of its
// first NaN or ±Inf value, or nil when every value is finite. It scans
// the bits, two values at a time: a float32 is not finite exactly when its
// exponent bits are all ones, and adding 1 to such an exponent carries
// into the sign bit (bits 31 and 63 of the pair).
func checkFinite(name string, v []float32) error {
	const mask, one = 0x7f800000_7f800000, 0x00800000_00800000
	const block = 4096
	for start := 0; start < len(v); start += block {
		chunk := v[start:min(start+block, len(v))]
		var bad uint64
		i := 0
		for ; i+1 < len(chunk); i += 2 {
			pair := uint64(math.Float32bits(chunk[i])) | uint64(math.Float32bits(chunk[i+1]))<<32
			bad |= pair&mask + one
		}
		if i < len(chunk) {
			bad |= uint64(math.Float32bits(chunk[i]))&mask + one
		}
		if bad&(1<<31|1<<63) == 0 {
			continue
		}
		for j, x := range chunk {
			if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
				return fmt.Errorf("tensor %q holds %v at index %d, want finite weights", name, f, start+j)
			}
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
		f.Tensors[s.Name] = safetensors.Float32View(s.Shape, ck.Tensors[s.Name]) // written before SaveCheckpoint returns
	}
	return safetensors.Write(path, f)
}

// LoadCheckpoint reads a checkpoint written by SaveCheckpoint and checks it
// against its config: format, a valid model config, no missing or extra tensor,
// each F32 with the shape the config wants and only finite values (the
// first NaN or ±Inf of a tensor is reported with its index).
//
// A file in the torch.save format (an official PyTorch checkpoint) is
// imported instead, with the all_config.yaml beside it: see ImportTorch.
//
// The file is read into memory the process owns (internal/readfile), and
// ModelFromCheckpoint uses those bytes as the model's weights without a
// further copy: a model is held once. Nothing is memory-mapped, so a model
// never changes or faults when its file is rewritten, replaced or
// truncated after LoadCheckpoint returns (a running server keeps
// answering with the weights it loaded). Checkpoints used to be mapped,
// which saved the copy (a 2 GB file loaded in 0.7–1.6 s instead of
// 3.7–7.5 s on the shared 2-core development VM, the same peak RSS), but
// then the weights were the file's pages: cp of another model over a
// served file changed its answers, and a truncation killed the server
// with SIGBUS, which no check can prevent (issue 29). Only regular files
// are read (not a device, a FIFO or a folder), and a file larger than the
// memory available (AvailableMemory, where known) is refused before it is
// read.
func LoadCheckpoint(path string) (*Checkpoint, error) {
	data, err := readCheckpointFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	if torchfile.IsTorchZip(data) {
		return importTorch(data, path, ImportOptions{}, true)
	}
	return decodeCheckpoint(data, path, true)
}

// availableMemory is where readCheckpointFile learns the memory left
// (tests replace it).
var availableMemory = AvailableMemory

// readCheckpointFile returns the bytes of the checkpoint file at path,
// read into a buffer of their own (see LoadCheckpoint): private to the
// caller, writable, and the file's later fate does not reach them. A file
// that is not regular, or larger than the available memory, is refused
// before any byte is read. Errors name the path.
func readCheckpointFile(path string) ([]byte, error) {
	limit := int64(-1)
	if avail, ok := availableMemory(); ok {
		limit = avail
	}
	data, err := readfile.Read(path, limit)
	if tl := (*readfile.TooLargeError)(nil); errors.As(err, &tl) && tl.Limit == limit {
		return nil, fmt.Errorf("%s: %s, more than the %s of memory available: %w",
			path, FormatBytes(float64(tl.Size)), FormatBytes(float64(limit)), readfile.ErrTooLarge)
	}
	return data, err
}

// DecodeCheckpoint parses a checkpoint held in memory (an embedded model,
// for instance); name labels the errors. See LoadCheckpoint. The
// checkpoint's tensors are copies: data may be read-only.
func DecodeCheckpoint(data []byte, name string) (*Checkpoint, error) {
	return decodeCheckpoint(data, name, false)
}

// decodeCheckpoint is DecodeCheckpoint; alias says whether the tensors may
// share memory with data (data is private to the checkpoint and writable).
func decodeCheckpoint(data []byte, name string, alias bool) (*Checkpoint, error) {
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
			v, ok := []float32(nil), false
			if alias {
				v, ok = float32View(t.Data)
			}
			var err error
			if !ok {
				v, err = t.Float32s()
			}
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
	ck.checked = true
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
// weights. The model takes the checkpoint's tensors as its weights, without
// a copy (a multi-GB model is held once; from LoadCheckpoint they are the
// bytes it read): from then on the model and ck.Tensors share their values.
// Use Model.Load to copy weights into a model instead.
//
// The checkpoint is checked (Check) unless it comes straight from
// LoadCheckpoint, DecodeCheckpoint or ImportTorch, which checked every
// value as they read it; a caller that changes a read checkpoint's tensors
// should call Check itself.
func ModelFromCheckpoint(ck *Checkpoint) (*Model, error) {
	if !ck.checked {
		if err := ck.Check(); err != nil {
			return nil, err
		}
	} else if err := ck.checkShapes(); err != nil {
		return nil, err
	}
	m, err := newModel(ck.Config.ModelConfig, 0, false)
	if err != nil {
		return nil, err
	}
	for _, p := range m.params {
		p.Value.Data = ck.Tensors[p.Name] // Check: present, with the size of its spec
	}
	return m, nil
}

// littleEndian reports whether this machine stores numbers little-endian,
// the byte order of safetensors and torch files.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// float32View returns b as float32 values without a copy when that is
// possible: a little-endian machine and b 4-byte aligned, of a length
// divisible by 4. ok is false otherwise.
func float32View(b []byte) (v []float32, ok bool) {
	if !littleEndian || len(b)%4 != 0 || uintptr(unsafe.Pointer(unsafe.SliceData(b)))%4 != 0 {
		return nil, false
	}
	if len(b) == 0 {
		return []float32{}, true
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4), true
}
