package mmapfile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReadIsAPrivateCopy: the data is the file's content, is never mapped,
// and stays what was read when the file is rewritten or truncated.
func TestReadIsAPrivateCopy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	want := []byte("hello, private world")
	require.NoError(t, os.WriteFile(path, want, 0o644))
	data, mapped, err := Read(path)
	require.NoError(t, err)
	require.False(t, mapped)
	require.Equal(t, want, data)
	require.NoError(t, os.WriteFile(path, []byte("HELLO, CHANGED WORLD"), 0o644))
	require.NoError(t, os.Truncate(path, 0))
	require.Equal(t, want, data)
}

func TestReadErrors(t *testing.T) {
	_, _, err := Read(filepath.Join(t.TempDir(), "missing"))
	require.ErrorIs(t, err, os.ErrNotExist)
	_, _, err = Read(t.TempDir())
	require.Error(t, err)
}
