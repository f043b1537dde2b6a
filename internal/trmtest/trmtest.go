// Package trmtest holds the fixtures the tests of the trm packages share:
// tiny model configs and checkpoints with recognisable values (puzzle CSV
// files are package puzzletest's). Only tests import it.
package trmtest

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/checkpoints"
	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/task"
)

// TinyConfig is a model of a few thousand parameters on 1-digit sums
// (hidden 16, T = 2, n = 2, N_sup = 3, batch 16, 20 AdamW steps) that
// trains in well under a second.
func TinyConfig(tb testing.TB, variant nn.Variant) trm.Config {
	tb.Helper()
	t, err := task.New("arith", task.Options{"digits": "1"})
	require.NoError(tb, err)
	c := trm.Config{
		ModelConfig: trm.ModelConfig{
			HiddenSize: 16, NumHeads: 2, Expansion: 2, LLayers: 2,
			HCycles: 2, LCycles: 2, HaltMaxSteps: 3,
			Variant: variant, PosEncodings: trm.PosRoPE, RopeTheta: 10000, RMSNormEps: 1e-5,
		},
		TrainConfig: trm.TrainConfig{
			HaltExplorationProb: 0.5, HaltLossWeight: 0.5,
			Optimizer: nn.OptAdamW, LR: 3e-3, LRWarmupSteps: 10, WeightDecay: 0.01,
			Beta1: 0.9, Beta2: 0.95, AdamEps: 1e-8, EMARate: 0.9, BatchSize: 16,
			TrainSteps: 20, LogInterval: 5,
		},
	}
	c.SetTask(t)
	if variant == nn.VariantMLP {
		c.PosEncodings = trm.PosNone
	}
	require.NoError(tb, c.Validate())
	return c
}

// FakeCheckpoint fills every tensor of cfg with values derived from its
// name's index and the position, so that any mix-up between tensors shows.
func FakeCheckpoint(cfg trm.Config, step int64) *trm.Checkpoint {
	ck := &trm.Checkpoint{Config: cfg, Step: step, Tensors: map[string][]float32{}}
	for k, s := range cfg.TensorSpecs() {
		v := make([]float32, s.Size())
		for i := range v {
			v[i] = float32(k) + float32(i)/float32(len(v)+1)
		}
		ck.Tensors[s.Name] = v
	}
	return ck
}

// PostSums sends n requests at once to the native predict API of the
// arith model of the server at base (e.g. "http://127.0.0.1:8080"), the
// i-th asking for i + add with full halting, and returns once all are
// answered: every one must be a 200 with the right sum. what names the
// requests in failures.
func PostSums(t *testing.T, base string, n, add int, what string) {
	t.Helper()
	codes := make(chan int, n)
	for i := range n {
		go func() {
			client := &http.Client{Timeout: 2 * time.Minute}
			resp, err := client.Post(base+"/v1/models/arith/predict", "application/json",
				strings.NewReader(fmt.Sprintf(`{"inputs": ["%d + %d"], "halt": "full"}`, i, add)))
			if err != nil {
				t.Errorf("%s %d: %v", what, i, err)
				codes <- -1
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				assert.Contains(t, string(body), fmt.Sprintf(`"answer":"%d"`, i+add))
			}
			codes <- resp.StatusCode
		}()
	}
	for range n {
		assert.Equal(t, http.StatusOK, <-codes, "%s is answered", what)
	}
}

// SwapCheckpoints writes into dir two checkpoints of the same layout and
// size: a.safetensors, the shipped arith model, and b.safetensors, an
// untrained model of the same config at the same step (seed 7). Both carry
// 16 MiB of padding metadata, so that a reader that maps large files (the
// memory-mapped reader of issue 29 mapped them from 16 MiB) maps them, and
// b's bytes land where a's tensors were: copying b over a is the test of a
// loaded model outliving its file.
func SwapCheckpoints(t *testing.T, dir string) (a, b string) {
	t.Helper()
	data, ok := checkpoints.Lookup("arith")
	require.True(t, ok)
	cka, err := trm.DecodeCheckpoint(data, checkpoints.Prefix+"arith")
	require.NoError(t, err)
	meta := maps.Clone(cka.Meta)
	if meta == nil {
		meta = map[string]string{}
	}
	meta["pad"] = strings.Repeat(" ", 16<<20)
	cka.Meta = meta
	m, err := trm.NewModel(cka.Config.ModelConfig, 7)
	require.NoError(t, err)
	ckb := m.Checkpoint(cka.Step)
	ckb.Config, ckb.Meta = cka.Config, meta
	a, b = filepath.Join(dir, "a.safetensors"), filepath.Join(dir, "b.safetensors")
	require.NoError(t, trm.SaveCheckpoint(a, cka))
	require.NoError(t, trm.SaveCheckpoint(b, ckb))
	sa, err := os.Stat(a)
	require.NoError(t, err)
	sb, err := os.Stat(b)
	require.NoError(t, err)
	require.Equal(t, sa.Size(), sb.Size(), "the same layout")
	return a, b
}
