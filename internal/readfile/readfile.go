// Package readfile reads a whole file into memory, private to the caller,
// after checking what the file is: only a regular file (symbolic links
// followed) of at most a limit is read, and never more bytes than it had
// when it was opened.
package readfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

var (
	// ErrNotRegular is matched (errors.Is) by the error for a path that
	// is not a regular file: a folder, a device, a FIFO, a socket.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge is matched by a *TooLargeError.
	ErrTooLarge = errors.New("file too large")
	// ErrChanged is matched by the error for a file whose size changed
	// between its open and its read.
	ErrChanged = errors.New("file changed while read")
)

// TooLargeError is the error for a file of more bytes than the limit.
type TooLargeError struct {
	Path  string
	Size  int64
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s: %d bytes, more than the %d allowed", e.Path, e.Size, e.Limit)
}

// Is makes errors.Is(err, ErrTooLarge) hold.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// Read returns the content of the regular file at path in a buffer of its
// own (cap equal to its length). limit < 0 means no limit. The size is
// checked before anything is read; a file that is not regular is refused
// at once (a FIFO is opened without waiting for a writer).
func Read(path string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: it is %s: %w", path, Kind(st.Mode()), ErrNotRegular)
	}
	size := st.Size()
	if limit >= 0 && size > limit {
		return nil, &TooLargeError{Path: path, Size: size, Limit: limit}
	}
	if int64(int(size)) != size || size < 0 {
		return nil, &TooLargeError{Path: path, Size: size, Limit: int64(^uint(0) >> 1)}
	}
	data := alloc(int(size))
	if _, err := io.ReadFull(f, data); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: %d bytes when opened, fewer when read: %w", path, size, ErrChanged)
		}
		return nil, err
	}
	var one [1]byte
	if n, _ := f.Read(one[:]); n > 0 {
		return nil, fmt.Errorf("%s: %d bytes when opened, more when read: %w", path, size, ErrChanged)
	}
	return data, nil
}

// Kind names the type of a file that is not regular, with its article
// ("a directory", "a FIFO"), for errors that refuse it.
func Kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "of mode " + m.String()
}
