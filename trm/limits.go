package trm

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/trm-go/trm/nn"
)

// The largest values Validate accepts. They are far above every published
// TRM recipe (hidden 512, seq_len 900 for 30×30 mazes, about 1e6 puzzle
// ids for augmented ARC, batch 768, T = 3, n = 6, N_sup = 16) and far below
// the sizes at which a product of two of them overflows or a single tensor
// could not be allocated; whether a config that stays within them fits in
// this machine's memory is what CheckMemory answers.
const (
	// MaxVocabSize bounds vocab_size (2^20, four times a large language
	// model's vocabulary).
	MaxVocabSize = 1 << 20
	// MaxSeqLen bounds seq_len L (2^16: a 256×256 grid; a 30×30 maze is
	// 900).
	MaxSeqLen = 1 << 16
	// MaxPuzzleIdentifiers bounds num_puzzle_identifiers (2^24, 16 times
	// the ~1e6 ids of augmented ARC).
	MaxPuzzleIdentifiers = 1 << 24
	// MaxHiddenSize bounds hidden_size (2^16, 128 times the official 512).
	MaxHiddenSize = 1 << 16
	// MaxNumHeads bounds num_heads (1024; the official 8).
	MaxNumHeads = 1 << 10
	// MaxExpansion bounds expansion (64; the official 4).
	MaxExpansion = 64
	// MaxLayers bounds L_layers (256; the official 2).
	MaxLayers = 256
	// MaxCycles bounds L_cycles (n) and H_cycles (T) (64 each; the
	// official 6 and 3). Every supervision step runs T·(n+1) network
	// calls, so the bound also bounds the time of a step.
	MaxCycles = 64
	// MaxHaltSteps bounds halt_max_steps (N_sup) and the supervision steps
	// of an evaluation (1024; the official 16).
	MaxHaltSteps = 1 << 10
	// MaxPuzzleEmbNdim bounds puzzle_emb_ndim (2^20; the official 512).
	MaxPuzzleEmbNdim = 1 << 20
	// MaxPuzzleEmbLen bounds the prefix length P, whether given as
	// puzzle_emb_len or derived as ceil(puzzle_emb_ndim / hidden_size)
	// (1024; the official 16).
	MaxPuzzleEmbLen = 1 << 10
	// MaxBatchSize bounds global_batch_size and the batch of evaluation
	// and inference (2^20; the official 768).
	MaxBatchSize = 1 << 20
	// MaxSteps bounds train_steps, lr_warmup_steps and the log, eval and
	// checkpoint intervals (1e9 optimizer steps; the official runs take
	// about 1e5).
	MaxSteps = 1_000_000_000
)

// atMost complains when x > hi.
func (v *validator) atMost(name string, x, hi int) {
	if x > hi {
		v.bad("%s %d, want ≤ %d", name, x, hi)
	}
}

// between complains unless lo ≤ x ≤ hi, naming the bound that is crossed.
func (v *validator) between(name string, x, lo, hi int) {
	v.atLeast(name, x, lo)
	v.atMost(name, x, hi)
}

// Bytes per stored value: every tensor is float32.
const floatBytes = 4

// arenaSlack is the room a tape's arena holds beyond its peak: it grows in
// chunks of at least an eighth of what it holds (nn/arena.go), so the last
// chunk's unused end is at most an eighth; the tails it skips at chunk ends
// are not counted (1.11× the peak in all on the 9×9 Sudoku recipe, and what
// is never written there is not resident).
const arenaSlack = 1.125

// paramFloats returns the number of values of every tensor of the model
// (TensorSpecs), dense is those the main optimizer trains, trained those
// the EMA averages (dense and the puzzle embedding). The sums are in
// float64, so that no product of sizes can overflow. c must be valid.
func (c ModelConfig) paramFloats() (all, dense, trained float64) {
	for _, s := range c.TensorSpecs() {
		n := 1.0
		for _, d := range s.Shape {
			n *= float64(d)
		}
		all += n
		switch s.Kind {
		case KindDense:
			dense += n
			trained += n
		case KindSparse:
			trained += n
		}
	}
	return all, dense, trained
}

// WeightBytes estimates the memory of the model's tensors: each parameter's
// value and its gradient buffer (which every parameter has, also in
// inference), and when training the Adam moments m and v of the dense
// parameters, the EMA copy of the trained ones, one more copy of every
// tensor for the checkpoint being written and one of the dense ones packed
// for a step's products. c must be valid (Validate); the
// result saturates at math.MaxInt64.
func (c ModelConfig) WeightBytes(training bool) int64 {
	return toBytes(c.weightFloats(training))
}

func (c ModelConfig) weightFloats(training bool) float64 {
	all, dense, trained := c.paramFloats()
	n := 2 * all // value and gradient
	if training {
		// Adam m and v, EMA, checkpoint copy, and the weights packed for
		// a step's products (nn.Tape.FreezeWeights)
		n += 2*dense + trained + all + dense
	}
	return n
}

// ActivationBytes estimates the memory of the activations of one
// supervision step of batch samples: everything the tape holds at its
// peak. That is the recorded cycle, n+1 calls of the network on
// [batch, L+P, hidden] (the no-gradient cycles before it reuse its
// storage), each block's projections, the SwiGLU's [.., Inter] hidden
// layer, the attention's rotated queries and keys and its scores
// [batch, heads, L+P, L+P] (attention variant) or the sequence MLP over
// [batch, hidden, L+P] (MLP variant); the input embedding, the carry
// (y, z) and the logits [batch, L, vocab]. Training adds the gradients
// in flight in the backward pass (a fifth of the activations). The arena's spare eighth is
// included (the estimate is within a few percent of the tape's measured
// peak, see TestActivationEstimateMatchesTheTape in trm/train); not
// included is what the Go collector lets the heap grow by (GOGC) beyond
// the live arena. The arena is allocated during the first step, in chunks
// the tape keeps for its life: later steps add nothing, except a step that
// needs more (a larger batch), which adds chunks for the difference only.
// c must be valid (Validate); the result saturates at math.MaxInt64.
func (c ModelConfig) ActivationBytes(batch int, training bool) int64 {
	return toBytes(float64(max(batch, 0)) * c.sampleActivationFloats(training))
}

// sampleActivationFloats returns the activations of one sample (see
// ActivationBytes), in float64.
func (c ModelConfig) sampleActivationFloats(training bool) float64 {
	S, L := float64(c.SeqTotal()), float64(c.SeqLen)
	D, V, H := float64(c.HiddenSize), float64(c.VocabSize), float64(c.NumHeads)
	I := float64(c.Inter(c.HiddenSize))
	// Per position of a block: the channel SwiGLU (gate_up 2I, down,
	// residual add, RMSNorm; silu·up is not kept, nn.Tape.SwiGLULinear)
	// and the mixer.
	var block, act float64
	switch c.Variant {
	case nn.VariantMLP:
		IS := float64(c.Inter(c.SeqTotal()))
		// The sequence SwiGLU over the L+P axis (gate_up 2·IS, down, on
		// every hidden column; its silu·up is not kept either), its
		// normalised sum and 1/rms per column; then the channel MLP. Below
		// nn.MixerColumns' size, on a transposed copy of h, and transposed
		// back: 3·S·D more.
		block = 2*S*D + 2*D*IS + D + S*(3*D+2*I+2)
		if !nn.MixerColumns(c.HiddenSize) {
			block += 3 * S * D
		}
		act = max(S*I, D*IS)
	default:
		// qkv 3D, rotated q and k 2D, attention output, o_proj, add,
		// RMSNorm; scores H·S per position; then the channel MLP.
		block = S*(9*D+H*S+1) + S*(3*D+2*I+1)
		act = S * I
	}
	call := float64(c.LLayers)*block + 2*S*D // + the two injection adds
	cycle := float64(c.LCycles+1) * call     // the recorded cycle
	switch {
	case !training:
		cycle = call // inference frees every net call's activations (Model.Step on a no-gradient tape)
	case c.OneStepGrad:
		cycle = 2 * call // the last latent update and the answer update
	}
	input := 4*S*D + 2*S*D // embeddings, prefix, scale; the no-grad cycles' y, z
	if c.PosEncodings == PosLearned {
		input += 2 * S * D
	}
	heads := L*D + 2*L*V                // the answer positions of y, logits, loss
	tape := cycle + input + heads + act // + the one silu·up in flight
	if training {
		// The gradients: the backward pass frees each op's output gradient
		// once the op's step has run and reuses it for the next, so only
		// those in flight are held beside the activations. A fifth of the
		// activations is counted for them: the estimate is then 1.03–1.22×
		// the measured peak (TestActivationEstimateMatchesTheTape), 1.20 and
		// 1.28× for the official TRM-MLP and TRM-Att at batch 8.
		tape *= 1.2
	}
	return arenaSlack*tape + c.carryFloats() // + the carry (y, z) outside the tape
}

// toBytes converts a count of float32 values to bytes, saturating.
func toBytes(floats float64) int64 {
	b := floats * floatBytes
	if !(b < math.MaxInt64) { // also NaN
		return math.MaxInt64
	}
	return int64(math.Ceil(b))
}

// MemoryCheck describes a run for ModelConfig.CheckMemory.
type MemoryCheck struct {
	// Batch is the number of samples run together.
	Batch int
	// BatchField names what sets Batch, for the error: a config field
	// ("global_batch_size") or a flag ("--batch").
	BatchField string
	// Training counts gradients, optimizer state and EMA (see WeightBytes
	// and ActivationBytes); otherwise inference.
	Training bool
	// Eval adds, to a training run, the evaluation passes (at Pass, or
	// Batch) that run on a second tape beside the training one.
	Eval bool
	// Loaded says the weights are in memory already (they are part of
	// what is used, not of what is available): only the activations are
	// counted.
	Loaded bool
	// Pass is, for training, the number of samples of one forward and
	// backward pass (TrainConfig.MicroBatch): the tape holds the
	// activations of Pass samples while the carry of all Batch samples
	// stays beside it. 0, or a value ≥ Batch, means one pass of Batch.
	Pass int
	// Runners is, for training in passes, how many passes run at once
	// (data-parallel, train.Trainer): each on a tape of its own, with its
	// own copy of the trained parameters' gradients. 0 means 1.
	Runners int
}

// MemoryEstimate returns what CheckMemory compares with the available
// memory: the weights (0 when Loaded) and the activations of run, in bytes.
// c must be valid.
func (c ModelConfig) MemoryEstimate(run MemoryCheck) (weights, activations int64) {
	w, a := c.memoryFloats(run, max(run.Batch, 0))
	return toBytes(w), toBytes(a)
}

func (c ModelConfig) memoryFloats(run MemoryCheck, batch int) (weights, activations float64) {
	if !run.Loaded {
		weights = c.weightFloats(run.Training)
	}
	pass, tapes := batch, 1
	if run.Training && run.Pass > 0 && run.Pass < batch {
		pass = run.Pass
		tapes = min(max(run.Runners, 1), (batch+pass-1)/pass)
	}
	perSample := c.sampleActivationFloats(run.Training)
	live := min(tapes*pass, batch) // samples on the tapes at once
	activations = float64(live)*perSample + float64(batch-live)*c.carryFloats()
	if pass < batch {
		// Every pass's tape keeps the gradients of the trained parameters,
		// and packs the weights (one pack is in weightFloats).
		_, dense, trained := c.paramFloats()
		activations += float64(tapes)*trained + float64(tapes-1)*dense
	}
	if run.Training && run.Eval {
		activations += float64(pass) * c.sampleActivationFloats(false)
	}
	return weights, activations
}

// carryFloats returns the carry (y, z) of one sample, which a training
// step keeps for every sample of the batch whatever its passes.
func (c ModelConfig) carryFloats() float64 {
	return 2 * float64(c.SeqTotal()) * float64(c.HiddenSize)
}

// CheckMemory validates c and compares the memory estimate of run
// (MemoryEstimate) with available bytes. When it does not fit, the error
// gives the estimate, the available memory and what to lower: the batch
// (with the largest batch that fits) or, when not even one sample fits,
// the model's sizes. available ≤ 0 skips the comparison (unknown).
func (c ModelConfig) CheckMemory(run MemoryCheck, available int64) error {
	if err := c.Validate(); err != nil {
		return err
	}
	prefix := "config: " // a config field; a flag ("--batch") speaks for itself
	if strings.HasPrefix(run.BatchField, "-") {
		prefix = ""
	}
	if run.Batch < 1 {
		return fmt.Errorf("%s%s %d, want ≥ 1", prefix, run.BatchField, run.Batch)
	}
	if available <= 0 {
		return nil
	}
	w, a := c.memoryFloats(run, run.Batch)
	need := (w + a) * floatBytes
	avail := float64(available)
	if need <= avail {
		return nil
	}
	what := "inference"
	if run.Training {
		what = "a training step"
	}
	_, one := c.memoryFloats(run, 1)
	fitBatch := math.Floor((avail - w*floatBytes) / (one * floatBytes)) // the batch that fits
	if run.Training {
		// Keep the batch and split it into passes: the carry stays at the
		// whole batch, the tapes (training and evaluation) shrink to a pass,
		// and each of the passes run at once keeps its own gradients.
		R := float64(max(run.Runners, 1))
		_, _, trained := c.paramFloats()
		fixed := w + float64(run.Batch)*c.carryFloats() + R*trained
		per := R * (c.sampleActivationFloats(true) - c.carryFloats())
		if run.Eval {
			per += c.sampleActivationFloats(false)
		}
		if fit := math.Floor((avail/floatBytes - fixed) / per); fit >= 1 && fit < float64(run.Batch) {
			return memoryErrorf("%s%s at %s %d needs about %s, %s available: set micro_batch to at most %.0f (the batch runs in passes of that many samples, the same update) or lower %s (about %.0f fits)",
				prefix, what, run.BatchField, run.Batch, FormatBytes(need), FormatBytes(avail), fit, run.BatchField, fitBatch)
		}
	}
	if fitBatch >= 1 {
		return memoryErrorf("%s%s at %s %d needs about %s, %s available: lower %s (about %.0f fits)",
			prefix, what, run.BatchField, run.Batch, FormatBytes(need), FormatBytes(avail), run.BatchField, fitBatch)
	}
	if run.Loaded {
		return memoryErrorf("%s%s needs about %s for one sample of this model, %s available: the model's seq_len %d and hidden_size %d are too large for this machine",
			prefix, what, FormatBytes(one*floatBytes), FormatBytes(avail), c.SeqLen, c.HiddenSize)
	}
	return memoryErrorf("config: %s needs about %s for this model's weights and %s for one sample, %s available: lower %s",
		what, FormatBytes(w*floatBytes), FormatBytes(one*floatBytes), FormatBytes(avail), c.largestPart(run.Training))
}

// MemoryError is CheckMemory's refusal: the run would need more memory
// than is available. Its message gives the estimate, the memory available
// and what to lower.
type MemoryError struct{ msg string }

func (e *MemoryError) Error() string { return e.msg }

func memoryErrorf(format string, args ...any) error {
	return &MemoryError{fmt.Sprintf(format, args...)}
}

// largestPart names the config fields that size the largest part of the
// memory of one sample of c: its weights or its activations.
func (c ModelConfig) largestPart(training bool) string {
	S, D, V := float64(c.SeqTotal()), float64(c.HiddenSize), float64(c.VocabSize)
	layers := float64(c.LLayers)
	parts := []struct {
		fields string
		floats float64
	}{
		{"vocab_size or hidden_size", 2 * V * D},
		{"hidden_size, expansion or L_layers", layers * (4*D*D + 3*D*float64(c.Inter(c.HiddenSize)))},
		{"seq_len, hidden_size or L_cycles", c.sampleActivationFloats(training)},
	}
	if c.PuzzleEmbNdim > 0 {
		parts = append(parts, struct {
			fields string
			floats float64
		}{"num_puzzle_identifiers or puzzle_emb_ndim", float64(c.NumPuzzleIdentifiers) * float64(c.PuzzleEmbNdim)})
	}
	if c.Variant == nn.VariantMLP {
		parts = append(parts, struct {
			fields string
			floats float64
		}{"seq_len or L_layers", layers * 3 * S * float64(c.Inter(c.SeqTotal()))})
	}
	best := parts[0]
	for _, p := range parts[1:] {
		if p.floats > best.floats {
			best = p
		}
	}
	return best.fields
}

// FormatBytes renders a byte count in decimal units: "512 B", "3.4 MB",
// "1.2 TB".
func FormatBytes(b float64) string {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB", "EB"}
	i := 0
	for b >= 999.5 && i < len(units)-1 {
		b /= 1000
		i++
	}
	if i == 0 || b >= 9.95 {
		return strconv.FormatFloat(b, 'f', 0, 64) + " " + units[i]
	}
	return strconv.FormatFloat(b, 'f', 1, 64) + " " + units[i]
}

// AvailableMemory returns the memory this process can still allocate, in
// bytes, and whether it is known. On Linux it is MemAvailable of
// /proc/meminfo, lowered to what the process's cgroup (v2) limit leaves;
// elsewhere it is unknown (ok false).
func AvailableMemory() (bytes int64, ok bool) {
	if runtime.GOOS != "linux" {
		return 0, false
	}
	avail, ok := memAvailable("/proc/meminfo")
	if !ok {
		return 0, false
	}
	if left, ok := cgroupLeft("/proc/self/cgroup", "/sys/fs/cgroup"); ok && left < avail {
		avail = left
	}
	return avail, true
}

// memAvailable reads MemAvailable (in kB) from a meminfo file.
func memAvailable(path string) (int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, found := strings.CutPrefix(sc.Text(), "MemAvailable:")
		if !found {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		if err != nil || kb < 0 || kb > math.MaxInt64/1024 {
			return 0, false
		}
		return kb * 1024, true
	}
	return 0, false
}

// cgroupLeft returns what the memory limit of the process's cgroup (v2)
// leaves, memory.max − (memory.current − the page cache), or false when
// there is no such limit. selfCgroup is /proc/self/cgroup, root the cgroup2
// mount.
func cgroupLeft(selfCgroup, root string) (int64, bool) {
	data, err := os.ReadFile(selfCgroup)
	if err != nil {
		return 0, false
	}
	dir := ""
	for line := range strings.SplitSeq(string(data), "\n") {
		if p, found := strings.CutPrefix(line, "0::"); found {
			dir = strings.TrimSpace(p)
		}
	}
	if dir == "" {
		return 0, false
	}
	// Inside a container the process's own cgroup is the mount's root.
	for _, d := range []string{root + dir, root} {
		b, err := os.ReadFile(d + "/memory.max")
		if err != nil {
			continue
		}
		s := string(bytes.TrimSpace(b))
		if s == "max" {
			return 0, false
		}
		limit, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, false
		}
		b, err = os.ReadFile(d + "/memory.current")
		if err != nil {
			return 0, false
		}
		used, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
		if err != nil {
			return 0, false
		}
		// The page cache counts in memory.current but is given back under
		// pressure (MemAvailable counts it as available too).
		if b, err := os.ReadFile(d + "/memory.stat"); err == nil {
			for line := range strings.SplitSeq(string(b), "\n") {
				if v, found := strings.CutPrefix(line, "file "); found {
					if file, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
						used -= file
					}
				}
			}
		}
		return max(limit-max(used, 0), 0), true
	}
	return 0, false
}
