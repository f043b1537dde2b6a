package trm

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/internal/golden"
	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/trm/safetensors"
	"github.com/trm-go/trm/trm/task"
	"github.com/trm-go/trm/trm/torchfile"
)

// torchFixture is one folder of trm/testdata/torch, written by
// scripts/torch/make_fixtures.py: an official-layout torch.save checkpoint,
// its all_config.yaml and the reference outputs.
type torchFixture struct {
	name, file string
	opts       ImportOptions
	variant    nn.Variant
	pos        PosEncoding
	prefix     string
}

var torchFixtures = []torchFixture{
	{"attn_compiled", "step_100", ImportOptions{}, nn.VariantAttn, PosRoPE, PrefixCompiled},
	{"mlp_plain", "step_7", ImportOptions{}, nn.VariantMLP, PosNone, PrefixPlain},
	{"attn_learned", "step_3", ImportOptions{Task: "sudoku4"}, nn.VariantAttn, PosLearned, PrefixCompiled},
}

func (f torchFixture) path() string { return filepath.Join("testdata", "torch", f.name, f.file) }

// torchExpected is expected.json.gz: inputs and, per supervision step, the
// logits and q_halt of the float64 PyTorch reference scripts/golden/trm_ref.py.
type torchExpected struct {
	Inputs struct {
		Tokens    golden.Tensor `json:"tokens"`
		PuzzleIDs golden.Tensor `json:"puzzle_ids"`
	} `json:"inputs"`
	Outputs struct {
		Steps []struct {
			Logits golden.Tensor `json:"logits"`
			QHalt  golden.Tensor `json:"q_halt"`
		} `json:"steps"`
	} `json:"outputs"`
}

// runSteps runs every supervision step of m on the fixture's inputs and
// returns the logits and q_halt of each.
func runSteps(t *testing.T, m *Model, exp *torchExpected) (logits, qhalt [][]float32) {
	t.Helper()
	tokens, pids := exp.Inputs.Tokens.I32(), exp.Inputs.PuzzleIDs.I32()
	yc, zc := m.NewCarry(exp.Inputs.PuzzleIDs.Shape[0])
	tape := nn.NewTape()
	for range exp.Outputs.Steps {
		tape.Reset()
		x := m.Input(tape, tokens, pids)
		out := m.Step(tape, x, tape.Const(yc), tape.Const(zc))
		logits = append(logits, append([]float32(nil), out.Logits.Value.Data...))
		qhalt = append(qhalt, append([]float32(nil), out.QHalt.Value.Data...))
		copy(yc.Data, out.Y.Value.Data)
		copy(zc.Data, out.Z.Value.Data)
	}
	return logits, qhalt
}

func requireAbs(t *testing.T, want []float64, got []float32, tol float64, what string) {
	t.Helper()
	require.Len(t, got, len(want), what)
	worst := 0.0
	for i, w := range want {
		worst = math.Max(worst, math.Abs(float64(got[i])-w))
	}
	require.LessOrEqual(t, worst, tol, "%s: max |got − PyTorch| = %g", what, worst)
	t.Logf("%s: max |Go − PyTorch reference| = %.2g", what, worst)
}

// TestImportTorchParity imports each official-layout fixture and checks,
// for every supervision step, logits and q_halt against the PyTorch
// reference (≤ 1e-4 absolute), and that the same weights saved and loaded
// as this package's safetensors give bit-identical outputs.
func TestImportTorchParity(t *testing.T) {
	for _, f := range torchFixtures {
		t.Run(f.name, func(t *testing.T) {
			ck, err := ImportTorch(f.path(), f.opts)
			require.NoError(t, err)
			c := ck.Config.ModelConfig
			require.Equal(t, "sudoku4", c.Task)
			require.Equal(t, f.variant, c.Variant)
			require.Equal(t, f.pos, c.PosEncodings)
			require.Equal(t, 6, c.VocabSize)
			require.Equal(t, 16, c.SeqLen)
			require.Equal(t, "torch", ck.Meta[MetaSource])

			var exp torchExpected
			require.NoError(t, golden.Load(filepath.Join("testdata", "torch", f.name, "expected.json.gz"), &exp))
			require.Equal(t, c.HaltMaxSteps, len(exp.Outputs.Steps))
			m, err := ModelFromCheckpoint(ck)
			require.NoError(t, err)
			logits, qhalt := runSteps(t, m, &exp)
			for i, want := range exp.Outputs.Steps {
				requireAbs(t, want.Logits.Data, logits[i], 1e-4, "logits step "+string(rune('1'+i)))
				requireAbs(t, want.QHalt.Data, qhalt[i], 1e-4, "q_halt step "+string(rune('1'+i)))
			}

			// The same weights through the project's own format.
			st := filepath.Join(t.TempDir(), "model.safetensors")
			require.NoError(t, SaveCheckpoint(st, ck))
			ck2, err := LoadCheckpoint(st)
			require.NoError(t, err)
			require.True(t, ck2.Config.Equal(ck.Config))
			m2, err := ModelFromCheckpoint(ck2)
			require.NoError(t, err)
			logits2, qhalt2 := runSteps(t, m2, &exp)
			require.Equal(t, logits, logits2)
			require.Equal(t, qhalt, qhalt2)
		})
	}
}

// TestLoadCheckpointReadsTorch: LoadCheckpoint (and so infer.LoadPredictor
// and every --checkpoint) takes an official file directly.
func TestLoadCheckpointReadsTorch(t *testing.T) {
	f := torchFixtures[0]
	ck, err := LoadCheckpoint(f.path())
	require.NoError(t, err)
	want, err := ImportTorch(f.path(), ImportOptions{})
	require.NoError(t, err)
	require.Equal(t, want.Tensors, ck.Tensors)
	require.Equal(t, int64(100), ck.Step)

	// A model whose data path names no task of this package imports
	// without one (a format conversion; it cannot answer text).
	ck, err = LoadCheckpoint(torchFixtures[2].path())
	require.NoError(t, err)
	require.Equal(t, "", ck.Config.Task)

	// With RoPE nothing fixes the sequence length: the error says to name
	// the task.
	data, yml := readFixture(t, f)
	y := strings.Replace(string(yml), "sudoku4-tiny", "arc-tiny", 1)
	_, err = DecodeTorch(data, "step_1", []byte(y), "all_config.yaml", ImportOptions{})
	require.ErrorContains(t, err, "seq_len")
	require.ErrorContains(t, err, "--task")
}

// TestExportImportRoundTrip: export → import gives back every tensor bit
// for bit, the config and the task; with the default bfloat16 init
// vectors too when they are bfloat16 values (every imported model).
func TestExportImportRoundTrip(t *testing.T) {
	for _, f := range torchFixtures {
		t.Run(f.name, func(t *testing.T) {
			ck, err := ImportTorch(f.path(), f.opts)
			require.NoError(t, err)
			for _, opts := range []ExportOptions{{}, {Prefix: PrefixPlain, InitDType: "float32"}} {
				dir := t.TempDir()
				file, cfgFile, err := ExportTorch(ck, dir, "step_42", opts)
				require.NoError(t, err)
				require.Equal(t, filepath.Join(dir, "step_42"), file)
				require.Equal(t, filepath.Join(dir, OfficialConfigName), cfgFile)

				back, err := ImportTorch(file, ImportOptions{}) // the task comes from the trm section
				require.NoError(t, err)
				require.Equal(t, int64(42), back.Step)
				require.Equal(t, ck.Config.ModelConfig, back.Config.ModelConfig)
				require.Equal(t, len(ck.Tensors), len(back.Tensors))
				for name, v := range ck.Tensors {
					require.Equal(t, bits(v), bits(back.Tensors[name]), name)
				}

				// The keys and dtypes are the official ones.
				sd, err := torchfile.Read(file)
				require.NoError(t, err)
				prefix := opts.Prefix
				if prefix == "" {
					prefix = PrefixCompiled
				}
				for _, key := range sd.Names {
					require.True(t, strings.HasPrefix(key, prefix+"inner."), key)
					want := safetensors.F32
					if strings.HasSuffix(key, "_init") && opts.InitDType == "" && f.name != "attn_learned" {
						want = safetensors.BF16
					}
					require.Equal(t, want, sd.Tensors[key].DType, key)
				}
			}
		})
	}
}

func bits(v []float32) []uint32 {
	out := make([]uint32, len(v))
	for i, x := range v {
		out[i] = math.Float32bits(x)
	}
	return out
}

// TestExportRoundsInitsToBFloat16: a model trained here has float32 init
// vectors; the official bf16 buffers get them rounded to nearest even, and
// float32 keeps them exact.
func TestExportRoundsInitsToBFloat16(t *testing.T) {
	cfg := goldenTRMConfigForExport()
	m, err := NewModel(cfg, 5)
	require.NoError(t, err)
	ck := m.Checkpoint(9)
	dir := t.TempDir()
	file, _, err := ExportTorch(ck, dir, "step_9", ExportOptions{})
	require.NoError(t, err)
	back, err := ImportTorch(file, ImportOptions{})
	require.NoError(t, err)
	for _, name := range []string{nameYInit, nameZInit} {
		for i, v := range ck.Tensors[name] {
			want := math.Float32frombits(uint32(float32ToBF16(v)) << 16)
			require.Equal(t, want, back.Tensors[name][i])
			require.LessOrEqual(t, math.Abs(float64(want-v)), math.Abs(float64(v))/256)
		}
	}
	file, _, err = ExportTorch(ck, dir, "step_9", ExportOptions{InitDType: "float32"})
	require.NoError(t, err)
	back, err = ImportTorch(file, ImportOptions{})
	require.NoError(t, err)
	require.Equal(t, ck.Tensors, back.Tensors)
}

// goldenTRMConfigForExport is a small arith model (a task the official
// code has no dataset for: the export still writes it).
func goldenTRMConfigForExport() ModelConfig {
	c := ModelConfig{
		HiddenSize: 16, NumHeads: 2, Expansion: 2, LLayers: 2, LCycles: 2, HCycles: 2, HaltMaxSteps: 2,
		Variant: nn.VariantAttn, PosEncodings: PosRoPE, RopeTheta: 10000, RMSNormEps: 1e-5,
		PuzzleEmbNdim: 16, PuzzleEmbLen: 1,
	}
	tk, err := task.New("arith", task.Options{"digits": "2"})
	if err != nil {
		panic(err)
	}
	c.SetTask(tk)
	return c
}

func TestFloat16AndBFloat16Conversions(t *testing.T) {
	for _, tc := range []struct {
		h    uint16
		want float32
	}{
		{0x3c00, 1}, {0xc000, -2}, {0x0001, float32(math.Ldexp(1, -24))}, {0x8000, float32(math.Copysign(0, -1))},
		{0x7bff, 65504}, {0x0400, float32(math.Ldexp(1, -14))}, {0x03ff, float32(1023 * math.Ldexp(1, -24))},
	} {
		require.Equal(t, math.Float32bits(tc.want), math.Float32bits(halfToFloat32(tc.h)), "%#04x", tc.h)
	}
	require.True(t, math.IsInf(float64(halfToFloat32(0x7c00)), 1))
	require.True(t, math.IsNaN(float64(halfToFloat32(0x7e00))))
	// bf16 rounding: nearest, ties to even.
	require.Equal(t, uint16(0x3f80), float32ToBF16(1))
	require.Equal(t, uint16(0x3f80), float32ToBF16(math.Float32frombits(0x3f808000))) // tie → even (down)
	require.Equal(t, uint16(0x3f82), float32ToBF16(math.Float32frombits(0x3f818000))) // tie → even (up)
	require.Equal(t, uint16(0x3f81), float32ToBF16(math.Float32frombits(0x3f808001)))
}

// readFixture returns the bytes of a fixture's checkpoint and config.
func readFixture(t testing.TB, f torchFixture) (data, yml []byte) {
	data, err := os.ReadFile(f.path())
	require.NoError(t, err)
	yml, err = os.ReadFile(filepath.Join(filepath.Dir(f.path()), OfficialConfigName))
	require.NoError(t, err)
	return data, yml
}

// TestImportRefusesMismatches: every way an official file and its config
// can disagree with each other or with this package is refused, naming the
// tensor or field and what was expected.
func TestImportRefusesMismatches(t *testing.T) {
	data, yml := readFixture(t, torchFixtures[0])
	sd, err := torchfile.Decode(data, "x")
	require.NoError(t, err)
	reencode := func(edit func(sd *torchfile.StateDict)) []byte {
		c := &torchfile.StateDict{Names: append([]string(nil), sd.Names...), Tensors: map[string]safetensors.Tensor{}}
		for k, v := range sd.Tensors {
			c.Tensors[k] = v
		}
		edit(c)
		var buf bytes.Buffer
		require.NoError(t, torchfile.Encode(&buf, "step_1", c))
		return buf.Bytes()
	}
	drop := func(key string) func(sd *torchfile.StateDict) {
		return func(sd *torchfile.StateDict) {
			delete(sd.Tensors, key)
			for i, n := range sd.Names {
				if n == key {
					sd.Names = append(sd.Names[:i], sd.Names[i+1:]...)
					break
				}
			}
		}
	}
	set := func(key string, tt safetensors.Tensor) func(sd *torchfile.StateDict) {
		return func(sd *torchfile.StateDict) {
			if _, ok := sd.Tensors[key]; !ok {
				sd.Names = append(sd.Names, key)
			}
			sd.Tensors[key] = tt
		}
	}
	const p = PrefixCompiled
	lm := p + "inner.lm_head.weight"
	cases := []struct {
		name  string
		data  []byte
		yml   string
		wants []string
	}{
		{"unknown tensor", reencode(set(p+"inner.extra.weight", safetensors.FromFloat32([]int{1}, []float32{1}))), "",
			[]string{`"inner.extra.weight"`, "not part of this config's model"}},
		{"missing tensor", reencode(drop(lm)), "", []string{`"inner.lm_head.weight" is missing`, "[6 16]"}},
		{"wrong shape", reencode(set(lm, safetensors.FromFloat32([]int{7, 16}, make([]float32, 7*16)))), "",
			[]string{`"inner.lm_head.weight" ("_orig_mod.model.inner.lm_head.weight" in the file) has shape [7 16], config wants [6 16]`}},
		{"unsupported dtype", reencode(set(lm, safetensors.FromFloat64([]int{6, 16}, make([]float64, 96)))), "",
			[]string{`"inner.lm_head.weight"`, "dtype F64 is not supported, want float32, bfloat16 or float16"}},
		{"not finite", reencode(set(lm, safetensors.FromFloat32([]int{6, 16}, append(make([]float32, 95), float32(math.Inf(1)))))), "",
			[]string{`"inner.lm_head.weight" holds +Inf at index 95`}},
		{"two prefixes", reencode(set(PrefixPlain+"inner.lm_head.weight", sd.Tensors[lm])), "",
			[]string{`"_orig_mod.model.inner.lm_head.weight" and "model.inner.lm_head.weight" are the same tensor`}},
		{"hidden contradicts shapes", data, strings.Replace(string(yml), "hidden_size: 16", "hidden_size: 32", 1),
			[]string{"embed_tokens", "hidden size 16, but arch.hidden_size is 32"}},
		{"ndim contradicts shapes", data, strings.Replace(string(yml), "puzzle_emb_ndim: 16", "puzzle_emb_ndim: 32", 1),
			[]string{`"inner.puzzle_emb.weights"`, "[1 16]", "arch.puzzle_emb_ndim 32"}},
		{"no puzzle embedding in config", data, strings.Replace(string(yml), "puzzle_emb_ndim: 16", "puzzle_emb_ndim: 0", 1),
			[]string{"puzzle_emb.weights", "arch.puzzle_emb_ndim is 0"}},
		{"mlp_t contradicts shapes", data, strings.Replace(string(yml), "mlp_t: false", "mlp_t: true", 1),
			[]string{`"inner.L_level.layers.0.mlp_t.gate_up_proj.weight" is missing`}},
		{"layers contradict", data, strings.Replace(string(yml), "L_layers: 1", "L_layers: 2", 1),
			[]string{`"inner.L_level.layers.1.self_attn.qkv_proj.weight" is missing`}},
		{"heads invalid", data, strings.Replace(string(yml), "num_heads: 2", "num_heads: 3", 1),
			[]string{"hidden_size 16 is not divisible by num_heads 3"}},
		{"other architecture", data, strings.Replace(string(yml), OfficialArch, "recursive_reasoning.hrm@HierarchicalReasoningModel_ACTV1", 1),
			[]string{"arch.name", "only the TRM"}},
		{"missing field", data, strings.Replace(string(yml), "  L_cycles: 2\n", "", 1), []string{"missing arch.L_cycles"}},
		{"not yaml", data, "arch: [", []string{"not a valid YAML config"}},
		{"empty yaml", data, " ", []string{"empty"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			y := tc.yml
			if y == "" {
				y = string(yml)
			}
			_, err := DecodeTorch(tc.data, "step_1", []byte(y), "all_config.yaml", ImportOptions{})
			require.Error(t, err)
			for _, w := range tc.wants {
				require.ErrorContains(t, err, w)
			}
		})
	}
	// The task a data path points to must fit the shapes.
	mdata, myml := readFixture(t, torchFixtures[1])
	_, err = DecodeTorch(mdata, "step_7", []byte(strings.Replace(string(myml), "sudoku-4x4", "maze-30x30", 1)), "all_config.yaml", ImportOptions{})
	require.ErrorContains(t, err, "does not fit task maze")
	require.ErrorContains(t, err, "seq_len 16, task maze wants 900")
	// The task named explicitly must fit too.
	_, err = DecodeTorch(data, "step_1", yml, "all_config.yaml", ImportOptions{Task: "sudoku9"})
	require.ErrorContains(t, err, "does not fit task sudoku9")
	// A missing config names the file to look for.
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "step_1"), data, 0o644))
	_, err = ImportTorch(filepath.Join(dir, "step_1"), ImportOptions{})
	require.ErrorContains(t, err, "no all_config.yaml beside it")
}

// TestImportMapsRoPEOnMLP: the official mlp_t blocks ignore RoPE, so an
// mlp_t config with pos_encodings rope imports as none.
func TestImportMapsRoPEOnMLP(t *testing.T) {
	data, yml := readFixture(t, torchFixtures[1])
	y := strings.Replace(string(yml), "pos_encodings: none", "pos_encodings: rope", 1)
	ck, err := DecodeTorch(data, "step_7", []byte(y), "all_config.yaml", ImportOptions{})
	require.NoError(t, err)
	require.Equal(t, PosNone, ck.Config.PosEncodings)
}

// TestGuessTask: the task from an official dataset path.
func TestGuessTask(t *testing.T) {
	name, opts := guessTask([]string{"data/sudoku-extreme-1k-aug-1000"}, 11, 81)
	require.Equal(t, "sudoku9", name)
	require.Nil(t, opts)
	name, opts = guessTask([]string{"data/maze-30x30-hard-1k"}, 6, 0)
	require.Equal(t, "maze", name)
	require.Equal(t, task.Options{"size": "30"}, opts)
	name, _ = guessTask([]string{"data/arc1concept-aug-1000"}, 12, 900)
	require.Equal(t, "", name)
}

// FuzzDecodeTorch: no checkpoint bytes or config text make the importer
// panic; what it accepts is a valid checkpoint that exports and imports
// back unchanged.
func FuzzDecodeTorch(f *testing.F) {
	for _, fx := range torchFixtures {
		data, yml := readFixture(f, fx)
		f.Add(data, yml, fx.opts.Task)
	}
	f.Fuzz(func(t *testing.T, data, yml []byte, taskName string) {
		if taskName != "" && taskName != "sudoku4" {
			taskName = ""
		}
		ck, err := DecodeTorch(data, "step_1", yml, "all_config.yaml", ImportOptions{Task: taskName})
		if err != nil {
			return
		}
		if err := ck.Check(); err != nil {
			t.Fatalf("accepted checkpoint does not pass Check: %v", err)
		}
		dir := t.TempDir()
		file, _, err := ExportTorch(ck, dir, "step_1", ExportOptions{InitDType: "float32"})
		if err != nil {
			t.Fatalf("accepted checkpoint does not export: %v", err)
		}
		back, err := ImportTorch(file, ImportOptions{Task: taskName})
		if err != nil {
			t.Fatalf("exported checkpoint does not import: %v", err)
		}
		for name, v := range ck.Tensors {
			if !slices.Equal(bits(v), bits(back.Tensors[name])) {
				t.Fatalf("tensor %q changed in the round trip", name)
			}
		}
	})
}
