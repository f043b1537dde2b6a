package puzzle

import "fmt"

// PadToken is the padding token of every encoding (also the label id that
// the loss ignores in the official code).
const PadToken int32 = 0

// SudokuBlankToken is the token of a blank Sudoku cell; digit d is d+1.
const SudokuBlankToken int32 = 1

// AppendTokens appends the encoding of g to dst and returns it: blank → 1,
// digit d → d+1 (pad 0 is never produced). The vocabulary is
// g.Shape.Vocab() = N+2.
func (g Grid) AppendTokens(dst []int32) []int32 {
	for _, v := range g.Cells {
		dst = append(dst, int32(v)+SudokuBlankToken)
	}
	return dst
}

// Tokens returns the encoding of g (see AppendTokens).
func (g Grid) Tokens() []int32 { return g.AppendTokens(make([]int32, 0, len(g.Cells))) }

// EncodeSudoku returns the model input (the puzzle) and the labels (the
// solution: every cell is labelled, givens too), as in the official
// Sudoku-Extreme builder. It panics if the two grids differ in shape.
func EncodeSudoku(puzzle, solution Grid) (inputs, labels []int32) {
	if puzzle.Shape != solution.Shape || len(puzzle.Cells) != len(solution.Cells) {
		panic(fmt.Sprintf("puzzle: EncodeSudoku: puzzle %v and solution %v differ in shape", puzzle.Shape, solution.Shape))
	}
	return puzzle.Tokens(), solution.Tokens()
}

// DecodeSudoku turns tokens back into a grid of the given shape. It refuses
// the wrong length and any token that is not a blank (1) or a digit (2..N+1).
func DecodeSudoku(shape Shape, tokens []int32) (Grid, error) {
	if !shape.Valid() {
		return Grid{}, fmt.Errorf("decode sudoku: shape %+v is not valid", shape)
	}
	if len(tokens) != shape.NumCells() {
		return Grid{}, fmt.Errorf("decode sudoku %v: %d tokens, want %d", shape, len(tokens), shape.NumCells())
	}
	g := NewGrid(shape)
	n := int32(shape.Size())
	for i, t := range tokens {
		if t < SudokuBlankToken || t > n+SudokuBlankToken {
			return Grid{}, fmt.Errorf("decode sudoku %v: token %d at position %d: want 1 (blank) or 2..%d (digits)", shape, t, i, n+1)
		}
		g.Cells[i] = uint8(t - SudokuBlankToken)
	}
	return g, nil
}

// SudokuFromPrediction turns predicted tokens (say, the argmax of the model
// output) into a grid, reading any token that is not a digit as a blank so
// that the grid is simply incomplete. It panics if len(tokens) is not
// shape.NumCells().
func SudokuFromPrediction(shape Shape, tokens []int32) Grid {
	if len(tokens) != shape.NumCells() {
		panic(fmt.Sprintf("puzzle: SudokuFromPrediction: %d tokens for %v", len(tokens), shape))
	}
	g := NewGrid(shape)
	n := int32(shape.Size())
	for i, t := range tokens {
		if t > SudokuBlankToken && t <= n+SudokuBlankToken {
			g.Cells[i] = uint8(t - SudokuBlankToken)
		}
	}
	return g
}

// FormatSudokuTokens renders predicted tokens as Sudoku text: a digit for
// a digit token, '.' for the blank token and '?' for any other token (pad,
// out of range). With pretty false it is the one-line form; with pretty
// true the layout of Grid.Format. It panics if len(tokens) is not
// shape.NumCells().
func FormatSudokuTokens(shape Shape, tokens []int32, pretty bool) string {
	if !shape.Valid() || len(tokens) != shape.NumCells() {
		panic(fmt.Sprintf("puzzle: FormatSudokuTokens: %d tokens for %v", len(tokens), shape))
	}
	chars := make([]byte, len(tokens))
	n := int32(shape.Size())
	for i, t := range tokens {
		switch {
		case t == SudokuBlankToken:
			chars[i] = '.'
		case t > SudokuBlankToken && t <= n+SudokuBlankToken:
			chars[i] = byte('0' + t - SudokuBlankToken)
		default:
			chars[i] = '?'
		}
	}
	if pretty {
		return layout(shape, chars)
	}
	return string(chars)
}

// Maze characters, in token order: '#' → 1, ' ' → 2, 'S' → 3, 'G' → 4,
// 'o' → 5 (pad 0), the CHARSET of the official build_maze_dataset.py.
const (
	MazeWall  byte = '#'
	MazeOpen  byte = ' '
	MazeStart byte = 'S'
	MazeGoal  byte = 'G'
	MazePath  byte = 'o'
)

// MazeCharset lists the maze characters in token order (token = index + 1).
const MazeCharset = "# SGo"

// MazeVocab is the number of maze tokens: pad and the five characters.
const MazeVocab = len(MazeCharset) + 1

// mazeUnknown is the character a prediction's invalid token decodes to.
const mazeUnknown byte = '?'

var mazeCharToken = func() (t [256]int32) {
	for i := range len(MazeCharset) {
		t[MazeCharset[i]] = int32(i) + 1
	}
	return t
}()

// MazeToken returns the token of a maze character, or 0 (pad) for a
// character outside MazeCharset.
func MazeToken(ch byte) int32 { return mazeCharToken[ch] }

// AppendTokens appends the encoding of m to dst and returns it (see
// MazeCharset). It panics on a character outside MazeCharset.
func (m Maze) AppendTokens(dst []int32) []int32 {
	for i, ch := range m.Cells {
		t := mazeCharToken[ch]
		if t == 0 {
			panic(fmt.Sprintf("puzzle: maze cell %d holds %q, not one of %q", i, ch, MazeCharset))
		}
		dst = append(dst, t)
	}
	return dst
}

// Tokens returns the encoding of m (see AppendTokens).
func (m Maze) Tokens() []int32 { return m.AppendTokens(make([]int32, 0, len(m.Cells))) }

// EncodeMaze returns the model input (the question) and the labels (the
// answer, every cell labelled). It panics if the two differ in size.
func EncodeMaze(question, answer Maze) (inputs, labels []int32) {
	if question.N != answer.N {
		panic(fmt.Sprintf("puzzle: EncodeMaze: question %dx%d, answer %dx%d", question.N, question.N, answer.N, answer.N))
	}
	return question.Tokens(), answer.Tokens()
}

// DecodeMaze turns tokens back into a maze; the side is the square root of
// the length. It refuses a length that is not a square and tokens outside
// 1..5.
func DecodeMaze(tokens []int32) (Maze, error) {
	n := isqrt(len(tokens))
	if n*n != len(tokens) || n == 0 {
		return Maze{}, fmt.Errorf("decode maze: %d tokens, want a positive square number", len(tokens))
	}
	m := Maze{N: n, Cells: make([]byte, len(tokens))}
	for i, t := range tokens {
		if t < 1 || int(t) > len(MazeCharset) {
			return Maze{}, fmt.Errorf("decode maze: token %d at position %d: want 1..%d", t, i, len(MazeCharset))
		}
		m.Cells[i] = MazeCharset[t-1]
	}
	return m, nil
}

// MazeFromPrediction turns predicted tokens into an n×n maze, writing '?'
// for a token outside 1..5 so that CheckMazePath rejects it. It panics if
// len(tokens) is not n·n.
func MazeFromPrediction(n int, tokens []int32) Maze {
	if len(tokens) != n*n {
		panic(fmt.Sprintf("puzzle: MazeFromPrediction: %d tokens for %dx%d", len(tokens), n, n))
	}
	m := Maze{N: n, Cells: make([]byte, len(tokens))}
	for i, t := range tokens {
		if t >= 1 && int(t) <= len(MazeCharset) {
			m.Cells[i] = MazeCharset[t-1]
		} else {
			m.Cells[i] = mazeUnknown
		}
	}
	return m
}

func isqrt(v int) int {
	if v <= 0 {
		return 0
	}
	r := 0
	for (r+1)*(r+1) <= v {
		r++
	}
	return r
}
