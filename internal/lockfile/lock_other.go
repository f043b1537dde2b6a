//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd || windows)

package lockfile

import "os"

// tryLock locks nothing: this system has no lock Acquire knows (see the
// package documentation); the lock is best effort.
func tryLock(*os.File) (held bool, err error) { return false, nil }

// unlock has nothing to give back.
func unlock(*os.File) error { return nil }
