package mmapfile

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReadMapsAndCopiesOnWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	want := []byte("hello, mapped world")
	require.NoError(t, os.WriteFile(path, want, 0o644))

	old := MinMapSize
	MinMapSize = 1
	defer func() { MinMapSize = old }()
	data, mapped, err := Read(path)
	require.NoError(t, err)
	require.Equal(t, want, data)
	require.Equal(t, runtime.GOOS == "linux" || runtime.GOOS == "darwin", mapped)

	// Writing to the data never reaches the file.
	data[0] = 'J'
	onDisk, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, want, onDisk)
}

func TestReadSmallFileIsRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(path, []byte("x"), 0o644))
	data, mapped, err := Read(path)
	require.NoError(t, err)
	require.False(t, mapped)
	require.Equal(t, []byte("x"), data)
}

func TestReadErrors(t *testing.T) {
	_, _, err := Read(filepath.Join(t.TempDir(), "missing"))
	require.ErrorIs(t, err, os.ErrNotExist)
	_, _, err = Read(t.TempDir())
	require.Error(t, err)
}
