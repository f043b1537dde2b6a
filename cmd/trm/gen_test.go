package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// genRefuses runs gen with --out path and checks that it is refused as a
// usage error naming the path and kind, and that path is left as it was.
func genRefuses(t *testing.T, path, kind string) {
	t.Helper()
	before, err := os.Lstat(path)
	require.NoError(t, err)
	code, out, errOut := trmRun("gen", "--n", "3", "--out", path)
	assert.Equal(t, exitUsage, code, errOut)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "trm gen: --out "+path+" is "+kind+", not a regular file; trm gen writes regular files only")
	after, err := os.Lstat(path)
	require.NoError(t, err)
	assert.Equal(t, before.Mode(), after.Mode(), "%s keeps its type", path)
	assert.True(t, os.SameFile(before, after), "%s was not replaced", path)
}

func TestGenOutMustBeRegularFile(t *testing.T) {
	dir := t.TempDir()
	genRefuses(t, dir, "a directory")

	target := filepath.Join(dir, "target.jsonl")
	require.NoError(t, os.WriteFile(target, []byte("keep\n"), 0o644))
	link := filepath.Join(dir, "link.jsonl")
	if err := os.Symlink(target, link); err == nil {
		genRefuses(t, link, "a symbolic link")
		got, err := os.ReadFile(target)
		require.NoError(t, err)
		assert.Equal(t, "keep\n", string(got), "nothing is written through the link")
	} else {
		t.Logf("no symbolic links here: %v", err)
	}

	for _, dev := range []string{"/dev/full", "/dev/null"} {
		if st, err := os.Lstat(dev); err == nil && st.Mode()&os.ModeDevice != 0 {
			genRefuses(t, dev, "a device")
		}
	}

	// A regular file is replaced, and - is still stdout.
	code, _, errOut := trmRun("gen", "--n", "3", "--out", target)
	require.Equal(t, 0, code, errOut)
	code, out, errOut := trmRun("gen", "--n", "3", "--out", "-")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, `"format":"trm-dataset/v1"`)
}

func TestGenReportsInputErrorsFirst(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "x.jsonl")
	missing := filepath.Join(dir, "nonexistent.csv")
	bad := filepath.Join(dir, "bad.csv")
	require.NoError(t, os.WriteFile(bad, []byte("source,question,answer,rating\nx,123,456,0\n"), 0o644))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--task", "sudoku9", "--opt", "csv=" + missing}, `trm gen: task sudoku9: csv "` + missing + `": open ` + missing},
		{[]string{"--task", "sudoku9", "--opt", "csv=" + bad}, `trm gen: task sudoku9: csv "` + bad + `": line 2: question has 3 characters`},
		{[]string{"--task", "maze", "--opt", "test_csv=" + missing, "--split", "test"}, `trm gen: task maze: csv "` + missing + `": open ` + missing},
	} {
		for _, o := range []string{out, "-"} {
			args := append([]string{"gen", "--n", "2"}, tc.args...)
			code, stdout, errOut := trmRun(append(args, "--out", o)...)
			assert.Equal(t, exitFailure, code, errOut)
			assert.Empty(t, stdout, "nothing is written to stdout")
			assert.Contains(t, errOut, tc.want)
			assert.NotContains(t, errOut, "writing")
			assert.NoFileExists(t, out)
		}
	}
}
