package task

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trm-go/trm/internal/puzzletest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/trm/puzzle"
)

func newMazeT(t *testing.T, opts Options) *Maze {
	t.Helper()
	task, err := New("maze", opts)
	require.NoError(t, err)
	return task.(*Maze)
}

func TestMazeTaskRegistered(t *testing.T) {
	require.Contains(t, Names(), "maze")
	assert.Contains(t, Doc("maze"), "maze")
	task := newMazeT(t, nil)
	assert.Equal(t, "maze", task.Name())
	assert.Equal(t, 11, task.Size())
	assert.Equal(t, 6, task.VocabSize())
	assert.Equal(t, 121, task.SeqLen())
	assert.Equal(t, 1, task.NumPuzzleIDs())
	assert.Equal(t, 0, task.Len(SplitTrain))
	assert.Equal(t, 0, task.Len(SplitTest))
	want := Options{"size": "11", "min_path": "12", "openings": "0.05", "augment": "true", "test_percent": "10"}
	assert.Equal(t, want, task.Options())
	assert.Equal(t, want, newMazeT(t, task.Options()).Options())
	custom := newMazeT(t, Options{"size": "7", "openings": "0", "augment": "false"})
	assert.Equal(t, Options{"size": "7", "min_path": "8", "openings": "0", "augment": "false", "test_percent": "10"}, custom.Options())
	// A Maze-Hard file makes 30×30 the default size.
	file := newMazeT(t, Options{"csv": "maze.csv"})
	assert.Equal(t, Options{"size": "30", "csv": "maze.csv", "limit": "0", "test_percent": "10", "augment": "true"}, file.Options())

	for msg, opts := range map[string]Options{
		`task maze: option size="5", want an integer in [7, 64]`:            {"size": "5"},
		`task maze: option min_path="50", want an integer in [0, 49]`:       {"size": "7", "min_path": "50"},
		`task maze: option openings="1.5", want a fraction in [0, 1]`:       {"openings": "1.5"},
		`task maze: option openings="x"`:                                    {"openings": "x"},
		`task maze: option openings="NaN"`:                                  {"openings": "NaN"},
		`task maze: unknown option "blanks"`:                                {"blanks": "3"},
		`task maze: option min_path does nothing with csv=m.csv`:            {"csv": "m.csv", "min_path": "3"},
		`task maze: option augment="2", want true or false`:                 {"augment": "2"},
		`task maze: option test_percent does nothing with test_csv=t.csv`:   {"test_csv": "t.csv", "test_percent": "3"},
		`task maze: option limit needs csv or test_csv (it limits the rows`: {"limit": "3"},
	} {
		_, err := New("maze", opts)
		assert.ErrorContains(t, err, msg)
	}
}

// checkMazeExample checks that ex fits task and its label is a shortest
// path through its input of at least minPath moves.
func checkMazeExample(t *testing.T, task *Maze, ex Example, minPath int) {
	t.Helper()
	require.NoError(t, CheckExample(task, ex))
	q, err := puzzle.DecodeMaze(ex.Input)
	require.NoError(t, err)
	require.NoError(t, q.CheckQuestion())
	a, err := puzzle.DecodeMaze(ex.Label)
	require.NoError(t, err)
	require.NoError(t, puzzle.CheckMazePath(q, a))
	d, err := q.ShortestPathLen()
	require.NoError(t, err)
	require.GreaterOrEqual(t, d, minPath)
	require.True(t, task.Verify(ex, ex.Label))
	ans, err := task.Decode(ex, ex.Label)
	require.NoError(t, err)
	require.Equal(t, a.Format(), ans)
}

func TestMazeTaskExamples(t *testing.T) {
	for _, opts := range []Options{nil, {"size": "9", "min_path": "20", "openings": "0"}, {"size": "30", "min_path": "110"}} {
		task := newMazeT(t, opts)
		minPath := task.size + 1
		if opts != nil {
			minPath = task.minPath
		}
		for _, split := range []Split{SplitTrain, SplitTest} {
			seen := map[string]bool{}
			n := 20
			if task.size > 15 {
				n = 6
			}
			for i := range int64(n) {
				ex, err := task.Example(split, 3, i)
				require.NoError(t, err)
				checkMazeExample(t, task, ex, minPath)
				if i < 3 {
					again, err := task.Example(split, 3, i)
					require.NoError(t, err)
					require.Equal(t, ex, again, "example %d is not a function of (split, seed, i)", i)
				}
				seen[task.Format(ex)] = true
			}
			assert.Len(t, seen, n)
			a, _ := task.Example(split, 3, 0)
			b, _ := task.Example(split, 4, 0)
			assert.NotEqual(t, a, b)
		}
	}
}

// A maze's class is its 8 images under the symmetries of the square.
func TestMazeKey(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	keys := map[uint64]bool{}
	for range 20 {
		p, err := puzzle.GenerateMaze(rng, puzzle.MazeOptions{Size: 9, MinPathLen: 8})
		require.NoError(t, err)
		k := mazeKey(p.Question.Cells)
		for d := range puzzle.NumDihedral {
			require.Equal(t, k, mazeKey(p.Question.Dihedral(d).Cells))
		}
		keys[k] = true
	}
	assert.Len(t, keys, 20)
}

// 7×7 mazes have 9 rooms, so few questions: train (transformed)
// and test must still never share one.
func TestMazeTaskNoOverlap(t *testing.T) {
	task := newMazeT(t, Options{"size": "7", "min_path": "0", "openings": "0.5"})
	testMazes, testKeys := map[string]bool{}, map[uint64]bool{}
	for i := range int64(200) {
		ex, err := task.Example(SplitTest, 1, i)
		require.NoError(t, err)
		checkMazeExample(t, task, ex, 1)
		testMazes[task.Format(ex)] = true
		testKeys[mazeKey(mazeCells(t, ex))] = true
	}
	trainMazes := map[string]bool{}
	for seed := range uint64(2) {
		for i := range int64(500) {
			ex, err := task.Example(SplitTrain, seed, i)
			require.NoError(t, err)
			require.False(t, testMazes[task.Format(ex)], "train example %d (seed %d) is a test maze", i, seed)
			require.False(t, testKeys[mazeKey(mazeCells(t, ex))])
			trainMazes[task.Format(ex)] = true
		}
	}
	t.Logf("7×7 mazes: %d test questions (%d classes), %d train questions", len(testMazes), len(testKeys), len(trainMazes))
	assert.Greater(t, len(testMazes), 1)
	assert.Greater(t, len(trainMazes), len(testMazes))
}

func mazeCells(t *testing.T, ex Example) []byte {
	t.Helper()
	m, err := puzzle.DecodeMaze(ex.Input)
	require.NoError(t, err)
	return m.Cells
}

// in7 pads a 5×5 maze to 7×7 with walls on the right and at the bottom.
func in7(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		b.WriteString(l + "##\n")
	}
	b.WriteString("#######\n#######\n")
	return b.String()
}

// open7 is a 7×7 maze with an open 3×3 room: S and G in opposite corners
// are joined by 6 shortest paths.
var open7 = in7("#####\n#S  #\n#   #\n#  G#\n#####")

func TestMazeTaskEncode(t *testing.T) {
	task := newMazeT(t, Options{"size": "7"})
	ex, err := task.Encode(open7)
	require.NoError(t, err)
	require.NoError(t, CheckExample(task, ex))
	assert.Nil(t, ex.Label)
	assert.Equal(t, open7, task.Format(ex))
	for _, text := range []string{
		strings.ReplaceAll(open7, "\n", ""),     // one line
		"\n" + open7,                            // as in a raw string literal
		strings.TrimSuffix(open7, "\n"),         // no final line break
		strings.ReplaceAll(open7, "\n", "\r\n"), // Windows line ends
	} {
		got, err := task.Encode(text)
		require.NoError(t, err, "%q", text)
		assert.Equal(t, ex, got)
	}
	// Format of a generated example reads back.
	gen, err := task.Example(SplitTest, 0, 0)
	require.NoError(t, err)
	back, err := task.Encode(task.Format(gen))
	require.NoError(t, err)
	assert.Equal(t, gen.Input, back.Input)

	for text, want := range map[string]string{
		"#####\n#S  #\n#   #\n#  G#\n#####\n":    "maze: a 5x5 maze, this task's mazes are 7x7 (option size)",
		open7[:len(open7)-2] + "\n":              "maze text: line 7 has 6 characters, want 7",
		in7("#####\n#S  #\n# x #\n#  G#\n#####"): `maze text: cell (2,2) holds 'x', want one of "# SGo"`,
		in7("#####\n#S  #\n#   #\n#   #\n#####"): "no goal 'G'",
		in7("#####\n#S  #\n# S #\n#  G#\n#####"): "two starts 'S', at (1,1) and (2,2)",
		in7("#####\n#So #\n#   #\n#  G#\n#####"): "no path 'o': the model draws it",
		in7("#####\n#S# #\n### #\n#  G#\n#####"): "the goal cannot be reached from the start: walls cut G off from S",
		"":                                       "maze text: 0 characters, want a positive square number",
		strings.Repeat("#", 48):                  "48 characters, want a positive square number",
		open7 + "\n\n":                           "line",
	} {
		_, err := task.Encode(text)
		assert.ErrorContains(t, err, want, "text %q", text)
		if err != nil && !strings.Contains(want, "cut G off") {
			assert.ErrorContains(t, err, `want 7 lines of 7 characters (or one line of 49) from "# SG"`)
		}
	}
	_, err = newMazeT(t, nil).Encode(open7)
	assert.ErrorContains(t, err, "maze: a 7x7 maze, this task's mazes are 11x11 (option size)")
}

func TestMazeTaskVerifyAnyShortestPath(t *testing.T) {
	task := newMazeT(t, Options{"size": "7"})
	ex, err := task.Encode(open7)
	require.NoError(t, err)
	pred := func(s string) []int32 {
		m, err := puzzle.ParseMaze(s)
		require.NoError(t, err)
		return m.Tokens()
	}
	for _, good := range []string{
		in7("#####\n#Soo#\n#  o#\n#  G#\n#####"),
		in7("#####\n#S  #\n#o  #\n#ooG#\n#####"),
		in7("#####\n#So #\n# oo#\n#  G#\n#####"),
	} {
		assert.True(t, task.Verify(ex, pred(good)), "%s", good)
		ans, err := task.Decode(ex, pred(good))
		require.NoError(t, err)
		assert.Equal(t, good, ans)
	}
	for bad, why := range map[string]string{
		in7("#####\n#Soo#\n#   #\n#  G#\n#####"): "path does not join S to G",
		in7("#####\n#Soo#\n#o o#\n#  G#\n#####"): "path is not a shortest path",
		in7("#####\n#Soo#\n#  o#\n#  G#\n###o#"): "path goes through a wall at (4,3)",
		in7("#####\n#Soo#\n#  o#\n# #G#\n#####"): "prediction does not keep the maze: cell (3,2)",
		open7:                                    "path does not join S to G (0 path cells)",
	} {
		assert.False(t, task.Verify(ex, pred(bad)), "%s", bad)
		ans, err := task.Decode(ex, pred(bad))
		require.NoError(t, err)
		assert.Contains(t, ans, "(not a solution: "+why)
	}
	// Tokens that are no maze character show as '?'.
	p := pred(in7("#####\n#Soo#\n#  o#\n#  G#\n#####"))
	p[0] = 0
	assert.False(t, task.Verify(ex, p))
	ans, err := task.Decode(ex, p)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(ans, "?######\n"), ans)
	_, err = task.Decode(ex, p[1:])
	assert.ErrorContains(t, err, "maze: prediction has 48 tokens, want 49")
	assert.False(t, task.Verify(ex, p[1:]))

	// On generated examples: the label passes, a corrupted label does not,
	// and Score counts it.
	gen := newMazeT(t, nil)
	ex, err = gen.Example(SplitTest, 5, 0)
	require.NoError(t, err)
	require.True(t, gen.Verify(ex, ex.Label))
	bad := append([]int32(nil), ex.Label...)
	for i, v := range bad {
		if v == puzzle.MazeToken(puzzle.MazePath) {
			bad[i] = puzzle.MazeToken(puzzle.MazeOpen)
			break
		}
	}
	assert.False(t, gen.Verify(ex, bad))
	assert.ErrorIs(t, gen.CheckPrediction(ex, bad), puzzle.ErrPathDisconnected)
	var s Score
	s.Add(gen, ex, ex.Label)
	s.Add(gen, ex, bad)
	assert.Equal(t, Score{Examples: 2, Solved: 1, Tokens: 2 * 121, TokensGood: 2*121 - 1}, s)
}

// writeMazeCSV writes n generated size×size mazes to a CSV file in dir.
func TestMazeTaskCSV(t *testing.T) {
	dir := t.TempDir()
	path, recs := puzzletest.MazeCSV(t, dir, 9, 60)
	task := newMazeT(t, Options{"csv": path, "size": "9", "augment": "false"})
	require.NoError(t, task.Load())
	nTrain, nTest := task.Len(SplitTrain), task.Len(SplitTest)
	assert.Equal(t, len(recs), nTrain+nTest)
	assert.Greater(t, nTest, 0)
	questions := map[string]bool{}
	for _, r := range recs {
		questions[r.Question.Format()] = true
	}
	for _, split := range []Split{SplitTrain, SplitTest} {
		for i := range int64(task.Len(split)) {
			ex, err := task.Example(split, 2, i)
			require.NoError(t, err)
			checkMazeExample(t, task, ex, 9)
			require.True(t, questions[task.Format(ex)])
		}
	}
	aug := newMazeT(t, Options{"csv": path, "size": "9"})
	assert.Equal(t, 0, aug.Len(SplitTrain))
	transformed := 0
	for i := range int64(40) {
		ex, err := aug.Example(SplitTrain, 2, i)
		require.NoError(t, err)
		checkMazeExample(t, aug, ex, 9)
		if !questions[aug.Format(ex)] {
			transformed++
		}
	}
	assert.Greater(t, transformed, 20, "about 7 in 8 train examples are transformed")

	// Errors: wrong size, a label that is not a shortest path, a missing
	// file.
	err := newMazeT(t, Options{"csv": path}).Load()
	assert.ErrorContains(t, err, fmt.Sprintf("task maze: csv %q: line 2: a 9x9 maze, the task has size=30 (set the option size=9)", path))
	recs[1].Answer = recs[1].Question.Clone()
	var buf bytes.Buffer
	require.NoError(t, puzzle.WriteMazeCSV(&buf, recs))
	badPath := filepath.Join(dir, "bad.csv")
	require.NoError(t, os.WriteFile(badPath, buf.Bytes(), 0o644))
	err = newMazeT(t, Options{"csv": badPath, "size": "9"}).Load()
	assert.ErrorContains(t, err, "line 3: answer: path does not join S to G")
	_, err = newMazeT(t, Options{"test_csv": filepath.Join(dir, "none.csv"), "size": "9"}).Example(SplitTrain, 0, 0)
	assert.ErrorIs(t, err, os.ErrNotExist)

	// A test file with generated training: train mazes avoid its classes.
	gen := newMazeT(t, Options{"test_csv": path, "size": "9", "min_path": "9", "limit": "10"})
	assert.Equal(t, 10, gen.Len(SplitTest))
	for i := range int64(50) {
		ex, err := gen.Example(SplitTrain, 0, i)
		require.NoError(t, err)
		require.False(t, gen.src.testKeys[mazeKey(mazeCells(t, ex))])
	}
}

// Every maze configuration yields examples that fit the task.
func TestMazeTaskCheckExampleMany(t *testing.T) {
	for _, opts := range []Options{nil, {"size": "7", "min_path": "2"}, {"size": "8", "openings": "0.3", "augment": "false"}, {"size": "15", "min_path": "30"}} {
		task := newMazeT(t, opts)
		for _, split := range []Split{SplitTrain, SplitTest} {
			for i := range int64(25) {
				ex, err := task.Example(split, 17, i)
				require.NoError(t, err)
				require.NoError(t, CheckExample(task, ex))
			}
		}
	}
	_, err := newMazeT(t, Options{"size": "7", "min_path": "40"}).Example(SplitTrain, 0, 0)
	assert.ErrorIs(t, err, puzzle.ErrGiveUp)
	// The longest paths of a 7×7 maze come in too few kinds to have one
	// in the test bucket.
	few := newMazeT(t, Options{"size": "7", "min_path": "16", "openings": "0"})
	_, err = few.Example(SplitTest, 0, 0)
	assert.ErrorContains(t, err, "task maze: no test puzzle in 5000 generated ones: these options allow too few kinds of puzzle")
	_, err = few.Example(SplitTrain, 0, 0)
	assert.NoError(t, err)
}
