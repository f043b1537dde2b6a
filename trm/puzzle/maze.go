package puzzle

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
)

// Maze is an N×N grid of maze characters, row by row: '#' wall, ' ' open,
// 'S' start, 'G' goal and, in an answer, 'o' for the open cells of the path
// strictly between S and G.
type Maze struct {
	N     int
	Cells []byte
}

// At returns the character at row r, column c.
func (m Maze) At(r, c int) byte { return m.Cells[r*m.N+c] }

// Clone returns a deep copy.
func (m Maze) Clone() Maze { return Maze{N: m.N, Cells: append([]byte(nil), m.Cells...)} }

// Equal reports whether both mazes have the same size and cells.
func (m Maze) Equal(o Maze) bool { return m.N == o.N && string(m.Cells) == string(o.Cells) }

// String gives the maze on one line, row by row: the Maze-Hard CSV form.
func (m Maze) String() string { return string(m.Cells) }

// Format lays the maze out as N lines of N characters.
func (m Maze) Format() string {
	var sb strings.Builder
	for r := range m.N {
		sb.Write(m.Cells[r*m.N : (r+1)*m.N])
		sb.WriteByte('\n')
	}
	return sb.String()
}

// ParseMaze reads a maze from text: either one line of N·N characters (the
// CSV form) or N lines of N characters each (the Format layout; a final line
// break is allowed, "\r\n" too). Characters must be in "# SGo".
func ParseMaze(s string) (Maze, error) {
	s = strings.TrimSuffix(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	var cells string
	n := 0
	if strings.Contains(s, "\n") {
		lines := strings.Split(s, "\n")
		n = len(lines)
		for i, l := range lines {
			if len(l) != n {
				return Maze{}, fmt.Errorf("maze text: line %d has %d characters, want %d (one per column of a %dx%d maze)", i+1, len(l), n, n, n)
			}
		}
		cells = strings.Join(lines, "")
	} else {
		n = isqrt(len(s))
		if n == 0 || n*n != len(s) {
			return Maze{}, fmt.Errorf("maze text: %d characters, want a positive square number", len(s))
		}
		cells = s
	}
	m := Maze{N: n, Cells: []byte(cells)}
	if err := m.checkChars(MazeCharset); err != nil {
		return Maze{}, fmt.Errorf("maze text: %w", err)
	}
	return m, nil
}

// checkChars checks the size and that every cell is one of allowed.
func (m Maze) checkChars(allowed string) error {
	if m.N <= 0 || len(m.Cells) != m.N*m.N {
		return fmt.Errorf("maze of side %d has %d cells, want %d", m.N, len(m.Cells), m.N*m.N)
	}
	for i, ch := range m.Cells {
		if !strings.ContainsRune(allowed, rune(ch)) {
			return fmt.Errorf("cell (%d,%d) holds %q, want one of %q", i/m.N, i%m.N, ch, allowed)
		}
	}
	return nil
}

// endpoints returns the cells of S and G, or an error unless there is
// exactly one of each.
func (m Maze) endpoints() (start, goal int, err error) {
	start, goal = -1, -1
	for i, ch := range m.Cells {
		switch ch {
		case MazeStart:
			if start >= 0 {
				return 0, 0, fmt.Errorf("two starts 'S', at (%d,%d) and (%d,%d)", start/m.N, start%m.N, i/m.N, i%m.N)
			}
			start = i
		case MazeGoal:
			if goal >= 0 {
				return 0, 0, fmt.Errorf("two goals 'G', at (%d,%d) and (%d,%d)", goal/m.N, goal%m.N, i/m.N, i%m.N)
			}
			goal = i
		}
	}
	if start < 0 {
		return 0, 0, errors.New("no start 'S'")
	}
	if goal < 0 {
		return 0, 0, errors.New("no goal 'G'")
	}
	return start, goal, nil
}

// CheckQuestion returns an error unless m is a well-formed maze question:
// square, only the characters "# SG", exactly one S and one G.
func (m Maze) CheckQuestion() error {
	if err := m.checkChars("# SG"); err != nil {
		return err
	}
	_, _, err := m.endpoints()
	return err
}

// bfs returns the distance (in moves) from cell src to every cell through
// the cells that are not walls, -1 where unreachable.
func (m Maze) bfs(src int, dist []int) []int {
	if cap(dist) < len(m.Cells) {
		dist = make([]int, len(m.Cells))
	}
	dist = dist[:len(m.Cells)]
	for i := range dist {
		dist[i] = -1
	}
	queue := make([]int, 0, len(m.Cells))
	dist[src] = 0
	queue = append(queue, src)
	for head := 0; head < len(queue); head++ {
		c := queue[head]
		m.neighbours(c, func(nb int) {
			if dist[nb] < 0 && m.Cells[nb] != MazeWall {
				dist[nb] = dist[c] + 1
				queue = append(queue, nb)
			}
		})
	}
	return dist
}

// neighbours calls f with each of the (up to 4) orthogonal neighbours of c.
func (m Maze) neighbours(c int, f func(int)) {
	r, col := c/m.N, c%m.N
	if r > 0 {
		f(c - m.N)
	}
	if r < m.N-1 {
		f(c + m.N)
	}
	if col > 0 {
		f(c - 1)
	}
	if col < m.N-1 {
		f(c + 1)
	}
}

// ShortestPathLen returns the number of moves of a shortest path from S to
// G (so the path has that many cells minus one strictly between them). It
// returns an error for a malformed question or when G cannot be reached.
func (m Maze) ShortestPathLen() (int, error) {
	if err := m.CheckQuestion(); err != nil {
		return 0, fmt.Errorf("maze: %w", err)
	}
	s, g, _ := m.endpoints()
	d := m.bfs(s, nil)[g]
	if d < 0 {
		return 0, errors.New("maze: the goal cannot be reached from the start")
	}
	return d, nil
}

// SolveMaze returns the answer to a question: a copy with the cells of one
// shortest path between S and G marked 'o', and the path length in moves.
// Among several shortest paths it takes the one found by walking back from
// G to S preferring up, down, left, right in that order.
func SolveMaze(question Maze) (Maze, int, error) {
	if err := question.CheckQuestion(); err != nil {
		return Maze{}, 0, fmt.Errorf("maze: %w", err)
	}
	s, g, _ := question.endpoints()
	dist := question.bfs(s, nil)
	if dist[g] < 0 {
		return Maze{}, 0, errors.New("maze: the goal cannot be reached from the start")
	}
	answer := question.Clone()
	for c := g; dist[c] > 1; {
		next := -1
		question.neighbours(c, func(nb int) {
			if next < 0 && dist[nb] == dist[c]-1 {
				next = nb
			}
		})
		c = next
		answer.Cells[c] = MazePath
	}
	return answer, dist[g], nil
}

// Reasons CheckMazePath rejects a predicted answer; its errors wrap one of
// these.
var (
	// ErrMazeMismatch: the prediction changes a cell other than marking an
	// open cell as path (moves S or G, adds or removes a wall, garbage).
	ErrMazeMismatch = errors.New("prediction does not keep the maze")
	// ErrPathOnWall: a path cell sits on a wall (a shortcut through it).
	ErrPathOnWall = errors.New("path goes through a wall")
	// ErrPathDisconnected: the path cells do not join S to G.
	ErrPathDisconnected = errors.New("path does not join S to G")
	// ErrPathNotShortest: the path joins S to G but is longer than a
	// shortest one (or has stray path cells).
	ErrPathNotShortest = errors.New("path is not a shortest path")
)

// CheckMazePath returns nil if pred is a correct answer to question: every
// cell equals the question's except open cells marked 'o', and the 'o'
// cells form a shortest path from S to G: S and G are connected through
// them, and there are exactly (shortest length − 1) of them. Since a
// connected set of cells joining S to G with that many cells is a shortest
// path, any optimal path is accepted, not only the label's. Otherwise the
// error wraps ErrMazeMismatch, ErrPathOnWall, ErrPathDisconnected or
// ErrPathNotShortest and names the first offending cell where there is one.
func CheckMazePath(question, pred Maze) error {
	shortest, err := question.ShortestPathLen()
	if err != nil {
		return err
	}
	if pred.N != question.N || len(pred.Cells) != len(question.Cells) {
		return fmt.Errorf("%w: prediction is %dx%d, question %dx%d", ErrMazeMismatch, pred.N, pred.N, question.N, question.N)
	}
	pathCells := 0
	for i, p := range pred.Cells {
		q := question.Cells[i]
		switch {
		case p == MazePath && q == MazeWall:
			return fmt.Errorf("%w at (%d,%d)", ErrPathOnWall, i/question.N, i%question.N)
		case p == MazePath && q == MazeOpen:
			pathCells++
		case p != q:
			return fmt.Errorf("%w: cell (%d,%d) is %q, question has %q", ErrMazeMismatch, i/question.N, i%question.N, p, q)
		}
	}
	// Walk from S through path cells only.
	s, g, _ := question.endpoints()
	seen := make([]bool, len(pred.Cells))
	seen[s] = true
	queue := []int{s}
	for head := 0; head < len(queue); head++ {
		c := queue[head]
		pred.neighbours(c, func(nb int) {
			if !seen[nb] && (pred.Cells[nb] == MazePath || nb == g) {
				seen[nb] = true
				if nb != g {
					queue = append(queue, nb)
				}
			}
		})
	}
	if !seen[g] {
		return fmt.Errorf("%w (%d path cells)", ErrPathDisconnected, pathCells)
	}
	if pathCells != shortest-1 {
		return fmt.Errorf("%w: %d path cells, a shortest path has %d", ErrPathNotShortest, pathCells, shortest-1)
	}
	return nil
}

// Dihedral returns the maze under symmetry k of the square (see the function
// Dihedral for the numbering).
func (m Maze) Dihedral(k int) Maze {
	out := Maze{N: m.N, Cells: make([]byte, len(m.Cells))}
	Dihedral(out.Cells, m.Cells, m.N, k)
	return out
}

// AugmentMaze applies one of the 8 symmetries of the square, drawn
// uniformly, to a question and its answer alike, and returns its id.
func AugmentMaze(rng *rand.Rand, question, answer Maze) (Maze, Maze, int) {
	k := rng.IntN(NumDihedral)
	return question.Dihedral(k), answer.Dihedral(k), k
}

// MazeOptions sets what GenerateMaze makes.
type MazeOptions struct {
	// Size is the side N of the maze (at least 5). Passages are carved on
	// the cells with odd coordinates; the outer ring is wall (for an even N
	// the last row and column are wall too).
	Size int
	// MinPathLen is the least number of moves of the shortest path from S
	// to G (Maze-Hard asks for more than 110 on 30×30).
	MinPathLen int
	// Openings is the fraction (0..1) of the walls left between two
	// passages after carving that are knocked out, creating loops so that
	// the shortest path is not the only path. 0 leaves a perfect maze.
	Openings float64
	// MaxAttempts bounds the number of mazes carved before giving up
	// (DefaultMaxAttempts when 0).
	MaxAttempts int
}

// MazePuzzle is a generated maze question with its answer (the shortest
// path marked) and the path length in moves.
type MazePuzzle struct {
	Question, Answer Maze
	PathLen          int
}

// GenerateMaze carves a maze by randomized depth-first search on the cells
// with odd coordinates, knocks out a fraction opts.Openings of the remaining
// inner walls between two passages, then places S on a random passage cell
// and G on a random passage cell at least opts.MinPathLen moves away (by
// BFS). A maze where no S has such a G is dropped and another carved, up to
// opts.MaxAttempts times; then the error wraps ErrGiveUp. The result depends
// only on opts and the state of rng.
func GenerateMaze(rng *rand.Rand, opts MazeOptions) (MazePuzzle, error) {
	if opts.Size < 5 {
		return MazePuzzle{}, fmt.Errorf("maze generator: size %d: want at least 5", opts.Size)
	}
	if !(opts.Openings >= 0 && opts.Openings <= 1) {
		return MazePuzzle{}, fmt.Errorf("maze generator: openings %v: want a fraction in [0, 1]", opts.Openings)
	}
	if opts.MinPathLen < 0 {
		return MazePuzzle{}, fmt.Errorf("maze generator: minimum path length %d: want ≥ 0", opts.MinPathLen)
	}
	attempts := opts.MaxAttempts
	if attempts == 0 {
		attempts = DefaultMaxAttempts
	}
	if attempts < 0 {
		return MazePuzzle{}, fmt.Errorf("maze generator: max attempts %d: want ≥ 0", opts.MaxAttempts)
	}
	minLen := max(opts.MinPathLen, 1) // S and G are distinct cells
	var dist []int
	for range attempts {
		m := carveMaze(rng, opts.Size, opts.Openings)
		rooms := make([]int, 0, len(m.Cells))
		for i, ch := range m.Cells {
			if r, c := i/m.N, i%m.N; ch == MazeOpen && r%2 == 1 && c%2 == 1 {
				rooms = append(rooms, i)
			}
		}
		// Try a few starts in this maze before carving another.
		for range 4 {
			s := rooms[rng.IntN(len(rooms))]
			dist = m.bfs(s, dist)
			var far []int
			for _, c := range rooms {
				if dist[c] >= minLen {
					far = append(far, c)
				}
			}
			if len(far) == 0 {
				continue
			}
			g := far[rng.IntN(len(far))]
			m.Cells[s], m.Cells[g] = MazeStart, MazeGoal
			answer, d, err := SolveMaze(m)
			if err != nil {
				panic("puzzle: generated maze is not solvable: " + err.Error())
			}
			return MazePuzzle{Question: m, Answer: answer, PathLen: d}, nil
		}
	}
	return MazePuzzle{}, fmt.Errorf("maze generator: no %dx%d maze with a shortest path of %d moves or more in %d attempts: %w",
		opts.Size, opts.Size, opts.MinPathLen, attempts, ErrGiveUp)
}

// carveMaze returns an n×n maze of walls and open cells: a spanning tree of
// the odd-coordinate cells carved by randomized depth-first search, plus a
// fraction openings of the remaining inner walls between two such cells
// knocked out.
func carveMaze(rng *rand.Rand, n int, openings float64) Maze {
	m := Maze{N: n, Cells: []byte(strings.Repeat(string(MazeWall), n*n))}
	k := (n - 1) / 2 // rooms per side, at coordinates 1, 3, ..., 2k-1
	room := func(r, c int) int { return (2*r+1)*n + 2*c + 1 }
	visited := make([]bool, k*k)
	stack := []int{rng.IntN(k * k)}
	visited[stack[0]] = true
	m.Cells[room(stack[0]/k, stack[0]%k)] = MazeOpen
	var next [4]int
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		r, c := cur/k, cur%k
		cnt := 0
		if r > 0 && !visited[cur-k] {
			next[cnt] = cur - k
			cnt++
		}
		if r < k-1 && !visited[cur+k] {
			next[cnt] = cur + k
			cnt++
		}
		if c > 0 && !visited[cur-1] {
			next[cnt] = cur - 1
			cnt++
		}
		if c < k-1 && !visited[cur+1] {
			next[cnt] = cur + 1
			cnt++
		}
		if cnt == 0 {
			stack = stack[:len(stack)-1]
			continue
		}
		nb := next[rng.IntN(cnt)]
		visited[nb] = true
		a, b := room(r, c), room(nb/k, nb%k)
		m.Cells[b] = MazeOpen
		m.Cells[(a+b)/2] = MazeOpen // the wall between two rooms
		stack = append(stack, nb)
	}
	if openings > 0 {
		// Inner walls between two rooms, in a fixed order, then a random subset.
		var walls []int
		for i := 1; i < n-1; i++ {
			for j := 1; j < n-1; j++ {
				c := i*n + j
				if m.Cells[c] != MazeWall || (i%2 == 1) == (j%2 == 1) {
					continue // open already, a room, or a wall corner
				}
				if i%2 == 1 && j+1 <= 2*k-1 || j%2 == 1 && i+1 <= 2*k-1 {
					walls = append(walls, c)
				}
			}
		}
		rng.Shuffle(len(walls), func(a, b int) { walls[a], walls[b] = walls[b], walls[a] })
		for _, c := range walls[:int(openings*float64(len(walls))+0.5)] {
			m.Cells[c] = MazeOpen
		}
	}
	return m
}
