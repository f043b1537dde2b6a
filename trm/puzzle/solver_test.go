package puzzle

import (
	"math/rand/v2"
	"os"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The public top95 puzzles (see testdata/README.md).
const (
	top95Path          = "testdata/sudoku-top95.txt"
	top95SolutionsPath = "testdata/sudoku-top95-solutions.txt"
)

// loadTop95 reads the 95 hard puzzles and their solutions.
func loadTop95(tb testing.TB) (puzzles, solutions []Grid) {
	tb.Helper()
	read := func(path string) []Grid {
		f, err := os.Open(path)
		require.NoError(tb, err)
		defer f.Close()
		grids, err := ReadGrids(f)
		require.NoError(tb, err)
		return grids
	}
	puzzles, solutions = read(top95Path), read(top95SolutionsPath)
	require.Len(tb, puzzles, 95)
	require.Len(tb, solutions, 95)
	return puzzles, solutions
}

func TestSolveTop95(t *testing.T) {
	puzzles, solutions := loadTop95(t)
	ratings := make([]int, len(puzzles))
	total := 0
	for i, p := range puzzles {
		sol, res, err := Solve(p)
		require.NoError(t, err, "puzzle %d", i+1)
		require.True(t, res.Unique(), "puzzle %d: %d solutions", i+1, res.Count)
		require.True(t, sol.Equal(solutions[i]), "puzzle %d:\n got %s\nwant %s", i+1, sol, solutions[i])
		require.True(t, sol.IsSolved())
		assert.LessOrEqual(t, res.Rating, res.Backtracks)
		ratings[i] = res.Rating
		total += res.Backtracks
	}
	sorted := append([]int(nil), ratings...)
	sort.Ints(sorted)
	sum := 0
	for _, r := range ratings {
		sum += r
	}
	t.Logf("top95: rating (dead ends before the solution) min %d median %d mean %.1f max %d; %d dead ends in all incl. the uniqueness proofs",
		sorted[0], sorted[len(sorted)/2], float64(sum)/float64(len(sorted)), sorted[len(sorted)-1], total)
	// These are hard puzzles: most need search.
	assert.Greater(t, sorted[len(sorted)/2], 0)
}

func TestSolveSmallShapes(t *testing.T) {
	g, err := ParseGrid("1..." + "34.." + "..2." + "...3")
	require.NoError(t, err)
	sol, res, err := Solve(g)
	require.NoError(t, err)
	assert.True(t, res.Unique())
	assert.Equal(t, "1234341243212143", sol.String())

	// A 6×6 with boxes of 2 rows by 3 columns: every solution found keeps
	// the givens and is a valid grid.
	g6, err := ParseGrid("" +
		"1.3..6" +
		"..6.2." +
		"2....4" +
		".6.2.." +
		"3.2..5" +
		"......")
	require.NoError(t, err)
	assert.Equal(t, Shape6, g6.Shape)
	res6, err := CountSolutions(g6, 10)
	require.NoError(t, err)
	require.Equal(t, 10, res6.Count)
	assert.True(t, res6.Solution.IsSolved())
	for i, v := range g6.Cells {
		if v != 0 {
			assert.Equal(t, v, res6.Solution.Cells[i])
		}
	}
}

// bruteCount counts the completions of g (up to limit) by plain
// backtracking with no propagation: the oracle for small grids.
func bruteCount(g Grid, limit int) int {
	n := g.Size()
	i := 0
	for i < len(g.Cells) && g.Cells[i] != 0 {
		i++
	}
	if i == len(g.Cells) {
		return 1
	}
	r, c := i/n, i%n
	count := 0
	for d := 1; d <= n && count < limit; d++ {
		ok := true
		for j := 0; j < len(g.Cells) && ok; j++ {
			rj, cj := j/n, j%n
			if int(g.Cells[j]) == d && (rj == r || cj == c || g.Shape.box(rj, cj) == g.Shape.box(r, c)) {
				ok = false
			}
		}
		if ok {
			g.Cells[i] = uint8(d)
			count += bruteCount(g, limit-count)
			g.Cells[i] = 0
		}
	}
	return count
}

func TestCountSolutionsMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	fulls := []string{"1234341243212143", "123456456123231564564231312645645312"}
	for _, f := range fulls {
		full, err := ParseGrid(f)
		require.NoError(t, err)
		require.True(t, full.IsSolved())
		for trial := 0; trial < 40; trial++ {
			p := full.Clone()
			keep := 0.2 + 0.5*rng.Float64()
			for i := range p.Cells {
				if rng.Float64() > keep {
					p.Cells[i] = 0
				}
			}
			want := bruteCount(p.Clone(), 50)
			res, err := CountSolutions(p, 50)
			require.NoError(t, err)
			require.Equal(t, want, res.Count, "puzzle %s", p)
			require.GreaterOrEqual(t, res.Count, 1)
			require.True(t, res.Solution.IsSolved())
			for i, v := range p.Cells {
				if v != 0 {
					require.Equal(t, v, res.Solution.Cells[i])
				}
			}
		}
	}
}

func TestSolveNoSolutionAndMany(t *testing.T) {
	// Two 1s in the first row.
	bad, err := ParseGrid("11.." + "...." + "...." + "....")
	require.NoError(t, err)
	res, err := CountSolutions(bad, 2)
	require.NoError(t, err)
	assert.Equal(t, 0, res.Count)
	_, _, err = Solve(bad)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no solution")

	// A givens-consistent grid with no completion: the only cell left in
	// row 1 needs a 4, which column 4 already has.
	stuck, err := ParseGrid("123." + "...4" + "...." + "....")
	require.NoError(t, err)
	res, err = CountSolutions(stuck, 2)
	require.NoError(t, err)
	assert.Equal(t, 0, res.Count)
	assert.Positive(t, res.Backtracks)

	// The empty 4×4 grid has 288 solutions.
	empty := NewGrid(Shape4)
	res, err = CountSolutions(empty, 1000)
	require.NoError(t, err)
	assert.Equal(t, 288, res.Count)
	res, err = CountSolutions(empty, 2)
	require.NoError(t, err)
	assert.Equal(t, 2, res.Count)
	assert.False(t, res.Unique())

	// The empty 6×6 grid has 28200960 solutions; stop at the limit.
	res, err = CountSolutions(NewGrid(Shape6), 500)
	require.NoError(t, err)
	assert.Equal(t, 500, res.Count)
}

func TestCountSolutionsRejectsMalformed(t *testing.T) {
	_, err := CountSolutions(Grid{Shape: Shape4, Cells: make([]uint8, 15)}, 2)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "15 cells, want 16")

	g := NewGrid(Shape4)
	g.Cells[5] = 7
	_, err = CountSolutions(g, 2)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "r2c2 holds 7")

	_, err = CountSolutions(NewGrid(Shape4), 0)
	require.Error(t, err)
}

func BenchmarkSolveTop95(b *testing.B) {
	puzzles, _ := loadTop95(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, p := range puzzles {
			if _, err := CountSolutions(p, 2); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*len(puzzles))/b.Elapsed().Seconds(), "puzzles/s")
}
