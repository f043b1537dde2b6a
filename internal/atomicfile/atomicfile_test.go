package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteReplacesWhole(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o600))
	require.NoError(t, Write(path, func(w io.Writer) error {
		_, err := w.Write([]byte("new"))
		return err
	}))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "new", string(got))
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), st.Mode().Perm())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary files may remain")
}

func TestWriteKeepsOldFileOnError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o644))
	boom := errors.New("boom")
	err := Write(path, func(w io.Writer) error {
		_, _ = w.Write([]byte("half-written"))
		return boom
	})
	require.ErrorIs(t, err, boom)
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "old", string(got))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "the temporary file must be removed")

	// An unwritable destination folder is reported, not a panic.
	err = Write(filepath.Join(dir, "nope", "x"), func(io.Writer) error { return nil })
	assert.Error(t, err)
}

// checkRefused asserts that Write refuses path as kind and leaves it and
// its folder as they were.
func checkRefused(t *testing.T, path, kind string) {
	t.Helper()
	before, err := os.Lstat(path)
	require.NoError(t, err)
	dir := filepath.Dir(path)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)

	require.ErrorIs(t, Check(path), ErrNotRegular)
	called := false
	err = Write(path, func(w io.Writer) error {
		called = true
		_, err := w.Write([]byte("new"))
		return err
	})
	require.ErrorIs(t, err, ErrNotRegular)
	var ne *NotRegularError
	require.ErrorAs(t, err, &ne)
	assert.Equal(t, path, ne.Path)
	assert.Equal(t, kind, ne.Kind)
	assert.Equal(t, fmt.Sprintf("refusing to write %q: it is %s, not a regular file", path, kind), err.Error())
	assert.False(t, called, "nothing is generated for a destination that will be refused")

	after, err := os.Lstat(path)
	require.NoError(t, err)
	assert.Equal(t, before.Mode(), after.Mode(), "the destination keeps its type")
	assert.True(t, os.SameFile(before, after), "the destination is the same file")
	again, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, again, len(entries), "no temporary file may remain")
}

func TestWriteRefusesDirectory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out")
	require.NoError(t, os.Mkdir(path, 0o755))
	checkRefused(t, path, "a directory")
}

func TestWriteRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target.txt")
	require.NoError(t, os.WriteFile(target, []byte("old"), 0o644))
	for _, to := range []string{target, filepath.Join(dir, "dangling")} {
		link := filepath.Join(dir, "link-"+filepath.Base(to))
		if err := os.Symlink(to, link); err != nil {
			t.Skipf("cannot make symbolic links here: %v", err)
		}
		checkRefused(t, link, "a symbolic link")
	}
	got, err := os.ReadFile(target)
	require.NoError(t, err)
	assert.Equal(t, "old", string(got), "nothing is written through the link")
}

func TestWriteRefusesDevice(t *testing.T) {
	for _, dev := range []string{"/dev/null", "/dev/full"} {
		st, err := os.Lstat(dev)
		if err != nil || st.Mode()&os.ModeDevice == 0 {
			continue // not on this system
		}
		require.ErrorIs(t, Check(dev), ErrNotRegular)
		err = Write(dev, func(w io.Writer) error { return nil })
		var ne *NotRegularError
		require.ErrorAs(t, err, &ne, dev)
		assert.Equal(t, "a device", ne.Kind)
		st2, err := os.Lstat(dev)
		require.NoError(t, err)
		assert.Equal(t, st.Mode(), st2.Mode(), "%s is still a device", dev)
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	assert.NoError(t, Check(filepath.Join(dir, "missing")), "a new file is fine")
	assert.NoError(t, Check(filepath.Join(dir, "missing", "deeper")), "Write reports a missing folder itself")
	path := filepath.Join(dir, "f")
	require.NoError(t, os.WriteFile(path, nil, 0o644))
	assert.NoError(t, Check(path), "a regular file is replaced")
	assert.ErrorIs(t, Check(dir), ErrNotRegular)
}

// TestWriteNamesTheFolder: a write into a folder that does not exist, or
// into a "folder" that is a file, says so about the folder and never names
// the temporary file (the user knows only the destination).
func TestWriteNamesTheFolder(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	cases := []struct {
		path, want string
		notExist   bool
	}{
		{filepath.Join(dir, "img", "x.png"), fmt.Sprintf("writing %q: folder %q does not exist", filepath.Join(dir, "img", "x.png"), filepath.Join(dir, "img")), true},
		{filepath.Join(dir, "a", "b", "x.png"), fmt.Sprintf("writing %q: folder %q does not exist", filepath.Join(dir, "a", "b", "x.png"), filepath.Join(dir, "a", "b")), true},
		{filepath.Join(file, "x.png"), fmt.Sprintf("writing %q: folder %q is not a folder (or a path above it is a file)", filepath.Join(file, "x.png"), file), false},
	}
	for _, c := range cases {
		called := false
		err := Write(c.path, func(w io.Writer) error { called = true; return nil })
		require.Error(t, err, c.path)
		assert.Equal(t, c.want, err.Error())
		assert.NotContains(t, err.Error(), tempMark)
		assert.Equal(t, c.notExist, errors.Is(err, fs.ErrNotExist), c.path)
		var fe *FolderError
		require.ErrorAs(t, err, &fe)
		assert.False(t, called)
	}
	// A relative path names its folder as given.
	t.Chdir(dir)
	err := Write(filepath.Join("docs", "img", "x.png"), func(w io.Writer) error { return nil })
	assert.EqualError(t, err, `writing "docs/img/x.png": folder "docs/img" does not exist`)
}

// TestWithoutTemp: the errors of the temporary file (a write on a full
// disk, a failed sync or rename) keep the operation and the system error,
// not the temporary file's name.
func TestWithoutTemp(t *testing.T) {
	tmp := "/d/.x.png.tmp123"
	err := withoutTemp(&fs.PathError{Op: "write", Path: tmp, Err: syscall.ENOSPC})
	assert.EqualError(t, err, "write: no space left on device")
	assert.ErrorIs(t, err, syscall.ENOSPC)
	err = withoutTemp(&os.LinkError{Op: "rename", Old: tmp, New: "/d/x.png", Err: syscall.EXDEV})
	assert.EqualError(t, err, "rename: invalid cross-device link")
	assert.ErrorIs(t, err, syscall.EXDEV)
	other := errors.New("plots: bad figure")
	assert.Equal(t, other, withoutTemp(other))

	// The writer a callback gets reports its errors without the temporary
	// file's name.
	f, err := os.CreateTemp(t.TempDir(), ".x.png"+tempMark+"*")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	_, werr := tempWriter{f}.Write([]byte("x"))
	assert.EqualError(t, werr, "write: file already closed")
	assert.ErrorIs(t, werr, os.ErrClosed)
	assert.NotContains(t, werr.Error(), ".tmp")
}
