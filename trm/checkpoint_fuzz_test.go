package trm_test

import (
	"encoding/binary"
	"flag"
	"math"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/checkpoints"
	"github.com/trm-go/trm/internal/trmtest"
	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/safetensors"
)

// The fuzz targets run their seeds as ordinary tests; `go test -fuzz` digs
// further. The safetensors layer itself is fuzzed by safetensors.FuzzRead;
// these targets fuzz what a checkpoint adds on top: the metadata (format,
// config JSON, step) and the tensors against the config's specs.

// tinyCheckpoints returns the smallest checkpoints of each kind (a few KB,
// so that the fuzzer mutates mostly header and metadata): an attention
// model with RoPE, and an MLP model with a learned position table and a
// puzzle embedding, with extra metadata.
func tinyCheckpoints(tb testing.TB) []*trm.Checkpoint {
	tb.Helper()
	attn := trmtest.TinyConfig(tb, nn.VariantAttn)
	attn.HiddenSize, attn.NumHeads, attn.LLayers = 2, 1, 1
	mlp := trmtest.TinyConfig(tb, nn.VariantMLP)
	mlp.HiddenSize, mlp.LLayers = 2, 1
	mlp.PosEncodings = trm.PosLearned
	mlp.PuzzleEmbNdim, mlp.PuzzleEmbLen = 3, 2
	var cks []*trm.Checkpoint
	for i, c := range []trm.Config{attn, mlp} {
		require.NoError(tb, c.Validate())
		ck := trmtest.FakeCheckpoint(c, int64(7*i))
		if i == 1 {
			ck.Meta = map[string]string{"weights": "ema", "note": "ünïcode ✓"}
		}
		cks = append(cks, ck)
	}
	return cks
}

// encodeCheckpoint returns ck as SaveCheckpoint writes it.
func encodeCheckpoint(tb testing.TB, ck *trm.Checkpoint) []byte {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "ck.safetensors")
	require.NoError(tb, trm.SaveCheckpoint(path, ck))
	f, err := safetensors.Read(path)
	require.NoError(tb, err)
	b, err := safetensors.Marshal(f)
	require.NoError(tb, err)
	return b
}

// headerMutations returns data with its header changed in ways a damaged
// or hand-edited checkpoint could be: the length field, truncation, and
// edits of the metadata and tensor entries.
func headerMutations(tb testing.TB, data []byte) [][]byte {
	tb.Helper()
	withLen := func(n uint64) []byte {
		b := append([]byte(nil), data...)
		binary.LittleEndian.PutUint64(b, n)
		return b
	}
	n := binary.LittleEndian.Uint64(data)
	out := [][]byte{
		withLen(n + 1), withLen(n - 1), withLen(uint64(len(data) - 8)), withLen(1 << 62),
		data[:len(data)-1], data[:8+n], data[:8+n/2], append(append([]byte(nil), data...), 0, 0, 0, 0),
	}
	edit := func(change func(f *safetensors.File)) {
		f, err := safetensors.Unmarshal(data, "seed")
		require.NoError(tb, err)
		meta := make(map[string]string, len(f.Metadata))
		for k, v := range f.Metadata {
			meta[k] = v
		}
		f.Metadata = meta
		tensors := make(map[string]safetensors.Tensor, len(f.Tensors))
		for k, v := range f.Tensors {
			tensors[k] = v
		}
		f.Tensors = tensors
		change(f)
		b, err := safetensors.Marshal(f)
		require.NoError(tb, err)
		out = append(out, b)
	}
	edit(func(f *safetensors.File) { f.Metadata["format"] = "trm/v2" })
	edit(func(f *safetensors.File) { delete(f.Metadata, "config") })
	edit(func(f *safetensors.File) { f.Metadata["config"] = "{}" })
	edit(func(f *safetensors.File) { f.Metadata["config"] = `{"hidden_size": 3}` })
	edit(func(f *safetensors.File) { f.Metadata["step"] = "-1" })
	edit(func(f *safetensors.File) { delete(f.Metadata, "step") })
	edit(func(f *safetensors.File) { f.Metadata["weights"] = "ema" })
	edit(func(f *safetensors.File) { f.Metadata = nil })
	edit(func(f *safetensors.File) {
		t := f.Tensors["inner.q_head.bias"]
		t.DType = safetensors.I32
		f.Tensors["inner.q_head.bias"] = t
	})
	edit(func(f *safetensors.File) {
		t := f.Tensors["inner.lm_head.weight"]
		t.Shape = []int{t.Shape[1], t.Shape[0]}
		f.Tensors["inner.lm_head.weight"] = t
	})
	edit(func(f *safetensors.File) { delete(f.Tensors, "inner.L_init") })
	edit(func(f *safetensors.File) { f.Tensors["inner.extra"] = safetensors.FromFloat32([]int{1}, []float32{1}) })
	return out
}

// requireSameCheckpoint checks that two checkpoints hold the same config,
// step, metadata and tensors (bit for bit, so NaNs compare).
func requireSameCheckpoint(t *testing.T, want, got *trm.Checkpoint) {
	t.Helper()
	require.True(t, want.Config.Equal(got.Config), "config changed:\n%s\n→\n%s", want.Config.MarshalIndent(), got.Config.MarshalIndent())
	require.Equal(t, want.Step, got.Step)
	require.Equal(t, want.Meta, got.Meta)
	require.Equal(t, len(want.Tensors), len(got.Tensors))
	for name, w := range want.Tensors {
		g, ok := got.Tensors[name]
		require.True(t, ok, "tensor %q is lost", name)
		require.Equal(t, len(w), len(g), "tensor %q", name)
		for i := range w {
			if math.Float32bits(w[i]) != math.Float32bits(g[i]) {
				t.Fatalf("tensor %q[%d]: %v → %v", name, i, w[i], g[i])
			}
		}
	}
}

// roundTrip checks that a checkpoint DecodeCheckpoint accepted is valid,
// saves, and loads back the same.
func roundTrip(t *testing.T, ck *trm.Checkpoint, path string) {
	t.Helper()
	require.NoError(t, ck.Check(), "a decoded checkpoint must pass Check")
	require.NoError(t, trm.SaveCheckpoint(path, ck), "a decoded checkpoint must save")
	back, err := trm.LoadCheckpoint(path)
	require.NoError(t, err, "a saved checkpoint must load")
	requireSameCheckpoint(t, ck, back)
}

// fuzzing reports whether go test runs the fuzzing engine (-fuzz), not
// only the seeds.
func fuzzing() bool {
	fl := flag.Lookup("test.fuzz")
	return fl != nil && fl.Value.String() != ""
}

// FuzzDecodeCheckpoint feeds arbitrary bytes to DecodeCheckpoint (what
// LoadCheckpoint, `trm infer --model` and the embedded models go
// through). It must never panic; a checkpoint it accepts must pass Check,
// save with SaveCheckpoint, and load back the same.
func FuzzDecodeCheckpoint(f *testing.F) {
	for _, ck := range tinyCheckpoints(f) {
		data := encodeCheckpoint(f, ck)
		f.Add(data)
		for _, m := range headerMutations(f, data) {
			f.Add(m)
		}
	}
	// The shipped models (0.5 to 0.9 MB, mostly float data) are seeds of
	// the tests only: mutating them is slow and rarely reaches the header,
	// whose forms the tiny checkpoints share, so the fuzzing engine starts
	// from the tiny ones and their headers.
	for _, name := range checkpoints.Tasks() {
		data, ok := checkpoints.Lookup(name)
		require.True(f, ok)
		n := binary.LittleEndian.Uint64(data)
		f.Add(data[:8+n]) // the header alone: every tensor out of range
		if fuzzing() {
			continue
		}
		f.Add(data)
		for _, m := range headerMutations(f, data) {
			f.Add(m)
		}
	}
	f.Add([]byte{})
	f.Add([]byte("\x02\x00\x00\x00\x00\x00\x00\x00{}"))
	// Each fuzzing process runs the function sequentially: one file will do.
	path := filepath.Join(f.TempDir(), "ck.safetensors")
	f.Fuzz(func(t *testing.T, data []byte) {
		ck, err := trm.DecodeCheckpoint(data, "fuzz")
		if err != nil {
			return
		}
		roundTrip(t, ck, path)
	})
}

// FuzzCheckpointMetadata fuzzes the string metadata of a checkpoint whose
// tensors are those of a tiny model: the config JSON (decoded over a zero
// Config, validated, and matched against the tensors) and the step.
func FuzzCheckpointMetadata(f *testing.F) {
	cks := tinyCheckpoints(f)
	base, err := safetensors.Unmarshal(encodeCheckpoint(f, cks[0]), "base")
	require.NoError(f, err)
	cfg := string(cks[0].Config.MarshalIndent())
	f.Add(cfg, "0")
	f.Add(cfg, "123456789")
	f.Add(cfg, "-1")
	f.Add(cfg, "1e3")
	f.Add(cfg, "")
	other := cks[0].Config
	other.HiddenSize, other.NumHeads = 4, 2
	f.Add(string(other.MarshalIndent()), "1")
	f.Add(string(cks[1].Config.MarshalIndent()), "1")
	f.Add(`{"task":"arith","vocab_size":12,"seq_len":4,"num_puzzle_identifiers":1,"hidden_size":2,"num_heads":1,"expansion":2,"L_layers":1,"L_cycles":1,"H_cycles":1,"halt_max_steps":1,"variant":"attn","pos_encodings":"none","rms_norm_eps":1e-5}`, "0")
	f.Add(`{"hidden_size": 2}`, "0")
	f.Add(`{}`, "0")
	f.Add(`null`, "0")
	f.Add(`{"L_layers": 1} {}`, "0")
	f.Add(`{"expansion": 1e400}`, "0")
	f.Add(``, "0")
	path := filepath.Join(f.TempDir(), "ck.safetensors")
	f.Fuzz(func(t *testing.T, config, step string) {
		file := &safetensors.File{Tensors: base.Tensors, Metadata: map[string]string{
			"format": trm.CheckpointFormat, "config": config, "step": step,
		}}
		data, err := safetensors.Marshal(file)
		require.NoError(t, err)
		ck, err := trm.DecodeCheckpoint(data, "fuzz")
		if err != nil {
			return
		}
		c, err := trm.DecodeConfig([]byte(config), trm.Config{})
		require.NoError(t, err)
		require.True(t, c.Equal(ck.Config), "the checkpoint's config is its metadata's")
		require.NoError(t, ck.Config.ModelConfig.Validate())
		roundTrip(t, ck, path)
	})
}
