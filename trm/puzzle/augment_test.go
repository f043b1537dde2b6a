package puzzle

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// augmentPairs returns generated (puzzle, solution) pairs of each shape.
func augmentPairs(t *testing.T) [][2]Grid {
	var pairs [][2]Grid
	rng := rand.New(rand.NewPCG(11, 12))
	for _, opts := range []SudokuOptions{
		{Shape: Shape4, Blanks: 10},
		{Shape: Shape6, Blanks: 20},
		{Shape: Shape9, Blanks: 50},
	} {
		for range 3 {
			p, err := GenerateSudoku(rng, opts)
			require.NoError(t, err)
			pairs = append(pairs, [2]Grid{p.Puzzle, p.Solution})
		}
	}
	return pairs
}

func TestSudokuAugmentationPreservesValidity(t *testing.T) {
	pairs := augmentPairs(t)
	rng := rand.New(rand.NewPCG(5, 6))
	transposed := map[Shape]int{}
	for pi, pair := range pairs {
		puzzle, solution := pair[0], pair[1]
		for seed := 0; seed < 40; seed++ {
			a := RandomSudokuAugmentation(rng, puzzle.Shape)
			require.NoError(t, a.Check())
			if a.Transpose {
				transposed[puzzle.Shape]++
			}
			ap, as := a.Apply(puzzle), a.Apply(solution)
			require.True(t, as.IsSolved(), "pair %d seed %d: augmented solution invalid: %s", pi, seed, as.Conflict())
			require.Equal(t, puzzle.Blanks(), ap.Blanks())
			for i, v := range ap.Cells {
				if v != 0 {
					require.Equal(t, v, as.Cells[i], "pair %d seed %d: given disagrees with the augmented solution", pi, seed)
				}
			}
			if seed%4 == 0 { // the uniqueness check is the slow part
				res, err := CountSolutions(ap, 2)
				require.NoError(t, err)
				require.True(t, res.Unique(), "pair %d seed %d: %d solutions", pi, seed, res.Count)
				require.True(t, res.Solution.Equal(as))
			}
		}
	}
	assert.Positive(t, transposed[Shape4])
	assert.Positive(t, transposed[Shape9])
	assert.Zero(t, transposed[Shape6], "6×6 must never be transposed")
}

func TestSudokuAugmentationTop95(t *testing.T) {
	puzzles, solutions := loadTop95(t)
	rng := rand.New(rand.NewPCG(8, 9))
	for i := 0; i < len(puzzles); i += 5 {
		p, s := AugmentSudoku(rng, puzzles[i], solutions[i])
		require.True(t, s.IsSolved())
		sol, res, err := Solve(p)
		require.NoError(t, err)
		require.True(t, res.Unique())
		require.True(t, sol.Equal(s), "top95 #%d", i+1)
	}
}

func TestSudokuAugmentationMapping(t *testing.T) {
	// Identity changes nothing.
	g, err := ParseGrid(norvigEasy)
	require.NoError(t, err)
	assert.True(t, IdentitySudokuAugmentation(Shape9).Apply(g).Equal(g))

	// A hand-made 4×4 map: swap the two bands, swap the columns inside the
	// first stack, transpose first, digits 1↔2.
	src, err := ParseGrid("1234341243212143")
	require.NoError(t, err)
	a := IdentitySudokuAugmentation(Shape4)
	a.Transpose = true
	a.Rows = []int{2, 3, 0, 1}
	a.Cols = []int{1, 0, 2, 3}
	a.Digits = []uint8{0, 2, 1, 3, 4}
	out := a.Apply(src)
	// Transposed: 1342/2431/3124/4213; rows 3,4,1,2: 3124/4213/1342/2431;
	// columns 2,1,3,4: 1324/2413/3142/4231; digits 1↔2: 2314/1423/3241/4132.
	assert.Equal(t, "2314142332414132", out.String())
	assert.True(t, out.IsSolved())

	// A blank stays blank: source (0,0) is transposed (0,0), which row 2
	// and column 1 of the result take.
	p := src.Clone()
	p.Cells[0] = 0
	ap := a.Apply(p)
	assert.Equal(t, 0, ap.At(2, 1))
	assert.Equal(t, 1, ap.Blanks())
}

func TestSudokuAugmentationDeterministic(t *testing.T) {
	draw := func(seed uint64) []SudokuAugmentation {
		rng := rand.New(rand.NewPCG(seed, 0))
		var out []SudokuAugmentation
		for range 5 {
			out = append(out, RandomSudokuAugmentation(rng, Shape9))
		}
		return out
	}
	assert.Equal(t, draw(3), draw(3))
	assert.NotEqual(t, draw(3), draw(4))
}

func TestSudokuAugmentationCheck(t *testing.T) {
	bad := []func(*SudokuAugmentation){
		func(a *SudokuAugmentation) { a.Digits[1], a.Digits[2] = 3, 3 },
		func(a *SudokuAugmentation) { a.Digits[0] = 1; a.Digits[1] = 0 },
		func(a *SudokuAugmentation) { a.Rows[0], a.Rows[2] = a.Rows[2], a.Rows[0] }, // row 0 leaves its band
		func(a *SudokuAugmentation) { a.Cols = a.Cols[:5] },
		func(a *SudokuAugmentation) { a.Transpose = true },
	}
	for i, f := range bad {
		a := IdentitySudokuAugmentation(Shape6)
		f(&a)
		require.Error(t, a.Check(), "case %d", i)
		g := NewGrid(Shape6)
		assert.Panics(t, func() { a.Apply(g) }, "case %d", i)
	}
	// Swapping whole stacks in 6×6 (columns 0-2 with 3-5) is fine.
	a := IdentitySudokuAugmentation(Shape6)
	a.Cols = []int{3, 4, 5, 0, 1, 2}
	require.NoError(t, a.Check())
	assert.Panics(t, func() { a.Apply(NewGrid(Shape9)) })
}

func TestDihedralMatchesNumPy(t *testing.T) {
	// np.arange(9).reshape(3,3) under the 8 transforms of dataset/common.py,
	// printed by NumPy.
	want := [NumDihedral][]int{
		{0, 1, 2, 3, 4, 5, 6, 7, 8},
		{2, 5, 8, 1, 4, 7, 0, 3, 6},
		{8, 7, 6, 5, 4, 3, 2, 1, 0},
		{6, 3, 0, 7, 4, 1, 8, 5, 2},
		{2, 1, 0, 5, 4, 3, 8, 7, 6},
		{6, 7, 8, 3, 4, 5, 0, 1, 2},
		{0, 3, 6, 1, 4, 7, 2, 5, 8},
		{8, 5, 2, 7, 4, 1, 6, 3, 0},
	}
	src := []int{0, 1, 2, 3, 4, 5, 6, 7, 8}
	for k := range NumDihedral {
		dst := make([]int, 9)
		Dihedral(dst, src, 3, k)
		assert.Equal(t, want[k], dst, "transform %d", k)

		// The inverse undoes it, on a non-symmetric 5×5 too.
		big := make([]int, 25)
		for i := range big {
			big[i] = i
		}
		tmp, back := make([]int, 25), make([]int, 25)
		Dihedral(tmp, big, 5, k)
		Dihedral(back, tmp, 5, DihedralInverse(k))
		assert.Equal(t, big, back, fmt.Sprintf("inverse of %d", k))
	}
	assert.Panics(t, func() { Dihedral(make([]int, 9), src, 3, 8) })
	assert.Panics(t, func() { Dihedral(make([]int, 8), src, 3, 0) })
}
