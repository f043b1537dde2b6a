package trm_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/internal/trmtest"
	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/trm"
)

// FuzzDecodeConfig feeds arbitrary JSON to DecodeConfig (--config files,
// run folders' config.json, a checkpoint's "config" metadata) over a zero
// base and over real ones. It must never panic nor change the base; a
// decoded config must marshal (MarshalIndent), and one that validates must
// decode back from its JSON to an Equal config that still validates.
func FuzzDecodeConfig(f *testing.F) {
	bases := []trm.Config{{}, trmtest.TinyConfig(f, nn.VariantMLP)}
	files, err := filepath.Glob(filepath.Join("..", "checkpoints", "*.config.json"))
	require.NoError(f, err)
	require.NotEmpty(f, files)
	for _, path := range files {
		data, err := os.ReadFile(path)
		require.NoError(f, err)
		f.Add(data)
		// The shipped files give what differs from a preset: over the
		// tiny config they make complete bases.
		c, err := trm.DecodeConfig(data, bases[1])
		require.NoError(f, err, path)
		bases = append(bases, c)
	}
	for _, c := range bases[1:] {
		f.Add(c.MarshalIndent())
	}
	for _, s := range []string{
		``, `{}`, `null`, `[]`, `{} {}`, `{}x`, `{"L_cycles": 4, "lr": 0.0003}`,
		`{"task": "sudoku9"}`, `{"task_options": {}}`, `{"task_options": {"digits": "3"}}`, `{"task_options": {"": "x"}}`,
		`{"task_options": null}`, `{"task": "arith", "task_options": {"digits": "5"}}`,
		`{"hiden_size": 3}`, `{"hidden_size": "big"}`, `{"hidden_size": -1}`, `{"hidden_size": 9223372036854775808}`,
		`{"expansion": 1e400}`, `{"expansion": -0}`, `{"seed": 18446744073709551615}`, `{"seed": -1}`,
		`{"lr": 3.0000000000000004e-4}`, `{"variant": "mlp", "pos_encodings": "rope"}`, `{"HIDDEN_SIZE": 8}`,
		`{"ema_rate": 1}`, `{"optimizer": "sgd"}`, `{"act_continue": true}`, `{"num_heads": 0}`,
	} {
		f.Add([]byte(s))
	}
	before := make([][]byte, len(bases))
	for i, b := range bases {
		before[i] = b.MarshalIndent()
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for i, base := range bases {
			c, err := trm.DecodeConfig(data, base)
			require.True(t, bytes.Equal(before[i], base.MarshalIndent()), "DecodeConfig changed its base")
			if err != nil {
				continue
			}
			js := c.MarshalIndent() // panics if the config holds what JSON cannot
			if c.Validate() != nil {
				continue
			}
			back, err := trm.DecodeConfig(js, trm.Config{})
			require.NoError(t, err, "the JSON of a decoded config does not decode:\n%s", js)
			require.True(t, c.Equal(back), "the config changed in a JSON round trip:\n%s\n→\n%s", js, back.MarshalIndent())
			require.NoError(t, back.Validate())
		}
	})
}
