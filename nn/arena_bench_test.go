package nn

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkArenaFirstStep times the first, second and a steady
// forward+backward pass of one TRM block (hidden 512, 8 heads, sequence 97,
// batch 64) on a fresh tape, and counts the heap allocations and bytes of
// the first two. Each iteration makes a new tape, so only the first
// iteration of a process sees memory fresh from the OS; run it once per
// process to see what a run's first step costs:
//
//	go test -c -o nn.test ./nn
//	./nn.test -test.run '^$' -test.bench 'ArenaFirstStep/mlp' -test.benchtime 1x
//
// The first step pays for faulting in the arena's fresh memory, which no
// arena layout avoids (5–7 s per GiB on the 2-core VM this was written on);
// the second should cost what a steady one does.
//
// arena-peak-MB is the storage a step uses at its high-water mark,
// arena-held-MB what the arena's chunks hold; peak-RSS-MB is the process's
// VmHWM at the end (Linux; 0 elsewhere).
func BenchmarkArenaFirstStep(b *testing.B) {
	const hidden, heads, seq, batch = 512, 8, 97, 64
	for _, variant := range []Variant{VariantAttn, VariantMLP} {
		b.Run(fmt.Sprintf("%s/h%ds%db%d", variant, hidden, seq, batch), func(b *testing.B) {
			blk, x, w := benchBlockSetup(b, variant, hidden, heads, seq, batch)
			var first, second, steady time.Duration
			var allocs1, allocs2, bytes1, bytes2 uint64
			var peak, held int
			var ms runtime.MemStats
			for b.Loop() {
				tp := NewTape()
				step := func() {
					tp.Reset()
					out := blk.Forward(tp, tp.Var(x))
					tp.Backward(tp.Sum(tp.Mul(out, tp.Const(w))))
				}
				timed := func(d *time.Duration, allocs, bytes *uint64) {
					runtime.ReadMemStats(&ms)
					m0, b0 := ms.Mallocs, ms.TotalAlloc
					start := time.Now()
					step()
					*d += time.Since(start)
					runtime.ReadMemStats(&ms)
					if allocs != nil {
						*allocs += ms.Mallocs - m0
						*bytes += ms.TotalAlloc - b0
					}
				}
				timed(&first, &allocs1, &bytes1)
				timed(&second, &allocs2, &bytes2)
				timed(&steady, nil, nil)
				peak, held = tp.arena.peak, tp.arena.held
			}
			n := float64(b.N)
			b.ReportMetric(first.Seconds()*1e3/n, "first-ms")
			b.ReportMetric(second.Seconds()*1e3/n, "second-ms")
			b.ReportMetric(steady.Seconds()*1e3/n, "steady-ms")
			b.ReportMetric(float64(allocs1)/n, "first-allocs")
			b.ReportMetric(float64(bytes1)/n/1e6, "first-MB")
			b.ReportMetric(float64(allocs2)/n, "second-allocs")
			b.ReportMetric(float64(bytes2)/n/1e6, "second-MB")
			b.ReportMetric(float64(peak)*4/1e6, "arena-peak-MB")
			b.ReportMetric(float64(held)*4/1e6, "arena-held-MB")
			b.ReportMetric(float64(peakRSS())/1e6, "peak-RSS-MB")
		})
	}
}

// peakRSS returns the process's peak resident set (VmHWM) in bytes, or 0
// where /proc/self/status does not say.
func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
