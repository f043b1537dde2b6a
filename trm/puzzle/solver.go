package puzzle

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
)

// SolveResult is what a search found.
type SolveResult struct {
	// Count is the number of solutions found, at most the limit asked for:
	// with limit 2, Count 1 means the solution is unique.
	Count int
	// Solution is the first solution found (the zero Grid when Count is 0).
	Solution Grid
	// Backtracks counts the dead ends (contradictions) the whole search met.
	Backtracks int
	// Rating counts the dead ends met before the first solution was found:
	// 0 for a puzzle that constraint propagation alone solves. It is the
	// difficulty measure (the "rating" column of Sudoku-Extreme is the same
	// idea, measured there with a different solver). It equals Backtracks
	// when there is no solution.
	Rating int
	// Aborted reports that the search ran out of its dead-end budget (see
	// CountSolutionsBounded) before it found limit solutions or explored
	// every branch: Count is then only a lower bound, and a Count of 0
	// proves nothing.
	Aborted bool
}

// Unique reports whether exactly one solution was found (meaningful when the
// search ran with a limit of at least 2).
func (r SolveResult) Unique() bool { return r.Count == 1 }

// CountSolutions searches g for solutions, stopping once limit have been
// found (limit ≥ 1; 2 decides uniqueness). Conflicting givens give a Count of
// 0, not an error; the error is for a malformed grid.
//
// The solver keeps the used digits of each row, column and box as bitmasks,
// fills naked and hidden singles until nothing changes, then branches on the
// blank cell with the fewest candidates, trying digits in increasing order.
func CountSolutions(g Grid, limit int) (SolveResult, error) {
	return CountSolutionsBounded(g, limit, 0)
}

// CountSolutionsBounded is CountSolutions with a budget: the search stops
// once it has met maxBacktracks dead ends (0: no budget), with
// SolveResult.Aborted set if it had not finished by then. Exact search is
// fast on real puzzles (the hardest of top95 meet a few hundred dead ends)
// but exponential in the worst case: a grid with few givens and no
// solution can take millions of dead ends (seconds) to refute, so a search
// on user input should be bounded.
func CountSolutionsBounded(g Grid, limit, maxBacktracks int) (SolveResult, error) {
	if err := g.Check(); err != nil {
		return SolveResult{}, err
	}
	if limit < 1 {
		return SolveResult{}, fmt.Errorf("solution limit %d: want at least 1", limit)
	}
	if maxBacktracks < 0 {
		return SolveResult{}, fmt.Errorf("dead-end budget %d: want ≥ 0 (0: none)", maxBacktracks)
	}
	s := newSolver(g.Shape, limit, nil)
	s.maxDeadEnds = maxBacktracks
	return s.run(g), nil
}

// Solve solves g and checks that its solution is unique: it returns the
// first solution, and the result of a search with limit 2. It returns an
// error for a malformed grid or a puzzle without a solution; a puzzle with
// several solutions is not an error (see SolveResult.Unique).
func Solve(g Grid) (Grid, SolveResult, error) {
	res, err := CountSolutions(g, 2)
	if err != nil {
		return Grid{}, res, err
	}
	if res.Count == 0 {
		return Grid{}, res, fmt.Errorf("sudoku %v %s: no solution", g.Shape, g)
	}
	return res.Solution, res, nil
}

// solveState is one node of the search: the grid and the digits used per
// row, column and box (bit d set when digit d is used). It is small enough
// to be copied at each branch instead of being undone.
type solveState struct {
	cells              [maxCells]uint8
	rows, cols, boxes  [MaxSudokuSize]uint16
	empty              int
	bestCell, bestCand int
}

// solver holds the tables of a shape and the search counters.
type solver struct {
	shape    Shape
	n, cells int
	all      uint16 // bits 1..n
	rowOf    [maxCells]uint8
	colOf    [maxCells]uint8
	boxOf    [maxCells]uint8
	// units lists the cells of every row, then column, then box.
	units [3 * MaxSudokuSize][MaxSudokuSize]uint8

	limit int
	rng   *rand.Rand // when non-nil, digits are tried in a random order
	// maxDeadEnds stops the search once deadEnds reaches it (0: never),
	// setting aborted.
	maxDeadEnds int
	aborted     bool
	// stack holds the state of each search depth; a branch fills one cell,
	// so the depth is at most the number of cells.
	stack    [maxCells + 1]solveState
	count    int
	deadEnds int
	rating   int
	solution [maxCells]uint8
}

func newSolver(shape Shape, limit int, rng *rand.Rand) *solver {
	s := &solver{shape: shape, n: shape.Size(), cells: shape.NumCells(), limit: limit, rng: rng}
	s.all = uint16(1)<<(s.n+1) - 2
	fill := [3 * MaxSudokuSize]int{}
	for i := 0; i < s.cells; i++ {
		r, c := i/s.n, i%s.n
		b := shape.box(r, c)
		s.rowOf[i], s.colOf[i], s.boxOf[i] = uint8(r), uint8(c), uint8(b)
		for _, u := range [3]int{r, s.n + c, 2*s.n + b} {
			s.units[u][fill[u]] = uint8(i)
			fill[u]++
		}
	}
	return s
}

// run searches from grid g (already checked).
func (s *solver) run(g Grid) SolveResult {
	s.count, s.deadEnds, s.rating, s.aborted = 0, 0, 0, false
	st := &s.stack[0]
	*st = solveState{empty: s.cells}
	ok := true
	for i, v := range g.Cells {
		if v == 0 {
			continue
		}
		if !s.canPlace(st, i, v) {
			ok = false
			break
		}
		s.place(st, i, v)
	}
	if ok {
		s.search(0)
	} else {
		s.deadEnds++
	}
	res := SolveResult{Count: s.count, Backtracks: s.deadEnds, Rating: s.rating, Aborted: s.aborted}
	if s.count == 0 {
		res.Rating = s.deadEnds
	} else {
		res.Solution = Grid{Shape: s.shape, Cells: append([]uint8(nil), s.solution[:s.cells]...)}
	}
	return res
}

func (s *solver) candidates(st *solveState, i int) uint16 {
	return s.all &^ (st.rows[s.rowOf[i]] | st.cols[s.colOf[i]] | st.boxes[s.boxOf[i]])
}

func (s *solver) canPlace(st *solveState, i int, d uint8) bool {
	return st.cells[i] == 0 && s.candidates(st, i)&(1<<d) != 0
}

// place writes digit d in the blank cell i. The caller has checked that d is
// a candidate there.
func (s *solver) place(st *solveState, i int, d uint8) {
	bit := uint16(1) << d
	st.cells[i] = d
	st.rows[s.rowOf[i]] |= bit
	st.cols[s.colOf[i]] |= bit
	st.boxes[s.boxOf[i]] |= bit
	st.empty--
}

// unitUsed returns the digits already placed in unit u.
func (s *solver) unitUsed(st *solveState, u int) uint16 {
	switch {
	case u < s.n:
		return st.rows[u]
	case u < 2*s.n:
		return st.cols[u-s.n]
	default:
		return st.boxes[u-2*s.n]
	}
}

// propagate places naked singles (a cell with one candidate) and hidden
// singles (a digit with one possible cell in a unit) until neither applies.
// It returns false on a contradiction. On success with blanks left,
// st.bestCell is the blank with the fewest candidates.
func (s *solver) propagate(st *solveState) bool {
	for {
		progress := false
		st.bestCell, st.bestCand = -1, s.n+1
		for i := 0; i < s.cells; i++ {
			if st.cells[i] != 0 {
				continue
			}
			cand := s.candidates(st, i)
			switch k := bits.OnesCount16(cand); k {
			case 0:
				return false
			case 1:
				s.place(st, i, uint8(bits.TrailingZeros16(cand)))
				progress = true
			default:
				if k < st.bestCand {
					st.bestCell, st.bestCand = i, k
				}
			}
		}
		if progress {
			continue
		}
		if st.empty == 0 {
			return true
		}
		for u := 0; u < 3*s.n; u++ {
			used := s.unitUsed(st, u)
			if used == s.all {
				continue
			}
			var once, twice uint16
			for _, c := range s.units[u][:s.n] {
				if st.cells[c] != 0 {
					continue
				}
				cand := s.candidates(st, int(c))
				twice |= once & cand
				once |= cand
			}
			if once|used != s.all {
				return false // some digit has nowhere to go in this unit
			}
			singles := once &^ twice
			for singles != 0 {
				d := uint8(bits.TrailingZeros16(singles))
				singles &= singles - 1
				placed := false
				for _, c := range s.units[u][:s.n] {
					if st.cells[c] == 0 && s.candidates(st, int(c))&(1<<d) != 0 {
						s.place(st, int(c), d)
						placed = true
						break
					}
				}
				if !placed {
					return false // its only cell took another hidden single
				}
				progress = true
			}
		}
		if !progress {
			return true
		}
	}
}

// search explores the state s.stack[depth]; it returns true once the
// solution limit or the dead-end budget is reached. Each branch works on a copy in the next slot,
// so the search allocates nothing.
func (s *solver) search(depth int) bool {
	st := &s.stack[depth]
	if !s.propagate(st) {
		s.deadEnds++
		if s.maxDeadEnds > 0 && s.deadEnds >= s.maxDeadEnds {
			s.aborted = true
			return true
		}
		return false
	}
	if st.empty == 0 {
		if s.count == 0 {
			s.rating = s.deadEnds
			s.solution = st.cells
		}
		s.count++
		return s.count >= s.limit
	}
	cell := st.bestCell
	cand := s.candidates(st, cell)
	var order [MaxSudokuSize]uint8
	k := 0
	for c := cand; c != 0; c &= c - 1 {
		order[k] = uint8(bits.TrailingZeros16(c))
		k++
	}
	if s.rng != nil {
		s.rng.Shuffle(k, func(a, b int) { order[a], order[b] = order[b], order[a] })
	}
	for _, d := range order[:k] {
		child := &s.stack[depth+1]
		*child = *st
		s.place(child, cell, d)
		if s.search(depth + 1) {
			return true
		}
	}
	return false
}
