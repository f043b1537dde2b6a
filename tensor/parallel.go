package tensor

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// parWorkers is the worker count set by SetWorkers; 0 means "GOMAXPROCS at
// the time of the call".
var parWorkers atomic.Int32

// SetWorkers sets how many goroutines (the caller's included) one Gemm call
// may use, at most parMaxWorkers (1024). n < 1 restores the default,
// runtime.GOMAXPROCS(0) at the time of each call. The result of Gemm does not
// depend on this setting: every worker count gives bit-identical output.
func SetWorkers(n int) {
	if n < 1 {
		n = 0
	}
	parWorkers.Store(int32(min(n, parMaxWorkers)))
}

// parMaxWorkers bounds the worker count.
const parMaxWorkers = 1024

// Workers returns the number of goroutines one Gemm call may use.
func Workers() int {
	if n := parWorkers.Load(); n > 0 {
		return int(n)
	}
	return min(runtime.GOMAXPROCS(0), parMaxWorkers)
}

// parJob is work divided into independent parts, numbered 0..parts-1, that
// may run concurrently in any order.
type parJob interface {
	runPart(i int)
}

// parTask hands the parts of one parJob out to the caller and to helper
// goroutines of the package's pool. A parTask is reused from call to call
// (it lives in a pooled per-call struct), so a steady-state parallel call
// allocates nothing.
//
// Parts are claimed one at a time from state, which packs the call's epoch
// (32 bits), its part count (16 bits) and the next unclaimed part (16 bits)
// into one word, so a claim is a single compare-and-swap. A helper holds a
// parTicket naming the epoch it was sent for: if it picks the ticket up late,
// after that call has finished (the caller ran the parts itself) or while
// the task already serves a later call, the epoch does not match and it
// claims nothing. So the caller waits only for parts that some goroutine is
// running, never for a helper still busy elsewhere, and a part may itself
// call Gemm without any risk of deadlock: every wait is for a running part.
type parTask struct {
	job   parJob
	state atomic.Uint64
	wg    sync.WaitGroup // one count per unfinished part
	// The helpers' parts of the current call and their time (parGuard).
	helperParts atomic.Int64
	helperNs    atomic.Int64
}

// parTicket is what helpers receive: a task and the call it was sent for.
type parTicket struct {
	t     *parTask
	epoch uint32
}

// parQueue carries tickets to the helper goroutines. A send never blocks
// (see run): when the queue is full the caller keeps the parts for itself.
var parQueue = make(chan parTicket, parMaxWorkers)

var parPool struct {
	sync.Mutex
	started atomic.Int32 // helpers started; written under the mutex
}

// parEnsureHelpers starts helper goroutines until at least n exist. Helpers
// live for the rest of the process, blocked on parQueue while idle.
func parEnsureHelpers(n int) {
	if int(parPool.started.Load()) >= n {
		return
	}
	parPool.Lock()
	defer parPool.Unlock()
	for int(parPool.started.Load()) < n {
		go parHelper()
		parPool.started.Add(1)
	}
}

func parHelper() {
	for {
		tk, ok := parPoll()
		if !ok {
			tk = <-parQueue // park until the next call
		}
		tk.t.work(tk.epoch, true)
	}
}

// parSpin is how long an idle helper keeps polling parQueue before it
// parks on it. Waking a parked helper took 190–300 µs on the 2-vCPU VM this
// was measured on (the idle vCPU has to be rescheduled by the host): 5% of a
// 4 ms GEMM call, 20% of a 1 ms one. Calls in a training step follow each
// other closely, so a helper that has just finished a part usually finds
// the next ticket while still polling.
const parSpin = 200 * time.Microsecond

// parPoll polls parQueue for up to parSpin, yielding the processor between
// polls so that other goroutines can run, and reports whether it got a
// ticket.
func parPoll() (parTicket, bool) {
	deadline := time.Now().Add(parSpin)
	for i := 0; ; i++ {
		select {
		case tk := <-parQueue:
			return tk, true
		default:
		}
		if i%16 == 15 && time.Now().After(deadline) {
			return parTicket{}, false
		}
		runtime.Gosched()
	}
}

// parMaxParts bounds the parts of one task (they are counted in 16 bits).
const parMaxParts = 1<<16 - 1

// run executes all parts of job on the calling goroutine and up to helpers
// goroutines of the pool, and returns when every part has finished.
func (t *parTask) run(job parJob, parts, helpers int) {
	if parts < 0 || parts > parMaxParts {
		panic("tensor: parTask.run: part count out of range")
	}
	epoch := uint32(t.state.Load()>>32) + 1
	t.job = job
	t.helperParts.Store(0)
	t.helperNs.Store(0)
	t.wg.Add(parts)
	t.state.Store(uint64(epoch)<<32 | uint64(parts)<<16) // publishes job
	helpers = min(helpers, parts-1)
	if helpers > 0 && parGuard.serial() {
		helpers = 0 // helpers have been late: the caller runs every part
	}
	if helpers > 0 {
		parEnsureHelpers(helpers)
	}
send:
	for range helpers {
		select {
		case parQueue <- parTicket{t, epoch}:
		default: // queue full: the caller keeps the rest of the parts
			break send
		}
	}
	// One call in parGuardSample also reads the CPU time the caller's
	// thread got while it ran its parts (parGuard).
	sample := helpers > 0 && parGuard.calls.Add(1)%parGuardSample == 0
	cpu := int64(-1)
	if sample {
		runtime.LockOSThread() // both readings from the same thread
		cpu = threadCPU()
	}
	mine, ns := t.work(epoch, false)
	if sample {
		if cpu >= 0 {
			cpu = threadCPU() - cpu
		}
		runtime.UnlockOSThread()
	}
	t.wg.Wait()
	if helpers > 0 {
		parGuard.note(mine, time.Duration(ns), int(t.helperParts.Load()), time.Duration(t.helperNs.Load()), time.Duration(cpu))
	}
	t.job = nil
}

// work claims and runs parts of call epoch until none is left, and returns
// how many it ran and their time. A helper adds those to the task's
// helperParts and helperNs, before it marks each part done.
func (t *parTask) work(epoch uint32, helper bool) (ran int, ns int64) {
	for {
		s := t.state.Load()
		parts, next := int(s>>16&0xffff), int(s&0xffff)
		if uint32(s>>32) != epoch || next >= parts {
			return ran, ns
		}
		if t.state.CompareAndSwap(s, s+1) {
			start := time.Now()
			t.job.runPart(next)
			d := int64(time.Since(start))
			if helper {
				t.helperParts.Add(1)
				t.helperNs.Add(d)
			}
			ns += d
			ran++
			t.wg.Done()
		}
	}
}

// parGuard keeps parallel calls from running slower than the caller alone
// when another process holds a core. A call waits at its end for every
// part a helper has claimed; when the OS takes the helper's core away in
// the middle of a part (for a time slice: milliseconds), the call waits
// that long, where the caller alone would have been done sooner. Measured
// with one busy loop beside two workers on two cores, batch-1 inference ran
// at 0.7× one worker, training at 0.97×. So each call compares the time
// its parts took on the helpers with their time on the caller: a call whose
// helper parts took on average more than twice the caller's, and at least
// parGuardSlack more, was late (its helper lost its core; a helper that
// merely woke up late is not counted: its parts run at full speed once
// started). After parGuardLate late calls in a row the calls run on the
// caller alone for a back-off that doubles while the helpers stay late
// (parGuardMin to parGuardMax), then try helpers again; parGuardOnTime
// calls on time in a row reset the back-off.
//
// A helper whose core is shared at every moment runs its parts at the
// caller's pace, and the loss is elsewhere: the helpers, spinning between
// calls to pick up the next one fast, take the caller's core from it in the
// serial stretches between the calls (batch-1 inference, two workers beside
// one busy loop: 0.7–0.8× one worker). So a sampled call also reads how
// much of its wall time the caller's thread was on a core (Linux: the
// thread's CPU clock); under parGuardCPU of it, the call is late too, and
// in the back-off the helpers stop spinning (they get no calls) and the
// caller has its core back. On a quiet machine parts run
// at the same pace on every worker and nothing changes. The guard changes
// who runs the parts, never the result (every split gives the same bits).
var parGuard parGuardState

const (
	parGuardLate   = 3
	parGuardOnTime = 32 // calls on time in a row that reset the back-off
	parGuardSlack  = 100 * time.Microsecond
	// parGuardSample: one call in that many reads the caller's CPU time (a
	// system call); parGuardCPU: below that share of its wall time the
	// caller counts as sharing its core; parGuardMinSample: the least
	// wall time a reading needs to mean anything.
	parGuardSample    = 8
	parGuardCPU       = 0.8
	parGuardMinSample = 50 * time.Microsecond
	parGuardMin       = 20 * time.Millisecond
	parGuardMax       = time.Second
)

type parGuardState struct {
	calls   atomic.Uint32 // calls with helpers, for sampling
	late    atomic.Int32  // late calls in a row
	onTime  atomic.Int32  // calls on time in a row since the last late one
	until   atomic.Int64  // serial until this time (nanoseconds since parEpoch)
	backoff atomic.Int64  // the next back-off
}

// parEpoch is the origin of parGuardState.until.
var parEpoch = time.Now()

// serial reports whether calls run on the caller alone now.
func (g *parGuardState) serial() bool {
	u := g.until.Load()
	return u != 0 && int64(time.Since(parEpoch)) < u
}

// note records one call with helpers: mine parts run by the caller in
// mineT (wall time), of which it had cpu on its core (< 0: not read),
// theirs by helpers in theirT.
func (g *parGuardState) note(mine int, mineT time.Duration, theirs int, theirT time.Duration, cpu time.Duration) {
	late := mine > 0 && theirs > 0 &&
		float64(theirT)*float64(mine) > 2*float64(mineT)*float64(theirs) &&
		theirT/time.Duration(theirs)-mineT/time.Duration(mine) > parGuardSlack
	// The caller shared its core: the process has more runnable threads
	// than free cores, and the helpers (and their spinning) take the
	// caller's time.
	late = late || cpu >= 0 && mineT >= parGuardMinSample && float64(cpu) < parGuardCPU*float64(mineT)
	if !late {
		if g.late.Load() != 0 {
			g.late.Store(0)
		}
		if g.backoff.Load() != 0 && g.onTime.Add(1) >= parGuardOnTime {
			g.backoff.Store(0) // helpers on time again: back-offs start over
		}
		return
	}
	g.onTime.Store(0)
	if g.late.Add(1) < parGuardLate {
		return
	}
	g.late.Store(0)
	b := time.Duration(g.backoff.Load())
	b = min(max(2*b, parGuardMin), parGuardMax)
	g.backoff.Store(int64(b))
	g.until.Store(int64(time.Since(parEpoch) + b))
}
