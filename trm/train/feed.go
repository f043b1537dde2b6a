package train

import (
	"fmt"
	"sync"

	"github.com/trm-go/trm/trm/task"
)

// feed generates the training examples a run takes next, in order, on a
// goroutine of its own, up to a bounded number ahead: the generation of a
// puzzle (a 9×9 Sudoku with a unique solution costs ~0.4 ms of solver
// work) then runs beside the training step instead of inside it, on a core
// the step leaves idle between its parallel products (1.06–1.13× samples/s
// with two threads where every sample of a step is new; BENCHMARKS.md).
// Example i is a pure function of the task, the seed and i, so a run takes
// the same examples, and computes the same bits, with or without it.
type feed struct {
	ch   chan fed
	stop chan struct{}
	once sync.Once
	next int64 // the index the next take returns
}

// fed is one generated example, or the error that ended the feed.
type fed struct {
	i   int64
	ex  task.Example
	err error
}

// startFeed starts generating training examples from, from+1, … of t under
// seed (trainIndex: a fixed list of examples wraps around), at most ahead
// of them waiting at a time.
func startFeed(t task.Task, seed uint64, from int64, ahead int) *feed {
	f := &feed{ch: make(chan fed, max(ahead, 1)), stop: make(chan struct{}), next: from}
	go func() {
		for i := from; ; i++ {
			ex, err := task.Labeled(t, task.SplitTrain, seed, trainIndex(t, i))
			select {
			case f.ch <- fed{i: i, ex: ex, err: err}:
			case <-f.stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return f
}

// take returns example i, which must be the next one (f.next).
func (f *feed) take(i int64) (task.Example, error) {
	if i != f.next {
		return task.Example{}, fmt.Errorf("train: example %d taken from a feed at %d", i, f.next)
	}
	x := <-f.ch
	if x.i != i {
		panic(fmt.Sprintf("train: feed yielded example %d, want %d", x.i, i))
	}
	if x.err != nil {
		return task.Example{}, fmt.Errorf("train: %w", x.err)
	}
	f.next++
	return x.ex, nil
}

// close stops the feed's goroutine. It may be called more than once.
func (f *feed) close() {
	f.once.Do(func() { close(f.stop) })
}

// feedSlot holds a trainer's current feed, so that a cleanup registered
// once per trainer can stop whichever feed runs when the trainer is
// dropped, and a closed feed (with the examples it had buffered) is
// garbage as soon as it is replaced.
type feedSlot struct{ f *feed }

// close stops the slot's feed, if any, and empties the slot.
func (s *feedSlot) close() {
	if s.f != nil {
		s.f.close()
		s.f = nil
	}
}
