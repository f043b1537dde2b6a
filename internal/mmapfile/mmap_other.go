//go:build !linux && !darwin

package mmapfile

import (
	"errors"
	"os"
)

// mmap is not available here: Read reads the file instead.
func mmap(*os.File, int) ([]byte, error) { return nil, errors.New("mmap not supported") }
