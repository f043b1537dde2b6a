package nn

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// prefault asks the kernel to map the pages wholly inside s, writable, in
// one call (MADV_POPULATE_WRITE, Linux 5.14): what the first writes would
// do one page fault at a time. Pages already mapped are left as they are,
// and no value changes. An older kernel refuses the call; the writes then
// fault as before.
func prefault(s []float32) {
	if len(s) == 0 {
		return
	}
	const page = 4096
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*4)
	lo := int(-uintptr(unsafe.Pointer(unsafe.SliceData(b))) & (page - 1))
	if lo >= len(b) {
		return
	}
	n := (len(b) - lo) &^ (page - 1)
	if n == 0 {
		return
	}
	_ = unix.Madvise(b[lo:lo+n], unix.MADV_POPULATE_WRITE)
}
