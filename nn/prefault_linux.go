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
	b := asBytes(s)
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

// newChunk returns storage for an arena chunk of at least n floats. From
// arenaHugeChunk (2 MiB) up it is a whole number of 2 MiB pages starting
// on a 2 MiB boundary, and the kernel is asked (MADV_HUGEPAGE) to back it
// with transparent huge pages: the first write to each 2 MiB then maps it
// in one fault instead of 512 (64 MiB prefaulted in 5 ms against 104 ms in
// 4 KiB pages on this project's VM where its host had the memory backed,
// no faster where it had not; BENCHMARKS.md); steady steps, which may miss
// the TLB less, measured unchanged to 1–2% faster. Where the kernel has transparent
// huge pages off the advice changes nothing (or is refused, and ignored),
// and the chunk maps in 4 KiB pages as before. Aligning costs up to 2 MiB
// of address space per chunk, never written and so never resident.
func newChunk(n int) []float32 {
	n = chunkLen(n)
	if n < arenaHugeChunk {
		return make([]float32, n)
	}
	buf := make([]float32, n+arenaHugeChunk)
	off := int(-uintptr(unsafe.Pointer(unsafe.SliceData(buf)))&(4*arenaHugeChunk-1)) / 4
	c := buf[off : off+n : off+n]
	_ = unix.Madvise(asBytes(c), unix.MADV_HUGEPAGE)
	return c
}

// chunkLen returns the length of the chunk newChunk makes for n floats:
// from arenaHugeChunk up, n rounded up to a whole number of huge pages.
func chunkLen(n int) int {
	if n < arenaHugeChunk {
		return n
	}
	return (n + arenaHugeChunk - 1) &^ (arenaHugeChunk - 1)
}

// asBytes returns s's storage as bytes.
func asBytes(s []float32) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*4)
}
