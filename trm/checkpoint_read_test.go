package trm

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/checkpoints"
	"github.com/trm-go/trm/internal/readfile"
)

// TestLoadCheckpointChecksTheFileFirst: what is not a regular file, and a
// file larger than the memory available, are refused before a byte is
// read, with errors that name the path.
func TestLoadCheckpointChecksTheFileFirst(t *testing.T) {
	dir := t.TempDir()
	_, err := LoadCheckpoint(dir)
	require.ErrorIs(t, err, readfile.ErrNotRegular)
	assert.Equal(t, "checkpoint: "+dir+": it is a directory: not a regular file", err.Error())
	if runtime.GOOS != "windows" {
		_, err = LoadCheckpoint("/dev/zero")
		require.ErrorIs(t, err, readfile.ErrNotRegular)
		assert.Equal(t, "checkpoint: /dev/zero: it is a device: not a regular file", err.Error())
	}

	data, ok := checkpoints.Lookup("arith")
	require.True(t, ok)
	path := filepath.Join(dir, "arith.safetensors")
	require.NoError(t, os.WriteFile(path, data, 0o644))
	old := availableMemory
	defer func() { availableMemory = old }()
	availableMemory = func() (int64, bool) { return 100_000, true }
	_, err = LoadCheckpoint(path)
	require.ErrorIs(t, err, readfile.ErrTooLarge)
	assert.Equal(t, "checkpoint: "+path+": 534 kB, more than the 100 kB of memory available: file too large", err.Error())

	availableMemory = func() (int64, bool) { return int64(len(data)), true }
	_, err = LoadCheckpoint(path)
	require.NoError(t, err, "a file that fits is read")
	availableMemory = func() (int64, bool) { return 0, false }
	_, err = LoadCheckpoint(path)
	require.NoError(t, err, "no limit where the memory available is unknown")
}
