package nn

// arena is the tape's float32 storage: a list of chunks handed out by a bump
// offset. A chunk, once made, is never moved, shrunk or dropped while the
// tape lives, so every slice handed out stays valid (until Reset or Release
// lets the storage be handed out again) and a step allocates from the Go
// heap only when it needs more than every earlier step did.
//
// Placement: an allocation goes at the offset in the current chunk when it
// fits; otherwise the rest of that chunk is skipped and it goes at the
// start of the first later chunk large enough, and only when there is none
// is a chunk appended, of max(request, arenaMinChunk, held/arenaGrowth)
// floats (at least arenaHugeChunk once the arena holds that much; newChunk
// rounds a chunk of that size or more up to whole huge pages on Linux).
// Chunks are only ever appended, so a step that repeats an earlier
// step's sequence of allocations, Marks and Releases finds every chunk it
// moves to already there and places everything as before: steady-state
// steps allocate nothing. A step that needs more (a larger batch) appends
// chunks at the end and uses the earlier ones where its requests fit.
//
// Reset rewinds to the first chunk and keeps them all. The chunks are not
// merged into one: that would mean a new block of the whole size, faulted
// in again, while the old ones stay referenced by the spent nodes until the
// collector runs (twice the memory for a step, as a one-buffer arena that
// grows at Reset has). The chunks stay on the Go heap, not in memory mapped
// by the tape: Node values, gradients and Tape.Alloc's results are plain
// []float32 that callers keep (a result read after the tape's last use),
// and the collector does not see slices into memory it does not own, so no
// moment to unmap such memory would be known to be safe.
type arena struct {
	chunks [][]float32 // in placement order
	cur    int         // the chunk being filled (0 when there is none yet)
	off    int         // bump offset in chunks[cur]
	live   int         // floats handed out since Reset and not Released or freed (aligned sizes)
	bumped int         // floats handed out by bumping since Reset (what a mark checks)
	held   int         // floats in all chunks
	// peak is the largest live seen since the tape was made: the storage a
	// step uses at its high-water mark, not counting the chunk tails skipped
	// on the way (held is what the chunks hold in all).
	peak int
	// spare is storage given back by free (the backward pass's spent
	// gradients and scratch), newest last; alloc takes the newest of the
	// requested length before bumping, so what the backward pass frees is
	// reused while it is still in cache. Emptied by reset and release.
	spare [][]float32
	// ready[i] is how many floats at the start of chunks[i] have been
	// faulted in (see fault).
	ready []int
}

// faultAhead is how far past an allocation fault faults a chunk in: 256 KiB.
const faultAhead = 1 << 16

// fault faults in chunks[cur] up to past floats end (and faultAhead more)
// before they are handed out. Fresh memory from the OS is mapped on first
// write, a page at a time, each page a trap; prefault does a stretch in one
// system call where the OS offers one (Linux: about half the cost per page
// on this project's VM, BENCHMARKS.md). It writes nothing: the storage's
// contents do not change.
func (a *arena) fault(end int) {
	c := a.chunks[a.cur]
	hi := min(len(c), (end+faultAhead-1)&^(faultAhead-1))
	prefault(c[a.ready[a.cur]:hi])
	a.ready[a.cur] = hi
}

const (
	// arenaAlign rounds allocations to 16 floats (64 bytes, a cache line).
	// Chunks start at least as aligned: the Go heap puts an object of
	// arenaMinChunk floats or more at the start of its own pages.
	arenaAlign = 16
	// arenaMinChunk is the smallest chunk, in floats (256 KiB).
	arenaMinChunk = 1 << 16
	// arenaGrowth sets the size of a new chunk to at least held/arenaGrowth,
	// so that chunks grow geometrically: a step takes a few dozen of them
	// (36 for the 9×9 Sudoku recipe's 626 MB at batch 64; no more than 85
	// to hold 18 GB), and what the last chunk holds beyond the high-water
	// mark is at most an eighth of the others, the spare eighth of the
	// one-buffer arena this replaced. A larger growth means fewer, larger
	// chunks and less skipped at their tails (a tail is shorter than the
	// request that did not fit: small against chunks that grow with the
	// arena), but a larger unused end. Measured on that recipe, the chunks
	// held 1.11× the peak with an eighth (10% in tails), 1.16× with a
	// quarter (6%), 1.34× with a half (3%). Tails and the unused end are
	// never handed out: where a chunk is memory fresh from the OS they are
	// not resident beyond the faultAhead that fault maps past the last
	// allocation (memory the Go heap reuses is zeroed by make, and so is).
	arenaGrowth = 8
	// arenaHugeChunk is the smallest chunk once the arena holds as much
	// (2 MiB, in floats): the size of a transparent huge page on amd64 and
	// on arm64 with 4 KiB pages, which newChunk asks for where the OS
	// offers them. Below it a tape (tests, small models) keeps small
	// chunks; above it, chunks under 2 MiB would map in 4 KiB pages, one
	// page fault each the first time they are written.
	arenaHugeChunk = 1 << 19
)

// alloc returns n floats of storage, not zeroed.
func (a *arena) alloc(n int) []float32 {
	m := (n + arenaAlign - 1) &^ (arenaAlign - 1)
	for i := len(a.spare) - 1; i >= 0; i-- {
		if s := a.spare[i]; len(s) == n {
			a.spare = append(a.spare[:i], a.spare[i+1:]...)
			a.take(m)
			return s
		}
	}
	if a.cur < len(a.chunks) {
		if c := a.chunks[a.cur]; a.off+m <= len(c) {
			if a.off+m > a.ready[a.cur] {
				a.fault(a.off + m)
			}
			s := c[a.off : a.off+n : a.off+n]
			a.off += m
			a.bumped += m
			a.take(m)
			return s
		}
	}
	return a.next(n, m)
}

// next places an allocation of n floats (m rounded up) at the start of the
// first chunk after the current one that holds m, appending a chunk when
// none does.
func (a *arena) next(n, m int) []float32 {
	j := a.cur
	if j < len(a.chunks) {
		j++
	}
	for j < len(a.chunks) && len(a.chunks[j]) < m {
		j++
	}
	if j == len(a.chunks) {
		size := max(m, arenaMinChunk, (a.held/arenaGrowth+arenaAlign-1)&^(arenaAlign-1))
		if a.held >= arenaHugeChunk {
			size = max(size, arenaHugeChunk)
		}
		c := newChunk(size)
		a.chunks = append(a.chunks, c)
		a.ready = append(a.ready, 0)
		a.held += len(c)
	}
	a.cur, a.off = j, m
	if m > a.ready[j] {
		a.fault(m)
	}
	a.bumped += m
	a.take(m)
	return a.chunks[j][:n:n]
}

// take counts m floats handed out.
func (a *arena) take(m int) {
	a.live += m
	a.peak = max(a.peak, a.live)
}

// free gives s, a slice alloc returned, back for reuse by a later alloc of
// the same length. The caller must not use s afterwards. Storage freed
// before a release (or reset) is not reused after it: release rewinds the
// bump offset, and what lies beyond it is handed out again anyway.
func (a *arena) free(s []float32) {
	if len(s) == 0 {
		return
	}
	a.spare = append(a.spare, s)
	a.live -= (len(s) + arenaAlign - 1) &^ (arenaAlign - 1)
}

func (a *arena) allocZero(n int) []float32 {
	s := a.alloc(n)
	clear(s)
	return s
}

// reset makes all the storage free again, keeping every chunk.
func (a *arena) reset() {
	a.cur, a.off, a.live, a.bumped = 0, 0, 0, 0
	a.dropSpare()
}

// dropSpare forgets the freed storage (its memory is handed out by bumping
// again after a reset or release).
func (a *arena) dropSpare() {
	clear(a.spare)
	a.spare = a.spare[:0]
}

// arenaMark is a position in an arena.
type arenaMark struct {
	chunk, off, live, bumped int
}

func (a *arena) mark() arenaMark {
	return arenaMark{chunk: a.cur, off: a.off, live: a.live, bumped: a.bumped}
}

// after reports whether m lies after the arena's position: it was taken
// before a Reset or a Release to an earlier mark (such a mark is not seen
// once the arena has moved past it again).
func (a *arena) after(m arenaMark) bool {
	return m.chunk > a.cur || m.chunk == a.cur && m.off > a.off || m.bumped > a.bumped
}

// release rewinds to m: what was handed out after it is free again. Freed
// storage is forgotten: some of it may lie past m.
func (a *arena) release(m arenaMark) {
	a.cur, a.off, a.live, a.bumped = m.chunk, m.off, m.live, m.bumped
	a.dropSpare()
}
