package mmapfile

import "golang.org/x/sys/unix"

// prefault hints that the whole mapping will be read (macOS has no
// populate advice).
func prefault(data []byte) { _ = unix.Madvise(data, unix.MADV_WILLNEED) }
