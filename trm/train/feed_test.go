package train

import (
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/internal/trmtest"
	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/trm/task"
)

// failingTask is a task whose training example 3 cannot be generated.
type failingTask struct{ task.Task }

func (f failingTask) Example(split task.Split, seed uint64, i int64) (task.Example, error) {
	if i == 3 {
		return task.Example{}, errors.New("generator broke")
	}
	return f.Task.Example(split, seed, i)
}

// TestFeed: the feed yields exactly the examples task.Labeled gives, in
// order from where it starts, refuses an index out of order, reports a
// generation error at the example it belongs to, and its goroutine ends
// when it is closed.
func TestFeed(t *testing.T) {
	tk, err := task.New("arith", task.Options{"digits": "2"})
	require.NoError(t, err)
	before := runtime.NumGoroutine()
	f := startFeed(tk, 7, 5, 3)
	for i := int64(5); i < 40; i++ {
		got, err := f.take(i)
		require.NoError(t, err)
		want, err := task.Labeled(tk, task.SplitTrain, 7, i)
		require.NoError(t, err)
		assert.Equal(t, want, got, "example %d", i)
	}
	_, err = f.take(41)
	assert.ErrorContains(t, err, "example 41 taken from a feed at 40")
	f.close()
	f.close() // twice is fine
	// Polled here: assert.Eventually runs goroutines of its own.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), before, "the feed's goroutine ends when closed")

	bad := startFeed(failingTask{tk}, 7, 0, 8)
	defer bad.close()
	for i := range int64(3) {
		_, err := bad.take(i)
		require.NoError(t, err)
	}
	_, err = bad.take(3)
	assert.ErrorContains(t, err, "example 3: generator broke")
}

// TestTrainerFeedRestarts: Close in the middle of a run loses nothing (the
// next step starts a feed where the run is): the run is the same as one
// never closed. (A resumed run starts its feed at the restored position:
// the resume tests compare those runs with uninterrupted ones.)
func TestTrainerFeedRestarts(t *testing.T) {
	cfg := trmtest.TinyConfig(t, nn.VariantMLP)
	a, err := NewTrainer(cfg, ModeCarry)
	require.NoError(t, err)
	b, err := NewTrainer(cfg, ModeCarry)
	require.NoError(t, err)
	for i := range 6 {
		require.NoError(t, a.Step())
		require.NoError(t, b.Step())
		if i%2 == 0 {
			b.Close()
		}
	}
	a.Close()
	b.Close()
	assert.Equal(t, a.idx, b.idx)
	assert.Equal(t, a.tokens, b.tokens)
	for i, p := range a.Model.Params() {
		assert.Equal(t, p.Value.Data, b.Model.Params()[i].Value.Data, p.Name)
	}
}

// TestTrainerFeedStartsAtConstruction: the first batch's examples are
// generated from NewTrainer on, before the first step asks for them, and a
// resumed trainer's feed starts where the run is.
func TestTrainerFeedStartsAtConstruction(t *testing.T) {
	cfg := trmtest.TinyConfig(t, nn.VariantMLP)
	tr, err := NewTrainer(cfg, ModeCarry)
	require.NoError(t, err)
	defer tr.Close()
	require.NotNil(t, tr.feed)
	require.NotNil(t, tr.feed.f, "a feed runs before the first step")
	assert.Equal(t, int64(0), tr.feed.f.next)
	deadline := time.Now().Add(10 * time.Second)
	for len(tr.feed.f.ch) < cfg.BatchSize && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	assert.GreaterOrEqual(t, len(tr.feed.f.ch), cfg.BatchSize, "the first batch waits, generated")

	dir := t.TempDir()
	for range 3 {
		require.NoError(t, tr.Step())
	}
	require.NoError(t, Run{Dir: dir}.Create(cfg))
	require.NoError(t, tr.Save(dir))
	re, err := ResumeTrainer(dir, cfg, ModeCarry)
	require.NoError(t, err)
	defer re.Close()
	require.NotNil(t, re.feed)
	require.NotNil(t, re.feed.f)
	assert.Equal(t, tr.dataPos, re.feed.f.next, "the resumed feed starts at the run's next example")
}

// TestTrainerDroppedStopsFeed: a trainer dropped without Close stops its
// feed's goroutine once it is garbage collected.
func TestTrainerDroppedStopsFeed(t *testing.T) {
	cfg := trmtest.TinyConfig(t, nn.VariantMLP)
	// A first trainer, closed, starts what lives on (the kernels' helper
	// goroutines), so that the count below sees only the feed.
	warm, err := NewTrainer(cfg, ModeCarry)
	require.NoError(t, err)
	require.NoError(t, warm.Step())
	warm.Close()
	before := settledGoroutines()
	func() {
		tr, err := NewTrainer(cfg, ModeCarry)
		require.NoError(t, err)
		require.NoError(t, tr.Step())
	}()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), before, "the feed's goroutine ends with its trainer")
}

// settledGoroutines returns the goroutine count once it has stopped
// changing (a closed feed's goroutine ends on its own schedule).
func settledGoroutines() int {
	n := runtime.NumGoroutine()
	for same := 0; same < 5; {
		time.Sleep(10 * time.Millisecond)
		if m := runtime.NumGoroutine(); m == n {
			same++
		} else {
			n, same = m, 0
		}
	}
	return n
}
