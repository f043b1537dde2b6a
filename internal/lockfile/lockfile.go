// Package lockfile takes an exclusive lock on a file for as long as a
// process holds it, and records the holder's process ID in the file.
//
// On Linux, macOS and the BSDs the lock is flock(2); on Windows it is
// LockFileEx. Both are dropped by the operating system when the process
// ends, however it ends (a crash or kill -9 leaves no stale lock), and both
// exclude a second lock on the same file from the same process too. They
// are advisory: they keep out whoever takes the lock (another trainer),
// not a program that just writes the files. Elsewhere (Plan 9, WebAssembly)
// Acquire locks nothing and always succeeds: the exclusion is best effort
// there. Over NFS, flock works only where the server supports it.
//
// The lock file is left in place when the lock is released (emptied of the
// process ID): removing it would let two processes lock two different
// files of the same name.
package lockfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/trm-go/trm/internal/readfile"
)

// ErrHeld is matched (errors.Is) by a *HeldError.
var ErrHeld = errors.New("lock held by another holder")

// HeldError is Acquire's error for a file that another holder has locked:
// another process, or another Lock of this process.
type HeldError struct {
	// Path is the lock file.
	Path string
	// PID is the process ID the holder wrote into the file, 0 when the
	// file holds none (the holder has not written it yet).
	PID int
}

func (e *HeldError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("%s is locked by process %d", e.Path, e.PID)
	}
	return fmt.Sprintf("%s is locked by another process", e.Path)
}

// Is reports whether target is ErrHeld.
func (e *HeldError) Is(target error) bool { return target == ErrHeld }

// Lock is a lock held on a file; Release gives it back.
type Lock struct {
	f    *os.File
	path string
}

// Acquire takes the lock on the file at path, creating the file (mode
// 0644) if it does not exist, and writes this process's ID into it. It
// does not wait: when another holder has the lock it returns a *HeldError
// with that holder's process ID. A path that exists and is not a regular
// file is refused. Errors name the path.
func Acquire(path string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|openFlags, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = fmt.Errorf("lock: %s: it is %s, not a regular file", path, readfile.Kind(st.Mode()))
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	held, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if held {
		pid := readPID(f)
		f.Close()
		return nil, &HeldError{Path: path, PID: pid}
	}
	l := &Lock{f: f, path: path}
	if err := l.writePID(strconv.Itoa(os.Getpid()) + "\n"); err != nil {
		l.Release()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return l, nil
}

// Path returns the lock file's path.
func (l *Lock) Path() string { return l.path }

// Release empties the lock file of the process ID and gives the lock back.
// It may be called more than once.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	werr := l.writePID("")
	uerr := unlock(l.f)
	cerr := l.f.Close()
	l.f = nil
	if err := errors.Join(werr, uerr, cerr); err != nil {
		return fmt.Errorf("unlock %s: %w", l.path, err)
	}
	return nil
}

// writePID replaces the content of the lock file with s.
func (l *Lock) writePID(s string) error {
	if err := l.f.Truncate(0); err != nil {
		return err
	}
	_, err := l.f.WriteAt([]byte(s), 0)
	return err
}

// readPID returns the process ID written in the lock file f, or 0.
func readPID(f *os.File) int {
	var buf [32]byte
	n, err := f.ReadAt(buf[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
