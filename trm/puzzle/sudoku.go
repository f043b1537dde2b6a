package puzzle

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxSudokuSize is the largest side length supported: digits are written as
// single characters '1'..'9' and the solver keeps its state in fixed arrays.
const MaxSudokuSize = 9

// maxCells is the number of cells of the largest supported grid.
const maxCells = MaxSudokuSize * MaxSudokuSize

// Shape is the geometry of a Sudoku: boxes of BoxRows rows by BoxCols columns,
// a side of N = BoxRows·BoxCols cells, digits 1..N.
type Shape struct {
	BoxRows, BoxCols int
}

// The three standard shapes.
var (
	// Shape4 is the 4×4 Sudoku with 2×2 boxes.
	Shape4 = Shape{BoxRows: 2, BoxCols: 2}
	// Shape6 is the 6×6 Sudoku with boxes of 2 rows by 3 columns.
	Shape6 = Shape{BoxRows: 2, BoxCols: 3}
	// Shape9 is the classic 9×9 Sudoku with 3×3 boxes.
	Shape9 = Shape{BoxRows: 3, BoxCols: 3}
)

// ShapeForSize returns the standard shape of side n: 4 (2×2 boxes), 6 (boxes
// of 2 rows by 3 columns) or 9 (3×3 boxes).
func ShapeForSize(n int) (Shape, error) {
	switch n {
	case 4:
		return Shape4, nil
	case 6:
		return Shape6, nil
	case 9:
		return Shape9, nil
	}
	return Shape{}, fmt.Errorf("sudoku size %d: want 4, 6 or 9", n)
}

// shapeForCells returns the standard shape with the given number of cells
// (16, 36 or 81).
func shapeForCells(cells int) (Shape, error) {
	switch cells {
	case 16:
		return Shape4, nil
	case 36:
		return Shape6, nil
	case 81:
		return Shape9, nil
	}
	return Shape{}, fmt.Errorf("%d cells: want 16 (4×4), 36 (6×6) or 81 (9×9)", cells)
}

// Size is the side length N of the grid (also the number of digits).
func (s Shape) Size() int { return s.BoxRows * s.BoxCols }

// NumCells is N·N.
func (s Shape) NumCells() int { n := s.Size(); return n * n }

// Vocab is the number of tokens of the encoding: pad, blank and N digits.
func (s Shape) Vocab() int { return s.Size() + 2 }

// Valid reports whether the shape has positive box sides and N ≤ MaxSudokuSize.
func (s Shape) Valid() bool {
	return s.BoxRows > 0 && s.BoxCols > 0 && s.Size() <= MaxSudokuSize
}

// String gives the shape as "9x9" (with the box shape for non-square boxes,
// "6x6(2x3)").
func (s Shape) String() string {
	if s.BoxRows == s.BoxCols {
		return fmt.Sprintf("%dx%d", s.Size(), s.Size())
	}
	return fmt.Sprintf("%dx%d(%dx%d)", s.Size(), s.Size(), s.BoxRows, s.BoxCols)
}

// box returns the index of the box holding cell (r, c), boxes numbered row
// by row.
func (s Shape) box(r, c int) int {
	return (r/s.BoxRows)*(s.Size()/s.BoxCols) + c/s.BoxCols
}

// Grid is a Sudoku grid: Cells holds N·N digits row by row, 0 for a blank and
// 1..N for a digit.
type Grid struct {
	Shape Shape
	Cells []uint8
}

// NewGrid returns an empty (all blank) grid of the given shape. It panics if
// the shape is not valid.
func NewGrid(s Shape) Grid {
	if !s.Valid() {
		panic(fmt.Sprintf("puzzle: invalid Sudoku shape %+v", s))
	}
	return Grid{Shape: s, Cells: make([]uint8, s.NumCells())}
}

// Size is the side length N.
func (g Grid) Size() int { return g.Shape.Size() }

// At returns the digit at row r, column c (0 for a blank).
func (g Grid) At(r, c int) int { return int(g.Cells[r*g.Size()+c]) }

// Set puts digit d (0 for a blank) at row r, column c.
func (g Grid) Set(r, c, d int) { g.Cells[r*g.Size()+c] = uint8(d) }

// Clone returns a deep copy.
func (g Grid) Clone() Grid {
	return Grid{Shape: g.Shape, Cells: append([]uint8(nil), g.Cells...)}
}

// Equal reports whether both grids have the same shape and cells.
func (g Grid) Equal(o Grid) bool {
	if g.Shape != o.Shape || len(g.Cells) != len(o.Cells) {
		return false
	}
	for i := range g.Cells {
		if g.Cells[i] != o.Cells[i] {
			return false
		}
	}
	return true
}

// Blanks counts the blank cells.
func (g Grid) Blanks() int {
	n := 0
	for _, v := range g.Cells {
		if v == 0 {
			n++
		}
	}
	return n
}

// Check returns an error if the grid is malformed: an invalid shape, the
// wrong number of cells, or a digit outside 0..N.
func (g Grid) Check() error {
	if !g.Shape.Valid() {
		return fmt.Errorf("sudoku shape %+v: want positive box sides and N ≤ %d", g.Shape, MaxSudokuSize)
	}
	if len(g.Cells) != g.Shape.NumCells() {
		return fmt.Errorf("sudoku %v: %d cells, want %d", g.Shape, len(g.Cells), g.Shape.NumCells())
	}
	n := g.Size()
	for i, v := range g.Cells {
		if int(v) > n {
			return fmt.Errorf("sudoku %v: cell r%dc%d holds %d, want 0..%d", g.Shape, i/n+1, i%n+1, v, n)
		}
	}
	return nil
}

// Conflict returns a description of the first repeated digit in a row,
// column or box, or "" if there is none. Blanks are ignored, so a partial
// grid without conflicts returns "".
func (g Grid) Conflict() string {
	n := g.Size()
	var rows, cols, boxes [MaxSudokuSize]uint16
	for i, v := range g.Cells {
		if v == 0 {
			continue
		}
		r, c := i/n, i%n
		b := g.Shape.box(r, c)
		bit := uint16(1) << v
		switch {
		case rows[r]&bit != 0:
			return fmt.Sprintf("digit %d repeated in row %d", v, r+1)
		case cols[c]&bit != 0:
			return fmt.Sprintf("digit %d repeated in column %d", v, c+1)
		case boxes[b]&bit != 0:
			return fmt.Sprintf("digit %d repeated in box %d", v, b+1)
		}
		rows[r] |= bit
		cols[c] |= bit
		boxes[b] |= bit
	}
	return ""
}

// IsSolved reports whether the grid is well formed, has no blank and every
// row, column and box holds each digit once.
func (g Grid) IsSolved() bool {
	return g.Check() == nil && g.Blanks() == 0 && g.Conflict() == ""
}

// String writes the grid on one line, row by row, '.' for a blank: the
// Sudoku-Extreme question format.
func (g Grid) String() string {
	b := make([]byte, len(g.Cells))
	for i, v := range g.Cells {
		b[i] = digitChar(v)
	}
	return string(b)
}

func digitChar(v uint8) byte {
	if v == 0 {
		return '.'
	}
	if v <= 9 {
		return '0' + v
	}
	return '?'
}

// Format lays the grid out in lines with spaces between cells and box
// separators:
//
//	5 3 . | . 7 . | . . .
//	6 . . | 1 9 5 | . . .
//	------+-------+------
//
// ParseGrid reads this layout back.
func (g Grid) Format() string {
	chars := make([]byte, len(g.Cells))
	for i, v := range g.Cells {
		chars[i] = digitChar(v)
	}
	return layout(g.Shape, chars)
}

// layout writes one character per cell in the Format layout.
func layout(shape Shape, chars []byte) string {
	n := shape.Size()
	stacks := n / shape.BoxCols
	var sb strings.Builder
	for r := 0; r < n; r++ {
		if r > 0 && r%shape.BoxRows == 0 {
			for bc := 0; bc < stacks; bc++ {
				if bc > 0 {
					sb.WriteByte('+')
				}
				w := 2*shape.BoxCols - 1 // the digits and the spaces between them
				if bc > 0 {
					w++ // the space after the previous '|'
				}
				if bc < stacks-1 {
					w++ // the space before the next '|'
				}
				sb.WriteString(strings.Repeat("-", w))
			}
			sb.WriteByte('\n')
		}
		for c := 0; c < n; c++ {
			if c > 0 {
				if c%shape.BoxCols == 0 {
					sb.WriteString(" | ")
				} else {
					sb.WriteByte(' ')
				}
			}
			sb.WriteByte(chars[r*n+c])
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}

// ParseGrid reads a Sudoku from text: the cells row by row, a digit 1..N or
// '.' or '0' for a blank. Whitespace (including line breaks) and the
// separators '|', '-', '+' are ignored, so both the one-line form
// ("4.....8.5.3...") and the layout written by Format are accepted. The shape
// is taken from the number of cells: 16 (4×4), 36 (6×6) or 81 (9×9).
func ParseGrid(s string) (Grid, error) {
	cells := make([]uint8, 0, len(s))
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '.' || ch == '0':
			cells = append(cells, 0)
		case ch >= '1' && ch <= '9':
			cells = append(cells, ch-'0')
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '|' || ch == '-' || ch == '+':
		default:
			return Grid{}, fmt.Errorf("sudoku text: character %q at offset %d: want a digit, '.' or '0'", ch, i)
		}
	}
	shape, err := shapeForCells(len(cells))
	if err != nil {
		return Grid{}, fmt.Errorf("sudoku text: %w", err)
	}
	g := Grid{Shape: shape, Cells: cells}
	if err := g.Check(); err != nil {
		return Grid{}, fmt.Errorf("sudoku text: %w", err)
	}
	return g, nil
}

// ParseGridShape is ParseGrid for a known shape: it refuses text with the
// wrong number of cells for that shape.
func ParseGridShape(s string, shape Shape) (Grid, error) {
	g, err := ParseGrid(s)
	if err != nil {
		return Grid{}, err
	}
	if g.Shape.NumCells() != shape.NumCells() {
		return Grid{}, fmt.Errorf("sudoku text: %d cells, want %d for %v", len(g.Cells), shape.NumCells(), shape)
	}
	g.Shape = shape
	if err := g.Check(); err != nil {
		return Grid{}, fmt.Errorf("sudoku text: %w", err)
	}
	return g, nil
}

// ReadGrids reads one Sudoku per line in the one-line form (as in Norvig's
// top95 list). Empty lines and lines starting with '#' are skipped. Errors
// name the line.
func ReadGrids(r io.Reader) ([]Grid, error) {
	sc := bufio.NewScanner(r)
	var out []Grid
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		g, err := ParseGrid(text)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		out = append(out, g)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	if len(out) == 0 {
		return nil, errors.New("no Sudoku found in the input")
	}
	return out, nil
}
