package tensor

import (
	"sync"
	"sync/atomic"
)

// Job is work divided into independent parts, numbered 0..parts-1, that may
// run concurrently and in any order (see Parallel).
type Job interface {
	RunPart(i int)
}

// Parallel has its own helper goroutines, separate from the GEMM's pool, on
// purpose: a part may call Gemm, which may hand its own parts to the GEMM's
// helpers and wait for them. The GEMM's helpers only ever run leaf GEMM
// parts and never wait, so that wait always ends. Were the parts of Parallel
// run by the GEMM's helpers, every helper could end up waiting for GEMM
// parts that no free helper is left to pick up.

// jobTask hands the parts of one Job out to the caller and to helpers. It
// is pooled, so a steady-state Parallel call allocates nothing.
type jobTask struct {
	job   Job
	parts int32
	next  atomic.Int32   // next unclaimed part
	wg    sync.WaitGroup // one count per helper the task was sent to
}

var jobTasks freeList[jobTask]

// jobQueue carries tasks to the helpers; a send never blocks (the caller
// keeps the parts when it is full).
var jobQueue = make(chan *jobTask, 64)

var jobPool struct {
	sync.Mutex
	started int
}

// jobEnsureHelpers starts helper goroutines until at least n exist; they
// live for the rest of the process, blocked on jobQueue while idle.
func jobEnsureHelpers(n int) {
	jobPool.Lock()
	defer jobPool.Unlock()
	for ; jobPool.started < n; jobPool.started++ {
		go jobHelper()
	}
}

func jobHelper() {
	for t := range jobQueue {
		t.work()
		t.wg.Done()
	}
}

// work claims and runs parts until none is left.
func (t *jobTask) work() {
	for {
		i := t.next.Add(1) - 1
		if i >= t.parts {
			return
		}
		t.job.RunPart(int(i))
	}
}

// Parallel calls job.RunPart(i) for every i in [0, parts), on the calling
// goroutine and up to Workers()−1 helper goroutines, and returns when every
// part has finished. Parts must not write to the same memory, and must not
// call Parallel themselves (they may call Gemm). With one worker, or one
// part, it is a plain loop. Pass a pointer: a *T converts to Job without
// allocating.
func Parallel(parts int, job Job) {
	w := min(Workers(), parts)
	if w <= 1 {
		for i := range parts {
			job.RunPart(i)
		}
		return
	}
	t := jobTasks.get()
	t.job, t.parts = job, int32(parts)
	t.next.Store(0)
	jobEnsureHelpers(w - 1)
	for range w - 1 {
		t.wg.Add(1)
		sent := false
		select {
		case jobQueue <- t:
			sent = true
		default:
		}
		if !sent {
			t.wg.Done()
			break
		}
	}
	t.work()
	t.wg.Wait()
	t.job = nil
	jobTasks.put(t)
}
