//go:build linux || darwin

package mmapfile

import (
	"os"

	"golang.org/x/sys/unix"
)

// mmap maps size bytes of f, private and writable (copy on write), and
// asks the kernel to map the pages already in the page cache up front
// (see prefault): one system call instead of a page fault per 4 KB page.
func mmap(f *os.File, size int) ([]byte, error) {
	data, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
	if err != nil {
		return nil, err
	}
	prefault(data)
	return data, nil
}
