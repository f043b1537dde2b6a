package puzzle

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSudokuCSVRoundTrip(t *testing.T) {
	puzzles, solutions := loadTop95(t)
	var recs []SudokuRecord
	for i, p := range puzzles {
		_, res, err := Solve(p)
		require.NoError(t, err)
		recs = append(recs, SudokuRecord{Source: "top95", Puzzle: p, Solution: solutions[i], Rating: res.Rating})
	}
	// Other sizes too: the reader takes the shape from the string length.
	rng := rand.New(rand.NewPCG(1, 1))
	for _, opts := range []SudokuOptions{{Shape: Shape4, Blanks: 9}, {Shape: Shape6, Blanks: 20}} {
		p, err := GenerateSudoku(rng, opts)
		require.NoError(t, err)
		recs = append(recs, SudokuRecord{Source: "gen, with a comma", Puzzle: p.Puzzle, Solution: p.Solution, Rating: p.Rating})
	}
	var buf bytes.Buffer
	require.NoError(t, WriteSudokuCSV(&buf, recs))
	first := strings.SplitN(buf.String(), "\n", 3)
	assert.Equal(t, "source,question,answer,rating", first[0])
	assert.True(t, strings.HasPrefix(first[1], "top95,"+puzzles[0].String()+","+solutions[0].String()+","), first[1])

	back, err := ReadAllSudokuCSV(&buf)
	require.NoError(t, err)
	require.Len(t, back, len(recs))
	for i := range recs {
		assert.Equal(t, recs[i].Source, back[i].Source)
		assert.True(t, recs[i].Puzzle.Equal(back[i].Puzzle), "record %d", i)
		assert.True(t, recs[i].Solution.Equal(back[i].Solution), "record %d", i)
		assert.Equal(t, recs[i].Rating, back[i].Rating)
	}
}

func TestSudokuCSVMalformed(t *testing.T) {
	q := "1...34....2....3"
	a := "1234341243212143"
	good := "src," + q + "," + a + ",0\n"
	header := "source,question,answer,rating\n"
	cases := []struct {
		name, body, want string
	}{
		{"empty", "", "line 1: empty file"},
		{"header", "a,b,c,d\n" + good, "line 1: header"},
		{"fields", header + good + "src," + q + "," + a + "\n", "line 3: 3 fields"},
		{"question length", header + good + good + "src," + q[:15] + "," + a + ",1\n", "line 4: question has 15 characters"},
		{"answer length", header + "src," + q + "," + a + "1,0\n", "line 2: answer has 17 characters"},
		{"sizes differ", header + "src," + q + ",123456456123231564564231312645645312,0\n", "line 2: answer has 36 characters, question 16"},
		{"bad char", header + "src,1..x34....2....3," + a + ",0\n", "line 2: question: character 'x' at position 4"},
		{"digit too big", header + "src,1..534....2....3," + a + ",0\n", "line 2: question: character '5' at position 4"},
		{"answer blank", header + "src," + q + ",1234341243.12143,0\n", "line 2: answer has 1 blanks"},
		{"answer invalid", header + "src," + q + ",1234341243212134,0\n", "line 2: answer is not a valid Sudoku"},
		{"given disagrees", header + "src,2..." + q[4:] + "," + a + ",0\n", "line 2: answer has 1 at r1c1 where the question gives 2"},
		{"rating", header + "src," + q + "," + a + ",-3\n", "line 2: rating \"-3\""},
		{"rating text", header + "src," + q + "," + a + ",hard\n", "line 2: rating \"hard\""},
		{"quote", header + good + "\"src," + q + "," + a + ",0\n", "line 3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadAllSudokuCSV(strings.NewReader(c.body))
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}

	// Header only: no records, no error.
	recs, err := ReadAllSudokuCSV(strings.NewReader(header))
	require.NoError(t, err)
	assert.Empty(t, recs)

	// An error from the callback stops the read and comes back with its line.
	stop := errors.New("stop")
	n := 0
	err = ReadSudokuCSV(strings.NewReader(header+good+good+good), func(SudokuRecord) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	require.ErrorIs(t, err, stop)
	assert.Contains(t, err.Error(), "line 3")

	// '0' blanks, as some copies of the data use, read as blanks.
	recs, err = ReadAllSudokuCSV(strings.NewReader(header + "src,1000340000200003," + a + ",5\n"))
	require.NoError(t, err)
	assert.Equal(t, q, recs[0].Puzzle.String())
	assert.Equal(t, 5, recs[0].Rating)
}

func TestMazeCSVRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	var recs []MazeRecord
	for _, n := range []int{7, 10, 30} {
		p, err := GenerateMaze(rng, MazeOptions{Size: n, MinPathLen: n, Openings: 0.1})
		require.NoError(t, err)
		recs = append(recs, MazeRecord{Source: "gen", Question: p.Question, Answer: p.Answer, Rating: p.PathLen})
	}
	var buf bytes.Buffer
	require.NoError(t, WriteMazeCSV(&buf, recs))
	back, err := ReadAllMazeCSV(&buf)
	require.NoError(t, err)
	require.Len(t, back, len(recs))
	for i := range recs {
		assert.True(t, recs[i].Question.Equal(back[i].Question))
		assert.True(t, recs[i].Answer.Equal(back[i].Answer))
		assert.Equal(t, recs[i].Rating, back[i].Rating)
		require.NoError(t, CheckMazePath(back[i].Question, back[i].Answer))
	}
}

func TestMazeCSVMalformed(t *testing.T) {
	header := "source,question,answer,rating\n"
	q := "#####" + "#S  #" + "# # #" + "#  G#" + "#####"
	a := "#####" + "#Soo#" + "# #o#" + "#  G#" + "#####"
	good := "m,\"" + q + "\",\"" + a + "\",3\n"
	recs, err := ReadAllMazeCSV(strings.NewReader(header + good))
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.Equal(t, 5, recs[0].Question.N)

	cases := []struct {
		name, row, want string
	}{
		{"not square", "m," + q[:24] + "," + a[:24] + ",3\n", "line 3: question has 24 characters"},
		{"lengths", "m,\"" + q + "\",\"" + a + "#\",3\n", "line 3: answer has 26 characters, question 25"},
		{"no goal", "m,\"" + strings.Replace(q, "G", " ", 1) + "\",\"" + a + "\",3\n", "line 3: question: no goal"},
		{"two starts", "m,\"" + strings.Replace(q, "#  G", "#S G", 1) + "\",\"" + a + "\",3\n", "two starts"},
		{"path in question", "m,\"" + a + "\",\"" + a + "\",3\n", "line 3: question: cell (1,2) holds 'o'"},
		{"bad char", "m,\"" + strings.Replace(q, " ", ".", 1) + "\",\"" + a + "\",3\n", "holds '.'"},
		{"path on wall", "m,\"" + q + "\",\"" + strings.Replace(a, "# #o#", "# oo#", 1) + "\",3\n", "line 3: answer cell (2,2) is 'o' where the question has '#'"},
		{"moved goal", "m,\"" + q + "\",\"" + strings.Replace(a, "#  G#", "# G #", 1) + "\",3\n", "line 3: answer cell (3,2)"},
		{"rating", "m,\"" + q + "\",\"" + a + "\",x\n", "line 3: rating \"x\""},
		{"fields", "m,\"" + q + "\"\n", "line 3: 2 fields"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadAllMazeCSV(strings.NewReader(header + good + c.row))
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	_, err = ReadAllMazeCSV(strings.NewReader("source,question,answer\n" + good))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 1: header")

	// The writer refuses characters outside "# SGo".
	bad := recs[0]
	bad.Answer = bad.Answer.Clone()
	bad.Answer.Cells[0] = 'x'
	require.Error(t, WriteMazeCSV(&bytes.Buffer{}, []MazeRecord{bad}))
}
