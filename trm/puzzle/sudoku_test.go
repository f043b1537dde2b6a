package puzzle

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const norvigEasy = "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."

func TestParseGridForms(t *testing.T) {
	g, err := ParseGrid(norvigEasy)
	require.NoError(t, err)
	assert.Equal(t, Shape9, g.Shape)
	assert.Equal(t, norvigEasy, g.String())
	assert.Equal(t, 3, g.At(0, 2))
	assert.Equal(t, 0, g.At(0, 0))

	// '0' for blanks, spread over lines with spaces.
	var sb strings.Builder
	for r := 0; r < 9; r++ {
		for c := 0; c < 9; c++ {
			ch := norvigEasy[r*9+c]
			if ch == '.' {
				ch = '0'
			}
			sb.WriteByte(ch)
			sb.WriteByte(' ')
		}
		sb.WriteString("\r\n")
	}
	g2, err := ParseGrid(sb.String())
	require.NoError(t, err)
	assert.True(t, g.Equal(g2))

	// The printed layout reads back, for all three shapes.
	for _, s := range []string{norvigEasy, "1...34....2....3", "1.3..6..6.2.2....4.6.2..3.2..5......"} {
		g, err := ParseGrid(s)
		require.NoError(t, err)
		back, err := ParseGrid(g.Format())
		require.NoError(t, err, g.Format())
		assert.True(t, g.Equal(back))
		assert.Equal(t, g.Shape, back.Shape)
	}
}

func TestFormatLayout(t *testing.T) {
	g, err := ParseGrid(norvigEasy)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(g.Format(), "\n"), "\n")
	require.Len(t, lines, 11)
	assert.Equal(t, ". . 3 | . 2 . | 6 . .", lines[0])
	assert.Equal(t, "------+-------+------", lines[3])
	for _, l := range lines {
		assert.Len(t, l, len(lines[0]))
	}

	g6, err := ParseGrid("1.3..6..6.2.2....4.6.2..3.2..5......")
	require.NoError(t, err)
	lines = strings.Split(strings.TrimSuffix(g6.Format(), "\n"), "\n")
	require.Len(t, lines, 8) // 6 rows, separators after rows 2 and 4
	assert.Equal(t, "1 . 3 | . . 6", lines[0])
	assert.Equal(t, "------+------", lines[2])
}

func TestParseGridErrors(t *testing.T) {
	_, err := ParseGrid(norvigEasy[:80])
	require.Error(t, err)
	assert.Contains(t, err.Error(), "80 cells")

	_, err = ParseGrid(norvigEasy[:10] + "x" + norvigEasy[11:])
	require.Error(t, err)
	assert.Contains(t, err.Error(), "'x' at offset 10")

	// A digit too large for a 4×4.
	_, err = ParseGrid("5..." + "...." + "...." + "....")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "holds 5, want 0..4")

	_, err = ParseGridShape("1...34....2....3", Shape9)
	require.Error(t, err)
	g, err := ParseGridShape("1...34....2....3", Shape4)
	require.NoError(t, err)
	assert.Equal(t, Shape4, g.Shape)

	_, err = ReadGrids(strings.NewReader("# comment\n\n" + norvigEasy + "\n" + norvigEasy[:20] + "\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 4")
}

func TestShapes(t *testing.T) {
	for _, n := range []int{4, 6, 9} {
		s, err := ShapeForSize(n)
		require.NoError(t, err)
		assert.Equal(t, n, s.Size())
		assert.Equal(t, n+2, s.Vocab())
		assert.Equal(t, n*n, s.NumCells())
	}
	_, err := ShapeForSize(5)
	require.Error(t, err)
	assert.Equal(t, "6x6(2x3)", Shape6.String())
	assert.Equal(t, "9x9", Shape9.String())
	assert.False(t, Shape{4, 4}.Valid())
	assert.Panics(t, func() { NewGrid(Shape{0, 3}) })
}

func TestConflict(t *testing.T) {
	g, err := ParseGrid("1234341243212143")
	require.NoError(t, err)
	assert.Empty(t, g.Conflict())
	assert.True(t, g.IsSolved())

	row := g.Clone()
	row.Set(0, 0, 2) // 2 twice in row 1 (and in column 1? no: column 1 is 1,3,4,2)
	assert.Contains(t, row.Conflict(), "row 1")
	assert.False(t, row.IsSolved())

	g6 := NewGrid(Shape6)
	g6.Set(0, 0, 5)
	g6.Set(1, 2, 5) // same 2×3 box, other row and column
	assert.Contains(t, g6.Conflict(), "box 1")
	g6.Set(1, 2, 0)
	g6.Set(1, 3, 5) // the next box
	assert.Empty(t, g6.Conflict())
	assert.False(t, g6.IsSolved()) // blanks
}
