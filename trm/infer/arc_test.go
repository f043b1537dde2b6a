package infer_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/trm/infer"
	"github.com/trm-go/trm/trm/task"
)

const arcData = "../../testdata/arc"

// arcVotesGolden is the voting part of a scripts/arc/golden.py fixture:
// hand-made predictions for every test example and the official
// evaluator's scores and submission for them.
type arcVotesGolden struct {
	NumAug int `json:"num_aug"`
	Seed   int `json:"seed"`
	Votes  struct {
		Predictions []struct {
			Kind, Cell, Colour int
			Q                  float64
		} `json:"predictions"`
		Scores     map[string]float64 `json:"scores"`
		Submission map[string][]*struct {
			Attempt1 [][]int `json:"attempt_1"`
			Attempt2 [][]int `json:"attempt_2"`
			Ranking  [][]any `json:"ranking"`
		} `json:"submission"`
	} `json:"votes"`
}

func gridSHA(g task.ARCGrid) string {
	h := sha256.Sum256(append([]byte{byte(g.H), byte(g.W)}, g.Cells...))
	return hex.EncodeToString(h[:])
}

// TestARCVotingGolden replays the fixture's predictions (the label, the
// label with a cell recoloured, the input, or the label with an
// end-of-grid marker dropped in) and compares pass@k, the rankings and the
// submission with the official evaluator's.
func TestARCVotingGolden(t *testing.T) {
	for _, name := range []string{"training_evaluation_aug8", "training_evaluation_aug0", "evaluation_aug30_seed7"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(arcData, "golden", name+".json"))
			require.NoError(t, err)
			var g arcVotesGolden
			require.NoError(t, json.Unmarshal(data, &g))
			opts := task.Options{"eval": filepath.Join(arcData, "arc-agi_evaluation_challenges.json"),
				"aug": itoa(g.NumAug), "seed": itoa(g.Seed)}
			if name != "evaluation_aug30_seed7" {
				opts["data"] = filepath.Join(arcData, "arc-agi_training_challenges.json") + "," + opts["eval"]
			}
			a, err := task.NewArc(opts)
			require.NoError(t, err)
			require.Equal(t, len(g.Votes.Predictions), a.Len(task.SplitTest))
			v := infer.NewARCVoter(a)
			for i, p := range g.Votes.Predictions {
				ex := a.BuiltExample(task.SplitTest, i)
				pred := make([]int32, len(ex.Label))
				for j, l := range ex.Label {
					if l != task.IgnoreLabel {
						pred[j] = l
					}
				}
				switch p.Kind {
				case 1:
					if pred[p.Cell] >= 2 {
						pred[p.Cell] = int32(p.Colour)
					}
				case 2:
					copy(pred, ex.Input)
				case 3:
					pred[p.Cell] = task.ARCEnd
				}
				require.NoError(t, v.Add(ex.PuzzleID, ex.Input, pred, p.Q))
			}
			r := v.Result(1, 2, 5)
			for _, k := range []int{1, 2, 5} {
				assert.InDelta(t, g.Votes.Scores["pass@"+itoa(k)], r.PassAt[k], 1e-12, "pass@%d", k)
			}
			for _, tk := range a.TestTasks() {
				want := g.Votes.Submission[tk.ID]
				require.Len(t, r.Submission[tk.ID], len(tk.Test))
				for i, p := range tk.Test {
					w := want[i]
					require.NotNil(t, w, "%s test %d has predictions", tk.ID, i)
					assert.Equal(t, w.Attempt1, r.Submission[tk.ID][i].Attempt1.Rows(), "%s test %d attempt 1", tk.ID, i)
					assert.Equal(t, w.Attempt2, r.Submission[tk.ID][i].Attempt2.Rows(), "%s test %d attempt 2", tk.ID, i)
					rank := v.Ranking(tk.ID, p.Input)
					require.Len(t, rank, len(w.Ranking), "%s test %d candidates", tk.ID, i)
					for j, c := range rank {
						assert.Equal(t, w.Ranking[j][0], gridSHA(c.Grid), "%s test %d rank %d grid", tk.ID, i, j)
						assert.Equal(t, w.Ranking[j][1], float64(c.Votes), "%s test %d rank %d votes", tk.ID, i, j)
						assert.InDelta(t, w.Ranking[j][2], c.Confidence, 1e-12, "%s test %d rank %d confidence", tk.ID, i, j)
					}
				}
			}
		})
	}
}

func itoa(v int) string { b, _ := json.Marshal(v); return string(b) }

// TestARCVotingHandMade checks pass@1 and pass@2 on a prediction set built
// by hand: task A's answer wins the vote (pass@1), task B's comes second
// (pass@2 only), task C's never comes (0).
func TestARCVotingHandMade(t *testing.T) {
	a, err := task.NewArc(task.Options{"eval": filepath.Join(arcData, "evaluation"), "aug": "0"})
	require.NoError(t, err)
	tasks := a.TestTasks()
	require.Len(t, tasks, 4)
	seq := func(g task.ARCGrid) []int32 {
		s := make([]int32, task.ARCMaxSize*task.ARCMaxSize)
		task.ARCEncode(s, g, 0, 0)
		return s
	}
	wrong := task.ARCGrid{H: 1, W: 1, Cells: []uint8{7}}
	v := infer.NewARCVoter(a)
	idOf := map[string]int32{}
	for id := int32(1); id < int32(a.NumPuzzleIDs()); id++ {
		idOf[a.PuzzleName(id)] = id
	}
	// Task 0: right answer twice, wrong once.
	t0 := tasks[0]
	for _, g := range []task.ARCGrid{t0.Test[0].Output, wrong, t0.Test[0].Output} {
		for _, p := range t0.Test {
			require.NoError(t, v.Add(idOf[t0.ID], seq(p.Input), seq(pick(g, p.Output, t0.Test[0].Output)), 0))
		}
	}
	// Task 1: wrong twice, right once with a higher confidence than
	// another wrong single vote.
	t1 := tasks[1]
	for _, p := range t1.Test {
		require.NoError(t, v.Add(idOf[t1.ID], seq(p.Input), seq(wrong), -1))
		require.NoError(t, v.Add(idOf[t1.ID], seq(p.Input), seq(wrong), -1))
		require.NoError(t, v.Add(idOf[t1.ID], seq(p.Input), seq(task.ARCGrid{H: 1, W: 1, Cells: []uint8{8}}), 0))
		require.NoError(t, v.Add(idOf[t1.ID], seq(p.Input), seq(p.Output), 3))
	}
	// Task 2: wrong only; task 3: nothing at all.
	t2 := tasks[2]
	for _, p := range t2.Test {
		require.NoError(t, v.Add(idOf[t2.ID], seq(p.Input), seq(wrong), 5))
	}
	r := v.Result()
	const want1 = 1.0 // task 0 only
	assert.InDelta(t, want1/4, r.PassAt[1], 1e-12)
	assert.InDelta(t, (want1+1)/4, r.PassAt[2], 1e-12)
	assert.Equal(t, 4, r.Tasks)
	assert.Len(t, r.Submission, 4)
	assert.Equal(t, [][]int{{0}}, r.Submission[tasks[3].ID][0].Attempt1.Rows(), "no prediction: a blank attempt")
	assert.Equal(t, r.Submission[t2.ID][0].Attempt1, r.Submission[t2.ID][0].Attempt2, "one candidate: repeated")
	_, err = json.Marshal(r.Submission)
	require.NoError(t, err)
	require.Error(t, v.Add(0, seq(wrong), seq(wrong), 0), "the blank identifier")
}

// pick returns g, or the pair's own output when g is the first test
// output (so that "right" means right for every test input).
func pick(g, own, first task.ARCGrid) task.ARCGrid {
	if g.Equal(first) {
		return own
	}
	return g
}
