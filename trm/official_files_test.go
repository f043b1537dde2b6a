package trm

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/internal/readfile"
	"github.com/trm-go/trm/trm/safetensors"
	"github.com/trm-go/trm/trm/torchfile"
)

// TestImportRefusesConfigThatIsNotAFile: all_config.yaml is checked
// before it is read. Linked to /dev/zero it took 3.4 GB, then the process
// died out of memory (issue 29); now it, a folder and a file over 64 KiB
// (sparse: nothing to read) are refused at once, naming the file.
func TestImportRefusesConfigThatIsNotAFile(t *testing.T) {
	data, _ := readFixture(t, torchFixtures[0])
	setup := func(t *testing.T) (dir, ckpt string) {
		dir = t.TempDir()
		ckpt = filepath.Join(dir, "step_1")
		require.NoError(t, os.WriteFile(ckpt, data, 0o644))
		return dir, ckpt
	}
	t.Run("link to /dev/zero", func(t *testing.T) {
		if runtime.GOOS == "windows" {
			t.Skip("no /dev/zero")
		}
		dir, ckpt := setup(t)
		require.NoError(t, os.Symlink("/dev/zero", filepath.Join(dir, OfficialConfigName)))
		var err error
		n := allocated(func() { _, err = ImportTorch(ckpt, ImportOptions{}) })
		require.ErrorIs(t, err, readfile.ErrNotRegular)
		require.ErrorContains(t, err, filepath.Join(dir, OfficialConfigName)+": it is a device")
		require.Less(t, n, uint64(100<<20))
	})
	t.Run("folder", func(t *testing.T) {
		dir, ckpt := setup(t)
		require.NoError(t, os.Mkdir(filepath.Join(dir, OfficialConfigName), 0o755))
		_, err := ImportTorch(ckpt, ImportOptions{})
		require.ErrorIs(t, err, readfile.ErrNotRegular)
	})
	t.Run("1 TB", func(t *testing.T) {
		dir, ckpt := setup(t)
		f, err := os.Create(filepath.Join(dir, OfficialConfigName))
		require.NoError(t, err)
		require.NoError(t, f.Truncate(1<<40))
		require.NoError(t, f.Close())
		n := allocated(func() { _, err = ImportTorch(ckpt, ImportOptions{}) })
		require.ErrorIs(t, err, readfile.ErrTooLarge)
		require.ErrorContains(t, err, "1099511627776 bytes, more than the 65536 allowed")
		require.Less(t, n, uint64(100<<20))
	})
	t.Run("config in memory", func(t *testing.T) {
		// YAML of the most bytes allowed, in its costliest form: a flow
		// list of one-digit numbers.
		y := "a: [" + strings.Repeat("1,", (maxConfigSize-6)/2) + "1]"
		require.Len(t, y, maxConfigSize)
		var err error
		n := allocated(func() { _, err = DecodeTorch(data, "step_1", []byte(y), "all_config.yaml", ImportOptions{}) })
		require.ErrorContains(t, err, "missing arch.hidden_size")
		require.Less(t, n, uint64(20<<20))
		_, err = DecodeTorch(data, "step_1", []byte(y+" "), "all_config.yaml", ImportOptions{})
		require.ErrorContains(t, err, "65537 bytes, want at most 65536")
	})
	t.Run("checkpoint linked to /dev/zero", func(t *testing.T) {
		if runtime.GOOS == "windows" {
			t.Skip("no /dev/zero")
		}
		dir := t.TempDir()
		require.NoError(t, os.Symlink("/dev/zero", filepath.Join(dir, "step_1")))
		_, err := ImportTorch(filepath.Join(dir, "step_1"), ImportOptions{})
		require.ErrorIs(t, err, readfile.ErrNotRegular)
	})
}

// allocated returns the bytes f allocates (the growth of TotalAlloc).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestImportConfigTypeErrors: a config value of the wrong type is refused
// in one line naming the field, its line and what it wants; the YAML
// decoder's own message is a line per value and names the Go type, for
// the arch section a whole struct.
func TestImportConfigTypeErrors(t *testing.T) {
	data, yml := readFixture(t, torchFixtures[0])
	y := string(yml)
	lineOf := func(s, key string) int { return strings.Count(s[:strings.Index(s, key)], "\n") + 1 }
	cases := []struct {
		name, yml, want string
	}{
		{"arch a list", "arch: [1, 2]\n", "config \"all_config.yaml\": arch (line 1) is a list, want a mapping"},
		{"hidden_size a string", strings.Replace(y, "hidden_size: 16", "hidden_size: sixteen", 1),
			fmt.Sprintf(`arch.hidden_size (line %d) is a string "sixteen", want a whole number`, lineOf(y, "hidden_size: 16"))},
		{"long string", strings.Replace(y, "hidden_size: 16", "hidden_size: "+strings.Repeat("x", 1<<10), 1),
			fmt.Sprintf(`arch.hidden_size (line %d) is a string "xxxxxxx...", want a whole number`, lineOf(y, "hidden_size: 16"))},
		{"mlp_t a number", strings.Replace(y, "mlp_t: false", "mlp_t: 3", 1),
			fmt.Sprintf(`arch.mlp_t (line %d) is a whole number "3", want true or false`, lineOf(y, "mlp_t: false"))},
		{"expansion a mapping", strings.Replace(y, "expansion: 4", "expansion: {a: 1}", 1),
			fmt.Sprintf(`arch.expansion (line %d) is a mapping, want a number`, lineOf(y, "expansion: 4"))},
		{"data_paths a mapping", strings.Replace(y, "data_paths:\n- data/sudoku4-tiny-aug-10", "data_paths: {a: 1}", 1),
			fmt.Sprintf("data_paths (line %d) is a mapping, want a list", lineOf(y, "data_paths:"))},
		{"loss a number", "arch: {loss: 3}", "arch.loss (line 1) is a whole number \"3\", want a mapping"},
		{"several", "arch: {hidden_size: x, num_heads: y, H_cycles: z}", `arch.hidden_size (line 1) is a string "x", want a whole number (and 2 more wrongly typed values)`},
		{"in a list", "data_paths: [[1]]", "data_paths[0] (line 1) is a list, want a string"},
		{"trm section", "trm: [1]", "trm (line 1) is a list, want a mapping"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeTorch(data, "step_1", []byte(tc.yml), "all_config.yaml", ImportOptions{})
			require.Error(t, err)
			msg := err.Error()
			require.NotContains(t, msg, "\n")
			require.NotContains(t, msg, "struct")
			require.Less(t, len(msg), 400)
			require.Contains(t, msg, tc.want)
		})
	}
	// Still one line: a syntax error, a key given twice, puzzle_emb_ndim
	// of a wrong type.
	for _, tc := range []struct{ yml, want string }{
		{"arch: [", "not a valid YAML config: yaml: line 1:"},
		{y + "arch: {}\n", `mapping key "arch" already defined`},
		{strings.Replace(y, "puzzle_emb_ndim: 16", "puzzle_emb_ndim: ["+strings.Repeat("1, ", 1000)+"1]", 1), "arch.puzzle_emb_ndim a list of 1001 items, want a whole number"},
	} {
		_, err := DecodeTorch(data, "step_1", []byte(tc.yml), "all_config.yaml", ImportOptions{})
		require.ErrorContains(t, err, tc.want)
		require.NotContains(t, err.Error(), "\n")
		require.Less(t, len(err.Error()), 400)
	}
}

// TestImportErrorsInOneLine: many problems with the tensors are one line:
// the first three, then how many more.
func TestImportErrorsInOneLine(t *testing.T) {
	data, yml := readFixture(t, torchFixtures[0])
	sd, err := torchfile.Decode(data, "x")
	require.NoError(t, err)
	for i := range 100 {
		name := fmt.Sprintf("%sinner.extra%03d", PrefixCompiled, i)
		sd.Names = append(sd.Names, name)
		sd.Tensors[name] = safetensors.FromFloat32([]int{1}, []float32{1})
	}
	var buf strings.Builder
	require.NoError(t, torchfile.Encode(&buf, "step_1", sd))
	_, err = DecodeTorch([]byte(buf.String()), "step_1", yml, "all_config.yaml", ImportOptions{})
	require.Error(t, err)
	require.NotContains(t, err.Error(), "\n")
	require.ErrorContains(t, err, `tensor "inner.extra000" is not part of this config's model; tensor "inner.extra001"`)
	require.ErrorContains(t, err, "; and 97 more")
}
