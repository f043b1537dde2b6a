package infer

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/task"
)

// ARC-AGI evaluation with the official voting (evaluators/arc.py of the
// TRM code): every augmented copy of a test input is answered, each answer
// is cropped, mapped back through the inverse augmentation and counted as
// a vote for its grid; the grids of one test input are ranked by (votes,
// mean sigmoid(q_halt)), and a task scores pass@k when, for each of its
// test inputs, the right grid is among the first k (averaged over its test
// inputs; the result is the mean over tasks).

// ARCCandidate is one answer grid proposed for a test input.
type ARCCandidate struct {
	Grid task.ARCGrid
	// Votes is the number of augmented copies that answered Grid.
	Votes int
	// Confidence is the mean sigmoid(q_halt) of those answers.
	Confidence float64
}

// ARCAttempts is the competition format's answer to one test input.
type ARCAttempts struct {
	Attempt1 task.ARCGrid `json:"attempt_1"`
	Attempt2 task.ARCGrid `json:"attempt_2"`
}

// ARCVoter collects predictions for the test split of an ARC task and
// ranks them. Add predictions in any order, then call Result.
type ARCVoter struct {
	t *task.Arc
	// cands[task id][input key] lists the candidates in first-seen order.
	cands map[string]map[string][]*ARCCandidate
	keys  map[string]map[string]map[string]*ARCCandidate
	added int
	// only, when set, limits Result to these task ids.
	only map[string]bool
}

// NewARCVoter returns an empty voter for t's test set.
func NewARCVoter(t *task.Arc) *ARCVoter {
	return &ARCVoter{t: t, cands: map[string]map[string][]*ARCCandidate{}, keys: map[string]map[string]map[string]*ARCCandidate{}}
}

// gridKey identifies a grid by its shape and colours.
func gridKey(g task.ARCGrid) string { return fmt.Sprintf("%dx%d:", g.H, g.W) + string(g.Cells) }

// Add counts one prediction: pred (the model's 900 tokens) answering input
// (the 900 input tokens) of the puzzle with identifier puzzleID, with
// halting logit qHalt. Both are cropped as the official evaluator does and
// mapped back to the original task's colours and orientation. It returns
// an error for an identifier that names no puzzle of t.
func (v *ARCVoter) Add(puzzleID int32, input, pred []int32, qHalt float64) error {
	id, aug, ok := v.t.PuzzleAug(puzzleID)
	if !ok {
		return fmt.Errorf("arc voting: puzzle identifier %d, want 1..%d", puzzleID, v.t.NumPuzzleIDs()-1)
	}
	in := aug.Invert(task.ARCCrop(input))
	g := aug.Invert(task.ARCCrop(pred))
	conf := 1 / (1 + math.Exp(-qHalt))
	ik, gk := gridKey(in), gridKey(g)
	if v.keys[id] == nil {
		v.keys[id] = map[string]map[string]*ARCCandidate{}
		v.cands[id] = map[string][]*ARCCandidate{}
	}
	if v.keys[id][ik] == nil {
		v.keys[id][ik] = map[string]*ARCCandidate{}
	}
	c := v.keys[id][ik][gk]
	if c == nil {
		c = &ARCCandidate{Grid: g}
		v.keys[id][ik][gk] = c
		v.cands[id][ik] = append(v.cands[id][ik], c)
	}
	c.Votes++
	c.Confidence += conf // a sum until Ranking divides
	v.added++
	return nil
}

// Ranking returns the candidates for a test input of task id, best first:
// more votes first, then higher mean confidence, then first seen.
func (v *ARCVoter) Ranking(id string, input task.ARCGrid) []ARCCandidate {
	cs := v.cands[id][gridKey(input)]
	out := make([]ARCCandidate, len(cs))
	for i, c := range cs {
		out[i] = *c
		out[i].Confidence /= float64(c.Votes)
	}
	sort.SliceStable(out, func(a, b int) bool {
		if out[a].Votes != out[b].Votes {
			return out[a].Votes > out[b].Votes
		}
		return out[a].Confidence > out[b].Confidence
	})
	return out
}

// ARCResult is the outcome of an ARC evaluation.
type ARCResult struct {
	// PassAt[k] is the pass@k score for each k asked for: per task the
	// fraction of its test inputs whose right answer is among the first k
	// candidates, averaged over tasks. Test inputs without a known answer
	// count as wrong.
	PassAt map[int]float64
	// Tasks is the number of tasks scored; Predictions the number of
	// predictions voted on.
	Tasks, Predictions int
	// Submission is the competition file: per task id, per test input, the
	// two best candidates (the best twice when there is one; a 1×1 grid of
	// colour 0 when there is none, and in place of an empty grid).
	Submission map[string][]ARCAttempts
	// Ranked holds, per task id and per test input (in the task's order),
	// the two best candidates with their votes and mean confidence, as
	// ranked: fewer when fewer grids were proposed, and an empty grid kept
	// as it is (Submission puts blanks in their place).
	Ranked map[string][][]ARCCandidate
}

// Result ranks the votes and scores them at each k of ks (1 and 2 when
// none are given).
func (v *ARCVoter) Result(ks ...int) *ARCResult {
	if len(ks) == 0 {
		ks = []int{1, 2}
	}
	r := &ARCResult{PassAt: map[int]float64{}, Submission: map[string][]ARCAttempts{}, Ranked: map[string][][]ARCCandidate{}, Predictions: v.added}
	for _, k := range ks {
		r.PassAt[k] = 0
	}
	blank := task.ARCGrid{H: 1, W: 1, Cells: []uint8{0}}
	for _, tk := range v.t.TestTasks() {
		if v.only != nil && !v.only[tk.ID] {
			continue
		}
		r.Tasks++
		hits := make(map[int]int, len(ks))
		for _, p := range tk.Test {
			rank := v.Ranking(tk.ID, p.Input)
			r.Ranked[tk.ID] = append(r.Ranked[tk.ID], rank[:min(2, len(rank)):min(2, len(rank))])
			att := ARCAttempts{blank, blank}
			if len(rank) > 0 {
				att = ARCAttempts{rank[0].Grid, rank[0].Grid}
				if len(rank) > 1 {
					att.Attempt2 = rank[1].Grid
				}
				// An answer with no colour at the corner crops to an
				// empty grid, which the competition format refuses.
				for _, g := range []*task.ARCGrid{&att.Attempt1, &att.Attempt2} {
					if g.H == 0 {
						*g = blank
					}
				}
			}
			r.Submission[tk.ID] = append(r.Submission[tk.ID], att)
			if p.Output.H == 0 {
				continue
			}
			for _, k := range ks {
				for _, c := range rank[:min(k, len(rank))] {
					if c.Grid.Equal(p.Output) {
						hits[k]++
						break
					}
				}
			}
		}
		for _, k := range ks {
			r.PassAt[k] += float64(hits[k]) / float64(len(tk.Test))
		}
	}
	for _, k := range ks {
		if r.Tasks > 0 {
			r.PassAt[k] /= float64(r.Tasks)
		}
	}
	return r
}

// ARCEvalOptions configure EvaluateARC.
type ARCEvalOptions struct {
	// Augmentations is the number of augmented copies of each test input
	// answered besides the original (-1 or more than the task has: all of
	// them). Fewer trade accuracy for time.
	Augmentations int
	// Steps is the number of supervision steps (0: the model's N_sup).
	Steps int
	// Halt chooses the step whose answer is voted on: trm.HaltFull (the
	// official evaluation, the default) or trm.HaltEarly.
	Halt trm.HaltMode
	// BatchSize is the number of examples run together (0: 256).
	BatchSize int
	// PassK lists the k of pass@k (default 1, 2).
	PassK []int
	// TaskIDs, when set, limits the evaluation to the test inputs of these
	// tasks of t's test set: only they are answered and scored (trm infer
	// --task arc answers one task this way). An id that is not in the test
	// set is an error.
	TaskIDs []string
	// Progress, when set, is called after each batch with the examples
	// done and the total.
	Progress func(done, total int)
}

// EvaluateARC answers the test split of t with m (each test input in every
// augmentation asked for), votes, and scores pass@k with the official
// rules. It stops with ctx.Err() when ctx is cancelled.
func EvaluateARC(ctx context.Context, m *trm.Model, t *task.Arc, opts ARCEvalOptions) (*ARCResult, error) {
	if err := m.Config.CheckTask(t); err != nil {
		return nil, err
	}
	v := NewARCVoter(t)
	if len(opts.TaskIDs) > 0 {
		inTest := map[string]bool{}
		for _, tk := range t.TestTasks() {
			inTest[tk.ID] = true
		}
		v.only = map[string]bool{}
		for _, id := range opts.TaskIDs {
			if !inTest[id] {
				return nil, fmt.Errorf("arc evaluation: task %q is not in the test set (%d tasks)", id, len(inTest))
			}
			v.only[id] = true
		}
	}
	var idx []int
	for i := range t.Len(task.SplitTest) {
		it := t.TestItem(i)
		if (opts.Augmentations < 0 || it.Member <= opts.Augmentations) && (v.only == nil || v.only[it.TaskID]) {
			idx = append(idx, i)
		}
	}
	bs, steps := batchFor(opts.BatchSize), stepsFor(m, opts.Steps)
	run := newRunner(m, bs)
	L := m.Config.SeqLen
	exs := make([]task.Example, 0, bs)
	for lo := 0; lo < len(idx); lo += bs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		exs = exs[:0]
		for _, i := range idx[lo:min(lo+bs, len(idx))] {
			exs = append(exs, t.BuiltExample(task.SplitTest, i))
		}
		done := make([]bool, len(exs))
		var addErr error
		run.run(exs, steps, func(step int, preds []int32, q []float32) bool {
			for b, ex := range exs {
				if done[b] || !(step == steps || opts.Halt == trm.HaltEarly && trm.ShouldHalt(step, steps, q[b])) {
					continue
				}
				done[b] = true
				if err := v.Add(ex.PuzzleID, ex.Input, preds[b*L:(b+1)*L], float64(q[b])); err != nil && addErr == nil {
					addErr = err
				}
			}
			return ctx.Err() == nil
		})
		if addErr != nil {
			return nil, addErr
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if opts.Progress != nil {
			opts.Progress(min(lo+bs, len(idx)), len(idx))
		}
	}
	return v.Result(opts.PassK...), nil
}
