package tensor

import (
	"sync"
	"sync/atomic"
	"time"
)

// Team is how many goroutines, the caller's included, one call may use:
// Team(4).Gemm(...) is Gemm on at most 4 of them. A Team below 1 (the zero
// Team) means Workers(), the process-wide setting, at the time of the call.
// Every Team gives bit-identical results; it only chooses how the work is
// spread. A Team is a plain value: calls made concurrently may each name
// their own.
type Team int

// size returns the most goroutines a call made with w may use.
func (w Team) size() int {
	if w < 1 {
		return Workers()
	}
	return min(int(w), parMaxWorkers)
}

// A Tuner picks, unit of work by unit of work, the Team that has been
// running the caller's units fastest. A unit is a piece of work that recurs
// with the same shape: one application of a TRM's network, of which an
// inference makes hundreds and a training step dozens, or the backward pass
// of a training step; units of each size are tuned apart. The candidates are
// Workers() (all of them), then halvings down to 1, the caller alone: 2
// and 1 on a two-core machine. The Tuner stays on one, and every so many
// units times a few units on a neighbouring candidate, and moves there
// when they ran clearly faster than the ones before it.
//
// Why: a parallel call is as slow as its slowest part, so when another
// process holds one of the machine's cores, spreading each product of a
// small batch over every core makes the whole run wait, call after call,
// for the helper whose core was taken (measured: two workers at 0.69–0.88×
// one beside a busy loop, for batch-1 inference on two cores). No single
// call can tell a helper's lateness from its work, but whole units, timed
// end to end on both settings, can. On a quiet machine the Tuner stays on
// all the workers and costs the occasional probe (a few units out of every
// tunerMaxEvery, run on fewer workers).
//
// Results do not depend on the Team (see Team), so tuning changes the
// speed of a run, never its numbers. A Tuner is not safe for concurrent
// use: give each goroutine (each nn.Tape) its own. The zero Tuner is ready
// to use.
type Tuner struct {
	top    int     // Workers() the candidates were made for; 0 before the first unit
	rungs  [16]int // candidate team sizes, largest first
	nRungs int

	kinds [tunerKinds]tunerKind // one per size of unit, the most recent ones
	k     *tunerKind            // kind of the unit in flight or the last one
	tick  int                   // Begin calls, to find the least recent kind

	unit  int // rung of the unit in flight, or -1 (none, or not timed)
	start time.Time

	now func() time.Time // time.Now; tests replace it
}

// tunerKind is the state of one kind of unit: those of one size.
type tunerKind struct {
	work int // Begin's argument
	used int // Tuner.tick when last begun; 0: slot unused
	cur  int // index of the rung in use
	warm int // units still to run before timing starts

	hist  [tunerMaxSamples]time.Duration // the last units on rung cur, newest first
	nHist int

	probe    int // rung being probed, or -1
	probeSum time.Duration
	nProbe   int
	down     bool // the next probe tries a smaller team (else a larger one)
	since    int  // units on cur since the last probe
	every    int  // probes' lengths between probes, in units of tunerSamples units
	span     int  // units the last probe ran
}

// tuningOff is SetTuning(false).
var tuningOff atomic.Bool

// SetTuning turns every Tuner of the process on (the default) or off. Off,
// a Tuner times nothing and gives Team(0), Workers(), for every unit: for
// timings at a fixed worker count, or a run that should use exactly the
// workers it was given. It returns the previous setting.
func SetTuning(on bool) (prev bool) { return !tuningOff.Swap(!on) }

// Tuner parameters. A probe runs units on the candidate until it has run
// at least tunerSamples of them and tunerProbeTime in all (at most
// tunerMaxSamples units), and wins when their mean is at least tunerMargin
// below the mean of as many of the latest units on the current rung. Means
// of whole stretches, not medians: beside a busy process, what a team
// costs is mostly its occasional long stalls (a helper whose core was
// taken, for a scheduler time slice of a few milliseconds), which a median
// would discard; and tunerProbeTime spans several such slices. After a probe
// that changes nothing the next comes twice as late, up to tunerMaxEvery
// times the probe's length (in units of tunerSamples units: so probes
// take the same share of the time whatever their length); after a move,
// tunerMinEvery. At tunerMaxEvery = 256, probes on one worker instead of
// two (0.6× the speed, on a quiet machine) cost about 0.7×3/256 ≈ 1% of
// the time. A Tuner keeps the state of tunerKinds sizes of unit at once (a
// training step has two: the network applications and the backward pass),
// each tuned on its own.
const (
	tunerSamples    = 3
	tunerMaxSamples = 32
	tunerProbeTime  = 50 * time.Millisecond
	tunerMargin     = 0.05
	tunerMinEvery   = 8
	tunerMaxEvery   = 256
	tunerKinds      = 4
)

// Begin starts a unit of work of the given size (any measure of its cost
// or kind: only units of one size are compared with each other) and
// returns the Team to run it with. Every Begin must be followed by an End
// before the next Begin.
func (u *Tuner) Begin(work int) Team {
	u.unit = -1
	if tuningOff.Load() {
		return 0
	}
	if n := Workers(); n != u.top {
		u.reset(n)
	}
	if u.nRungs == 1 {
		return Team(u.rungs[0])
	}
	k := u.kind(work)
	r := k.cur
	switch {
	case k.probe >= 0:
		r = k.probe
	case k.warm == 0 && k.nHist >= tunerSamples && k.since*tunerSamples >= k.every*k.span:
		k.probe = u.neighbour(k)
		r = k.probe
	}
	u.k, u.unit = k, r
	u.start = u.clock()
	return Team(u.rungs[r])
}

// End finishes the unit Begin started.
func (u *Tuner) End() {
	if u.unit < 0 {
		return
	}
	d := u.clock().Sub(u.start)
	k, r := u.k, u.unit
	u.unit = -1
	switch {
	case k.warm > 0:
		k.warm--
	case r == k.probe:
		k.probeSum += d
		k.nProbe++
		if k.nProbe == tunerMaxSamples || k.nProbe >= tunerSamples && k.probeSum >= tunerProbeTime {
			u.decide(k)
		}
	default:
		k.push(d)
		k.since++
	}
}

// Team returns the Team the Tuner has settled on for the kind of unit it
// ran last: the one to use for work outside the units. Before the first
// unit it is Team(0), every worker.
func (u *Tuner) Team() Team {
	switch {
	case tuningOff.Load():
		return 0
	case u.nRungs == 1:
		return Team(u.rungs[0])
	case u.k == nil:
		return 0
	}
	return Team(u.rungs[u.k.cur])
}

// kind returns the state of units of size work, made from the hints (or
// at the top rung) in the slot of the least recent kind if it is new.
func (u *Tuner) kind(work int) *tunerKind {
	u.tick++
	old := &u.kinds[0]
	for i := range u.kinds {
		k := &u.kinds[i]
		if k.used > 0 && k.work == work {
			k.used = u.tick
			return k
		}
		if k.used < old.used {
			old = k
		}
	}
	*old = tunerKind{work: work, used: u.tick}
	u.restart(old)
	return old
}

// decide ends a probe of k: the probed rung becomes the current one when
// its units ran clearly faster.
func (u *Tuner) decide(k *tunerKind) {
	p, n := k.probe, k.nProbe
	k.span = n
	probe := float64(k.probeSum) / float64(n)
	k.probe, k.nProbe, k.probeSum = -1, 0, 0
	k.since = 0
	if probe < (1-tunerMargin)*k.mean(n) {
		k.cur = p
		k.nHist = 0 // the units on the new rung are timed afresh
		k.every = tunerMinEvery
	} else {
		k.every = min(2*k.every, tunerMaxEvery)
	}
	tunerHints.put(u.top, k.work, u.rungs[k.cur])
}

// neighbour returns the rung to probe next for k: alternately the next
// smaller and the next larger team, where there is one.
func (u *Tuner) neighbour(k *tunerKind) int {
	k.down = !k.down
	switch {
	case k.cur == 0:
		return 1
	case k.cur == u.nRungs-1:
		return k.cur - 1
	case k.down:
		return k.cur + 1
	default:
		return k.cur - 1
	}
}

// reset makes the candidates for n workers, n, n/2, n/4, …, 1, and
// forgets every kind of unit.
func (u *Tuner) reset(n int) {
	u.top, u.nRungs = n, 0
	add := func(k int) {
		if k >= 1 && (u.nRungs == 0 || k < u.rungs[u.nRungs-1]) {
			u.rungs[u.nRungs] = k
			u.nRungs++
		}
	}
	add(n)
	for k := n / 2; k >= 1; k /= 2 {
		add(k)
	}
	u.kinds = [tunerKinds]tunerKind{}
	u.k = nil
}

// restart starts k on the rung the hints give for its size, or else on the
// top rung, with no timings.
func (u *Tuner) restart(k *tunerKind) {
	k.cur, k.every, k.span = 0, tunerMinEvery, tunerSamples
	if team, ok := tunerHints.get(u.top, k.work); ok {
		for i := range u.nRungs {
			if u.rungs[i] == team {
				k.cur = i
				// A hint is a decision some earlier Tuner timed:
				// check it as rarely as a settled one does.
				k.every = tunerMaxEvery / 4
			}
		}
	}
	k.warm = 1 // a first unit pays for first touches of memory
	k.probe = -1
}

func (u *Tuner) clock() time.Time {
	if u.now != nil {
		return u.now()
	}
	return time.Now()
}

// push records a unit run on rung cur.
func (k *tunerKind) push(d time.Duration) {
	copy(k.hist[1:], k.hist[:tunerMaxSamples-1])
	k.hist[0] = d
	k.nHist = min(k.nHist+1, tunerMaxSamples)
}

// mean returns the mean time of the latest n units on rung cur (of as many
// as there are, if fewer).
func (k *tunerKind) mean(n int) float64 {
	n = min(n, k.nHist)
	var sum time.Duration
	for _, d := range k.hist[:n] {
		sum += d
	}
	return float64(sum) / float64(n)
}

// tunerHints remembers, for recent (workers, work size) pairs, the team
// size the last probe of a Tuner settled on, so that a new Tuner (a new inference's, say)
// starts there instead of timing its way there again. It is a small table
// with the oldest entry replaced: nothing is allocated.
var tunerHints hintTable

type hintTable struct {
	mu   sync.Mutex
	e    [32]struct{ top, work, team int }
	next int
}

func (h *hintTable) get(top, work int) (int, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.e {
		if e.top == top && e.work == work && e.team > 0 {
			return e.team, true
		}
	}
	return 0, false
}

func (h *hintTable) put(top, work, team int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, e := range h.e {
		if e.top == top && e.work == work {
			h.e[i].team = team
			return
		}
	}
	h.e[h.next] = struct{ top, work, team int }{top, work, team}
	h.next = (h.next + 1) % len(h.e)
}
