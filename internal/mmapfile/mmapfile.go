// Package mmapfile reads a whole file into memory, by mapping it where the
// operating system allows (golang.org/x/sys/unix Mmap on Linux and macOS)
// and by reading it elsewhere.
//
// The mapping is private and writable (MAP_PRIVATE, PROT_READ|PROT_WRITE):
// the file's pages come from the page cache without a copy, a page is
// copied only when the program writes to it, and no write ever reaches the
// file. Callers may therefore hand slices of the data to code that
// modifies them.
package mmapfile

import (
	"fmt"
	"os"
)

// MinMapSize is the size from which Read maps a file; smaller files are
// read into the Go heap, where they cost nothing to keep. A variable so
// that tests can exercise the mapping on small files.
var MinMapSize int64 = 16 << 20

// Read returns the content of the file at path and whether it is mapped.
// A mapping is never unmapped: the data may be referenced for the life of
// the program (a model's weights), and its pages belong to the page cache,
// which the kernel reclaims under memory pressure, so a dropped mapping
// costs address space only.
func Read(path string) (data []byte, mapped bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	if !st.Mode().IsRegular() {
		return nil, false, fmt.Errorf("%s: not a regular file", path)
	}
	size := st.Size()
	if size >= MinMapSize && size > 0 && int64(int(size)) == size {
		if data, err := mmap(f, int(size)); err == nil {
			return data, true, nil
		}
		// Fall back to reading (a file system without mmap support).
	}
	data, err = os.ReadFile(path)
	return data, false, err
}
