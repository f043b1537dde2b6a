package infer_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/internal/trmtest"
	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/infer"
	"github.com/trm-go/trm/trm/task"
)

// TestEvaluateARCTaskIDs: limited to one task, EvaluateARC answers only its
// test inputs and gives it the same attempts, rankings and score as the
// evaluation of the whole test set (what trm infer --task arc relies on).
func TestEvaluateARCTaskIDs(t *testing.T) {
	a, err := task.NewArc(task.Options{"eval": filepath.Join(arcData, "evaluation"), "aug": "2"})
	require.NoError(t, err)
	c := trmtest.TinyConfig(t, nn.VariantAttn)
	c.SetTask(a)
	c.HCycles, c.LCycles, c.LLayers, c.HaltMaxSteps = 1, 1, 1, 1
	c.PuzzleEmbNdim, c.PuzzleEmbLen = c.HiddenSize, 1
	require.NoError(t, c.Validate())
	m, err := trm.NewModel(c.ModelConfig, 3)
	require.NoError(t, err)

	opts := infer.ARCEvalOptions{Augmentations: 1, BatchSize: 4}
	all, err := infer.EvaluateARC(context.Background(), m, a, opts)
	require.NoError(t, err)
	require.Equal(t, 4, all.Tasks)
	assert.Equal(t, 10, all.Predictions, "5 test inputs × (original + 1 augmentation)")

	const id = "6ea4a07e"
	opts.TaskIDs = []string{id}
	one, err := infer.EvaluateARC(context.Background(), m, a, opts)
	require.NoError(t, err)
	assert.Equal(t, 1, one.Tasks)
	assert.Equal(t, 4, one.Predictions, "its 2 test inputs × 2 copies")
	require.Len(t, one.Submission, 1)
	assert.Equal(t, all.Submission[id], one.Submission[id])
	require.Len(t, one.Ranked, 1)
	assert.Equal(t, all.Ranked[id], one.Ranked[id])
	require.Len(t, one.Ranked[id], 2, "one ranking per test input")
	for i, rank := range one.Ranked[id] {
		require.NotEmpty(t, rank, "test %d", i)
		votes := 0
		for _, c := range rank {
			votes += c.Votes
		}
		assert.LessOrEqual(t, votes, 2, "test %d: at most one vote per copy", i)
	}

	opts.TaskIDs = []string{id, "nope"}
	_, err = infer.EvaluateARC(context.Background(), m, a, opts)
	require.ErrorContains(t, err, `task "nope" is not in the test set`)
}

// TestARCResultRanked: Ranked keeps the two best candidates of each test
// input with their votes and mean confidence, fewer when fewer were
// proposed, and an empty answer as it is (the submission puts a blank in
// its place).
func TestARCResultRanked(t *testing.T) {
	a, err := task.NewArc(task.Options{"eval": filepath.Join(arcData, "evaluation"), "aug": "0"})
	require.NoError(t, err)
	seq := func(g task.ARCGrid) []int32 {
		s := make([]int32, task.ARCMaxSize*task.ARCMaxSize)
		if g.H > 0 {
			task.ARCEncode(s, g, 0, 0)
		}
		return s
	}
	idOf := map[string]int32{}
	for id := int32(1); id < int32(a.NumPuzzleIDs()); id++ {
		idOf[a.PuzzleName(id)] = id
	}
	tasks := a.TestTasks()
	red := task.ARCGrid{H: 1, W: 2, Cells: []uint8{2, 2}}
	blue := task.ARCGrid{H: 2, W: 1, Cells: []uint8{1, 1}}
	green := task.ARCGrid{H: 1, W: 1, Cells: []uint8{3}}
	v := infer.NewARCVoter(a)
	// Task 0, test 0: red twice (q 0 and 2), blue once (q 0), green once (q −1).
	t0 := tasks[0]
	in := seq(t0.Test[0].Input)
	for _, p := range []struct {
		g task.ARCGrid
		q float64
	}{{red, 0}, {blue, 0}, {green, -1}, {red, 2}} {
		require.NoError(t, v.Add(idOf[t0.ID], in, seq(p.g), p.q))
	}
	// Task 1, every test input: an empty answer, once.
	t1 := tasks[1]
	for _, p := range t1.Test {
		require.NoError(t, v.Add(idOf[t1.ID], seq(p.Input), seq(task.ARCGrid{}), 0))
	}
	r := v.Result()

	rank := r.Ranked[t0.ID][0]
	require.Len(t, rank, 2, "the best two of three")
	assert.True(t, rank[0].Grid.Equal(red))
	assert.Equal(t, 2, rank[0].Votes)
	assert.InDelta(t, (0.5+1/(1+0.1353352832366127))/2, rank[0].Confidence, 1e-12, "mean sigmoid(q)")
	assert.True(t, rank[1].Grid.Equal(blue), "blue beats green on confidence")
	assert.Equal(t, 1, rank[1].Votes)
	assert.InDelta(t, 0.5, rank[1].Confidence, 1e-12)

	require.Len(t, r.Ranked[t1.ID], len(t1.Test))
	for i := range t1.Test {
		require.Len(t, r.Ranked[t1.ID][i], 1, "one candidate")
		assert.Equal(t, 0, r.Ranked[t1.ID][i][0].Grid.H, "the empty answer kept")
		assert.Equal(t, [][]int{{0}}, r.Submission[t1.ID][i].Attempt1.Rows(), "a blank in the submission")
	}
	assert.Empty(t, r.Ranked[tasks[3].ID][0], "no answer: no candidate")
}
