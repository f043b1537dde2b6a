package nn

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/tensor"
)

// addr returns the address of s's first element (s must not be empty).
func addr(s []float32) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(s))) }

// where returns the chunk holding s and s's offset in it, or -1, -1.
func (a *arena) where(s []float32) (chunk, off int) {
	p := addr(s)
	for i, c := range a.chunks {
		if lo := addr(c); p >= lo && p < lo+uintptr(len(c))*4 {
			return i, int(p-lo) / 4
		}
	}
	return -1, -1
}

func TestArenaPlacement(t *testing.T) {
	var a arena
	x := a.alloc(10)
	require.Len(t, a.chunks, 1)
	assert.Equal(t, arenaMinChunk, len(a.chunks[0]), "the first chunk is the minimum")
	assert.Len(t, x, 10)
	assert.Equal(t, 10, cap(x), "no room to append into the next allocation")
	y := a.alloc(1)
	c, off := a.where(y)
	assert.Equal(t, 0, c)
	assert.Equal(t, arenaAlign, off, "rounded to arenaAlign")

	// What does not fit in the rest of the chunk goes to a new one; the
	// tail is skipped.
	big := arenaMinChunk - 2*arenaAlign + 1
	z := a.alloc(big)
	require.Len(t, a.chunks, 2)
	c, off = a.where(z)
	assert.Equal(t, [2]int{1, 0}, [2]int{c, off})
	assert.Equal(t, arenaMinChunk, len(a.chunks[1]))
	assert.Equal(t, 2*arenaMinChunk, a.held)
	assert.Equal(t, 2*arenaAlign+(big+arenaAlign-1)&^(arenaAlign-1), a.live)
	assert.Equal(t, a.live, a.peak, "the peak counts what is handed out, not the skipped tail")
	w := a.alloc(arenaAlign)
	c, off = a.where(w)
	assert.Equal(t, [2]int{1, arenaMinChunk - arenaAlign}, [2]int{c, off}, "the new chunk fills on")

	// Values never overlap.
	for _, s := range [][]float32{x, y, z, w} {
		for i := range s {
			s[i] = float32(len(s))
		}
	}
	for _, s := range [][]float32{x, y, z, w} {
		for _, v := range s {
			require.Equal(t, float32(len(s)), v)
		}
	}
}

// A request larger than the growth size gets a chunk of its own size; the
// growth size follows the total held.
func TestArenaLargeRequestsAndGrowth(t *testing.T) {
	var a arena
	a.alloc(100)
	huge := 40*arenaMinChunk + 3
	h := a.alloc(huge)
	require.Len(t, a.chunks, 2)
	assert.Equal(t, chunkLen((huge+arenaAlign-1)&^(arenaAlign-1)), len(a.chunks[1]), "a chunk of the request's size")
	c, off := a.where(h)
	assert.Equal(t, [2]int{1, 0}, [2]int{c, off})
	// The next small request finds the big chunk full (on Linux, where
	// the chunk is rounded up to huge pages, after filling its end): a new
	// chunk of an eighth of what is held, and no smaller than a huge page.
	if rest := len(a.chunks[1]) - a.off; rest > 0 {
		a.alloc(rest)
	}
	a.alloc(1)
	require.Len(t, a.chunks, 3)
	held := arenaMinChunk + len(a.chunks[1])
	assert.Equal(t, chunkLen(max(arenaHugeChunk, (held/arenaGrowth+arenaAlign-1)&^(arenaAlign-1))), len(a.chunks[2]))
	assert.Equal(t, held+len(a.chunks[2]), a.held)

	// Chunks grow geometrically: many small requests take few chunks.
	var b arena
	for range 1 << 14 {
		b.alloc(1000) // 1024 floats each, 64 MiB in all
	}
	assert.Less(t, len(b.chunks), 40)
	assert.LessOrEqual(t, float64(b.held), 1.3*float64(b.peak))
	for i := 1; i < len(b.chunks); i++ {
		assert.GreaterOrEqual(t, len(b.chunks[i]), len(b.chunks[i-1]), "chunk %d", i)
	}
}

func TestArenaAlignment(t *testing.T) {
	var a arena
	rng := rand.New(rand.NewPCG(5, 5))
	for range 2000 {
		n := 1 + rng.IntN(3*arenaMinChunk/2)
		if rng.IntN(4) > 0 {
			n = 1 + rng.IntN(100)
		}
		s := a.alloc(n)
		require.Zero(t, addr(s)%(4*arenaAlign), "%d floats at %#x", n, addr(s))
		require.Equal(t, n, len(s))
		require.Equal(t, n, cap(s))
	}
}

// arenaScript is a sequence of arena operations: a positive entry
// allocates that many floats, 0 takes a mark, -1 releases the last mark.
type arenaScript []int

func randomScript(rng *rand.Rand, n, maxSize int) arenaScript {
	var s arenaScript
	depth := 0
	for range n {
		switch r := rng.IntN(20); {
		case r == 0 && depth < 32:
			s = append(s, 0)
			depth++
		case r == 1 && depth > 0:
			s = append(s, -1)
			depth--
		case r == 2:
			s = append(s, 1+rng.IntN(4*arenaMinChunk)) // larger than the first growth sizes
		default:
			s = append(s, 1+rng.IntN(maxSize))
		}
	}
	return s
}

// run plays s on a and returns the address of every allocation, in addrs
// (which it does not grow when it has room: no allocation of its own).
func (s arenaScript) run(a *arena, addrs []uintptr) []uintptr {
	addrs = addrs[:0]
	var buf [64]arenaMark
	marks := buf[:0]
	for _, op := range s {
		switch {
		case op == 0:
			marks = append(marks, a.mark())
		case op < 0:
			a.release(marks[len(marks)-1])
			marks = marks[:len(marks)-1]
		default:
			addrs = append(addrs, addr(a.alloc(op)))
		}
	}
	return addrs
}

// A step that repeats an earlier step's allocations, marks and releases
// places everything where it was and allocates nothing, whatever the
// sequence: chunks are only appended, and placement takes the first chunk
// that fits.
func TestArenaResetReusesEverything(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for trial := range 20 {
		var a arena
		script := randomScript(rng, 400, 1+rng.IntN(50000))
		first := script.run(&a, nil)
		chunks, held, peak := len(a.chunks), a.held, a.peak
		a.reset()
		again := script.run(&a, make([]uintptr, 0, len(first)))
		require.Equal(t, first, again, "trial %d: same sequence, same placement", trial)
		require.Equal(t, chunks, len(a.chunks), "trial %d", trial)
		require.Equal(t, held, a.held)
		require.Equal(t, peak, a.peak)
		buf := make([]uintptr, 0, len(first))
		allocs := testing.AllocsPerRun(5, func() {
			a.reset()
			script.run(&a, buf)
		})
		require.Zero(t, allocs, "trial %d", trial)
	}
}

// A larger step after a smaller one appends chunks and keeps the old ones;
// after it, both sizes of step run without allocating.
func TestArenaGrowsForALargerStep(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	rng := rand.New(rand.NewPCG(9, 9))
	small := randomScript(rng, 300, 3000)
	large := make(arenaScript, len(small))
	for i, op := range small {
		large[i] = op
		if op > 0 {
			large[i] = 8 * op // the same step at 8 times the batch
		}
	}
	var a arena
	buf := make([]uintptr, 0, len(small))
	small.run(&a, buf)
	old := append([][]float32(nil), a.chunks...)
	a.reset()
	large.run(&a, buf)
	require.Greater(t, len(a.chunks), len(old))
	for i, c := range old {
		assert.Equal(t, addr(c), addr(a.chunks[i]), "chunk %d stays", i)
	}
	for _, s := range []arenaScript{small, large, small} {
		allocs := testing.AllocsPerRun(3, func() {
			a.reset()
			s.run(&a, buf)
		})
		assert.Zero(t, allocs)
	}
}

func TestArenaMarkReleaseAcrossChunks(t *testing.T) {
	var a arena
	a.alloc(100)
	m := a.mark()
	x := a.alloc(arenaMinChunk / 2)
	a.alloc(arenaMinChunk) // a new chunk
	a.alloc(arenaMinChunk) // and another
	require.Len(t, a.chunks, 3)
	assert.Equal(t, 2, a.cur)
	peak := a.peak
	a.release(m)
	assert.Equal(t, 0, a.cur)
	assert.Equal(t, 112, a.live)
	assert.Equal(t, peak, a.peak, "the peak stays")
	y := a.alloc(arenaMinChunk / 2)
	assert.Equal(t, addr(x), addr(y), "the released storage is reused")
	a.alloc(arenaMinChunk)
	assert.Equal(t, 1, a.cur, "into the chunk made before")
	assert.Len(t, a.chunks, 3, "nothing new")

	// A mark from before a Release to an earlier mark or a Reset is refused
	// when it lies after the tape's position (the check cannot see a stale
	// mark once the tape has moved past it again).
	tp := NewTape()
	tp.SetNoGrad(true)
	early := tp.Mark()
	tp.Alloc(10)
	tp.Alloc(arenaMinChunk)
	late := tp.Mark()
	tp.Alloc(arenaMinChunk)
	tp.Release(late)
	tp.Release(early)
	assert.Panics(t, func() { tp.Release(late) })
	tp.Alloc(10)
	tp.Reset()
	assert.Panics(t, func() { tp.Release(late) })
}

// The second forward+backward pass of a block on a tape allocates nothing:
// the first one made every chunk it needs (the one-buffer arena spilled to
// the heap on the first step and grew on the second).
func TestSecondStepNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	// One worker: this is about the arena. With helpers, which pooled GEMM
	// workspace a part gets varies from step to step, and a workspace met
	// for the first time may grow once (CI's purego run saw 1 allocation);
	// TestSteadyStateNoAllocs covers the pools over many steps.
	prev := tensor.Workers()
	tensor.SetWorkers(1)
	defer tensor.SetWorkers(prev)
	for _, v := range []Variant{VariantAttn, VariantMLP} {
		rng := rand.New(rand.NewPCG(1, 2))
		cfg := BlockConfig{Variant: v, Hidden: 64, Heads: 4, Expansion: 4, Seq: 33}
		blk, err := NewBlock("b", cfg, NewRoPE(16, 33, 10000), rng)
		require.NoError(t, err)
		x, w := tensor.New(4, 33, 64), tensor.New(4, 33, 64)
		TruncNormal(x.Data, 1, rng)
		TruncNormal(w.Data, 1, rng)
		// A fresh tape each try; the least count of a few tries, since
		// MemStats counts the whole process's allocations.
		var first, second uint64 = 0, math.MaxUint64
		for range 3 {
			tp := NewTape()
			step := func() {
				tp.Reset()
				out := blk.Forward(tp, tp.Var(x))
				tp.Backward(tp.Sum(tp.Mul(out, tp.Const(w))))
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			before := ms.Mallocs
			step()
			runtime.ReadMemStats(&ms)
			first = ms.Mallocs - before
			before = ms.Mallocs
			step()
			runtime.ReadMemStats(&ms)
			second = min(second, ms.Mallocs-before)
			// Tails and the unused end: at most half the peak, plus one
			// smallest chunk (which, in an arena of a few chunks like this
			// one, sets the size of a skipped tail) and the unused end of a
			// chunk of the size past which chunks are at least as large.
			assert.LessOrEqual(t, tp.arena.held, tp.arena.peak+tp.arena.peak/2+arenaMinChunk+arenaHugeChunk, "variant %s", v)
		}
		assert.Zero(t, second, "variant %s: second step (the first made %d allocations)", v, first)
	}
}

// Freed storage is handed out again, newest first, to an allocation of the
// same length only; live counts it out and in again; a release or reset
// forgets it.
func TestArenaFreeReuses(t *testing.T) {
	var a arena
	x1 := a.alloc(100)
	x2 := a.alloc(100)
	y := a.alloc(50)
	live := a.live
	a.free(x1)
	a.free(x2)
	assert.Equal(t, live-2*112, a.live, "freed storage is not live")
	assert.Equal(t, addr(x2), addr(a.alloc(100)), "the newest freed first")
	assert.Equal(t, addr(x1), addr(a.alloc(100)))
	assert.Equal(t, live, a.live)
	z := a.alloc(100)
	assert.NotEqual(t, addr(x1), addr(z), "nothing freed is left: a bump")
	assert.NotEqual(t, addr(x2), addr(z))
	a.free(y)
	w := a.alloc(60)
	assert.NotEqual(t, addr(y), addr(w), "another length: no reuse")
	assert.Equal(t, addr(y), addr(a.alloc(50)))
	a.free(nil) // a no-op

	// A release forgets what was freed (some of it may lie past the mark)
	// and does not see a mark as stale because live fell below it.
	m := a.mark()
	a.free(x1) // storage from before the mark: live drops below m.live
	assert.False(t, a.after(m), "a freed slice does not make the mark stale")
	a.release(m)
	assert.Empty(t, a.spare)
	a.free(x2)
	a.reset()
	assert.Empty(t, a.spare)
	assert.Zero(t, a.live)
}

// Backward frees each op's output gradient once the op's step has run: a
// chain of n ops holds a few gradients at a time, not n, the gradients are
// still right (against the chain rule in float64, element by element), and
// the intermediate nodes' Grad is nil afterwards, while a leaf's and a
// parameter's stay.
func TestBackwardFreesSpentGradients(t *testing.T) {
	const n, rows, cols = 24, 64, 64
	rng := rand.New(rand.NewPCG(3, 4))
	x := tensor.New(rows, cols)
	TruncNormal(x.Data, 1, rng)
	p := NewParam("p", cols)
	TruncNormal(p.Value.Data, 1, rng)
	doubles := func(i int) bool { return i%3 == 2 } // h+h, reshaped: gradients passed on

	tp := NewTape()
	xv := tp.Var(x)
	h := tp.Add(xv, &p.Node) // broadcast over the rows
	var inner []*Node
	for i := range n {
		if doubles(i) {
			h = tp.Reshape(tp.Add(h, h), rows, cols)
		} else {
			h = tp.SiLU(h)
		}
		inner = append(inner, h)
	}
	loss := tp.Sum(h)
	fwd := tp.arena.peak
	tp.Backward(loss)
	bwd := tp.arena.peak
	assert.Greater(t, fwd, n*rows*cols, "the activations are all held")
	// The gradient being written, the one it reads, the leaf's, a scratch
	// buffer and the scalar loss's: not one per op.
	assert.LessOrEqual(t, bwd-fwd, 4*rows*cols+arenaAlign, "backward peak over forward peak")
	for i, in := range inner {
		assert.Nil(t, in.Grad.Data, "inner node %d", i)
	}

	silu := func(v float64) float64 { return v / (1 + math.Exp(-v)) }
	dsilu := func(v float64) float64 { s := 1 / (1 + math.Exp(-v)); return s * (1 + v*(1-s)) }
	pg := make([]float64, cols)
	for e, xe := range x.Data {
		v := float64(xe + p.Value.Data[e%cols])
		d := 1.0
		for i := range n {
			if doubles(i) {
				v, d = 2*v, 2*d
			} else {
				v, d = silu(v), d*dsilu(v)
			}
		}
		require.InDelta(t, d, float64(xv.Grad.Data[e]), 1e-4*math.Max(1, math.Abs(d)), "dx[%d]", e)
		pg[e%cols] += d
	}
	for c, want := range pg {
		require.InDelta(t, want, float64(p.Grad.Data[c]), 1e-4*math.Max(1, math.Abs(want)), "dp[%d]", c)
	}
}

// Every allocation lies in the faulted-in start of its chunk (ready), which
// runs at most faultAhead past the furthest allocation and never past the
// chunk; prefault keeps values and takes slices of any alignment.
func TestArenaFaultsAhead(t *testing.T) {
	var a arena
	rng := rand.New(rand.NewPCG(11, 12))
	for range 300 {
		s := a.alloc(1 + rng.IntN(3*faultAhead))
		c, off := a.where(s)
		require.GreaterOrEqual(t, a.ready[c], off+len(s), "chunk %d", c)
		require.LessOrEqual(t, a.ready[c], len(a.chunks[c]))
		require.LessOrEqual(t, a.ready[c], a.off+faultAhead, "no further than faultAhead past the bump offset")
	}
	require.Len(t, a.ready, len(a.chunks))

	x := make([]float32, 5*1024+7)
	for i := range x {
		x[i] = float32(i)
	}
	for _, s := range [][]float32{x, x[1:], x[3 : 3+1024], x[5:9], x[:0], x[len(x)-1:]} {
		prefault(s)
	}
	for i, v := range x {
		require.Equal(t, float32(i), v)
	}
}
