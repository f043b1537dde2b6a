package train

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/trm"
)

// withMemory makes NewTrainer see avail bytes (ok false: unknown) for the
// rest of the test.
func withMemory(t *testing.T, avail int64, ok bool) {
	prev := availableMemory
	availableMemory = func() (int64, bool) { return avail, ok }
	t.Cleanup(func() { availableMemory = prev })
}

func TestNewTrainerRefusesWhatDoesNotFit(t *testing.T) {
	cfg := DefaultConfig()
	cfg.BatchSize = 100_000
	cfg.MicroBatch = cfg.BatchSize // one pass (0 would pick passes that fit)
	withMemory(t, 20_000_000_000, true)
	_, err := NewTrainer(cfg, "")
	require.Error(t, err)
	assert.Regexp(t, `^config: a training step at global_batch_size 100000 needs about [0-9.]+ GB, 20 GB available: set micro_batch to at most [0-9]+ \(the batch runs in passes of that many samples, the same update\) or lower global_batch_size \(about [0-9]+ fits\)$`, err.Error())

	// The micro_batch it names fits, one more does not.
	var micro int
	_, err = fmt.Sscanf(err.Error()[strings.Index(err.Error(), "at most "):], "at most %d", &micro)
	require.NoError(t, err)
	cfg.MicroBatch = micro
	_, err = NewTrainer(cfg, "")
	require.NoError(t, err)
	cfg.MicroBatch = micro + 1
	_, err = NewTrainer(cfg, "")
	require.Error(t, err)
	cfg.MicroBatch = 0

	// What the estimate says fits is built.
	cfg.BatchSize = 8
	_, err = NewTrainer(cfg, "")
	require.NoError(t, err)

	// A model too large for any batch names its sizes.
	big := DefaultConfig()
	big.HiddenSize, big.NumHeads = 1<<14, 64
	_, err = NewTrainer(big, "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "for this model's weights")
	assert.Contains(t, err.Error(), "lower hidden_size, expansion or L_layers")

	// Unknown memory: no check.
	withMemory(t, 0, false)
	cfg.BatchSize = 100_000
	cfg.HiddenSize, cfg.NumHeads = 8, 2
	cfg.SeqLen = 1 // refused by the task, not by memory
	_, err = NewTrainer(cfg, "")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "available")
}

// arenaBytes returns the peak of a tape's arena (nn keeps it unexported;
// ok false if that ever changes).
func arenaBytes(tp *nn.Tape) (int64, bool) {
	f := reflect.ValueOf(tp).Elem().FieldByName("arena")
	if !f.IsValid() {
		return 0, false
	}
	p := f.FieldByName("peak")
	if !p.IsValid() || !p.CanInt() {
		return 0, false
	}
	return p.Int() * 4, true
}

// The activation estimate is honest: it is at least the tape's real peak
// (plus the arena's spare eighth), and not much more, for both variants
// with and without gradients.
func TestActivationEstimateMatchesTheTape(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a few training steps")
	}
	withMemory(t, 0, false)
	type tc struct {
		name string
		edit func(c *trm.Config)
	}
	for _, c := range []tc{
		{"attn-rope", func(c *trm.Config) {}},
		{"attn-puzzle-learned", func(c *trm.Config) {
			c.PosEncodings, c.PuzzleEmbNdim, c.PuzzleEmbLen, c.PuzzleEmbLR = trm.PosLearned, 96, 2, 1e-3
		}},
		{"mlp", func(c *trm.Config) { c.Variant, c.PosEncodings = nn.VariantMLP, trm.PosNone }},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.BatchSize = 16
			c.edit(&cfg)
			tr, err := NewTrainer(cfg, "")
			require.NoError(t, err)
			require.NoError(t, tr.Step())
			peak, ok := arenaBytes(tr.tape)
			if !ok {
				t.Skip("nn.Tape's arena peak is not readable")
			}
			// The estimate counts the carry (outside the tape) and the
			// spare eighth; compare like with like.
			est := float64(cfg.ActivationBytes(cfg.BatchSize, true))
			ratio := est / (1.125 * float64(peak))
			t.Logf("training: tape peak %d B, estimate %.0f B, ratio %.3f", peak, est, ratio)
			assert.GreaterOrEqual(t, ratio, 1.0, "the estimate must not undercount")
			assert.LessOrEqual(t, ratio, 1.3, "the estimate must not overcount much")

			// Inference: one supervision step without gradients.
			tp := nn.NewTape()
			tp.SetNoGrad(true)
			y, z := tr.Model.NewCarry(cfg.BatchSize)
			x := tr.Model.Input(tp, make([]int32, cfg.BatchSize*cfg.SeqLen), make([]int32, cfg.BatchSize))
			tr.Model.Step(tp, x, tp.Const(y), tp.Const(z))
			peak, _ = arenaBytes(tp)
			est = float64(cfg.ActivationBytes(cfg.BatchSize, false))
			ratio = est / (1.125 * float64(peak))
			t.Logf("inference: tape peak %d B, estimate %.0f B, ratio %.3f", peak, est, ratio)
			assert.GreaterOrEqual(t, ratio, 1.0)
			assert.LessOrEqual(t, ratio, 1.3)
		})
	}
}
