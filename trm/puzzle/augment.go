package puzzle

import (
	"fmt"
	"math/rand/v2"
)

// SudokuAugmentation is one validity-preserving relabelling of a Sudoku, as
// in the official TRM dataset builder (dataset/build_sudoku_dataset.py,
// shuffle_sudoku): the grid is first transposed if Transpose is set, then
// cell (r, c) of the result takes the cell (Rows[r], Cols[c]), then every
// digit d becomes Digits[d].
//
// Rows permutes the bands (groups of BoxRows rows) and the rows within each
// band; Cols permutes the stacks (groups of BoxCols columns) and the columns
// within each stack. Transposition maps boxes of BoxRows×BoxCols to boxes of
// BoxCols×BoxRows, so it is only used for square boxes (4×4, 9×9): for 6×6
// (2×3 boxes) a transposed grid would be a different puzzle shape, and
// RandomSudokuAugmentation never sets Transpose there.
type SudokuAugmentation struct {
	Shape     Shape
	Digits    []uint8 // Digits[0] = 0 (a blank stays blank); Digits[1..N] a permutation of 1..N
	Transpose bool
	Rows      []int // result row r comes from row Rows[r]
	Cols      []int // result column c comes from column Cols[c]
}

// IdentitySudokuAugmentation returns the augmentation that changes nothing.
func IdentitySudokuAugmentation(shape Shape) SudokuAugmentation {
	n := shape.Size()
	a := SudokuAugmentation{Shape: shape, Digits: make([]uint8, n+1), Rows: make([]int, n), Cols: make([]int, n)}
	for d := range a.Digits {
		a.Digits[d] = uint8(d)
	}
	for i := range n {
		a.Rows[i], a.Cols[i] = i, i
	}
	return a
}

// RandomSudokuAugmentation draws an augmentation for the shape: a random
// digit permutation, a transposition with probability 1/2 (square boxes
// only), a random order of the bands and of the rows within each band, and
// likewise for stacks and columns.
func RandomSudokuAugmentation(rng *rand.Rand, shape Shape) SudokuAugmentation {
	if !shape.Valid() {
		panic(fmt.Sprintf("puzzle: invalid Sudoku shape %+v", shape))
	}
	n := shape.Size()
	a := SudokuAugmentation{Shape: shape, Digits: make([]uint8, n+1)}
	for i, p := range rng.Perm(n) {
		a.Digits[i+1] = uint8(p + 1)
	}
	if shape.BoxRows == shape.BoxCols {
		a.Transpose = rng.IntN(2) == 1
	}
	a.Rows = groupedPerm(rng, n/shape.BoxRows, shape.BoxRows)
	a.Cols = groupedPerm(rng, n/shape.BoxCols, shape.BoxCols)
	return a
}

// groupedPerm permutes groups blocks of size items: the blocks are shuffled,
// then the items inside each block.
func groupedPerm(rng *rand.Rand, groups, size int) []int {
	perm := make([]int, 0, groups*size)
	for _, g := range rng.Perm(groups) {
		for _, k := range rng.Perm(size) {
			perm = append(perm, g*size+k)
		}
	}
	return perm
}

// Check returns an error if the augmentation is not a validity-preserving
// map for its shape.
func (a SudokuAugmentation) Check() error {
	s := a.Shape
	if !s.Valid() {
		return fmt.Errorf("augmentation shape %+v is not valid", s)
	}
	n := s.Size()
	if len(a.Digits) != n+1 || a.Digits[0] != 0 {
		return fmt.Errorf("augmentation digits %v: want 0 followed by a permutation of 1..%d", a.Digits, n)
	}
	seen := make([]bool, n+1)
	for _, d := range a.Digits[1:] {
		if d == 0 || int(d) > n || seen[d] {
			return fmt.Errorf("augmentation digits %v: want 0 followed by a permutation of 1..%d", a.Digits, n)
		}
		seen[d] = true
	}
	if a.Transpose && s.BoxRows != s.BoxCols {
		return fmt.Errorf("augmentation transposes a %v grid: only square boxes can be transposed", s)
	}
	if err := checkGroupedPerm(a.Rows, n, s.BoxRows); err != nil {
		return fmt.Errorf("augmentation rows: %w", err)
	}
	if err := checkGroupedPerm(a.Cols, n, s.BoxCols); err != nil {
		return fmt.Errorf("augmentation columns: %w", err)
	}
	return nil
}

// checkGroupedPerm checks that perm is a permutation of 0..n-1 that maps each
// block of size consecutive positions onto one whole block.
func checkGroupedPerm(perm []int, n, size int) error {
	if len(perm) != n {
		return fmt.Errorf("%v has %d entries, want %d", perm, len(perm), n)
	}
	seen := make([]bool, n)
	for i, p := range perm {
		if p < 0 || p >= n || seen[p] {
			return fmt.Errorf("%v is not a permutation of 0..%d", perm, n-1)
		}
		seen[p] = true
		if p/size != perm[i-i%size]/size {
			return fmt.Errorf("%v splits a block of %d", perm, size)
		}
	}
	return nil
}

// Apply returns the augmented copy of g. It panics if g's shape differs from
// the augmentation's or the augmentation is malformed (see Check): both are
// programming errors.
func (a SudokuAugmentation) Apply(g Grid) Grid {
	if g.Shape != a.Shape || len(g.Cells) != a.Shape.NumCells() {
		panic(fmt.Sprintf("puzzle: augmentation for %v applied to a %v grid of %d cells", a.Shape, g.Shape, len(g.Cells)))
	}
	if err := a.Check(); err != nil {
		panic("puzzle: " + err.Error())
	}
	n := a.Shape.Size()
	out := NewGrid(a.Shape)
	for r := range n {
		for c := range n {
			sr, sc := a.Rows[r], a.Cols[c]
			if a.Transpose {
				sr, sc = sc, sr
			}
			out.Cells[r*n+c] = a.Digits[g.Cells[sr*n+sc]]
		}
	}
	return out
}

// AugmentSudoku applies one random augmentation (RandomSudokuAugmentation)
// to a puzzle and its solution alike.
func AugmentSudoku(rng *rand.Rand, puzzle, solution Grid) (Grid, Grid) {
	a := RandomSudokuAugmentation(rng, puzzle.Shape)
	return a.Apply(puzzle), a.Apply(solution)
}

// NumDihedral is the number of symmetries of the square.
const NumDihedral = 8

// dihedralInverse maps a transform id to the id that undoes it.
var dihedralInverse = [NumDihedral]int{0, 3, 2, 1, 4, 5, 6, 7}

// DihedralInverse returns the id of the transform that undoes transform k.
func DihedralInverse(k int) int {
	if k < 0 || k >= NumDihedral {
		panic(fmt.Sprintf("puzzle: dihedral transform %d: want 0..7", k))
	}
	return dihedralInverse[k]
}

// Dihedral writes into dst the n×n row-major grid src under symmetry k of
// the square, numbered as in the official TRM code (dataset/common.py,
// dihedral_transform, on NumPy arrays): 0 identity, 1 rot90 (a quarter turn
// counter-clockwise), 2 rot180, 3 rot270, 4 fliplr (mirror left–right),
// 5 flipud (mirror top–bottom), 6 transpose, 7 anti-transpose
// (fliplr∘rot90). dst and src must not overlap. It panics if k is out of
// range or a slice is not n·n long.
func Dihedral[T any](dst, src []T, n, k int) {
	if len(src) != n*n || len(dst) != n*n {
		panic(fmt.Sprintf("puzzle: Dihedral: slices of %d and %d for an %dx%d grid", len(dst), len(src), n, n))
	}
	if k < 0 || k >= NumDihedral {
		panic(fmt.Sprintf("puzzle: dihedral transform %d: want 0..7", k))
	}
	m := n - 1
	for i := range n {
		for j := range n {
			var r, c int // the source cell of (i, j)
			switch k {
			case 0:
				r, c = i, j
			case 1:
				r, c = j, m-i
			case 2:
				r, c = m-i, m-j
			case 3:
				r, c = m-j, i
			case 4:
				r, c = i, m-j
			case 5:
				r, c = m-i, j
			case 6:
				r, c = j, i
			case 7:
				r, c = m-j, m-i
			}
			dst[i*n+j] = src[r*n+c]
		}
	}
}
