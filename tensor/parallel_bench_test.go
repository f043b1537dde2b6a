package tensor

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// latencyJob has two parts that each busy-wait until busy after start; the
// helper's part records when it began.
type latencyJob struct {
	start time.Time
	busy  time.Duration
	began time.Duration // of part 1, after start
}

func (j *latencyJob) runPart(i int) {
	if i == 1 {
		j.began = time.Since(j.start)
	}
	for time.Since(j.start) < j.busy {
	}
}

// BenchmarkParHelperLatency measures how long after a two-part call starts
// the helper goroutine begins its part, when the previous call ended idle
// ago: within parSpin the helper is still polling, after it the helper has
// parked and must be woken. It reports the median in µs.
//
//	go test ./tensor -run '^$' -bench ParHelperLatency -benchtime 200x
func BenchmarkParHelperLatency(b *testing.B) {
	var task parTask
	for _, idle := range []time.Duration{0, parSpin / 2, 5 * parSpin} {
		b.Run(fmt.Sprintf("idle=%v", idle), func(b *testing.B) {
			var began []time.Duration
			for b.Loop() {
				for t0 := time.Now(); time.Since(t0) < idle; {
				}
				j := &latencyJob{start: time.Now(), busy: time.Millisecond}
				task.run(j, 2, 1)
				began = append(began, j.began)
			}
			slices.Sort(began)
			b.ReportMetric(float64(began[len(began)/2])/1e3, "µs-median")
		})
	}
}
