package task

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const arcData = "../../testdata/arc"

// arcGolden is a fixture of scripts/arc/golden.py: the official builder's
// logic run with numpy's generator on the committed tasks.
type arcGolden struct {
	Subsets     []string `json:"subsets"`
	NumAug      int      `json:"num_aug"`
	Seed        int      `json:"seed"`
	Identifiers []string `json:"identifiers"`
	Splits      map[string]struct {
		ExampleSHA256     []string `json:"example_sha256"`
		PuzzleIdentifiers []int32  `json:"puzzle_identifiers"`
		PuzzleIndices     []int    `json:"puzzle_indices"`
		GroupIndices      []int    `json:"group_indices"`
		First             struct {
			Input []int32 `json:"input"`
			Label []int32 `json:"label"`
		} `json:"first"`
	} `json:"splits"`
}

func loadARCGolden(t *testing.T, name string) (arcGolden, *Arc) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(arcData, "golden", name+".json"))
	require.NoError(t, err)
	var g arcGolden
	require.NoError(t, json.Unmarshal(data, &g))
	var paths []string
	for _, s := range g.Subsets {
		paths = append(paths, filepath.Join(arcData, "arc-agi_"+s+"_challenges.json"))
	}
	opts := Options{"eval": filepath.Join(arcData, "arc-agi_evaluation_challenges.json"),
		"aug": jsonInt(g.NumAug), "seed": jsonInt(g.Seed)}
	if len(paths) > 0 {
		opts["data"] = joinComma(paths)
	}
	a, err := NewArc(opts)
	require.NoError(t, err)
	return g, a
}

func jsonInt(v int) string { b, _ := json.Marshal(v); return string(b) }

func joinComma(s []string) string {
	out := ""
	for i, p := range s {
		if i > 0 {
			out += ","
		}
		out += p
	}
	return out
}

// TestARCGolden rebuilds the official dataset of the committed tasks and
// compares every example, puzzle identifier and index with the fixture.
func TestARCGolden(t *testing.T) {
	for _, name := range []string{"training_evaluation_aug8", "training_evaluation_aug0", "evaluation_aug30_seed7"} {
		t.Run(name, func(t *testing.T) {
			g, a := loadARCGolden(t, name)
			require.Equal(t, g.Identifiers, a.names, "puzzle identifiers")
			for d, split := range []Split{SplitTrain, SplitTest} {
				want := g.Splits[string(split)]
				exs := a.split[d]
				require.Len(t, exs, len(want.ExampleSHA256), "%s examples", split)
				var pids []int32
				idx := []int{0}
				for j, e := range exs {
					if j == 0 || e.puzzle != exs[j-1].puzzle {
						if j > 0 {
							idx = append(idx, j)
						}
						pids = append(pids, a.puzzles[e.puzzle].id)
					}
					ex := a.BuiltExample(split, j)
					h := sha256.New()
					for _, seq := range [][]int32{ex.Input, ex.Label} {
						b := make([]byte, len(seq))
						for i, v := range seq {
							if v == IgnoreLabel {
								v = ARCPad
							}
							b[i] = byte(v)
						}
						h.Write(b)
					}
					require.Equal(t, want.ExampleSHA256[j], hex.EncodeToString(h.Sum(nil)), "%s example %d (puzzle %s)", split, j, a.names[a.puzzles[e.puzzle].id])
					if j == 0 {
						require.Equal(t, want.First.Input, ex.Input)
					}
				}
				idx = append(idx, len(exs))
				assert.Equal(t, want.PuzzleIdentifiers, pids, "%s puzzle identifiers", split)
				assert.Equal(t, want.PuzzleIndices, idx, "%s puzzle indices", split)
			}
			assert.Equal(t, len(g.Identifiers), a.NumPuzzleIDs())
		})
	}
}

// TestNPRandom checks the MT19937 port against numpy's first outputs for
// seed 42 (np.random.seed(42); np.random.randint(0, 2**32, dtype=np.uint64)
// draws two 32-bit words; these are the raw words of mt19937 seed 42).
func TestNPRandom(t *testing.T) {
	r := newNPRandom(5489) // the reference implementation's default seed
	assert.Equal(t, uint32(3499211612), r.uint32())
	assert.Equal(t, uint32(581869302), r.uint32())
}

func TestARCDihedralRoundTrip(t *testing.T) {
	g := ARCGrid{H: 2, W: 3, Cells: []uint8{1, 2, 3, 4, 5, 6}}
	want := map[int]string{0: "123/456", 1: "36/25/14", 2: "654/321", 3: "41/52/63", 4: "321/654", 5: "456/123", 6: "14/25/36", 7: "63/52/41"}
	for tr := range 8 {
		d := ARCDihedral(g, tr)
		assert.Equal(t, want[tr], d.String(), "transform %d", tr)
		assert.True(t, ARCDihedral(d, ARCDihedralInverse[tr]).Equal(g), "inverse of %d", tr)
	}
	r := NewRand(7)
	for range 200 {
		h, w := 1+r.IntN(30), 1+r.IntN(30)
		g := ARCGrid{H: h, W: w, Cells: make([]uint8, h*w)}
		for i := range g.Cells {
			g.Cells[i] = uint8(r.IntN(10))
		}
		a := ARCAug{Trans: r.IntN(8)}
		for i, c := range append([]int{0}, r.Perm(9)...) {
			if i > 0 {
				c++
			}
			a.Map[i] = uint8(c)
		}
		aug := a.Apply(g)
		require.True(t, a.Invert(aug).Equal(g), "aug %+v on %dx%d", a, h, w)
		// Encoding and cropping round trip, anywhere in the canvas.
		pr, pc := r.IntN(31-aug.H), r.IntN(31-aug.W)
		seq := make([]int32, arcSeqLen)
		ARCEncode(seq, aug, 0, 0)
		require.True(t, ARCCrop(seq).Equal(aug))
		ARCEncode(seq, aug, pr, pc)
		n := 0
		for _, v := range seq {
			if v >= ARCColour0 {
				n++
			}
		}
		require.Equal(t, aug.H*aug.W, n, "every cell on the canvas at (%d, %d)", pr, pc)
	}
}

func TestARCTranslationStaysOnCanvas(t *testing.T) {
	a, err := NewArc(Options{"eval": filepath.Join(arcData, "evaluation"), "aug": "20"})
	require.NoError(t, err)
	for j, e := range a.split[0] {
		ex := a.BuiltExample(SplitTrain, j)
		p := a.puzzles[e.puzzle]
		pair := a.pairs[p.task][0][e.pair]
		in, out := p.aug.Apply(pair.Input), p.aug.Apply(pair.Output)
		require.LessOrEqual(t, int(e.padR)+max(in.H, out.H), ARCMaxSize)
		require.LessOrEqual(t, int(e.padC)+max(in.W, out.W), ARCMaxSize)
		n := 0
		for _, v := range ex.Input {
			if v >= ARCColour0 {
				n++
			}
		}
		require.Equal(t, in.H*in.W, n)
	}
}

func TestARCLoaderErrors(t *testing.T) {
	for _, c := range []struct{ name, data, want string }{
		{"ragged", `{"train":[{"input":[[1,2],[3]],"output":[[1]]}],"test":[{"input":[[1]]}]}`, `task "ragged": train pair 0 input: grid row 1 has 1 cells, want 2`},
		{"colour", `{"train":[{"input":[[1,12]],"output":[[1]]}],"test":[{"input":[[1]]}]}`, `grid cell (0, 1) is 12, want a colour 0..9`},
		{"big", `{"train":[{"input":[[` + repeatInts(31) + `]],"output":[[1]]}],"test":[{"input":[[1]]}]}`, `grid row 0 has 31 cells, want 1..30`},
		{"nokey", `{"train":[{"input":[[1]],"output":[[1]]}]}`, `no "test" key`},
		{"noout", `{"train":[{"input":[[1]]}],"test":[{"input":[[1]]}]}`, `train pair 0: no "output"`},
		{"combined", `{"abc":{"train":[{"input":[[1]],"output":[]}],"test":[{"input":[[1]]}]}}`, `task "abc": train pair 0 output: grid has 0 rows`},
		{"notjson", `[1,2]`, `want a task object`},
	} {
		_, err := ParseARC(c.name+".json", []byte(c.data))
		require.Error(t, err, c.name)
		assert.Contains(t, err.Error(), c.want, c.name)
		assert.Contains(t, err.Error(), c.name+".json", c.name)
	}
}

func repeatInts(n int) string {
	s := "0"
	for range n - 1 {
		s += ",0"
	}
	return s
}

func TestARCLoadForms(t *testing.T) {
	dir, err := LoadARC(filepath.Join(arcData, "evaluation"))
	require.NoError(t, err)
	comb, err := LoadARC(filepath.Join(arcData, "arc-agi_evaluation_challenges.json"))
	require.NoError(t, err)
	require.Len(t, dir, 4)
	byID := map[string]ARCTask{}
	for _, x := range comb {
		byID[x.ID] = x
		assert.True(t, x.TestFirst)
	}
	for _, x := range dir {
		y := byID[x.ID]
		require.Len(t, y.Test, len(x.Test), x.ID)
		for i := range x.Test {
			assert.True(t, x.Test[i].Output.Equal(y.Test[i].Output), "%s test %d output from the solutions file", x.ID, i)
		}
	}
}

func TestARCTask(t *testing.T) {
	a, err := NewArc(Options{"eval": filepath.Join(arcData, "evaluation"), "aug": "3"})
	require.NoError(t, err)
	assert.Equal(t, 4*4, a.NumPuzzleIDs()-1)
	// 5 test pairs × 4 members.
	require.Equal(t, 20, a.Len(SplitTest))
	ex, err := Labeled(a, SplitTest, 0, 0)
	require.NoError(t, err)
	item := a.TestItem(0)
	assert.Equal(t, 0, item.Member)
	got, err := a.Decode(ex, ex.Input)
	require.NoError(t, err)
	assert.Equal(t, a.Format(ex), got)
	enc, err := a.Encode(a.Format(ex))
	require.NoError(t, err)
	assert.Equal(t, ex.Input, enc.Input)
	assert.Equal(t, int32(0), enc.PuzzleID)
	_, err = a.Encode("12/3")
	assert.ErrorContains(t, err, "grid row 1 has 1 cells, want 2")
	for i := range int64(a.Len(SplitTrain)) {
		_, err := Labeled(a, SplitTrain, 3, i)
		require.NoError(t, err)
	}
}

// FuzzParseARC feeds the JSON loader arbitrary files: it must return tasks
// that satisfy every documented bound, or an error naming the file, never
// panic.
func FuzzParseARC(f *testing.F) {
	for _, p := range []string{"arc-agi_evaluation_challenges.json", "arc-agi_training_challenges.json", "evaluation/6ea4a07e.json"} {
		data, err := os.ReadFile(filepath.Join(arcData, p))
		require.NoError(f, err)
		f.Add(string(data))
	}
	f.Add(`{"train":[{"input":[[1,2],[3]],"output":[[1]]}],"test":[{"input":[[1]]}]}`)
	f.Add(`{"a":{"test":[{"input":[[9]]}],"train":[{"input":[[0]],"output":[[10]]}]},"a":{}}`)
	f.Fuzz(func(t *testing.T, data string) {
		tasks, err := ParseARC("fuzz.json", []byte(data))
		if err != nil {
			require.Contains(t, err.Error(), "fuzz.json")
			return
		}
		for _, x := range tasks {
			require.NotEmpty(t, x.Test)
			for _, ps := range [][]ARCPair{x.Train, x.Test} {
				for _, p := range ps {
					for _, g := range []ARCGrid{p.Input, p.Output} {
						if g.H == 0 {
							continue
						}
						require.True(t, g.H <= ARCMaxSize && g.W <= ARCMaxSize && g.W > 0 && len(g.Cells) == g.H*g.W)
						for _, c := range g.Cells {
							require.Less(t, c, uint8(10))
						}
						seq := make([]int32, arcSeqLen)
						ARCEncode(seq, g, 0, 0)
						require.True(t, ARCCrop(seq).Equal(g))
					}
				}
			}
		}
	})
}
