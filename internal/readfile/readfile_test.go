package readfile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReadIsPrivate: the bytes are the file's, writable without reaching
// the file, and unchanged when the file is rewritten in place (as cp
// does) or truncated.
func TestReadIsPrivate(t *testing.T) {
	for _, size := range []int{0, 1, 4095, 4<<20 + 12345} {
		path := filepath.Join(t.TempDir(), "f")
		want := bytes.Repeat([]byte("0123456789abcdef"), size/16+1)[:size]
		require.NoError(t, os.WriteFile(path, want, 0o644))
		data, err := Read(path, -1)
		require.NoError(t, err)
		require.Equal(t, want, data)
		require.Equal(t, size, cap(data), "no room to grow into another buffer's bytes")

		require.NoError(t, os.WriteFile(path, bytes.Repeat([]byte{'X'}, size), 0o644))
		require.NoError(t, os.Truncate(path, 0))
		require.Equal(t, want, data)
		if size > 0 {
			data[0] = 'J'
			onDisk, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Empty(t, onDisk)
		}
	}
}

// TestReadAligned: a buffer of a file of some size starts on a boundary
// that float32 and float64 views need (trm.LoadCheckpoint uses the tensors
// in place, and copies them only where they are not aligned).
func TestReadAligned(t *testing.T) {
	for _, size := range []int{64, 4 << 20} {
		path := filepath.Join(t.TempDir(), "f")
		require.NoError(t, os.WriteFile(path, make([]byte, size), 0o644))
		data, err := Read(path, -1)
		require.NoError(t, err)
		assert.Zero(t, uintptr(unsafe.Pointer(unsafe.SliceData(data)))%8, "size %d", size)
	}
}

// TestReadLimit: a file over the limit is refused before it is read, with
// its size and the limit; one at the limit is read.
func TestReadLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(path, []byte("12345"), 0o644))
	_, err := Read(path, 4)
	require.ErrorIs(t, err, ErrTooLarge)
	var tl *TooLargeError
	require.ErrorAs(t, err, &tl)
	assert.Equal(t, TooLargeError{Path: path, Size: 5, Limit: 4}, *tl)
	assert.Equal(t, path+": 5 bytes, more than the 4 allowed", err.Error())
	data, err := Read(path, 5)
	require.NoError(t, err)
	assert.Equal(t, "12345", string(data))

	// A sparse 1 TB file costs nothing to refuse.
	big := filepath.Join(t.TempDir(), "sparse")
	f, err := os.Create(big)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(1<<40))
	require.NoError(t, f.Close())
	start := time.Now()
	_, err = Read(big, 1<<20)
	require.ErrorIs(t, err, ErrTooLarge)
	assert.Less(t, time.Since(start), 5*time.Second)
}

// TestReadRefusesWhatIsNotARegularFile: a folder, a device, a FIFO (at
// once, without waiting for a writer) are refused, naming the path and
// what it is; a symbolic link to a regular file is followed.
func TestReadRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	_, err := Read(dir, -1)
	require.ErrorIs(t, err, ErrNotRegular)
	assert.Equal(t, dir+": it is a directory: not a regular file", err.Error())

	_, err = Read(filepath.Join(dir, "missing"), -1)
	require.ErrorIs(t, err, fs.ErrNotExist)
	assert.Contains(t, err.Error(), filepath.Join(dir, "missing"))

	target := filepath.Join(dir, "target")
	require.NoError(t, os.WriteFile(target, []byte("via a link"), 0o644))
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err == nil {
		data, err := Read(link, -1)
		require.NoError(t, err)
		assert.Equal(t, "via a link", string(data))
	}

	if runtime.GOOS == "windows" {
		return
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		_, err := Read("/dev/zero", -1)
		require.ErrorIs(t, err, ErrNotRegular)
		assert.Equal(t, "/dev/zero: it is a device: not a regular file", err.Error())
		if err := os.Symlink("/dev/zero", filepath.Join(dir, "zero")); err == nil {
			_, err := Read(filepath.Join(dir, "zero"), -1)
			require.ErrorIs(t, err, ErrNotRegular)
		}
	}
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, mkfifo(fifo))
	done := make(chan error, 1)
	go func() { _, err := Read(fifo, -1); done <- err }()
	select {
	case err := <-done:
		require.ErrorIs(t, err, ErrNotRegular)
		assert.Contains(t, err.Error(), "it is a FIFO")
	case <-time.After(10 * time.Second):
		t.Fatal("Read of a FIFO waits for a writer")
	}
}

// TestReadNeverPastTheSize: a file that yields more bytes than its size
// said (here /proc/self/status, size 0) is refused, not followed.
func TestReadNeverPastTheSize(t *testing.T) {
	const path = "/proc/self/status"
	st, err := os.Stat(path)
	if err != nil || !st.Mode().IsRegular() || st.Size() != 0 {
		t.Skip("needs Linux's /proc/self/status, a regular file of size 0")
	}
	_, err = Read(path, -1)
	require.ErrorIs(t, err, ErrChanged)
	assert.Equal(t, path+": 0 bytes when opened, more when read: file changed while read", err.Error())
	assert.False(t, errors.Is(err, ErrTooLarge))
}
