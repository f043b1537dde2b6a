package task

import (
	"sync"

	"github.com/trm-go/trm/trm/puzzle"
)

// The class keys of Sudoku puzzles: two puzzles share a key exactly (4×4,
// 6×6) or at least (9×9) when an augmentation maps one onto the other, so
// that a split by key never puts an augmentation of a train puzzle in test.

// key returns the class key of a puzzle (see Split above).
func (t *Sudoku) key(q []byte) uint64 {
	if t.shape.Size() <= 6 {
		return hashBytes(sudokuCanonical(t.shape, q))
	}
	return sudokuInvariant(t.shape, q)
}

// sudokuCanonical returns the canonical form of the puzzle q (cells row by
// row, 0 blank): over every map of the augmentation group (transposition
// when the boxes are square, band and row, stack and column permutations),
// the lexicographically least grid with digits renamed in order of first
// appearance (which is the least renaming of each mapped grid). Two puzzles
// have the same form exactly when an augmentation maps one to the other.
// It enumerates the whole group: use it for small shapes only.
func sudokuCanonical(shape puzzle.Shape, q []byte) []byte {
	n := shape.Size()
	rows, cols := sudokuGroupPerms(shape)
	transposes := []bool{false}
	if shape.BoxRows == shape.BoxCols {
		transposes = append(transposes, true)
	}
	best := make([]byte, n*n)
	cur := make([]byte, n*n)
	have := false
	for _, tr := range transposes {
		for _, rp := range rows {
			for _, cp := range cols {
				var rename [puzzle.MaxSudokuSize + 1]byte
				next := byte(1)
				less := !have // cur is already known to be below best
				worse := false
				for i := range cur {
					sr, sc := rp[i/n], cp[i%n]
					if tr {
						sr, sc = sc, sr
					}
					v := q[sr*n+sc]
					if v != 0 {
						if rename[v] == 0 {
							rename[v] = next
							next++
						}
						v = rename[v]
					}
					cur[i] = v
					if !less {
						if v > best[i] {
							worse = true
							break
						}
						less = v < best[i]
					}
				}
				if !worse && less {
					copy(best, cur)
					have = true
				}
			}
		}
	}
	return best
}

// sudokuPermCache maps a puzzle.Shape to its [2][][]int row and column
// permutations (see sudokuGroupPerms).
var sudokuPermCache sync.Map

// sudokuGroupPerms returns the row permutations (bands and rows within
// them) and the column permutations (stacks and columns within them) of
// the shape's augmentation group, computed once per shape. The caller must
// not change them.
func sudokuGroupPerms(shape puzzle.Shape) (rows, cols [][]int) {
	if v, ok := sudokuPermCache.Load(shape); ok {
		p := v.([2][][]int)
		return p[0], p[1]
	}
	n := shape.Size()
	p := [2][][]int{allGroupedPerms(n/shape.BoxRows, shape.BoxRows), allGroupedPerms(n/shape.BoxCols, shape.BoxCols)}
	v, _ := sudokuPermCache.LoadOrStore(shape, p)
	p = v.([2][][]int)
	return p[0], p[1]
}

// allGroupedPerms lists every permutation of groups·size items that keeps
// blocks of size consecutive items together (the blocks permuted, and the
// items within each block).
func allGroupedPerms(groups, size int) [][]int {
	blockOrders := allPerms(groups)
	inner := allPerms(size)
	var out [][]int
	var rec func(prefix []int, order []int, b int)
	rec = func(prefix []int, order []int, b int) {
		if b == len(order) {
			out = append(out, append([]int(nil), prefix...))
			return
		}
		for _, in := range inner {
			p := prefix
			for _, k := range in {
				p = append(p, order[b]*size+k)
			}
			rec(p, order, b+1)
		}
	}
	for _, order := range blockOrders {
		rec(make([]int, 0, groups*size), order, 0)
	}
	return out
}

// allPerms lists the n! permutations of 0..n-1.
func allPerms(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var out [][]int
	for _, p := range allPerms(n - 1) {
		for pos := 0; pos <= len(p); pos++ {
			q := make([]int, 0, n)
			q = append(q, p[:pos]...)
			q = append(q, n-1)
			q = append(q, p[pos:]...)
			out = append(out, q)
		}
	}
	return out
}

// sudokuInvariant returns a hash of the puzzle q that no augmentation
// changes: for each given, the counts of the other givens by relation
// (same row, column, band, stack; same digit), refined once by the
// multiset of its neighbours' counts, summed over the givens; for square
// boxes the least of the grid's and its transpose's values. Different
// classes may share a value (they then fall in the same split, which is
// harmless); one class never has two.
func sudokuInvariant(shape puzzle.Shape, q []byte) uint64 {
	h := sudokuInvariantOnce(shape, q, false)
	if shape.BoxRows == shape.BoxCols {
		h = min(h, sudokuInvariantOnce(shape, q, true))
	}
	return h
}

func sudokuInvariantOnce(shape puzzle.Shape, q []byte, transpose bool) uint64 {
	n := shape.Size()
	// The givens: row, column, band, stack and digit.
	var r, c, band, stack, d [puzzle.MaxSudokuSize * puzzle.MaxSudokuSize]uint8
	g := 0
	for i, v := range q {
		if v == 0 {
			continue
		}
		ri, ci := i/n, i%n
		if transpose {
			ri, ci = ci, ri
		}
		r[g], c[g], d[g] = uint8(ri), uint8(ci), v
		band[g], stack[g] = uint8(ri/shape.BoxRows), uint8(ci/shape.BoxCols)
		g++
	}
	// rel is the relation of givens i and j as 5 bits.
	rel := func(i, j int) int {
		k := 0
		if r[i] == r[j] {
			k |= 1
		}
		if c[i] == c[j] {
			k |= 2
		}
		if band[i] == band[j] {
			k |= 4
		}
		if stack[i] == stack[j] {
			k |= 8
		}
		if d[i] == d[j] {
			k |= 16
		}
		return k
	}
	// Round 1: f[i] = hash of the counts of the other givens per relation
	// (each count < 81 fits a byte; 32 bytes packed in 4 words).
	var f [puzzle.MaxSudokuSize * puzzle.MaxSudokuSize]uint64
	for i := range g {
		var counts [32]uint8
		for j := range g {
			if i != j {
				counts[rel(i, j)]++
			}
		}
		h := uint64(0x243f6a8885a308d3)
		for w := range 4 {
			var word uint64
			for b := range 8 {
				word |= uint64(counts[8*w+b]) << (8 * b)
			}
			h = mix64(h ^ word)
		}
		f[i] = h
	}
	// Round 2: each given's own value and the multiset (a sum of hashes,
	// which ignores order) of (relation, neighbour value).
	var total uint64
	for i := range g {
		var sum uint64
		for j := range g {
			if i != j {
				sum += mix64(f[j] ^ (uint64(rel(i, j)) * 0x9e3779b97f4a7c15))
			}
		}
		total += mix64(f[i] ^ mix64(sum))
	}
	return mix64(total ^ uint64(g))
}
