package tensor

// Job is work divided into independent parts, numbered 0..parts-1, that may
// run concurrently and in any order (see Parallel).
type Job interface {
	RunPart(i int)
}

// jobCall runs one Parallel call (or one chunk of parMaxParts parts of it)
// on the package's worker pool, the one Gemm uses. That pool is safe to
// re-enter (see parTask): a part may call Gemm, whose own parts then go to
// the same helpers, and every wait is for a part some goroutine is running.
type jobCall struct {
	task parTask
	job  Job
	off  int // index of the chunk's first part
}

func (c *jobCall) runPart(i int) { c.job.RunPart(c.off + i) }

// jobCalls keeps jobCall values for reuse, so a steady-state Parallel call
// allocates nothing.
var jobCalls freeList[jobCall]

// Parallel calls job.RunPart(i) for every i in [0, parts), on the calling
// goroutine and up to Workers()−1 helper goroutines, and returns when every
// part has finished. Parts must not write to the same memory, and must not
// call Parallel themselves (they may call Gemm). With one worker, or one
// part, it is a plain loop. Pass a pointer: a *T converts to Job without
// allocating.
func Parallel(parts int, job Job) { Team(0).Parallel(parts, job) }

// Parallel is the package's Parallel on at most t goroutines, the caller's
// included.
func (t Team) Parallel(parts int, job Job) {
	w := min(t.size(), parts)
	if w <= 1 {
		for i := range parts {
			job.RunPart(i)
		}
		return
	}
	c := jobCalls.get()
	c.job = job
	for c.off = 0; c.off < parts; c.off += parMaxParts {
		n := min(parts-c.off, parMaxParts)
		c.task.run(c, n, w-1)
	}
	c.job = nil
	jobCalls.put(c)
}
