package train

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/trm-go/trm/internal/atomicfile"
	"github.com/trm-go/trm/internal/lockfile"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/safetensors"
)

// The files of a run folder: the training state beside the model (see Run).

// Training-state format, stored under "format" in the safetensors
// metadata, and the metadata keys it reserves.
const (
	TrainStateFormat = "trm-train/v1"
	metaFormat       = "format"
	metaStep         = "step"
)

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

// SaveTrainState writes s to path atomically. The float32 vectors are
// written from s's own storage, not a copy: s must not change meanwhile.
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
		f.Tensors[prefixF32+k] = safetensors.Float32View([]int{len(v)}, v)
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
//	<dir>/train_state.safetensors the state to resume from: the commit record of the last save
//	<dir>/model.safetensors       the latest checkpoint (EMA weights when EMA is on)
//	<dir>/metrics.jsonl           one JSON line per logged step (see MetricsLogger)
//	<dir>/train.lock              locked while a trainer holds the folder (see Lock)
//
// Every file is written atomically (temporary file, fsync, rename). The
// training state holds everything a resume needs, the model's fixed
// tensors included, so the model file can always be rebuilt from it: a
// crash at any moment leaves a folder that resumes (see Save and Resume).
//
// One trainer at a time: Train holds the folder's lock (Lock) from before
// it looks at the folder until it returns, so a second trainer, resumed or
// forced, is refused before it reads, deletes or writes anything.
type Run struct{ Dir string }

// ConfigPath returns <dir>/config.json.
func (r Run) ConfigPath() string { return filepath.Join(r.Dir, "config.json") }

// ModelPath returns <dir>/model.safetensors.
func (r Run) ModelPath() string { return filepath.Join(r.Dir, "model.safetensors") }

// StatePath returns <dir>/train_state.safetensors.
func (r Run) StatePath() string { return filepath.Join(r.Dir, "train_state.safetensors") }

// MetricsPath returns <dir>/metrics.jsonl.
func (r Run) MetricsPath() string { return filepath.Join(r.Dir, "metrics.jsonl") }

// LockPath returns <dir>/train.lock.
func (r Run) LockPath() string { return filepath.Join(r.Dir, "train.lock") }

// ErrLocked is matched (errors.Is) by the error of Lock, and of Train, for
// a run folder that another trainer holds.
var ErrLocked = errors.New("run folder in use by another trainer")

// RunLock is a run folder held by this process (see Run.Lock).
type RunLock struct{ l *lockfile.Lock }

// Unlock gives the folder back. It may be called more than once.
func (l *RunLock) Unlock() error { return l.l.Release() }

// Lock makes the folder (and parents) if needed and takes its lock,
// <dir>/train.lock, writing this process's ID into it; it does not wait.
// While the returned RunLock is held, Lock of the same folder fails with
// an error that matches ErrLocked and names the folder and the process
// holding it: from another process, or from this one.
//
// The lock is flock(2) on Linux, macOS and the BSDs and LockFileEx on
// Windows, and the system drops it when the process ends, a crash or
// kill -9 included, so a dead trainer never leaves its folder locked. It
// is advisory: it keeps out trainers, not other programs writing the
// files. Other systems have no lock here, and Lock always succeeds.
//
// Train takes it; a program that drives a Trainer itself (ResumeTrainer,
// Trainer.Save) should hold it around them.
func (r Run) Lock() (*RunLock, error) {
	if err := os.MkdirAll(r.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	l, err := lockfile.Acquire(r.LockPath())
	var held *lockfile.HeldError
	if errors.As(err, &held) {
		return nil, &lockedError{dir: r.Dir, held: held}
	}
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", r.Dir, err)
	}
	return &RunLock{l: l}, nil
}

// lockedError is Lock's error for a folder that another trainer holds.
type lockedError struct {
	dir  string
	held *lockfile.HeldError
}

func (e *lockedError) Error() string {
	who := "another process"
	switch pid := e.held.PID; {
	case pid == os.Getpid():
		who = fmt.Sprintf("process %d, this one", pid)
	case pid > 0:
		who = fmt.Sprintf("process %d", pid)
	}
	return fmt.Sprintf("train: run folder %s is in use by another trainer (%s holds %s): wait for it to end or stop it, or use another folder",
		e.dir, who, e.held.Path)
}

func (e *lockedError) Is(target error) bool { return target == ErrLocked }
func (e *lockedError) Unwrap() error        { return e.held }

// files lists the files of a run, in the order Clear removes them (the
// commit record first).
func (r Run) files() []string {
	return []string{r.StatePath(), r.ModelPath(), r.MetricsPath(), r.ConfigPath()}
}

// Exists reports whether the folder holds any file of a run.
func (r Run) Exists() bool {
	for _, p := range r.files() {
		if _, err := os.Lstat(p); err == nil {
			return true
		}
	}
	return false
}

// Clear removes the files of a run from the folder (what train --force
// does before starting over), and the temporary files of interrupted
// writes; other files are left alone.
func (r Run) Clear() error {
	for _, p := range r.files() {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("run: %w", err)
		}
	}
	return r.Clean()
}

// Clean removes the temporary files that interrupted atomic writes left in
// the folder.
func (r Run) Clean() error {
	if err := atomicfile.RemoveTemps(r.Dir); err != nil {
		return fmt.Errorf("run %q: %w", r.Dir, err)
	}
	return nil
}

// Create makes the folder (and parents) and writes config.json atomically.
func (r Run) Create(cfg trm.Config) error {
	if err := os.MkdirAll(r.Dir, 0o755); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	return atomicfile.Write(r.ConfigPath(), func(w io.Writer) error {
		_, err := w.Write(cfg.MarshalIndent())
		return err
	})
}

// Save commits a step: first the training state, the commit record (one
// atomic rename: a crash leaves the previous state or the new one), then
// the model. A crash between the two leaves the model at an older step;
// Resume notices and the trainer rewrites it from the state.
func (r Run) Save(ck *trm.Checkpoint, st *TrainState) error {
	if ck.Step != st.Step {
		return fmt.Errorf("run %q: model step %d and train state step %d differ", r.Dir, ck.Step, st.Step)
	}
	if err := SaveTrainState(r.StatePath(), st); err != nil {
		return err
	}
	return trm.SaveCheckpoint(r.ModelPath(), ck)
}

// Resume loads the training state of a run and its model file. ck is nil
// when the model file is missing, unreadable or at another step than the
// state and the state holds the fixed tensors to rebuild it (see Save); a
// state written before states kept them needs the model file of its step.
func (r Run) Resume() (ck *trm.Checkpoint, st *TrainState, err error) {
	st, err = LoadTrainState(r.StatePath())
	if err != nil {
		return nil, nil, err
	}
	ck, ckErr := trm.LoadCheckpoint(r.ModelPath())
	if ckErr == nil && ck.Step != st.Step {
		ckErr = fmt.Errorf("run %q: model is at step %d but train state at step %d (interrupted save?)", r.Dir, ck.Step, st.Step)
	}
	if ckErr == nil {
		return ck, st, nil
	}
	for name := range st.F32 {
		if strings.HasPrefix(name, stFixed) {
			return nil, st, nil // the state rebuilds the model
		}
	}
	return nil, nil, ckErr
}
