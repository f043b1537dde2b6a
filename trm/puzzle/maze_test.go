package puzzle

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// handMaze has a shortest path of 8 moves down the left side and a longer
// one of 16 moves round the right.
var handMaze = strings.Join([]string{
	"#######",
	"#S    #",
	"# ### #",
	"#     #",
	"# #####",
	"#    G#",
	"#######",
}, "\n")

// markPath returns q with 'o' at the given (row, col) cells.
func markPath(q Maze, cells ...[2]int) Maze {
	m := q.Clone()
	for _, c := range cells {
		m.Cells[c[0]*m.N+c[1]] = MazePath
	}
	return m
}

func TestCheckMazePathHandMade(t *testing.T) {
	q, err := ParseMaze(handMaze)
	require.NoError(t, err)
	require.Equal(t, 7, q.N)
	d, err := q.ShortestPathLen()
	require.NoError(t, err)
	assert.Equal(t, 8, d)

	left := [][2]int{{2, 1}, {3, 1}, {4, 1}, {5, 1}, {5, 2}, {5, 3}, {5, 4}}
	require.NoError(t, CheckMazePath(q, markPath(q, left...)), "the optimal path")

	sol, n, err := SolveMaze(q)
	require.NoError(t, err)
	assert.Equal(t, 8, n)
	assert.True(t, sol.Equal(markPath(q, left...)), "\n%s", sol.Format())
	require.NoError(t, CheckMazePath(q, sol), "the BFS path")

	// Through the wall at (4,5): as many cells as the optimum, but illegal.
	shortcut := [][2]int{{1, 2}, {1, 3}, {1, 4}, {1, 5}, {2, 5}, {3, 5}, {4, 5}}
	require.ErrorIs(t, CheckMazePath(q, markPath(q, shortcut...)), ErrPathOnWall)

	// Round the right: connected but 15 cells.
	long := [][2]int{{1, 2}, {1, 3}, {1, 4}, {1, 5}, {2, 5}, {3, 5}, {3, 4}, {3, 3}, {3, 2}, {3, 1}, {4, 1}, {5, 1}, {5, 2}, {5, 3}, {5, 4}}
	err = CheckMazePath(q, markPath(q, long...))
	require.ErrorIs(t, err, ErrPathNotShortest)
	assert.Contains(t, err.Error(), "15 path cells, a shortest path has 7")

	// The optimal path plus a stray cell.
	require.ErrorIs(t, CheckMazePath(q, markPath(q, append(left, [2]int{3, 3})...)), ErrPathNotShortest)

	// Seven cells, the right count, with a gap at (5,1).
	gap := [][2]int{{1, 2}, {2, 1}, {3, 1}, {4, 1}, {5, 2}, {5, 3}, {5, 4}}
	require.ErrorIs(t, CheckMazePath(q, markPath(q, gap...)), ErrPathDisconnected)

	// Stops one cell short of G.
	require.ErrorIs(t, CheckMazePath(q, markPath(q, left[:6]...)), ErrPathDisconnected)

	// No path at all.
	require.ErrorIs(t, CheckMazePath(q, q), ErrPathDisconnected)

	// A moved goal, a removed wall, a different size.
	moved := markPath(q, left...)
	moved.Cells[5*7+5], moved.Cells[5*7+4] = MazeOpen, MazeGoal
	require.ErrorIs(t, CheckMazePath(q, moved), ErrMazeMismatch)
	holed := markPath(q, left...)
	holed.Cells[0] = MazeOpen
	require.ErrorIs(t, CheckMazePath(q, holed), ErrMazeMismatch)
	require.ErrorIs(t, CheckMazePath(q, Maze{N: 5, Cells: make([]byte, 25)}), ErrMazeMismatch)

	// A question without a path to G is refused.
	blocked, err := ParseMaze(strings.Replace(handMaze, "#    G#", "#   #G#", 1))
	require.NoError(t, err)
	_, err = blocked.ShortestPathLen()
	require.Error(t, err)
	require.Error(t, CheckMazePath(blocked, blocked))
}

func TestParseMaze(t *testing.T) {
	q, err := ParseMaze(handMaze + "\n")
	require.NoError(t, err)
	assert.Equal(t, handMaze+"\n", q.Format())
	one, err := ParseMaze(q.String())
	require.NoError(t, err)
	assert.True(t, one.Equal(q))
	crlf, err := ParseMaze(strings.ReplaceAll(handMaze, "\n", "\r\n"))
	require.NoError(t, err)
	assert.True(t, crlf.Equal(q))
	assert.Equal(t, byte('S'), q.At(1, 1))

	_, err = ParseMaze(strings.Replace(handMaze, "#S    #", "#S   #", 1))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 2 has 6 characters")
	_, err = ParseMaze(q.String()[:48])
	require.Error(t, err)
	_, err = ParseMaze(strings.Replace(handMaze, "G", "x", 1))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "(5,5) holds 'x'")
}

// countEdges returns the open (non-wall) cells and the adjacent pairs of them.
func countEdges(m Maze) (cells, edges int) {
	for i, ch := range m.Cells {
		if ch == MazeWall {
			continue
		}
		cells++
		if i%m.N < m.N-1 && m.Cells[i+1] != MazeWall {
			edges++
		}
		if i/m.N < m.N-1 && m.Cells[i+m.N] != MazeWall {
			edges++
		}
	}
	return cells, edges
}

func TestGenerateMaze(t *testing.T) {
	cases := []MazeOptions{
		{Size: 5},
		{Size: 9, MinPathLen: 12},
		{Size: 10, MinPathLen: 10, Openings: 0.2},
		{Size: 30, MinPathLen: 110, Openings: 0.05}, // Maze-Hard-like
	}
	for _, opts := range cases {
		t.Run(fmt.Sprintf("%d/%d/%v", opts.Size, opts.MinPathLen, opts.Openings), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(21, uint64(opts.Size)))
			for range 4 {
				p, err := GenerateMaze(rng, opts)
				require.NoError(t, err)
				q, a := p.Question, p.Answer
				require.Equal(t, opts.Size, q.N)
				require.NoError(t, q.CheckQuestion())
				for i := range opts.Size {
					require.Equal(t, MazeWall, q.At(0, i))
					require.Equal(t, MazeWall, q.At(i, 0))
					require.Equal(t, MazeWall, q.At(opts.Size-1, i))
					require.Equal(t, MazeWall, q.At(i, opts.Size-1))
				}
				d, err := q.ShortestPathLen()
				require.NoError(t, err)
				assert.Equal(t, d, p.PathLen)
				assert.GreaterOrEqual(t, p.PathLen, max(opts.MinPathLen, 1))
				require.NoError(t, CheckMazePath(q, a))
				assert.Equal(t, p.PathLen-1, strings.Count(a.String(), "o"))

				// Every open cell is reachable from S.
				s, _, err := q.endpoints()
				require.NoError(t, err)
				dist := q.bfs(s, nil)
				for i, ch := range q.Cells {
					if ch != MazeWall {
						require.GreaterOrEqual(t, dist[i], 0, "cell %d unreachable", i)
					}
				}
				cells, edges := countEdges(q)
				if opts.Openings == 0 {
					assert.Equal(t, cells-1, edges, "a perfect maze is a tree")
				} else {
					assert.Greater(t, edges, cells-1, "openings make loops")
				}
			}
		})
	}
}

func TestGenerateMazeDeterministicAndGivesUp(t *testing.T) {
	opts := MazeOptions{Size: 15, MinPathLen: 20, Openings: 0.1}
	a, err := GenerateMaze(rand.New(rand.NewPCG(5, 5)), opts)
	require.NoError(t, err)
	b, err := GenerateMaze(rand.New(rand.NewPCG(5, 5)), opts)
	require.NoError(t, err)
	c, err := GenerateMaze(rand.New(rand.NewPCG(5, 6)), opts)
	require.NoError(t, err)
	assert.True(t, a.Question.Equal(b.Question))
	assert.True(t, a.Answer.Equal(b.Answer))
	assert.False(t, a.Question.Equal(c.Question))

	// A 7×7 has 9 passage cells: no path of 100 moves.
	_, err = GenerateMaze(rand.New(rand.NewPCG(1, 1)), MazeOptions{Size: 7, MinPathLen: 100, MaxAttempts: 5})
	require.ErrorIs(t, err, ErrGiveUp)
	assert.Contains(t, err.Error(), "5 attempts")

	for _, bad := range []MazeOptions{
		{Size: 4},
		{Size: 9, Openings: 1.5},
		{Size: 9, Openings: -0.1},
		{Size: 9, MinPathLen: -1},
		{Size: 9, MaxAttempts: -1},
	} {
		_, err := GenerateMaze(rand.New(rand.NewPCG(1, 1)), bad)
		require.Error(t, err, "%+v", bad)
		assert.NotErrorIs(t, err, ErrGiveUp)
	}
}

func TestMazeDihedralKeepsOptimality(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for _, n := range []int{8, 11} {
		p, err := GenerateMaze(rng, MazeOptions{Size: n, MinPathLen: n, Openings: 0.15})
		require.NoError(t, err)
		for k := range NumDihedral {
			q, a := p.Question.Dihedral(k), p.Answer.Dihedral(k)
			d, err := q.ShortestPathLen()
			require.NoError(t, err)
			assert.Equal(t, p.PathLen, d, "transform %d", k)
			require.NoError(t, CheckMazePath(q, a), "transform %d", k)
			back := a.Dihedral(DihedralInverse(k))
			assert.True(t, back.Equal(p.Answer))
		}
		q, a, k := AugmentMaze(rng, p.Question, p.Answer)
		assert.True(t, q.Equal(p.Question.Dihedral(k)))
		require.NoError(t, CheckMazePath(q, a))
	}
	// A transformed path does not fit the untransformed question.
	q, err := ParseMaze(handMaze)
	require.NoError(t, err)
	sol, _, err := SolveMaze(q)
	require.NoError(t, err)
	require.Error(t, CheckMazePath(q, sol.Dihedral(4)))
}

func BenchmarkGenerateMaze(b *testing.B) {
	for _, opts := range []MazeOptions{
		{Size: 15, MinPathLen: 20, Openings: 0.05},
		{Size: 30, MinPathLen: 110, Openings: 0.05},
	} {
		b.Run(fmt.Sprintf("%dx%d/minpath=%d", opts.Size, opts.Size, opts.MinPathLen), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := GenerateMaze(rng, opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "mazes/s")
		})
	}
}
