package puzzle

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The fuzz targets run their seeds as ordinary tests; `go test -fuzz` digs
// further.

func FuzzParseGrid(f *testing.F) {
	f.Add(norvigEasy)
	f.Add("1...34....2....3")
	f.Add("1 2 | . .\n----+----\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		g, err := ParseGrid(s)
		if err != nil {
			return
		}
		for _, text := range []string{g.String(), g.Format()} {
			back, err := ParseGrid(text)
			require.NoError(t, err)
			require.True(t, back.Equal(g))
		}
		if g.Size() <= 6 { // a sparse unsolvable 9×9 can take a long search
			res, err := CountSolutions(g, 2)
			require.NoError(t, err)
			if res.Count > 0 {
				require.True(t, res.Solution.IsSolved())
			}
		}
	})
}

func FuzzReadSudokuCSV(f *testing.F) {
	f.Add("source,question,answer,rating\nsrc,1...34....2....3,1234341243212143,0\n")
	f.Add("source,question,answer,rating\n\"a\nb\",1...34....2....3,1234341243212143,7\n")
	f.Add("source,question,answer,rating\nx,1,2,3\n")
	f.Fuzz(func(t *testing.T, s string) {
		recs, err := ReadAllSudokuCSV(strings.NewReader(s))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		require.NoError(t, WriteSudokuCSV(&buf, recs))
		back, err := ReadAllSudokuCSV(&buf)
		require.NoError(t, err)
		require.Len(t, back, len(recs))
		for i := range recs {
			require.Equal(t, recs[i].Rating, back[i].Rating)
			require.True(t, recs[i].Puzzle.Equal(back[i].Puzzle))
			require.True(t, recs[i].Solution.Equal(back[i].Solution))
		}
	})
}

func FuzzMaze(f *testing.F) {
	f.Add(handMaze)
	f.Add("#####\n#S G#\n#####\n#   #\n#####")
	f.Add("SG\n  ")
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseMaze(s)
		if err != nil || q.CheckQuestion() != nil {
			return
		}
		answer, d, err := SolveMaze(q)
		if err != nil {
			_, err2 := q.ShortestPathLen()
			require.Error(t, err2)
			return
		}
		require.NoError(t, CheckMazePath(q, answer))
		for k := range NumDihedral {
			require.NoError(t, CheckMazePath(q.Dihedral(k), answer.Dihedral(k)))
		}
		dd, err := q.ShortestPathLen()
		require.NoError(t, err)
		require.Equal(t, d, dd)
		tokens := answer.Tokens()
		back, err := DecodeMaze(tokens)
		require.NoError(t, err)
		require.True(t, back.Equal(answer))
	})
}
