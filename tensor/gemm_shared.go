package tensor

import (
	"runtime"
	"sync/atomic"

	"github.com/trm-go/trm/asm"
)

// A Gemm call with more rows than one block (m > gemmMC) runs in parallel
// the way BLIS does, rather than as a grid of independent sub-GEMMs: the
// workers share one packed B block and take rows of C from a common counter.
//
// The work is a fixed sequence of tasks, phase by phase: one phase per
// (column block jc, k slice pc) of the sequential loops. A phase starts with
// bTasks tasks that each pack a few B panels into the shared buffer, then has
// row tasks: each takes a group of gemmGroup·MR rows (or, when C has few
// row groups, a column part of one), packs those rows of A into the
// worker's own buffer and sweeps them across the packed B panels. Tasks
// are claimed in order from next; a row task waits until its phase's B is
// packed, a packing task until the previous phase's row tasks no longer need
// the buffer. Every wait is for tasks already claimed by a running worker,
// so it ends (also when all tasks run on one goroutine, or when the helpers
// are busy elsewhere). Against the grid this packs A and B once each, not
// once per part, and its small row tasks keep both workers busy to the end
// when one of them is slowed (a noisy machine, another process): the last
// task to finish is one small task, not half of C.
//
// Each element of C still sums its products with the same kernels, kc and
// order as the sequential code, so the result is bitwise that of one worker.
type gemmShared struct {
	task           parTask
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int

	kc, nc   int // k slice and column block sizes, as gemmBlocked picks them
	slices   int // k slices per column block
	bChunk   int // B panels packed by one packing task
	bTasks   int // packing tasks per phase
	colParts int // column parts of a row group (see gemmRunShared)
	rowTasks int // row tasks per phase: row groups × colParts
	tasks    int // tasks in all phases

	next     atomic.Int64 // the next task to claim
	doneB    atomic.Int64 // packing tasks finished, all phases together
	doneRows atomic.Int64 // row tasks finished, all phases together

	bp []float32 // the shared packed B block, nc·kc floats
}

// gemmSharedRows is the height of a row task: one asm.KernelN group.
const gemmSharedRows = gemmGroup * gemmMR

// gemmSharedTasks is how many row tasks per worker and phase the shared-B
// scheme aims at.
const gemmSharedTasks = 32

// gemmSharedPartPanels is the fewest B panels in a column part of a row task.
const gemmSharedPartPanels = 8

var gemmShareds freeList[gemmShared]

// gemmRunShared computes one Gemm call (arguments already checked, alpha ≠ 0,
// k > 0) on up to workers goroutines with the shared-B scheme.
func gemmRunShared(workers int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	s := gemmShareds.get()
	s.transA, s.transB = transA, transB
	s.m, s.n, s.k = m, n, k
	s.alpha, s.beta = alpha, beta
	s.a, s.b, s.c = a, b, c
	s.lda, s.ldb, s.ldc = lda, ldb, ldc

	s.kc = gemmBlock(k, gemmKC, 1)
	s.nc = gemmBlock(n, gemmNC, gemmNR)
	s.slices = (k + s.kc - 1) / s.kc
	panels := s.nc / gemmNR
	s.bChunk = (panels + 4*workers - 1) / (4 * workers) // about 4 packing tasks per worker
	s.bTasks = (panels + s.bChunk - 1) / s.bChunk
	// Every worker should get about gemmSharedTasks row tasks, so that
	// the one still running when the others run out of work is a small
	// share of the call: a short, wide C has its row groups cut into
	// column parts. Each part packs its rows of A again; at least
	// gemmSharedPartPanels B panels per part keep that to a few percent.
	groups := (m + gemmSharedRows - 1) / gemmSharedRows
	s.colParts = max(1, min(panels/gemmSharedPartPanels, (gemmSharedTasks*workers+groups-1)/groups))
	s.rowTasks = groups * s.colParts
	s.tasks = (s.bTasks + s.rowTasks) * s.slices * ((n + s.nc - 1) / s.nc)
	if cap(s.bp) < s.nc*s.kc {
		s.bp = make([]float32, s.nc*s.kc)
	}
	s.next.Store(0)
	s.doneB.Store(0)
	s.doneRows.Store(0)

	parts := min(workers, s.bTasks+s.rowTasks)
	s.task.run(s, parts, parts-1)
	s.a, s.b, s.c = nil, nil, nil // do not keep the caller's memory alive
	gemmShareds.put(s)
}

// runPart claims and runs tasks until none is left; every part does the
// same, so which goroutine runs which task does not matter.
func (s *gemmShared) runPart(int) {
	var ws *gemmWorkspace
	perPhase := s.bTasks + s.rowTasks
	for {
		t := int(s.next.Add(1) - 1)
		if t >= s.tasks {
			break
		}
		ph, i := t/perPhase, t%perPhase
		jc, pc := ph/s.slices*s.nc, ph%s.slices*s.kc
		nb, kb := min(s.nc, s.n-jc), min(s.kc, s.k-pc)
		if i < s.bTasks {
			// Pack columns [c0, c1) of this phase's B once the row tasks
			// of the previous phase are done with the buffer.
			gemmWait(&s.doneRows, int64(ph*s.rowTasks))
			c0, c1 := i*s.bChunk*gemmNR, min((i+1)*s.bChunk*gemmNR, nb)
			if c0 < c1 {
				asm.PackB(s.bp[c0*kb:], gemmAt(s.b, s.transB, pc, jc+c0, s.ldb), s.ldb, s.transB, kb, c1-c0)
			}
			s.doneB.Add(1)
			continue
		}
		gemmWait(&s.doneB, int64((ph+1)*s.bTasks))
		if ws == nil {
			ws = gemmWorkspaces.get()
			if cap(ws.a) < gemmSharedRows*s.kc {
				ws.a = make([]float32, gemmSharedRows*s.kc)
			}
		}
		g, part := (i-s.bTasks)/s.colParts, (i-s.bTasks)%s.colParts
		r0 := g * gemmSharedRows
		rows := min(gemmSharedRows, s.m-r0)
		partCols := ((nb+gemmNR-1)/gemmNR + s.colParts - 1) / s.colParts * gemmNR
		c0, c1 := part*partCols, min((part+1)*partCols, nb)
		if c0 < c1 {
			ap := ws.a[:(rows+gemmMR-1)/gemmMR*gemmMR*kb]
			asm.PackA(ap, gemmAt(s.a, s.transA, r0, pc, s.lda), s.lda, s.transA, rows, kb, s.alpha)
			tileBeta := float32(1)
			if pc == 0 {
				tileBeta = s.beta
			}
			c := s.c[r0*s.ldc+jc:]
			for jr := c0; jr < c1; jr += gemmNR {
				ws.block(tileBeta, kb, ap, s.bp[jr*kb:(jr+gemmNR)*kb], c[jr:], s.ldc, rows, min(gemmNR, nb-jr))
			}
		}
		s.doneRows.Add(1)
	}
	if ws != nil {
		gemmWorkspaces.put(ws)
	}
}

// gemmWait returns once *c ≥ want, yielding the processor while it waits:
// the tasks it waits for are running on other goroutines.
func gemmWait(c *atomic.Int64, want int64) {
	for c.Load() < want {
		runtime.Gosched()
	}
}
