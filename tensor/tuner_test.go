package tensor

import (
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeRun drives a Tuner on a fake clock: each unit takes cost(team, i)
// (i counts units from 0), and run tallies the teams the units ran on.
type fakeRun struct {
	u     Tuner
	now   time.Time
	i     int
	teams map[Team]int
	moves int // changes of the settled team
}

func newFakeRun() *fakeRun {
	f := &fakeRun{now: time.Unix(0, 0), teams: map[Team]int{}}
	f.u.now = func() time.Time { return f.now }
	return f
}

func (f *fakeRun) run(n, work int, cost func(w Team, i int) time.Duration) {
	for range n {
		before := f.u.Team()
		w := f.u.Begin(work)
		f.now = f.now.Add(cost(w, f.i))
		f.u.End()
		f.teams[w]++
		if after := f.u.Team(); before != 0 && after != before {
			f.moves++
		}
		f.i++
	}
}

// lost runs n units like run and returns the time they took over n·best,
// minus one: the share of the time lost against always running the best
// team.
func (f *fakeRun) lost(n, work int, cost func(w Team, i int) time.Duration, best time.Duration) float64 {
	start := f.now
	f.run(n, work, cost)
	return float64(f.now.Sub(start))/float64(time.Duration(n)*best) - 1
}

// clearTunerHints empties the process-wide hint table for one test.
func clearTunerHints(t *testing.T) {
	tunerHints.mu.Lock()
	saved := tunerHints.e
	tunerHints.e = [32]struct{ top, work, team int }{}
	tunerHints.mu.Unlock()
	t.Cleanup(func() {
		tunerHints.mu.Lock()
		tunerHints.e = saved
		tunerHints.mu.Unlock()
	})
}

// twoCosts is a machine where a unit takes d1 on one worker and d2 on two.
func twoCosts(d1, d2 time.Duration) func(Team, int) time.Duration {
	return func(w Team, _ int) time.Duration {
		if w == 1 {
			return d1
		}
		return d2
	}
}

// ms is a duration in milliseconds.
func ms(x float64) time.Duration { return time.Duration(x * float64(time.Millisecond)) }

// The units of these tests take 5 ms on two workers, about a network
// application of batch-1 inference at hidden 512: a probe runs 10 of them
// (tunerProbeTime).

func TestTunerStaysOnAllWorkersWhenFastest(t *testing.T) {
	gemmSetWorkers(t, 2)
	clearTunerHints(t)
	f := newFakeRun()
	extra := f.lost(50000, 100, twoCosts(ms(8), ms(5)), ms(5)) // quiet: two workers 1.6× one
	assert.Equal(t, Team(2), f.u.Team())
	assert.Zero(t, f.moves)
	// The probes on one worker cost 0.6×3/tunerMaxEvery ≈ 0.7% of the
	// time once settled, more while the interval grows.
	assert.Less(t, extra, 0.015, "time lost to probes: %.2f%%; teams %v", 100*extra, f.teams)
}

func TestTunerMovesToOneWorkerWhenFaster(t *testing.T) {
	gemmSetWorkers(t, 2)
	clearTunerHints(t)
	f := newFakeRun()
	busy := twoCosts(ms(5), ms(7)) // beside a busy process: two workers at 0.7× one
	// A warm-up unit, tunerMinEvery units, a probe of 50 ms.
	f.run(1+tunerMinEvery+10, 100, busy)
	assert.Equal(t, Team(1), f.u.Team(), "moved: %v", f.teams)
	extra := f.lost(20000, 100, busy, ms(5))
	assert.Equal(t, Team(1), f.u.Team())
	assert.Equal(t, 1, f.moves)
	assert.Less(t, extra, 0.01, "time lost to probes: %.2f%%; teams %v", 100*extra, f.teams)
}

func TestTunerFollowsTheMachine(t *testing.T) {
	gemmSetWorkers(t, 2)
	clearTunerHints(t)
	f := newFakeRun()
	quiet := twoCosts(ms(8), ms(5))
	busy := twoCosts(ms(5), ms(7))
	f.run(20000, 100, quiet)
	require.Equal(t, Team(2), f.u.Team())
	// A busy process starts: found within one probe interval (at most
	// tunerMaxEvery probe lengths of about 7 units) and a probe.
	f.run(tunerMaxEvery*7+20, 100, busy)
	assert.Equal(t, Team(1), f.u.Team(), "busy: %v", f.teams)
	f.run(5000, 100, busy)
	// And stops.
	f.run(tunerMaxEvery*10/3+20, 100, quiet)
	assert.Equal(t, Team(2), f.u.Team())
	assert.Equal(t, 2, f.moves)
}

func TestTunerIgnoresNoise(t *testing.T) {
	gemmSetWorkers(t, 2)
	clearTunerHints(t)
	rng := rand.New(rand.NewPCG(1, 2))
	f := newFakeRun()
	// Both teams equally fast, each unit ±2%: never worth a move (the
	// margin is 5%).
	f.run(50000, 100, func(Team, int) time.Duration {
		return ms(5 * (0.98 + 0.04*rng.Float64()))
	})
	assert.Zero(t, f.moves)
}

// Stalls count: beside a busy process, two workers are often as fast as
// one and now and then stall for a scheduler time slice, waiting for the
// helper whose core was taken. The Tuner goes by the mean, the time a run
// takes, and moves to one worker when the stalls make two slower.
func TestTunerCountsStalls(t *testing.T) {
	gemmSetWorkers(t, 2)
	clearTunerHints(t)
	rng := rand.New(rand.NewPCG(5, 6))
	stalls := func(every int) func(Team, int) time.Duration {
		return func(w Team, _ int) time.Duration {
			if w == 1 {
				return ms(6)
			}
			if rng.IntN(every) == 0 {
				return ms(4 + 12) // a 12 ms stall
			}
			return ms(4)
		}
	}
	// One unit in three stalls: two workers average 8 ms against 6.
	f := newFakeRun()
	f.run(5000, 100, stalls(3))
	assert.Equal(t, Team(1), f.u.Team(), "teams %v", f.teams)
	// One in twenty: 4.6 ms against 6, two workers stay.
	g := newFakeRun()
	clearTunerHints(t)
	g.run(5000, 100, stalls(20))
	assert.Equal(t, Team(2), g.u.Team(), "teams %v", g.teams)
}

func TestTunerComparesUnitsOfOneSize(t *testing.T) {
	gemmSetWorkers(t, 2)
	clearTunerHints(t)
	f := newFakeRun()
	// Two workers are faster at every size, but the sizes alternate:
	// a probe must not be compared with units of another size.
	for range 100 {
		for _, work := range []int{1, 50} {
			f.run(20, work, func(w Team, _ int) time.Duration {
				d := time.Duration(work) * time.Millisecond
				if w == 1 {
					d = d * 16 / 10
				}
				return d
			})
		}
	}
	assert.Zero(t, f.moves)
	assert.Equal(t, Team(2), f.u.Team())
}

func TestTunerCandidates(t *testing.T) {
	clearTunerHints(t)
	for _, tc := range []struct {
		workers int
		want    []int
	}{
		{1, []int{1}},
		{2, []int{2, 1}},
		{12, []int{12, 6, 3, 1}},
		{16, []int{16, 8, 4, 2, 1}},
		{1024, []int{1024, 512, 256, 128, 64, 32, 16, 8, 4, 2, 1}},
	} {
		gemmSetWorkers(t, tc.workers)
		var u Tuner
		u.Begin(1)
		u.End()
		assert.Equal(t, tc.want, u.rungs[:u.nRungs], "%d workers", tc.workers)
	}
}

func TestTunerOneWorker(t *testing.T) {
	gemmSetWorkers(t, 1)
	clearTunerHints(t)
	f := newFakeRun()
	f.run(1000, 10, twoCosts(time.Millisecond, time.Microsecond))
	assert.Equal(t, map[Team]int{1: 1000}, f.teams)
	assert.Equal(t, Team(1), f.u.Team())
}

func TestTunerClimbsTheLadder(t *testing.T) {
	gemmSetWorkers(t, 16)
	clearTunerHints(t)
	f := newFakeRun()
	// Four free cores: a team of k runs at min(k, 4) cores, and each
	// worker past 4 adds a straggler's delay.
	cost := func(w Team, _ int) time.Duration {
		k := float64(w)
		return ms(20 * (1/min(k, 4) + 0.05*max(k-4, 0)))
	}
	f.run(10000, 100, cost)
	assert.Equal(t, Team(4), f.u.Team(), "%v", f.teams)
	assert.Greater(t, f.teams[4], 10000*9/10, "%v", f.teams)
}

func TestTunerHintsStartNewTuners(t *testing.T) {
	gemmSetWorkers(t, 2)
	clearTunerHints(t)
	busy := twoCosts(time.Millisecond, 1400*time.Microsecond)
	f := newFakeRun()
	f.run(100, 7, busy)
	require.Equal(t, Team(1), f.u.Team())
	// A new Tuner on units of the same size starts on one worker.
	g := newFakeRun()
	g.run(50, 7, busy)
	assert.Equal(t, map[Team]int{1: 50}, g.teams)
	// Not on units of another size.
	h := newFakeRun()
	h.run(1, 8, busy)
	assert.Equal(t, map[Team]int{2: 1}, h.teams)
}

func TestTunerWorkersChange(t *testing.T) {
	gemmSetWorkers(t, 2)
	clearTunerHints(t)
	f := newFakeRun()
	f.run(100, 3, twoCosts(time.Millisecond, 1400*time.Microsecond))
	require.Equal(t, Team(1), f.u.Team())
	SetWorkers(4) // restored by gemmSetWorkers' cleanup
	f.run(1, 3, twoCosts(time.Millisecond, 1400*time.Microsecond))
	assert.Equal(t, Team(4), f.u.Team(), "new candidates, from the top")
}

func TestTeamBitIdentical(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	tc := gemmCase{m: 97, n: 1536, k: 512, alpha: 1, beta: 0.5}
	a, lda, b, ldb, c0, ldc := gemmOperands(rng, tc)
	var p PackedB
	p.Pack(false, tc.k, tc.n, b, ldb)
	want := append([]float32(nil), c0...)
	Team(1).Gemm(false, false, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, want, ldc)
	for _, w := range []Team{0, 2, 3, 8} {
		got := append([]float32(nil), c0...)
		w.Gemm(false, false, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, got, ldc)
		assert.True(t, gemmSameBits(want, got), "Team(%d).Gemm", w)
		got = append(got[:0], c0...)
		w.GemmPacked(false, tc.m, tc.alpha, a, lda, &p, tc.beta, got, ldc)
		assert.True(t, gemmSameBits(want, got), "Team(%d).GemmPacked", w)
	}
}

// countJob counts how often each part runs.
type countJob struct{ runs []atomic.Int32 }

func (j *countJob) RunPart(i int) { j.runs[i].Add(1) }

func TestTeamParallel(t *testing.T) {
	for _, w := range []Team{0, 1, 2, 5} {
		j := &countJob{runs: make([]atomic.Int32, 100)}
		w.Parallel(len(j.runs), j)
		for i := range j.runs {
			assert.Equal(t, int32(1), j.runs[i].Load(), "Team(%d): part %d", w, i)
		}
	}
}

func TestTunerNoAllocs(t *testing.T) {
	gemmSetWorkers(t, 2)
	var u Tuner
	allocs := testing.AllocsPerRun(1000, func() {
		u.Begin(5)
		u.End()
	})
	assert.Zero(t, allocs)
}

func TestSetTuning(t *testing.T) {
	gemmSetWorkers(t, 2)
	clearTunerHints(t)
	f := newFakeRun()
	busy := twoCosts(time.Millisecond, 1400*time.Microsecond)
	f.run(50, 11, busy)
	require.Equal(t, Team(1), f.u.Team())
	require.True(t, SetTuning(false))
	defer SetTuning(true)
	assert.Equal(t, Team(0), f.u.Team(), "off: every worker")
	f.teams = map[Team]int{}
	f.run(50, 11, busy)
	assert.Equal(t, map[Team]int{0: 50}, f.teams)
	assert.False(t, SetTuning(true))
	f.run(1, 11, busy)
	assert.Equal(t, Team(1), f.u.Team(), "on again: where it was")
}

func TestTunerKindsAreTunedApart(t *testing.T) {
	gemmSetWorkers(t, 2)
	clearTunerHints(t)
	f := newFakeRun()
	// Units of size 1 (a network application, say) run faster on two
	// workers, units of size 2 (a backward pass) on one; they alternate,
	// 21 of one to 1 of the other, as in a training step.
	fwd := twoCosts(ms(16), ms(10))
	back := twoCosts(ms(100), ms(130))
	backTeams := map[Team]int{}
	for range 300 {
		f.run(21, 1, fwd)
		w := f.u.Begin(2)
		f.now = f.now.Add(back(w, 0))
		f.u.End()
		backTeams[w]++
	}
	assert.Greater(t, f.teams[2], 300*21*95/100, "network applications: %v", f.teams)
	assert.Greater(t, backTeams[1], 300*90/100, "backward passes: %v", backTeams)
	assert.Equal(t, Team(1), f.u.Team(), "settled team of the last kind run: the backward pass's")
	f.run(1, 1, fwd)
	assert.Equal(t, Team(2), f.u.Team(), "and then the network application's")
}

func TestTunerForgetsTheLeastRecentKind(t *testing.T) {
	gemmSetWorkers(t, 2)
	clearTunerHints(t)
	var u Tuner
	for w := 1; w <= tunerKinds+1; w++ {
		u.Begin(w)
		u.End()
	}
	var works []int
	for _, k := range u.kinds {
		works = append(works, k.work)
	}
	assert.ElementsMatch(t, []int{2, 3, 4, 5}, works)
}
