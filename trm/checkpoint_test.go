package trm_test

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/internal/trmtest"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/safetensors"
	"github.com/trm-go/trm/trm/train"
)

func TestTensorSpecsOfficialNames(t *testing.T) {
	mlp := mustPreset(t, "sudoku")
	var names []string
	shapes := map[string][]int{}
	for _, s := range mlp.TensorSpecs() {
		names = append(names, s.Name)
		shapes[s.Name] = s.Shape
	}
	assert.Equal(t, []string{
		"inner.H_init", "inner.L_init",
		"inner.embed_tokens.embedding_weight", "inner.lm_head.weight", "inner.q_head.weight", "inner.q_head.bias",
		"inner.puzzle_emb.weights",
		"inner.L_level.layers.0.mlp_t.gate_up_proj.weight", "inner.L_level.layers.0.mlp_t.down_proj.weight",
		"inner.L_level.layers.0.mlp.gate_up_proj.weight", "inner.L_level.layers.0.mlp.down_proj.weight",
		"inner.L_level.layers.1.mlp_t.gate_up_proj.weight", "inner.L_level.layers.1.mlp_t.down_proj.weight",
		"inner.L_level.layers.1.mlp.gate_up_proj.weight", "inner.L_level.layers.1.mlp.down_proj.weight",
	}, names)
	assert.Equal(t, []int{512}, shapes["inner.H_init"])
	assert.Equal(t, []int{11, 512}, shapes["inner.embed_tokens.embedding_weight"])
	assert.Equal(t, []int{11, 512}, shapes["inner.lm_head.weight"])
	assert.Equal(t, []int{2, 512}, shapes["inner.q_head.weight"])
	assert.Equal(t, []int{2}, shapes["inner.q_head.bias"])
	assert.Equal(t, []int{1, 512}, shapes["inner.puzzle_emb.weights"])
	assert.Equal(t, []int{1024, 97}, shapes["inner.L_level.layers.0.mlp_t.gate_up_proj.weight"])
	assert.Equal(t, []int{97, 512}, shapes["inner.L_level.layers.0.mlp_t.down_proj.weight"])
	assert.Equal(t, []int{3072, 512}, shapes["inner.L_level.layers.1.mlp.gate_up_proj.weight"])
	assert.Equal(t, []int{512, 1536}, shapes["inner.L_level.layers.1.mlp.down_proj.weight"])

	att := mustPreset(t, "sudoku-attn")
	att.PosEncodings = trm.PosLearned
	byName := map[string]trm.TensorSpec{}
	for _, s := range att.TensorSpecs() {
		byName[s.Name] = s
	}
	assert.Equal(t, []int{1536, 512}, byName["inner.L_level.layers.1.self_attn.qkv_proj.weight"].Shape)
	assert.Equal(t, []int{512, 512}, byName["inner.L_level.layers.0.self_attn.o_proj.weight"].Shape)
	assert.Equal(t, []int{97, 512}, byName["inner.embed_pos.embedding_weight"].Shape)
	assert.NotContains(t, byName, "inner.L_level.layers.0.mlp_t.gate_up_proj.weight")

	// Kinds and inits (spec §4).
	assert.Equal(t, trm.KindFixed, byName["inner.L_init"].Kind)
	assert.Equal(t, trm.Init{Kind: trm.InitTruncNormal, Std: 1}, byName["inner.L_init"].Init)
	assert.Equal(t, trm.KindSparse, byName["inner.puzzle_emb.weights"].Kind)
	assert.Equal(t, trm.Init{Kind: trm.InitConst}, byName["inner.puzzle_emb.weights"].Init)
	assert.Equal(t, trm.Init{Kind: trm.InitConst, Value: -5}, byName["inner.q_head.bias"].Init)
	assert.Equal(t, trm.Init{Kind: trm.InitConst}, byName["inner.q_head.weight"].Init)
	assert.InDelta(t, 1/math.Sqrt(512), byName["inner.embed_tokens.embedding_weight"].Init.Std, 1e-15)
	assert.InDelta(t, 1/math.Sqrt(1536), byName["inner.L_level.layers.0.mlp.down_proj.weight"].Init.Std, 1e-15)
	assert.Equal(t, "sparse", trm.KindSparse.String())
}

func TestCheckpointRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	cfg := train.DefaultConfig()
	cfg.PosEncodings = trm.PosLearned
	cfg.PuzzleEmbNdim, cfg.PuzzleEmbLen = 64, 2
	ck := trmtest.FakeCheckpoint(cfg, 1234)
	ck.Meta = map[string]string{"weights": "ema"}
	require.NoError(t, trm.SaveCheckpoint(path, ck))

	got, err := trm.LoadCheckpoint(path)
	require.NoError(t, err)
	assert.True(t, cfg.Equal(got.Config))
	assert.Equal(t, int64(1234), got.Step)
	assert.Equal(t, ck.Tensors, got.Tensors)
	assert.Equal(t, map[string]string{"weights": "ema"}, got.Meta)

	// The file is plain safetensors with the documented metadata.
	f, err := safetensors.Read(path)
	require.NoError(t, err)
	assert.Equal(t, trm.CheckpointFormat, f.Metadata["format"])
	assert.Equal(t, "1234", f.Metadata["step"])
	assert.Contains(t, f.Metadata["config"], `"hidden_size": 64`)
	assert.Equal(t, []int{cfg.VocabSize, 64}, f.Tensors["inner.lm_head.weight"].Shape)

	// In memory, as the embedded checkpoints are read.
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	mem, err := trm.DecodeCheckpoint(data, "embedded")
	require.NoError(t, err)
	assert.Equal(t, ck.Tensors, mem.Tensors)
}

func TestSaveCheckpointRefusesMismatch(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	cfg := train.DefaultConfig()

	ck := trmtest.FakeCheckpoint(cfg, 0)
	delete(ck.Tensors, "inner.q_head.bias")
	ck.Tensors["inner.extra"] = []float32{1}
	ck.Tensors["inner.lm_head.weight"] = ck.Tensors["inner.lm_head.weight"][:10]
	err := trm.SaveCheckpoint(path, ck)
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, `tensor "inner.q_head.bias" is missing, config wants shape [2]`)
	assert.Contains(t, msg, `tensor "inner.extra" is not part of this config's model`)
	assert.Contains(t, msg, `tensor "inner.lm_head.weight" has 10 values, config wants shape [12 64] (768)`)
	assert.NoFileExists(t, path)

	ck = trmtest.FakeCheckpoint(cfg, 0)
	ck.Config.HiddenSize = 0
	assert.ErrorContains(t, trm.SaveCheckpoint(path, ck), "hidden_size 0")

	ck = trmtest.FakeCheckpoint(cfg, 0)
	ck.Meta = map[string]string{"config": "mine"}
	assert.ErrorContains(t, trm.SaveCheckpoint(path, ck), `metadata key "config" is reserved`)
}

// writeRaw writes a safetensors file with the given metadata and tensors,
// bypassing trm.SaveCheckpoint's checks, to build broken checkpoints.
func writeRaw(t *testing.T, path string, meta map[string]string, tensors map[string]safetensors.Tensor) {
	t.Helper()
	require.NoError(t, safetensors.Write(path, &safetensors.File{Metadata: meta, Tensors: tensors}))
}

func TestLoadCheckpointRejects(t *testing.T) {
	dir := t.TempDir()
	cfg := train.DefaultConfig()
	good := trmtest.FakeCheckpoint(cfg, 5)
	goodTensors := func() map[string]safetensors.Tensor {
		m := map[string]safetensors.Tensor{}
		for _, s := range cfg.TensorSpecs() {
			m[s.Name] = safetensors.FromFloat32(s.Shape, good.Tensors[s.Name])
		}
		return m
	}
	goodMeta := func() map[string]string {
		return map[string]string{"format": trm.CheckpointFormat, "config": string(cfg.MarshalIndent()), "step": "5"}
	}
	cases := map[string]struct {
		meta    func(map[string]string)
		tensors func(map[string]safetensors.Tensor)
		want    string
	}{
		"wrong shape": {nil, func(m map[string]safetensors.Tensor) {
			m["inner.lm_head.weight"] = safetensors.FromFloat32([]int{11, 64}, make([]float32, 11*64))
		}, `tensor "inner.lm_head.weight" has shape [11 64], config wants [12 64]`},
		"transposed": {nil, func(m map[string]safetensors.Tensor) {
			m["inner.lm_head.weight"] = safetensors.FromFloat32([]int{64, 12}, make([]float32, 12*64))
		}, `has shape [64 12], config wants [12 64]`},
		"wrong dtype": {nil, func(m map[string]safetensors.Tensor) {
			m["inner.q_head.bias"] = safetensors.FromFloat64([]int{2}, []float64{-5, -5})
		}, `tensor "inner.q_head.bias" has dtype F64, want F32`},
		"missing": {nil, func(m map[string]safetensors.Tensor) { delete(m, "inner.L_init") }, `tensor "inner.L_init" is missing, config wants shape [64]`},
		"extra": {nil, func(m map[string]safetensors.Tensor) {
			m["inner.puzzle_emb.weights"] = safetensors.FromFloat32([]int{1, 64}, make([]float32, 64))
		}, `tensor "inner.puzzle_emb.weights" is not part of this config's model`},
		"no format":  {func(m map[string]string) { delete(m, "format") }, nil, `format "", want "trm/v1"`},
		"future":     {func(m map[string]string) { m["format"] = "trm/v2" }, nil, `format "trm/v2", want "trm/v1"`},
		"no config":  {func(m map[string]string) { delete(m, "config") }, nil, "metadata has no config"},
		"bad json":   {func(m map[string]string) { m["config"] = "{" }, nil, "config: unexpected EOF"},
		"typo field": {func(m map[string]string) { m["config"] = `{"hiden_size": 3}` }, nil, `unknown field "hiden_size"`},
		"invalid config": {func(m map[string]string) {
			c := cfg
			c.NumHeads = 3
			m["config"] = string(c.MarshalIndent())
		}, nil, "config: hidden_size 64 is not divisible by num_heads 3"},
		"bad step": {func(m map[string]string) { m["step"] = "-1" }, nil, `step "-1", want a whole number ≥ 0`},
		"NaN weight": {nil, func(m map[string]safetensors.Tensor) {
			m["inner.lm_head.weight"] = safetensors.FromFloat32([]int{12, 64}, withValue(12*64, 17, float32(math.NaN())))
		}, `tensor "inner.lm_head.weight" holds NaN at index 17, want finite weights`},
		"+Inf weight": {nil, func(m map[string]safetensors.Tensor) {
			m["inner.q_head.bias"] = safetensors.FromFloat32([]int{2}, withValue(2, 1, float32(math.Inf(1))))
		}, `tensor "inner.q_head.bias" holds +Inf at index 1, want finite weights`},
		"-Inf weight": {nil, func(m map[string]safetensors.Tensor) {
			m["inner.L_init"] = safetensors.FromFloat32([]int{64}, withValue(64, 0, float32(math.Inf(-1))))
		}, `tensor "inner.L_init" holds -Inf at index 0, want finite weights`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".safetensors")
			meta, tensors := goodMeta(), goodTensors()
			if c.meta != nil {
				c.meta(meta)
			}
			if c.tensors != nil {
				c.tensors(tensors)
			}
			writeRaw(t, path, meta, tensors)
			_, err := trm.LoadCheckpoint(path)
			require.Error(t, err)
			assert.Contains(t, err.Error(), `checkpoint "`+path+`": `)
			assert.Contains(t, err.Error(), c.want)
		})
	}

	// A corrupt file reports the safetensors problem with the path.
	path := filepath.Join(dir, "cut.safetensors")
	writeRaw(t, path, goodMeta(), goodTensors())
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, data[:len(data)-3], 0o644))
	_, err = trm.LoadCheckpoint(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), path)
	_, err = trm.LoadCheckpoint(filepath.Join(dir, "absent.safetensors"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// withValue returns n zeros with v at index i.
func withValue(n, i int, v float32) []float32 {
	s := make([]float32, n)
	s[i] = v
	return s
}

// TestCheckpointNonFinite: a NaN or ±Inf weight is refused on saving (a
// diverged run never writes it, nor overwrites a good file) and on loading
// (a file written some other way), naming the tensor and the index of its
// first bad value.
func TestCheckpointNonFinite(t *testing.T) {
	cfg := train.DefaultConfig()
	for _, c := range []struct {
		name string
		v    float32
		want string
	}{
		{"inner.lm_head.weight", float32(math.NaN()), "NaN"},
		{"inner.q_head.bias", float32(math.Inf(1)), "+Inf"},
		{"inner.H_init", float32(math.Inf(-1)), "-Inf"},
	} {
		t.Run(c.want, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "m.safetensors")
			good := trmtest.FakeCheckpoint(cfg, 1)
			require.NoError(t, trm.SaveCheckpoint(path, good))
			before, err := os.ReadFile(path)
			require.NoError(t, err)

			bad := trmtest.FakeCheckpoint(cfg, 2)
			v := bad.Tensors[c.name]
			v[1], v[len(v)-1] = c.v, c.v // the first is reported
			wantMsg := `tensor "` + c.name + `" holds ` + c.want + ` at index 1, want finite weights`
			err = trm.SaveCheckpoint(path, bad)
			require.Error(t, err)
			assert.Contains(t, err.Error(), `checkpoint "`+path+`": `+wantMsg)
			after, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, before, after, "the good file is left alone")
			assert.ErrorContains(t, bad.Check(), wantMsg)
			m, err := trm.NewModel(cfg.ModelConfig, 0)
			require.NoError(t, err)
			assert.ErrorContains(t, m.Load(bad), wantMsg)

			// Written behind SaveCheckpoint's back: refused on loading.
			raw := map[string]safetensors.Tensor{}
			for _, s := range cfg.TensorSpecs() {
				raw[s.Name] = safetensors.FromFloat32(s.Shape, bad.Tensors[s.Name])
			}
			writeRaw(t, path, map[string]string{"format": trm.CheckpointFormat, "config": string(cfg.MarshalIndent())}, raw)
			_, err = trm.LoadCheckpoint(path)
			require.Error(t, err)
			assert.Equal(t, `checkpoint "`+path+`": `+wantMsg, err.Error())
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			_, err = trm.DecodeCheckpoint(data, "x")
			assert.EqualError(t, err, `checkpoint "x": `+wantMsg)
		})
	}
}
