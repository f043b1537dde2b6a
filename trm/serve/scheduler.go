package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/tensor"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/task"
)

// Errors a submission can meet.
var (
	// errQueueFull: the model's queue has no room for the request's inputs.
	errQueueFull = errors.New("queue full")
	// errClosed: the server is shutting down and takes no new work.
	errClosed = errors.New("server shutting down")
	// errInternal: the batch loop recovered from a panic while running the
	// request's inputs.
	errInternal = errors.New("internal error while running the model")
)

// job is one request's inputs on their way through a model's scheduler.
// The batch loops fill in results; done is closed once every input has
// finished (answered, or dropped because ctx ended or the step panicked).
type job struct {
	ctx      context.Context
	halt     trm.HaltMode
	maxSteps int
	trace    bool
	items    []item
	queued   time.Time

	mu   sync.Mutex
	left int
	err  error // first error of an input, if any
	done chan struct{}
}

// item is one input of a job: one sample of a batch.
type item struct {
	job *job
	ex  task.Example
	// Filled by the batch loop when the item finishes:
	tokens []int32   // the predicted tokens after the last step
	steps  int       // supervision steps run
	qHalt  float32   // q_halt after the last step
	trace  []traceAt // every step, when job.trace
}

// traceAt is the state of one input after one supervision step.
type traceAt struct {
	tokens []int32
	qHalt  float32
}

// newJob returns a job for the encoded examples.
func newJob(ctx context.Context, exs []task.Example, halt trm.HaltMode, maxSteps int, trace bool) *job {
	j := &job{ctx: ctx, halt: halt, maxSteps: maxSteps, trace: trace, left: len(exs), done: make(chan struct{})}
	j.items = make([]item, len(exs))
	for i, ex := range exs {
		j.items[i] = item{job: j, ex: ex}
	}
	return j
}

// finish records that one of the job's items is over, with err when it
// did not complete; the last one closes done.
func (j *job) finish(err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err != nil && j.err == nil {
		j.err = err
	}
	j.left--
	if j.left == 0 {
		close(j.done)
	}
}

// result returns the job's error once done is closed.
func (j *job) result() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err
}

// scheduler runs one model's requests: a bounded FIFO queue of items
// feeding loops batch loops. Each loop holds up to maxBatch items and runs
// them one supervision step at a time; an item leaves its batch after any
// step (it halted, reached its step cap, or its request's context ended)
// and queued items join at the next step, so the batch stays full under
// load while a lone request runs alone.
type scheduler struct {
	name     string
	model    *trm.Model
	maxBatch int
	maxWait  time.Duration
	maxQueue int
	loops    int
	log      *slog.Logger
	metrics  *modelMetrics

	mu      sync.Mutex
	queue   []*item       // FIFO; queue[0] is next
	running int           // items in the loops' batches
	closed  bool          // no new submissions; loops exit when the queue is empty
	wake    chan struct{} // closed (and replaced) when items arrive or on close
	wg      sync.WaitGroup
}

// newScheduler starts the batch loops of a model.
func newScheduler(name string, m *trm.Model, o Options, loops int, log *slog.Logger, mm *modelMetrics) *scheduler {
	s := &scheduler{
		name: name, model: m, maxBatch: o.MaxBatch, maxWait: o.MaxWait, maxQueue: o.MaxQueue,
		loops: loops, log: log, metrics: mm, wake: make(chan struct{}),
	}
	for range loops {
		s.wg.Add(1)
		go s.loop()
	}
	return s
}

// submit queues every item of j, or none: errQueueFull when they do not
// fit, errClosed after close.
func (s *scheduler) submit(j *job) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	if len(s.queue)+len(j.items) > s.maxQueue {
		return errQueueFull
	}
	j.queued = time.Now()
	for i := range j.items {
		s.queue = append(s.queue, &j.items[i])
	}
	s.metrics.queueDepth.Set(float64(len(s.queue)))
	s.signal()
	return nil
}

// queued returns the number of items waiting.
func (s *scheduler) queued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// signal wakes every waiting loop; s.mu is held.
func (s *scheduler) signal() {
	close(s.wake)
	s.wake = make(chan struct{})
}

// close stops taking submissions; the loops finish what is queued and
// running, then exit. wait waits for them.
func (s *scheduler) close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		s.signal()
	}
	s.mu.Unlock()
}

func (s *scheduler) wait() { s.wg.Wait() }

// take moves up to the loop's share of the queue into its batch, which
// holds active items now: the outstanding items (queued and running) are
// spread evenly over the loops, at most maxBatch each, so that with one
// loop per core light load still uses every core. Items whose request has
// ended are dropped here. It returns the items taken and whether the loop
// should exit (closed and nothing queued). s.mu is held.
func (s *scheduler) take(active int, dst []*item) ([]*item, bool) {
	total := len(s.queue) + s.running
	share := min(s.maxBatch, (total+s.loops-1)/s.loops)
	n := 0
	for n < len(s.queue) && active+len(dst) < max(share, 1) && active+len(dst) < s.maxBatch {
		it := s.queue[n]
		n++
		if err := it.job.ctx.Err(); err != nil {
			it.job.finish(err)
			continue
		}
		dst = append(dst, it)
	}
	if n > 0 {
		clear(s.queue[:n])
		s.queue = s.queue[n:]
		s.metrics.queueDepth.Set(float64(len(s.queue)))
	}
	s.running += len(dst)
	return dst, s.closed && len(s.queue) == 0
}

// left records that n items left a loop's batch.
func (s *scheduler) left(n int) {
	s.mu.Lock()
	s.running -= n
	s.mu.Unlock()
}

// batch is one loop's state: the items it runs, in slots 0..len(items)-1
// of the input embeddings x and the carry (y, z), each [maxBatch, S, D].
// An item that leaves is replaced by the last one, so the rows in use stay
// contiguous and a step runs on views of the first rows.
type batch struct {
	m       *trm.Model
	tape    *nn.Tape
	x, y, z []float32
	items   []*item
	steps   []int // supervision steps each item has had
	preds   []int32
	q       []float32
	row     int // S·D
	// lastStep is how long the last step took per input in it: about a
	// lone input's step for the small models, less for large ones (see
	// waitFor). A whole batch's step would make the first lone request
	// after a full batch (or the warm-up) wait for nothing.
	lastStep time.Duration
}

func newBatch(m *trm.Model, maxBatch int) *batch {
	S, D := m.Config.SeqTotal(), m.Config.HiddenSize
	b := &batch{
		m: m, tape: nn.NewTape(), row: S * D,
		x: make([]float32, maxBatch*S*D), y: make([]float32, maxBatch*S*D), z: make([]float32, maxBatch*S*D),
		preds: make([]int32, maxBatch*m.Config.SeqLen), q: make([]float32, maxBatch),
	}
	// A served model's weights never change: each is packed once for all
	// the loop's products (nn.Tape.FreezeWeights).
	b.tape.FreezeWeights(true)
	// Each network application runs on the team of workers that has been
	// fastest lately: fewer when other loops or processes hold cores.
	b.tape.SetTuner(new(tensor.Tuner))
	return b
}

// add puts it in the next free slot: its input embedding, and the carry
// at the starting states (y_init, z_init).
func (b *batch) add(it *item) {
	i := len(b.items)
	b.items = append(b.items, it)
	b.steps = append(b.steps, 0)
	t := b.fresh()
	x := b.m.Input(t, it.ex.Input, []int32{it.ex.PuzzleID})
	copy(b.x[i*b.row:(i+1)*b.row], x.Value.Data)
	S, D := b.m.Config.SeqTotal(), b.m.Config.HiddenSize
	one := []int{1, S, D}
	b.m.ResetSample(&tensor.Tensor{Shape: one, Data: b.y[i*b.row : (i+1)*b.row]},
		&tensor.Tensor{Shape: one, Data: b.z[i*b.row : (i+1)*b.row]}, 0)
}

// fresh resets the tape for a no-gradient pass. Everything that lasts
// (x, y, z) lives in the batch's own buffers, so the whole arena is free
// again. The arena grows during a pass, by adding chunks, only when the
// pass needs more than any before; once the largest pass has run, passes
// allocate nothing.
func (b *batch) fresh() *nn.Tape {
	b.tape.Reset()
	b.tape.SetNoGrad(true)
	return b.tape
}

// remove drops slot i, moving the last item into it.
func (b *batch) remove(i int) {
	last := len(b.items) - 1
	if i != last {
		b.items[i], b.steps[i] = b.items[last], b.steps[last]
		copy(b.x[i*b.row:(i+1)*b.row], b.x[last*b.row:(last+1)*b.row])
		copy(b.y[i*b.row:(i+1)*b.row], b.y[last*b.row:(last+1)*b.row])
		copy(b.z[i*b.row:(i+1)*b.row], b.z[last*b.row:(last+1)*b.row])
	}
	b.items[last] = nil
	b.items, b.steps = b.items[:last], b.steps[:last]
}

// step runs one supervision step on every item: the carry advances in
// place, preds and q hold each item's argmax tokens and q_halt.
func (b *batch) step() {
	B := len(b.items)
	S, D := b.m.Config.SeqTotal(), b.m.Config.HiddenSize
	shape := []int{B, S, D}
	t := b.fresh()
	out := b.m.Step(t,
		t.Const(&tensor.Tensor{Shape: shape, Data: b.x[:B*b.row]}),
		t.Const(&tensor.Tensor{Shape: shape, Data: b.y[:B*b.row]}),
		t.Const(&tensor.Tensor{Shape: shape, Data: b.z[:B*b.row]}))
	copy(b.y[:B*b.row], out.Y.Value.Data)
	copy(b.z[:B*b.row], out.Z.Value.Data)
	trm.Predictions(b.preds[:B*b.m.Config.SeqLen], &out.Logits.Value)
	copy(b.q[:B], out.QHalt.Value.Data)
	for i := range b.steps {
		b.steps[i]++
	}
}

// loop is one batch loop: it admits items at every step boundary, runs a
// step, and lets finished items go, until the scheduler is closed and
// empty.
func (s *scheduler) loop() {
	defer s.wg.Done()
	b := newBatch(s.model, s.maxBatch)
	if err := s.warmUp(b); err != nil {
		s.log.Error("warm-up step failed", "model", s.name, "error", err.Error())
	}
	var taken []*item
	for {
		if !s.admit(b, &taken) {
			return
		}
		if len(b.items) == 0 {
			continue
		}
		if err := s.runStep(b); err != nil {
			// A panic in the model is a bug: fail the batch's requests
			// with an internal error and go on with a fresh batch.
			n := len(b.items)
			for _, it := range b.items {
				it.job.finish(errInternal)
			}
			s.left(n)
			b = newBatch(s.model, s.maxBatch)
			continue
		}
		s.release(b)
	}
}

// warmUp runs one step of a full batch of blank inputs, so that the
// tape's arena takes its final size, and its memory is faulted in, before
// the first request rather than during it (with the single-buffer arena
// of before, growing step by step as the batch filled also left every
// larger step's activations on the heap as garbage: peak RSS under
// overload 434 MB, see BENCHMARKS.md). It also times a step for waitFor.
func (s *scheduler) warmUp(b *batch) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
		for len(b.items) > 0 {
			b.remove(len(b.items) - 1)
		}
	}()
	blank := &item{job: &job{}, ex: task.Example{Input: make([]int32, s.model.Config.SeqLen)}}
	for range s.maxBatch {
		b.add(blank)
	}
	start := time.Now()
	b.step()
	b.lastStep = time.Since(start) / time.Duration(s.maxBatch)
	return nil
}

// admit adds queued items to b. An idle loop blocks until work arrives,
// then waits a little for company (waitFor); a busy one takes what is queued
// without waiting. It returns false when the loop should exit.
func (s *scheduler) admit(b *batch, taken *[]*item) bool {
	wasIdle := len(b.items) == 0
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		s.mu.Lock()
		items, exit := s.take(len(b.items), (*taken)[:0])
		wake := s.wake
		s.mu.Unlock()
		*taken = items
		for _, it := range items {
			b.add(it)
		}
		switch {
		case !wasIdle:
			return true
		case len(b.items) == 0:
			if exit {
				return false
			}
			<-wake
			continue
		case len(b.items) >= s.maxBatch:
			return true
		}
		// A loop that was idle has its first items: wait a little for
		// more to run with them.
		if timer == nil {
			wait := s.waitFor(b)
			if wait <= 0 {
				return true
			}
			timer = time.NewTimer(wait)
		}
		select {
		case <-wake:
		case <-timer.C:
			timer = nil
			return true
		}
	}
}

// The automatic wait for company (Options.MaxWait 0) is a tenth of a
// step, at most autoWaitMax, and none below autoWaitMin: Go's timers sleep
// at least about a millisecond when the process is otherwise idle (the
// poller's wait has millisecond resolution), so a shorter wait costs a
// whole millisecond. With a fixed 1 ms, a lone sum on the shipped arith
// model (steps of ~0.3 ms) took 2.9 ms instead of 1.6.
const (
	autoWaitMin = time.Millisecond
	autoWaitMax = 5 * time.Millisecond
)

// waitFor returns how long an idle loop that just got work waits for
// company: Options.MaxWait when positive, none when negative, and when 0
// a tenth of the loop's last step per input (see autoWaitMin,
// autoWaitMax). Inputs
// that arrive later join at the next step boundary anyway, so the wait
// only pays when a step is long (a large model): then a burst of requests
// shares its first step instead of waiting a whole step to join, and a
// lone request pays at most a tenth of a step for it.
func (s *scheduler) waitFor(b *batch) time.Duration {
	switch {
	case s.maxWait > 0:
		return s.maxWait
	case s.maxWait < 0:
		return 0
	}
	w := b.lastStep / 10
	if w < autoWaitMin {
		return 0
	}
	return min(w, autoWaitMax)
}

// runStep runs one step of b, turning a panic into an error (and a log
// line with the stack).
func (s *scheduler) runStep(b *batch) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic in batch loop", "model", s.name, "batch", len(b.items), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	start := time.Now()
	if hook := testStepHook.Load(); hook != nil {
		(*hook)(s.name, len(b.items))
	}
	b.step()
	took := time.Since(start)
	b.lastStep = took / time.Duration(len(b.items))
	s.metrics.batchSize.Observe(float64(len(b.items)))
	s.metrics.stepSeconds.Observe(took.Seconds())
	return nil
}

// release records each item's step and lets go of those that are done:
// halted by their request's halting mode, at their step cap, or whose
// request's context ended (client gone, deadline passed).
func (s *scheduler) release(b *batch) {
	L := s.model.Config.SeqLen
	n := 0
	for i := len(b.items) - 1; i >= 0; i-- {
		it, step := b.items[i], b.steps[i]
		j := it.job
		preds, q := b.preds[i*L:(i+1)*L], b.q[i]
		if j.trace {
			it.trace = append(it.trace, traceAt{tokens: append([]int32(nil), preds...), qHalt: q})
		}
		ctxErr := j.ctx.Err()
		if ctxErr == nil && !j.halt.Stops(step, j.maxSteps, q) {
			continue
		}
		if ctxErr == nil {
			it.tokens = append([]int32(nil), preds...)
			it.steps, it.qHalt = step, q
			s.metrics.steps.Observe(float64(step))
			s.metrics.samples.Inc()
		}
		b.remove(i)
		n++
		j.finish(ctxErr)
	}
	if n > 0 {
		s.left(n)
	}
}

// testStepHook, when set by a test, is called before every step with the
// model name and the batch size (to observe batching, hold a loop, or
// make a step panic).
var testStepHook atomic.Pointer[func(model string, batch int)]

// confidence is sigmoid(q_halt): the model's estimate that its answer is
// exactly right.
func confidence(q float32) float64 { return 1 / (1 + math.Exp(-float64(q))) }
