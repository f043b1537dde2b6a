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
		tk.t.work(tk.epoch)
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
	t.wg.Add(parts)
	t.state.Store(uint64(epoch)<<32 | uint64(parts)<<16) // publishes job
	if helpers = min(helpers, parts-1); helpers > 0 {
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
	t.work(epoch)
	t.wg.Wait()
	t.job = nil
}

// work claims and runs parts of call epoch until none is left.
func (t *parTask) work(epoch uint32) {
	for {
		s := t.state.Load()
		parts, next := int(s>>16&0xffff), int(s&0xffff)
		if uint32(s>>32) != epoch || next >= parts {
			return
		}
		if t.state.CompareAndSwap(s, s+1) {
			t.job.runPart(next)
			t.wg.Done()
		}
	}
}
