package trm

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/nn"
)

// limitsConfig is a small valid attention model (arith-like sizes).
func limitsConfig() ModelConfig {
	return ModelConfig{
		Task: "arith", VocabSize: 12, SeqLen: 16, NumPuzzleIdentifiers: 1,
		HiddenSize: 64, NumHeads: 4, Expansion: 4, LLayers: 2, LCycles: 2, HCycles: 2, HaltMaxSteps: 4,
		Variant: nn.VariantAttn, PosEncodings: PosRoPE, RopeTheta: 10000, RMSNormEps: 1e-5,
	}
}

// largestConfig has every size at its maximum.
func largestConfig() ModelConfig {
	c := limitsConfig()
	c.VocabSize, c.SeqLen, c.NumPuzzleIdentifiers = MaxVocabSize, MaxSeqLen, MaxPuzzleIdentifiers
	c.HiddenSize, c.NumHeads, c.Expansion, c.LLayers = MaxHiddenSize, MaxNumHeads, MaxExpansion, MaxLayers
	c.LCycles, c.HCycles, c.HaltMaxSteps = MaxCycles, MaxCycles, MaxHaltSteps
	c.PuzzleEmbNdim, c.PuzzleEmbLen = MaxPuzzleEmbNdim, MaxPuzzleEmbLen
	return c
}

func TestLargestConfigIsValidAndItsEstimateDoesNotOverflow(t *testing.T) {
	for _, v := range []nn.Variant{nn.VariantAttn, nn.VariantMLP} {
		c := largestConfig()
		c.Variant = v
		if v == nn.VariantMLP {
			c.PosEncodings = PosLearned
		}
		require.NoError(t, c.Validate())
		for _, training := range []bool{false, true} {
			w := c.WeightBytes(training)
			a := c.ActivationBytes(MaxBatchSize, training)
			assert.Greater(t, w, int64(1)<<40, "%s: more than a TB of weights", v)
			assert.Greater(t, a, int64(1)<<50, "%s: more than a PB of activations", v)
			weights, acts := c.MemoryEstimate(MemoryCheck{Batch: MaxBatchSize, Training: training, Eval: true})
			assert.Positive(t, weights)
			assert.Positive(t, acts)
		}
		// The check refuses it without overflowing into "fits".
		err := c.CheckMemory(MemoryCheck{Batch: 1, BatchField: "global_batch_size", Training: true}, 1<<40)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "1.1 TB available")
	}
}

func TestToBytesSaturates(t *testing.T) {
	assert.Equal(t, int64(0), toBytes(0))
	assert.Equal(t, int64(12), toBytes(3))
	assert.Equal(t, int64(math.MaxInt64), toBytes(math.MaxInt64))
	assert.Equal(t, int64(math.MaxInt64), toBytes(math.Inf(1)))
	assert.Equal(t, int64(math.MaxInt64), toBytes(math.NaN()))
}

// Values far beyond the maxima (math.MaxInt in every field) are reported,
// not overflowed into something that looks valid or panics.
func TestValidateHugeValuesDoNotOverflow(t *testing.T) {
	c := limitsConfig()
	c.VocabSize, c.SeqLen, c.NumPuzzleIdentifiers = math.MaxInt, math.MaxInt, math.MaxInt
	c.HiddenSize, c.NumHeads, c.LLayers = math.MaxInt, math.MaxInt, math.MaxInt
	c.LCycles, c.HCycles, c.HaltMaxSteps = math.MaxInt, math.MaxInt, math.MaxInt
	c.PuzzleEmbNdim, c.PuzzleEmbLen = math.MaxInt, math.MaxInt
	c.Expansion = math.MaxFloat64
	err := c.Validate()
	require.Error(t, err)
	for _, f := range []string{"vocab_size", "seq_len", "num_puzzle_identifiers", "hidden_size", "num_heads", "L_layers",
		"L_cycles", "H_cycles", "halt_max_steps", "puzzle_emb_ndim", "puzzle_emb_len", "expansion"} {
		assert.Contains(t, err.Error(), "config: "+f+" ", f)
	}

	// ceil(ndim / hidden) near math.MaxInt: the old (a+b−1)/b overflowed.
	assert.Equal(t, math.MaxInt/2+1, ceilDiv(math.MaxInt, 2))
	assert.Equal(t, 1, ceilDiv(1, math.MaxInt))
	assert.Equal(t, 0, ceilDiv(0, 7))
	assert.Equal(t, 3, ceilDiv(7, 3))
}

func TestCheckMemory(t *testing.T) {
	c := limitsConfig()
	const GB = 1_000_000_000
	train := MemoryCheck{Batch: 64, BatchField: "global_batch_size", Training: true, Eval: true}
	require.NoError(t, c.CheckMemory(train, 10*GB))
	require.NoError(t, c.CheckMemory(train, 0), "unknown memory: no check")

	w, a := c.MemoryEstimate(train)
	assert.Equal(t, c.WeightBytes(true), w)
	assert.InDelta(t, float64(c.ActivationBytes(64, true)+c.ActivationBytes(64, false)), float64(a), 2)
	require.NoError(t, c.CheckMemory(train, w+a))
	require.Error(t, c.CheckMemory(train, w+a-1000))

	// Too large a batch: the estimate, what is available, what to lower.
	train.Batch = 1_000_000
	err := c.CheckMemory(train, 20*GB)
	require.Error(t, err)
	msg := err.Error()
	assert.True(t, strings.HasPrefix(msg, "config: a training step at global_batch_size 1000000 needs about "), msg)
	assert.Contains(t, msg, ", 20 GB available: set micro_batch to at most ")
	assert.Contains(t, msg, " or lower global_batch_size (about ")
	assert.NotContains(t, msg, "\n")
	// The micro batch it says fits does fit at this batch, one more does not.
	var micro int
	_, err = fmt.Sscanf(msg[strings.Index(msg, "at most ")+len("at most "):], "%d", &micro)
	require.NoError(t, err)
	train.Pass = micro
	require.NoError(t, c.CheckMemory(train, 20*GB))
	train.Pass = micro + 1
	require.Error(t, c.CheckMemory(train, 20*GB))
	train.Pass = 0
	// The batch it says fits does fit, one more does not.
	var fit int
	_, err = fmt.Sscanf(msg[strings.LastIndex(msg, "(about ")+len("(about "):], "%d", &fit)
	require.NoError(t, err)
	train.Batch = fit
	require.NoError(t, c.CheckMemory(train, 20*GB))
	train.Batch = fit + 1
	require.Error(t, c.CheckMemory(train, 20*GB))

	// Inference with the model loaded: activations only, named by the flag.
	infer := MemoryCheck{Batch: 1_000_000, BatchField: "--batch", Loaded: true}
	w, a = c.MemoryEstimate(infer)
	assert.Zero(t, w)
	assert.Equal(t, c.ActivationBytes(1_000_000, false), a)
	err = c.CheckMemory(infer, 8*GB)
	require.Error(t, err)
	assert.Regexp(t, `^inference at --batch 1000000 needs about [0-9.]+ [kMGT]?B, 8.0 GB available: lower --batch \(about [0-9]+ fits\)$`, err.Error())

	// Not even one sample fits: the model's sizes are named.
	err = c.CheckMemory(MemoryCheck{Batch: 1, BatchField: "global_batch_size", Training: true}, 1000)
	require.Error(t, err)
	assert.Regexp(t, `^config: a training step needs about .* for this model's weights and .* for one sample, 1.0 kB available: lower `, err.Error())
	big := c
	big.HiddenSize = 1 << 14
	err = big.CheckMemory(MemoryCheck{Batch: 1, BatchField: "global_batch_size", Training: true}, GB)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "lower hidden_size, expansion or L_layers")
	long := c
	long.SeqLen = 1 << 14
	err = long.CheckMemory(MemoryCheck{Batch: 1, BatchField: "global_batch_size", Training: true}, GB)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "lower seq_len, hidden_size or L_cycles")
	ids := c
	ids.NumPuzzleIdentifiers, ids.PuzzleEmbNdim = 1<<24, 1<<10
	err = ids.CheckMemory(MemoryCheck{Batch: 1, BatchField: "global_batch_size", Training: true}, GB)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "lower num_puzzle_identifiers or puzzle_emb_ndim")
	err = long.CheckMemory(MemoryCheck{Batch: 1, BatchField: "--batch", Loaded: true}, 1000)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "inference needs about")
	assert.Contains(t, err.Error(), "seq_len 16384 and hidden_size 64 are too large")

	// An invalid config or batch is refused before any estimate.
	bad := c
	bad.HCycles = 1_000_000_000
	require.EqualError(t, bad.CheckMemory(train, 20*GB), "config: H_cycles 1000000000, want ≤ 64")
	require.EqualError(t, c.CheckMemory(MemoryCheck{BatchField: "global_batch_size"}, GB), "config: global_batch_size 0, want ≥ 1")
}

// The estimate grows with every size it depends on.
func TestMemoryEstimateIsMonotone(t *testing.T) {
	base := limitsConfig()
	edits := map[string]func(c *ModelConfig){
		"vocab_size":  func(c *ModelConfig) { c.VocabSize *= 2 },
		"seq_len":     func(c *ModelConfig) { c.SeqLen *= 2 },
		"hidden_size": func(c *ModelConfig) { c.HiddenSize *= 2 },
		"num_heads":   func(c *ModelConfig) { c.NumHeads *= 2 },
		"expansion":   func(c *ModelConfig) { c.Expansion *= 2 },
		"L_layers":    func(c *ModelConfig) { c.LLayers *= 2 },
		"L_cycles":    func(c *ModelConfig) { c.LCycles *= 2 },
		"puzzle":      func(c *ModelConfig) { c.PuzzleEmbNdim, c.PuzzleEmbLen = 64, 4 },
	}
	for name, edit := range edits {
		c := base
		edit(&c)
		require.NoError(t, c.Validate(), name)
		w0, a0 := base.MemoryEstimate(MemoryCheck{Batch: 8, Training: true})
		w1, a1 := c.MemoryEstimate(MemoryCheck{Batch: 8, Training: true})
		assert.Greater(t, w1+a1, w0+a0, name)
	}
	assert.Greater(t, base.ActivationBytes(16, true), base.ActivationBytes(16, false))
	assert.Greater(t, base.WeightBytes(true), base.WeightBytes(false))
	assert.InDelta(t, 2*base.ActivationBytes(8, false), base.ActivationBytes(16, false), 4, "linear in the batch")
}

func TestFormatBytes(t *testing.T) {
	for _, tc := range []struct {
		b    float64
		want string
	}{
		{0, "0 B"}, {999, "999 B"}, {1000, "1.0 kB"}, {1500, "1.5 kB"}, {20e9, "20 GB"},
		{1.2e12, "1.2 TB"}, {9.96e6, "10 MB"}, {999.6e9, "1.0 TB"}, {5e21, "5000 EB"},
	} {
		assert.Equal(t, tc.want, FormatBytes(tc.b), "%v", tc.b)
	}
}

func TestAvailableMemorySources(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		return p
	}
	meminfo := write("meminfo", "MemTotal:       32000000 kB\nMemFree:         1000000 kB\nMemAvailable:   20000000 kB\n")
	got, ok := memAvailable(meminfo)
	require.True(t, ok)
	assert.Equal(t, int64(20000000*1024), got)
	_, ok = memAvailable(write("meminfo-old", "MemTotal: 1 kB\n"))
	assert.False(t, ok, "no MemAvailable line")
	_, ok = memAvailable(filepath.Join(dir, "none"))
	assert.False(t, ok)

	// cgroup v2: limit − (current − page cache).
	self := write("self-cgroup", "0::/job\n")
	root := filepath.Join(dir, "cg")
	write("cg/job/memory.max", "4000000000\n")
	write("cg/job/memory.current", "1500000000\n")
	write("cg/job/memory.stat", "anon 1000000000\nfile 500000000\nkernel 1\n")
	left, ok := cgroupLeft(self, root)
	require.True(t, ok)
	assert.Equal(t, int64(3_000_000_000), left)

	write("cg/job/memory.max", "max\n")
	_, ok = cgroupLeft(self, root)
	assert.False(t, ok, "no limit")

	// Inside a container the process's cgroup is the mount's root.
	self2 := write("self-cgroup2", "0::/elsewhere\n")
	write("cg/memory.max", "1000\n")
	write("cg/memory.current", "2000\n")
	left, ok = cgroupLeft(self2, root)
	require.True(t, ok)
	assert.Equal(t, int64(0), left, "over the limit: nothing left")

	_, ok = cgroupLeft(write("self-v1", "12:memory:/job\n"), root)
	assert.False(t, ok, "cgroup v1 is not read")

	if avail, ok := AvailableMemory(); ok {
		assert.Positive(t, avail)
	}
}
