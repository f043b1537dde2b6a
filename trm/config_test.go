package trm_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/task"
	"github.com/trm-go/trm/trm/train"
)

func mustPreset(t *testing.T, name string) trm.Config {
	t.Helper()
	c, err := train.Preset(name)
	require.NoError(t, err)
	return c
}

// The official parameter counts (spec §4; the official model's
// sum(p.numel() for p in model.parameters())).
func TestParamCountOfficial(t *testing.T) {
	mlp := mustPreset(t, "sudoku")
	assert.EqualValues(t, 5_028_866, mlp.ParamCount())
	att := mustPreset(t, "sudoku-attn")
	assert.EqualValues(t, 6_828_034, att.ParamCount())
	att.PosEncodings = trm.PosLearned // adds the (L+P)·hidden position table
	assert.EqualValues(t, 6_828_034+97*512, att.ParamCount())

	// The checkpoint also holds the puzzle embedding (1×512) and y/z init.
	assert.EqualValues(t, 5_028_866+512+2*512, stateCount(mlp.ModelConfig))
	assert.EqualValues(t, 97, mlp.SeqTotal())
	assert.Equal(t, 16, mlp.PrefixLen())
	assert.Equal(t, 64, att.HeadDim())
	assert.Equal(t, 0, trm.ModelConfig{HiddenSize: 8}.HeadDim())
}

func TestParamCountByHand(t *testing.T) {
	// A learned-position attention model small enough to count by hand.
	c := mustPreset(t, "arith") // hidden 64, 4 heads, expansion 4, 2 layers
	c.PosEncodings = trm.PosLearned
	c.PuzzleEmbNdim, c.PuzzleEmbLen = 100, 3 // ceil(100/64) = 2 ≤ 3
	c.NumPuzzleIdentifiers = 5
	require.NoError(t, c.Validate())
	V, h, S := 12, 64, c.SeqLen+3
	inter := 256 // round(4·64·2/3) = 171 → 256
	require.Equal(t, inter, c.Inter(h))
	perLayer := 3*h*h + h*h + 2*inter*h + h*inter
	dense := V*h + V*h + 2*h + 2 + S*h + 2*perLayer
	assert.EqualValues(t, dense, c.ParamCount())
	assert.EqualValues(t, dense+5*100+2*h, stateCount(c.ModelConfig))
}

func TestInter(t *testing.T) {
	c := trm.ModelConfig{Expansion: 4}
	assert.Equal(t, 1536, c.Inter(512)) // spec §4
	assert.Equal(t, 512, c.Inter(97))   // 258.67 → 259 → 512
	assert.Equal(t, 256, c.Inter(1))
	// Python rounds half to even: 384.75·1·2/3 = 256.5 → 256 (not 257 → 512).
	c.Expansion = 384.75
	assert.Equal(t, 256, c.Inter(1))
	c.Expansion = 386.25 // 257.5 → 258 → 512
	assert.Equal(t, 512, c.Inter(1))
	c.Expansion = 4
	assert.Equal(t, 768, c.Inter(257)) // 685.33 → 685 → 768
}

func TestPrefixLen(t *testing.T) {
	c := trm.ModelConfig{HiddenSize: 512}
	assert.Equal(t, 0, c.PrefixLen())
	c.PuzzleEmbNdim = 512
	assert.Equal(t, 1, c.PrefixLen(), "0 = ceil(ndim/hidden)")
	c.PuzzleEmbNdim = 1025
	assert.Equal(t, 3, c.PrefixLen())
	c.PuzzleEmbLen = 16
	assert.Equal(t, 16, c.PrefixLen())
	c.SeqLen = 81
	assert.Equal(t, 97, c.SeqTotal())
}

// TestPassBatch: micro_batch 0 runs a training step in the automatic pass
// (the largest power of two with pass·(L+P) ≤ trm.PassRows), capped by the
// batch; a micro_batch below the batch is the pass; one at or above it
// means one pass of the whole batch.
func TestPassBatch(t *testing.T) {
	for _, tc := range []struct {
		seq, prefix, batch, micro, want int
	}{
		{81, 0, 8, 0, 4},   // 9×9 Sudoku: 4·81 = 324 ≤ 512 < 648
		{81, 16, 64, 0, 4}, // with the 16-token prefix: 4·97 = 388
		{16, 0, 64, 0, 32}, // arith: 32·16 = 512
		{16, 0, 8, 0, 8},   // capped by the batch
		{900, 0, 8, 0, 1},  // ARC: one sample is 900 rows already
		{512, 0, 8, 0, 1},  // exactly PassRows
		{81, 0, 8, 3, 3},
		{81, 0, 8, 8, 8},
		{81, 0, 8, 100, 8},
	} {
		var c trm.Config
		c.SeqLen, c.HiddenSize, c.BatchSize, c.MicroBatch = tc.seq, 64, tc.batch, tc.micro
		if tc.prefix > 0 {
			c.PuzzleEmbNdim, c.PuzzleEmbLen = 64, tc.prefix
		}
		assert.Equal(t, tc.want, c.PassBatch(), "L+P %d, batch %d, micro_batch %d", c.SeqTotal(), tc.batch, tc.micro)
		assert.LessOrEqual(t, c.AutoPassBatch()*c.SeqTotal(), max(trm.PassRows, c.SeqTotal()))
	}
}

func TestConfigJSONRoundTrip(t *testing.T) {
	for _, name := range train.PresetNames() {
		c := mustPreset(t, name)
		c.Seed = math.MaxUint64 // survives JSON (no float64 detour)
		c.LR = 3.0000000000000004e-4
		data := c.MarshalIndent()
		back, err := trm.DecodeConfig(data, trm.Config{})
		require.NoError(t, err, name)
		assert.True(t, c.Equal(back), "%s:\n%s", name, data)
	}
}

func TestConfigJSONUsesOfficialNames(t *testing.T) {
	var m map[string]any
	require.NoError(t, json.Unmarshal(mustPreset(t, "sudoku").MarshalIndent(), &m))
	for _, k := range []string{"hidden_size", "num_heads", "expansion", "L_layers", "L_cycles", "H_cycles",
		"halt_max_steps", "halt_exploration_prob", "puzzle_emb_ndim", "puzzle_emb_len", "pos_encodings",
		"rope_theta", "rms_norm_eps", "vocab_size", "seq_len", "num_puzzle_identifiers", "lr",
		"lr_warmup_steps", "weight_decay", "beta1", "beta2", "puzzle_emb_lr", "puzzle_emb_weight_decay",
		"ema_rate", "global_batch_size", "seed", "variant", "optimizer", "task"} {
		assert.Contains(t, m, k)
	}
	assert.Equal(t, "mlp", m["variant"])
	assert.Equal(t, "none", m["pos_encodings"])
	assert.EqualValues(t, 6, m["L_cycles"])
	assert.EqualValues(t, 3, m["H_cycles"])
}

func TestDecodeConfigOverBase(t *testing.T) {
	base := mustPreset(t, "sudoku")
	c, err := trm.DecodeConfig([]byte(`{"L_cycles": 4, "lr": 0.0003, "task_options": {"file": "x.csv"}}`), base)
	require.NoError(t, err)
	assert.Equal(t, 4, c.LCycles)
	assert.Equal(t, 3e-4, c.LR)
	assert.Equal(t, 512, c.HiddenSize, "fields not in the JSON keep the base's value")
	assert.Equal(t, task.Options{"file": "x.csv"}, c.TaskOptions)
	assert.Nil(t, base.TaskOptions, "the base is not modified")

	// task_options replaces the base's as a whole; another task drops them.
	arith := mustPreset(t, "arith")
	c, err = trm.DecodeConfig([]byte(`{"lr": 0.5}`), arith)
	require.NoError(t, err)
	assert.Equal(t, task.Options{"digits": "2"}, c.TaskOptions)
	c.TaskOptions["digits"] = "9"
	assert.Equal(t, "2", arith.TaskOptions["digits"], "the base's map is not shared")
	c, err = trm.DecodeConfig([]byte(`{"task_options": {"x": "1"}}`), arith)
	require.NoError(t, err)
	assert.Equal(t, task.Options{"x": "1"}, c.TaskOptions)
	c, err = trm.DecodeConfig([]byte(`{"task": "sudoku9"}`), arith)
	require.NoError(t, err)
	assert.Nil(t, c.TaskOptions)

	_, err = trm.DecodeConfig([]byte(`{"L_cycle": 4}`), base)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown field "L_cycle"`)
	_, err = trm.DecodeConfig([]byte(`{"hidden_size": "big"}`), base)
	assert.Error(t, err)
	_, err = trm.DecodeConfig([]byte(`{} {}`), base)
	assert.Error(t, err)
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"hidden_size": 100, "num_heads": 8}`), 0o644))
	_, err := trm.LoadConfig(path, train.DefaultConfig())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "c.json")
	assert.Contains(t, err.Error(), "config: hidden_size 100 is not divisible by num_heads 8")

	require.NoError(t, os.WriteFile(path, []byte(`{"hidden_size": 128}`), 0o644))
	c, err := trm.LoadConfig(path, train.DefaultConfig())
	require.NoError(t, err)
	assert.Equal(t, 128, c.HiddenSize)

	_, err = trm.LoadConfig(filepath.Join(dir, "none.json"), train.DefaultConfig())
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestValidateNamesTheField(t *testing.T) {
	cases := []struct {
		edit func(c *trm.Config)
		want string
	}{
		{func(c *trm.Config) { c.HiddenSize, c.NumHeads = 100, 8 }, "config: hidden_size 100 is not divisible by num_heads 8"},
		{func(c *trm.Config) { c.HiddenSize = 0 }, "config: hidden_size 0, want ≥ 1"},
		{func(c *trm.Config) { c.NumHeads = 0 }, `config: num_heads 0, want ≥ 1 for variant "attn"`},
		{func(c *trm.Config) { c.HiddenSize, c.NumHeads = 60, 20 }, "head_dim 3 (hidden_size 60 / num_heads 20) is odd"},
		{func(c *trm.Config) { c.Variant = "rnn" }, `config: variant "rnn", want "attn" or "mlp"`},
		{func(c *trm.Config) { c.Variant = nn.VariantMLP }, `config: pos_encodings "rope" has no effect with variant "mlp"`},
		{func(c *trm.Config) { c.PosEncodings = "alibi" }, `config: pos_encodings "alibi", want "rope", "learned" or "none"`},
		{func(c *trm.Config) { c.RopeTheta = 0 }, "config: rope_theta 0, want > 0"},
		{func(c *trm.Config) { c.RMSNormEps = math.NaN() }, "config: rms_norm_eps NaN, want > 0"},
		{func(c *trm.Config) { c.Expansion = -1 }, "config: expansion -1, want > 0"},
		{func(c *trm.Config) { c.LLayers = 0 }, "config: L_layers 0, want ≥ 1"},
		{func(c *trm.Config) { c.LCycles = 0 }, "config: L_cycles 0, want ≥ 1"},
		{func(c *trm.Config) { c.HCycles = -1 }, "config: H_cycles -1, want ≥ 1"},
		{func(c *trm.Config) { c.HaltMaxSteps = 0 }, "config: halt_max_steps 0, want ≥ 1"},
		{func(c *trm.Config) { c.HaltExplorationProb = 1.5 }, "config: halt_exploration_prob 1.5, want in [0, 1]"},
		{func(c *trm.Config) { c.VocabSize = 1 }, "config: vocab_size 1, want ≥ 2"},
		{func(c *trm.Config) { c.SeqLen = 0 }, "config: seq_len 0, want ≥ 1"},
		{func(c *trm.Config) { c.NumPuzzleIdentifiers = 0 }, "config: num_puzzle_identifiers 0, want ≥ 1"},
		{func(c *trm.Config) { c.PuzzleEmbLen = 4 }, "config: puzzle_emb_len 4 without a puzzle embedding (puzzle_emb_ndim 0), want 0"},
		{func(c *trm.Config) { c.PuzzleEmbNdim, c.PuzzleEmbLen = 200, 2 }, "config: puzzle_emb_len 2 is too short for puzzle_emb_ndim 200, want ≥ 4"},
		{func(c *trm.Config) { c.PuzzleEmbNdim = -1 }, "config: puzzle_emb_ndim -1, want ≥ 0"},
		{func(c *trm.Config) { c.Optimizer = "sgd" }, `config: unknown optimizer "sgd", want one of adamatan2, adamw`},
		{func(c *trm.Config) { c.AdamEps = 0 }, "config: adam_eps 0, want > 0"},
		{func(c *trm.Config) { c.LR = 0 }, "config: lr 0, want > 0"},
		{func(c *trm.Config) { c.LR = math.Inf(1) }, "config: lr +Inf, want > 0"},
		{func(c *trm.Config) { c.LRWarmupSteps = -1 }, "config: lr_warmup_steps -1, want ≥ 0"},
		{func(c *trm.Config) { c.WeightDecay = -0.1 }, "config: weight_decay -0.1, want ≥ 0"},
		{func(c *trm.Config) { c.Beta1 = 1 }, "config: beta1 1, want in [0, 1)"},
		{func(c *trm.Config) { c.Beta2 = -0.5 }, "config: beta2 -0.5, want in [0, 1)"},
		{func(c *trm.Config) { c.EMARate = 1 }, "config: ema_rate 1, want in [0, 1)"},
		{func(c *trm.Config) { c.BatchSize = 0 }, "config: global_batch_size 0, want ≥ 1"},
		{func(c *trm.Config) { c.TrainSteps = 0 }, "config: train_steps 0, want ≥ 1"},
		{func(c *trm.Config) { c.LogInterval = 0 }, "config: log_interval 0, want ≥ 1"},
		{func(c *trm.Config) { c.EvalInterval = -1 }, "config: eval_interval -1, want ≥ 0"},
		{func(c *trm.Config) { c.HaltLossWeight = -1 }, "config: halt_loss_weight -1, want ≥ 0"},
		{func(c *trm.Config) { c.PuzzleEmbNdim, c.PuzzleEmbLR = 64, -1 }, "config: puzzle_emb_lr -1, want ≥ 0"},
		// The maxima (trm/limits.go).
		{func(c *trm.Config) { c.VocabSize = 1 << 21 }, "config: vocab_size 2097152, want ≤ 1048576"},
		{func(c *trm.Config) { c.SeqLen = 1e12 }, "config: seq_len 1000000000000, want ≤ 65536"},
		{func(c *trm.Config) { c.NumPuzzleIdentifiers = 1e9 }, "config: num_puzzle_identifiers 1000000000, want ≤ 16777216"},
		{func(c *trm.Config) { c.HiddenSize = 1e9 }, "config: hidden_size 1000000000, want ≤ 65536"},
		{func(c *trm.Config) { c.HiddenSize, c.NumHeads = 1<<16, 1<<11 }, "config: num_heads 2048, want ≤ 1024"},
		{func(c *trm.Config) { c.Expansion = 1e6 }, "config: expansion 1e+06, want ≤ 64"},
		{func(c *trm.Config) { c.Expansion = math.Inf(1) }, "config: expansion +Inf, want > 0"},
		{func(c *trm.Config) { c.LLayers = 1000 }, "config: L_layers 1000, want ≤ 256"},
		{func(c *trm.Config) { c.LCycles = 65 }, "config: L_cycles 65, want ≤ 64"},
		{func(c *trm.Config) { c.HCycles = 1e9 }, "config: H_cycles 1000000000, want ≤ 64"},
		{func(c *trm.Config) { c.HaltMaxSteps = 1e9 }, "config: halt_max_steps 1000000000, want ≤ 1024"},
		{func(c *trm.Config) { c.PuzzleEmbNdim = 1 << 21 }, "config: puzzle_emb_ndim 2097152, want ≤ 1048576"},
		{func(c *trm.Config) { c.PuzzleEmbNdim, c.PuzzleEmbLen = 64, 1025 }, "config: puzzle_emb_len 1025, want ≤ 1024"},
		{func(c *trm.Config) { c.PuzzleEmbNdim, c.PuzzleEmbLen = 1<<20, 0 },
			"config: puzzle_emb_ndim 1048576 over hidden_size 64 makes 16384 prefix positions, want ≤ 1024 (puzzle_emb_len)"},
		{func(c *trm.Config) { c.BatchSize = 1e8 }, "config: global_batch_size 100000000, want ≤ 1048576"},
		{func(c *trm.Config) { c.TrainSteps = 1e12 }, "config: train_steps 1000000000000, want ≤ 1000000000"},
		{func(c *trm.Config) { c.LRWarmupSteps = 1e10 }, "config: lr_warmup_steps 10000000000, want ≤ 1000000000"},
		{func(c *trm.Config) { c.LogInterval = 1e10 }, "config: log_interval 10000000000, want ≤ 1000000000"},
		{func(c *trm.Config) { c.EvalInterval = 1e10 }, "config: eval_interval 10000000000, want ≤ 1000000000"},
		{func(c *trm.Config) { c.CheckpointInterval = 1e10 }, "config: checkpoint_interval 10000000000, want ≤ 1000000000"},
	}
	for _, tc := range cases {
		c := train.DefaultConfig()
		tc.edit(&c)
		err := c.Validate()
		if assert.Error(t, err, tc.want) {
			assert.Contains(t, err.Error(), tc.want)
		}
	}
	// Several problems are all reported.
	c := train.DefaultConfig()
	c.LR, c.BatchSize = 0, 0
	err := c.Validate()
	require.Error(t, err)
	assert.Equal(t, 2, strings.Count(err.Error(), "config:"), err.Error())

	// ema_rate 0 (off), weight decay 0, learned positions with mlp: valid.
	c = train.DefaultConfig()
	c.EMARate, c.WeightDecay = 0, 0
	c.Variant, c.PosEncodings = nn.VariantMLP, trm.PosLearned
	assert.NoError(t, c.Validate())
}

func TestConfigTaskBinding(t *testing.T) {
	tk, err := task.New("arith", task.Options{"digits": "3"})
	require.NoError(t, err)
	c := train.DefaultConfig()
	require.Error(t, c.CheckTask(tk), "the default is for 2 digits")
	c.SetTask(tk)
	require.NoError(t, c.CheckTask(tk))
	assert.Equal(t, 10, c.SeqLen)
	assert.Equal(t, task.Options{"digits": "3"}, c.TaskOptions)
	got, err := c.NewTask()
	require.NoError(t, err)
	assert.Equal(t, 3, got.(*task.Arith).Digits())

	c.SeqLen = 7
	_, err = c.NewTask()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "config: seq_len 7, task arith wants 10")

	c.Task = "chess"
	_, err = c.NewTask()
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown task "chess", want one of arc, arith`)
}

// stateCount returns the number of float32 values a checkpoint of c holds:
// every tensor of TensorSpecs.
func stateCount(c trm.ModelConfig) int64 {
	var n int64
	for _, s := range c.TensorSpecs() {
		n += int64(s.Size())
	}
	return n
}
