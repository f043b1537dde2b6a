package nn

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// From arenaHugeChunk up, newChunk gives whole huge pages on a huge-page
// boundary that the kernel may back with transparent huge pages
// (THPeligible in /proc/self/smaps, where the kernel has them on); below,
// plain storage of the length asked.
func TestNewChunkHugePages(t *testing.T) {
	small := newChunk(arenaMinChunk + 5)
	assert.Len(t, small, arenaMinChunk+5)

	for _, n := range []int{arenaHugeChunk, arenaHugeChunk + 1, 3*arenaHugeChunk - 7} {
		c := newChunk(n)
		want := (n + arenaHugeChunk - 1) / arenaHugeChunk * arenaHugeChunk
		require.Len(t, c, want, "n=%d", n)
		assert.Equal(t, want, cap(c), "n=%d: no room past the chunk", n)
		assert.Equal(t, want, chunkLen(n))
		addr := uintptr(unsafe.Pointer(unsafe.SliceData(c)))
		assert.Zero(t, addr%(4*arenaHugeChunk), "n=%d: starts on a 2 MiB boundary", n)
		for i := range c { // writable, all of it
			c[i] = float32(i)
		}
		assert.Equal(t, float32(len(c)-1), c[len(c)-1])
	}

	if runtime.GOARCH != "amd64" {
		// CI runs arm64 under qemu-user, which takes MADV_HUGEPAGE and
		// does nothing.
		t.Skip("the huge-page advice is checked on amd64 only")
	}
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || !strings.Contains(string(mode), "[madvise]") && !strings.Contains(string(mode), "[always]") {
		t.Skipf("transparent huge pages off here (%q, %v)", strings.TrimSpace(string(mode)), err)
	}
	c := newChunk(2 * arenaHugeChunk)
	eligible, err := thpEligible(uintptr(unsafe.Pointer(unsafe.SliceData(c))))
	require.NoError(t, err)
	assert.True(t, eligible, "the chunk's mapping may take huge pages")
}

// thpEligible reports the THPeligible field of the mapping holding addr in
// /proc/self/smaps.
func thpEligible(addr uintptr) (bool, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return false, err
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(line, "%x-%x ", &lo, &hi); n == 2 {
			in = lo <= addr && addr < hi
			continue
		}
		if v, ok := strings.CutPrefix(line, "THPeligible:"); ok && in {
			return strings.TrimSpace(v) == "1", nil
		}
	}
	if err := sc.Err(); err != nil {
		return false, err
	}
	return false, fmt.Errorf("no mapping with THPeligible holds %#x", addr)
}
