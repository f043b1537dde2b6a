// Package atomicfile writes files atomically: a crash or an error never leaves
// a partial file in place of a good one.
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// ErrNotRegular is what a NotRegularError matches with errors.Is.
var ErrNotRegular = errors.New("not a regular file")

// NotRegularError reports that the destination of a Write exists and is
// not a regular file (a device such as /dev/full, a FIFO, a symbolic link,
// a folder, a socket): Write only ever replaces regular files, so it
// neither swaps a device node or a link for a file nor writes through
// them.
type NotRegularError struct {
	Path string
	// Kind says what the path is, with its article: "a device", "a FIFO",
	// "a symbolic link", "a directory", "a socket", "an irregular file".
	Kind string
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("refusing to write %q: it is %s, not a regular file", e.Path, e.Kind)
}

// Is reports whether target is ErrNotRegular.
func (e *NotRegularError) Is(target error) bool { return target == ErrNotRegular }

// Check returns a *NotRegularError when path exists and is not a regular
// file (a symbolic link counts as a link, whatever it points to), and nil
// otherwise: for a regular file, for a path that does not exist, and when
// path cannot be examined (Write then reports the problem itself). Write
// calls it; a command calls it first to refuse a bad output before doing
// any work.
func Check(path string) error {
	st, err := os.Lstat(path)
	if err != nil || st.Mode().IsRegular() {
		return nil
	}
	return &NotRegularError{Path: path, Kind: kindOf(st.Mode())}
}

// kindOf names a non-regular file mode.
func kindOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0: // block and character devices
		return "a device"
	}
	return "an irregular file"
}

// Write creates or replaces the file at path with what write
// produces, so that a crash or an error never leaves a partial file in its
// place: it writes a temporary file in the same folder, flushes it to stable
// storage (fsync), renames it over path and syncs the folder. On error the
// temporary file is removed and path is left as it was. The new file has
// mode 0644 (before the umask is applied by later tools, if any).
//
// Write replaces only regular files: when path exists and is anything else
// (a device, a FIFO, a symbolic link, a folder, a socket) it returns a
// *NotRegularError (errors.Is(err, ErrNotRegular)) and changes nothing.
// The check is made before writing and again just before the rename.
func Write(path string, write func(w io.Writer) error) (err error) {
	if err := Check(path); err != nil {
		return err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+tempMark+"*")
	if err != nil {
		return fmt.Errorf("writing %q: %w", path, folderError(filepath.Dir(path), err))
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// Errors name path, never the temporary file: the user knows only path.
	bw := bufio.NewWriterSize(tempWriter{tmp}, 1<<20)
	if err := write(bw); err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("writing %q: %w", path, withoutTemp(err))
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("writing %q: %w", path, withoutTemp(err))
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %q: %w", path, withoutTemp(err))
	}
	// Something may have appeared at path while write ran.
	if err := Check(path); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %q: %w", path, withoutTemp(err))
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("writing %q: syncing folder: %w", path, err)
	}
	return nil
}

// FolderError reports that no file can be made in the folder of a Write's
// destination: the folder does not exist, is not a folder, or refuses new
// files. It wraps the system's error (errors.Is(err, fs.ErrNotExist) holds
// for a missing folder).
type FolderError struct {
	// Dir is the folder, as the destination's path names it.
	Dir string
	// Err is the system's error (syscall.ENOENT, syscall.EACCES, ...).
	Err error
}

func (e *FolderError) Error() string {
	switch {
	case errors.Is(e.Err, fs.ErrNotExist):
		return fmt.Sprintf("folder %q does not exist", e.Dir)
	case errors.Is(e.Err, syscall.ENOTDIR):
		return fmt.Sprintf("folder %q is not a folder (or a path above it is a file)", e.Dir)
	}
	return fmt.Sprintf("folder %q: cannot make a file in it: %v", e.Dir, e.Err)
}

// Unwrap returns the system's error.
func (e *FolderError) Unwrap() error { return e.Err }

// folderError turns the error of creating the temporary file in dir into a
// *FolderError naming dir.
func folderError(dir string, err error) error {
	return &FolderError{Dir: dir, Err: withoutTemp(err)}
}

// withoutTemp returns the system error inside a *fs.PathError or
// *os.LinkError (which name the temporary file), prefixed with the
// operation ("sync: input/output error"), or err itself.
func withoutTemp(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return &opError{pe.Op, pe.Err}
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return &opError{le.Op, le.Err}
	}
	return err
}

// opError is an operation's system error, without the file it was on.
type opError struct {
	op  string
	err error
}

func (e *opError) Error() string { return e.op + ": " + e.err.Error() }
func (e *opError) Unwrap() error { return e.err }

// tempWriter writes to the temporary file, returning errors that do not
// name it (a full disk is "write: no space left on device").
type tempWriter struct{ f *os.File }

func (w tempWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		err = withoutTemp(err)
	}
	return n, err
}
