package infer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/internal/golden"
	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/task"
)

// officialARCDir is the official-format ARC checkpoint folder written by
// scripts/torch/make_arc_fixture.py: step_518 (torch.save, official keys
// and dtypes), all_config.yaml and expected.json.gz, the PyTorch
// reference's answers to the test split of the ARC dataset built from
// the committed evaluation tasks.
var officialARCDir = filepath.Join("..", "testdata", "torch", "arc_tiny")

// officialARCExpected is expected.json.gz of officialARCDir.
type officialARCExpected struct {
	Dataset struct {
		Aug                  int      `json:"aug"`
		Seed                 int      `json:"seed"`
		NumPuzzleIdentifiers int      `json:"num_puzzle_identifiers"`
		Identifiers          []string `json:"identifiers"`
	} `json:"dataset"`
	Examples struct {
		PuzzleIDs   []int32  `json:"puzzle_ids"`
		InputSHA256 []string `json:"input_sha256"`
	} `json:"examples"`
	LogitExamples  int   `json:"logit_examples"`
	LogitPositions []int `json:"logit_positions"`
	Steps          []struct {
		// Preds holds per example the argmax over the 900 positions, one
		// character per token ("0".."9", "a", "b").
		Preds  []string      `json:"preds"`
		QHalt  golden.Tensor `json:"q_halt"`
		Logits golden.Tensor `json:"logits"` // [LogitExamples, len(LogitPositions), V]
	} `json:"steps"`
	// TieMargin and Ties: the positions whose two best reference logits
	// are within TieMargin, as [step, example, position, margin], where
	// float32 may pick the other token.
	TieMargin float64     `json:"tie_margin"`
	Ties      [][]float64 `json:"ties"`
	Votes     struct {
		Scores  map[string]float64   `json:"scores"`
		Ranking map[string][][][]any `json:"ranking"`
	} `json:"votes"`
}

// officialARCTaskOptions are the options of the ARC task the fixture's
// dataset was built as: the committed evaluation tasks as the test set,
// with its aug and seed.
func officialARCTaskOptions(exp *officialARCExpected) task.Options {
	return task.Options{
		"eval": filepath.Join("..", "..", "testdata", "arc", "arc-agi_evaluation_challenges.json"),
		"aug":  strconv.Itoa(exp.Dataset.Aug), "seed": strconv.Itoa(exp.Dataset.Seed),
	}
}

// TestImportedARCCheckpointMatchesPyTorch: an official-format ARC
// checkpoint made by PyTorch (attention, RoPE, a puzzle embedding of one
// row per augmented puzzle, bf16 H_init/L_init, "_orig_mod.model." keys),
// imported with trm.ImportTorch, answers every augmented test input of the
// ARC dataset built by the Go task as the float64 PyTorch reference does:
// the same puzzle identifiers and inputs (checked against the Python
// builder's), the same argmax at all 900 positions of every supervision
// step, q_halt and the sampled logits within 1e-4, and the same voting
// (ranked candidates, votes, mean sigmoid(q_halt), pass@k).
func TestImportedARCCheckpointMatchesPyTorch(t *testing.T) {
	if testing.Short() {
		// 15 examples × 900 positions × 3 steps of attention: 2.4 s here,
		// 30 s with the generic kernels, over 10 min under qemu-user (CI's
		// arm64 run is -short).
		t.Skip("runs 15 ARC examples through every supervision step")
	}
	var exp officialARCExpected
	require.NoError(t, golden.Load(filepath.Join(officialARCDir, "expected.json.gz"), &exp))
	opts := officialARCTaskOptions(&exp)

	ck, err := trm.ImportTorch(filepath.Join(officialARCDir, "step_518"), trm.ImportOptions{Task: "arc", TaskOptions: opts})
	require.NoError(t, err)
	c := ck.Config.ModelConfig
	require.Equal(t, "arc", c.Task)
	require.Equal(t, nn.VariantAttn, c.Variant)
	require.Equal(t, trm.PosRoPE, c.PosEncodings)
	require.Equal(t, task.ARCVocab, c.VocabSize)
	require.Equal(t, 900, c.SeqLen)
	require.Equal(t, exp.Dataset.NumPuzzleIdentifiers, c.NumPuzzleIdentifiers)
	require.Equal(t, c.HiddenSize, c.PuzzleEmbNdim, "the official ARC config: puzzle_emb_ndim = hidden_size")
	require.Equal(t, 16, c.PuzzleEmbLen)
	require.Equal(t, len(exp.Steps), c.HaltMaxSteps)
	require.Equal(t, int64(518), ck.Step)
	require.Equal(t, "bfloat16", ck.Meta[trm.MetaForwardDType])
	m, err := trm.ModelFromCheckpoint(ck)
	require.NoError(t, err)

	// The same dataset on both sides: identifiers, puzzle ids and inputs.
	tk, err := c.NewTask()
	require.NoError(t, err)
	a := tk.(*task.Arc)
	require.Equal(t, len(exp.Dataset.Identifiers), a.NumPuzzleIDs())
	for id, name := range exp.Dataset.Identifiers {
		require.Equal(t, name, a.PuzzleName(int32(id)), "puzzle identifier %d", id)
	}
	B := a.Len(task.SplitTest)
	require.Equal(t, len(exp.Examples.PuzzleIDs), B)
	exs := make([]task.Example, B)
	for i := range exs {
		exs[i] = a.BuiltExample(task.SplitTest, i)
		require.Equal(t, exp.Examples.PuzzleIDs[i], exs[i].PuzzleID, "test example %d: puzzle id", i)
		b := make([]byte, len(exs[i].Input))
		for j, v := range exs[i].Input {
			b[j] = byte(v)
		}
		h := sha256.Sum256(b)
		require.Equal(t, exp.Examples.InputSHA256[i], hex.EncodeToString(h[:]), "test example %d: input tokens", i)
	}

	// Near-ties of the reference, where float32 may choose the other token.
	tie := map[[3]int]float64{}
	for _, x := range exp.Ties {
		tie[[3]int{int(x[0]), int(x[1]), int(x[2])}] = x[3]
	}
	L := c.SeqLen

	// Predictions and q_halt through the evaluation's runner (passes,
	// frozen weights), every supervision step.
	run := newRunner(m, B)
	steps, flips, nonPad := 0, 0, 0
	run.run(exs, c.HaltMaxSteps, func(step int, preds []int32, q []float32) bool {
		steps = step
		want := exp.Steps[step-1]
		for b := range B {
			require.Len(t, want.Preds[b], L)
			for p := range L {
				w := int32(strings.IndexByte("0123456789ab", want.Preds[b][p]))
				if w != task.ARCPad {
					nonPad++
				}
				if got := preds[b*L+p]; got != w {
					margin, ok := tie[[3]int{step, b, p}]
					require.True(t, ok, "step %d, example %d (puzzle %s), position %d (row %d, column %d): Go predicts %d, PyTorch %d",
						step, b, a.PuzzleName(exs[b].PuzzleID), p, p/30, p%30, got, w)
					t.Logf("step %d, example %d, position %d: argmax differs where the reference's two best logits are %.2g apart", step, b, p, margin)
					flips++
				}
			}
		}
		requireClose(t, want.QHalt.Data, q, 1e-4, "q_halt step "+strconv.Itoa(step))
		return true
	})
	require.Equal(t, c.HaltMaxSteps, steps)
	t.Logf("%d examples × %d steps × %d positions: %d non-pad reference answers, %d argmax differences (near-ties: %d)",
		B, steps, L, nonPad, flips, len(exp.Ties))

	// The sampled logits, through the model's own step.
	tape := nn.NewTape()
	tape.SetNoGrad(true)
	nb := exp.LogitExamples
	tokens, pids := make([]int32, 0, nb*L), make([]int32, 0, nb)
	for _, ex := range exs[:nb] {
		tokens = append(tokens, ex.Input...)
		pids = append(pids, ex.PuzzleID)
	}
	yc, zc := m.NewCarry(nb)
	V := c.VocabSize
	for s, want := range exp.Steps {
		tape.Reset()
		x := m.Input(tape, tokens, pids)
		out := m.Step(tape, x, tape.Const(yc), tape.Const(zc))
		var got []float32
		for b := range nb {
			for _, p := range exp.LogitPositions {
				got = append(got, out.Logits.Value.Data[(b*L+p)*V:(b*L+p+1)*V]...)
			}
		}
		requireClose(t, want.Logits.Data, got, 1e-4, "logits step "+strconv.Itoa(s+1))
		copy(yc.Data, out.Y.Value.Data)
		copy(zc.Data, out.Z.Value.Data)
	}

	// The official voting over the last step's answers.
	res, err := EvaluateARC(context.Background(), m, a, ARCEvalOptions{Augmentations: -1, BatchSize: 4})
	require.NoError(t, err)
	require.Equal(t, B, res.Predictions)
	for k, want := range exp.Votes.Scores {
		n, err := strconv.Atoi(strings.TrimPrefix(k, "pass@"))
		require.NoError(t, err)
		require.InDelta(t, want, res.PassAt[n], 1e-12, k)
	}
	for _, tt := range a.TestTasks() {
		wants := exp.Votes.Ranking[tt.ID]
		require.Len(t, res.Ranked[tt.ID], len(wants), tt.ID)
		for i, want := range wants {
			got := res.Ranked[tt.ID][i]
			require.Len(t, got, min(2, len(want)), "%s test input %d", tt.ID, i)
			for r, cand := range got {
				h := sha256.Sum256(append([]byte{byte(cand.Grid.H), byte(cand.Grid.W)}, cand.Grid.Cells...))
				require.Equal(t, want[r][0], hex.EncodeToString(h[:]), "%s test input %d, candidate %d: grid", tt.ID, i, r+1)
				require.Equal(t, want[r][1], float64(cand.Votes), "%s test input %d, candidate %d: votes", tt.ID, i, r+1)
				require.InDelta(t, want[r][2], cand.Confidence, 1e-4, "%s test input %d, candidate %d: mean sigmoid(q_halt)", tt.ID, i, r+1)
			}
		}
	}
}

// requireClose requires max |got − want| ≤ tol.
func requireClose(t *testing.T, want []float64, got []float32, tol float64, what string) {
	t.Helper()
	require.Len(t, got, len(want), what)
	worst := 0.0
	for i, w := range want {
		worst = math.Max(worst, math.Abs(float64(got[i])-w))
	}
	require.LessOrEqual(t, worst, tol, "%s: max |Go − PyTorch| = %g", what, worst)
	t.Logf("%s: max |Go − PyTorch reference| = %.2g", what, worst)
}
