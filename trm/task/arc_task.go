package task

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// The ARC-AGI task ("arc"): answer an ARC test input with its output grid,
// the official TRM dataset of dataset/build_arc_dataset.py rebuilt exactly.
//
// Encoding: vocabulary 12 (0 pad, 1 end-of-grid marker, colour c → c + 2);
// each grid in a 30×30 canvas (L = 900) with the marker on the row below it
// and the column right of it (ARCEncode); labels are the output canvas with
// pad positions ignored (the official ignore id is the pad, 0).
//
// Data: the task sets named by the options are read (LoadARC: directories
// of task files or Kaggle combined files with their solutions) and built
// as the official builder does, driven by the same generator (numpy's
// legacy MT19937 seeded with seed), so that a dataset built from the same
// files with the same options has the same examples and the same puzzle
// identifiers, byte for byte:
//
//   - sets in the order of data=; tasks of a set in file order, shuffled;
//   - each task augmented up to aug times: a dihedral transform × a
//     permutation of colours 1..9 (0 fixed), drawn at random and kept when
//     the augmented task (its multiset of input/output pairs) is new, at
//     most 5·aug tries; each augmented task is its own puzzle, with its own
//     puzzle identifier (0 is blank; then by first appearance);
//   - the test set (eval=): its demonstration pairs go to the train split,
//     its test pairs (of the original and every augmentation) to the test
//     split; every pair of the other sets goes to the train split;
//   - train examples are translated to a random place in the canvas, all
//     but one drawn at random per puzzle; test examples sit at the corner.
//
// Options:
//
//	data=PATH[,PATH...]  ARC sets, in the builder's order (official:
//	                     training, evaluation, concept)
//	eval=PATH            the test set: one of data= (at its place there) or
//	                     a set added after them; without it the test split
//	                     is empty
//	aug=N                augmentations per task, 0..10000 (default 1000, the
//	                     official number; fewer make a smaller dataset)
//	seed=S               the builder's seed (default 42, the official one)
//
// The train split is visited in an order shuffled by the run's seed; the
// test split in the builder's order. Encode reads one grid (JSON rows or
// digits with '/' between rows) with the blank puzzle id.
type Arc struct {
	opts    Options
	paths   []string
	evalIdx int // index in paths of the test set, -1 for none
	aug     int
	seed    uint32

	tasks   []ARCTask // every task of every set, by set then file order
	evalSet []int     // indices in tasks of the test set's tasks, in file order
	names   []string  // puzzle identifier → official name ("<blank>" at 0)
	puzzles []arcPuzzle
	pairs   [][2][]ARCPair // per task index: the pairs of each split, in key order
	split   [2][]arcExample

	mu       sync.Mutex
	orderFor uint64
	order    []int32
}

// arcPuzzle is one (possibly augmented) task: its task, its augmentation,
// its identifier and its place in its group (0 = the original).
type arcPuzzle struct {
	task   int32
	member int32
	id     int32
	aug    ARCAug
}

// arcExample is one example of a split: a pair of a puzzle at a place.
type arcExample struct {
	puzzle     int32
	pair       int32
	padR, padC uint8
}

const defaultARCAug = 1000

func init() {
	Register("arc", "ARC-AGI tasks in the official TRM encoding (30×30 canvas, vocab 12): data=PATH[,PATH...] eval=PATH aug=N (default 1000) seed=S (default 42)",
		func(opts Options) (Task, error) { return NewArc(opts) })
}

// NewArc reads the ARC sets named by opts and builds the task (see Arc).
func NewArc(opts Options) (*Arc, error) {
	const name = "arc"
	if err := opts.CheckKnown(name, "data", "eval", "aug", "seed"); err != nil {
		return nil, err
	}
	t := &Arc{evalIdx: -1}
	var err error
	if t.aug, err = opts.Int(name, "aug", defaultARCAug, 0, 10000); err != nil {
		return nil, err
	}
	seed, err := opts.Int(name, "seed", 42, 0, 1<<32-1)
	if err != nil {
		return nil, err
	}
	t.seed = uint32(seed)
	for _, p := range strings.Split(opts["data"], ",") {
		if p = strings.TrimSpace(p); p != "" {
			t.paths = append(t.paths, p)
		}
	}
	if e := strings.TrimSpace(opts["eval"]); e != "" {
		t.evalIdx = slices.Index(t.paths, e)
		if t.evalIdx < 0 {
			t.paths = append(t.paths, e)
			t.evalIdx = len(t.paths) - 1
		}
	}
	if len(t.paths) == 0 {
		return nil, fmt.Errorf("task %s: no data: give data=PATH[,PATH...] and/or eval=PATH (ARC task directories or Kaggle *_challenges.json files; scripts/fetch_arc.sh fetches ARC-AGI-1)", name)
	}
	sets := make([][]ARCTask, len(t.paths))
	for i, p := range t.paths {
		if sets[i], err = LoadARC(p); err != nil {
			return nil, fmt.Errorf("task %s: %w", name, err)
		}
	}
	if err := t.build(sets); err != nil {
		return nil, fmt.Errorf("task %s: %w", name, err)
	}
	t.opts = Options{"aug": strconv.Itoa(t.aug), "seed": strconv.Itoa(seed)}
	if s := strings.TrimSpace(opts["data"]); s != "" {
		t.opts["data"] = s
	}
	if t.evalIdx >= 0 {
		t.opts["eval"] = t.paths[t.evalIdx]
	}
	return t, nil
}

// build runs the official builder over the sets.
func (t *Arc) build(sets [][]ARCTask) error {
	rng := newNPRandom(t.seed)
	type group struct {
		puzzles []int32 // indices in t.puzzles
	}
	var groups [2][]group
	for si, set := range sets {
		isTest := si == t.evalIdx
		order := make([]int, len(set))
		for i := range order {
			order[i] = i
		}
		rng.shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, k := range order {
			task := set[k]
			if len(task.Train) == 0 {
				return fmt.Errorf("set %q: task %q has no demonstration pair, want at least one", t.paths[si], task.ID)
			}
			ti := int32(len(t.tasks))
			t.tasks = append(t.tasks, task)
			if isTest {
				t.evalSet = append(t.evalSet, int(ti))
			}
			// The pairs of each split in key order; unknown test outputs
			// become [[0]], as in the official builder.
			var per [2][]ARCPair
			kinds := []string{"train", "test"}
			if task.TestFirst {
				kinds = []string{"test", "train"}
			}
			for _, kind := range kinds {
				ps, dest := task.Train, 0
				if kind == "test" {
					ps = task.Test
					if isTest {
						dest = 1
					}
				}
				for _, p := range ps {
					if p.Output.H == 0 {
						p.Output = ARCGrid{H: 1, W: 1, Cells: []uint8{0}}
					}
					per[dest] = append(per[dest], p)
				}
			}
			t.pairs = append(t.pairs, per)
			members := []ARCAug{ARCIdentity}
			if t.aug > 0 {
				seen := map[string]bool{arcPuzzleKey(per, ARCIdentity): true}
				for range 5 * t.aug {
					a := ARCAug{Trans: rng.randint(arcNumTrans)}
					perm := [9]uint8{1, 2, 3, 4, 5, 6, 7, 8, 9}
					rng.shuffle(9, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
					copy(a.Map[1:], perm[:])
					if key := arcPuzzleKey(per, a); !seen[key] {
						seen[key] = true
						members = append(members, a)
					}
					if len(members) >= t.aug+1 {
						break
					}
				}
			}
			var g group
			for m, a := range members {
				g.puzzles = append(g.puzzles, int32(len(t.puzzles)))
				t.puzzles = append(t.puzzles, arcPuzzle{task: ti, member: int32(m), aug: a})
			}
			for d := range 2 {
				if d == 0 || isTest {
					groups[d] = append(groups[d], g)
				}
			}
		}
	}
	// Identifiers: 0 blank, then by first appearance, train split first.
	ids := map[string]int32{}
	t.names = []string{"<blank>"}
	for d := range 2 {
		for _, g := range groups[d] {
			for _, pi := range g.puzzles {
				p := &t.puzzles[pi]
				name := t.tasks[p.task].ID
				if p.member > 0 {
					name = p.aug.Name(name)
				}
				id, ok := ids[name]
				if !ok {
					id = int32(len(t.names))
					ids[name] = id
					t.names = append(t.names, name)
				}
				p.id = id
			}
		}
	}
	// Examples, with the translations of the train split.
	for d := range 2 {
		for _, g := range groups[d] {
			for _, pi := range g.puzzles {
				ps := t.pairs[t.puzzles[pi].task][d]
				keep := rng.randint(len(ps))
				for k, p := range ps {
					ex := arcExample{puzzle: pi, pair: int32(k)}
					if d == 0 && k != keep {
						in, out := p.Input, p.Output
						if t.puzzles[pi].aug.Trans%2 == 1 || t.puzzles[pi].aug.Trans == 6 {
							// Transposing transforms swap the sides.
							in.H, in.W, out.H, out.W = in.W, in.H, out.W, out.H
						}
						ex.padR = uint8(rng.randint(ARCMaxSize - max(in.H, out.H) + 1))
						ex.padC = uint8(rng.randint(ARCMaxSize - max(in.W, out.W) + 1))
					}
					t.split[d] = append(t.split[d], ex)
				}
			}
		}
	}
	return nil
}

// arcPuzzleKey identifies a puzzle under augmentation a by the sorted
// multiset of its pairs' grid hashes (the official puzzle hash's content).
func arcPuzzleKey(per [2][]ARCPair, a ARCAug) string {
	var hs []string
	for _, ps := range per {
		for _, p := range ps {
			hi, ho := arcGridHash(a.Apply(p.Input)), arcGridHash(a.Apply(p.Output))
			hs = append(hs, string(hi[:])+string(ho[:]))
		}
	}
	sort.Strings(hs)
	return strings.Join(hs, "")
}

// Name implements Task.
func (t *Arc) Name() string { return "arc" }

// Options implements Task.
func (t *Arc) Options() Options { return t.opts.Clone() }

// VocabSize implements Task: pad, end-of-grid and 10 colours.
func (t *Arc) VocabSize() int { return ARCVocab }

// SeqLen implements Task: the 30×30 canvas.
func (t *Arc) SeqLen() int { return arcSeqLen }

// NumPuzzleIDs implements Task: blank plus one per (augmented) puzzle.
func (t *Arc) NumPuzzleIDs() int { return len(t.names) }

// Len implements Task.
func (t *Arc) Len(split Split) int {
	switch split {
	case SplitTrain:
		return len(t.split[0])
	case SplitTest:
		return len(t.split[1])
	}
	return 0
}

// Example implements Task.
func (t *Arc) Example(split Split, seed uint64, i int64) (Example, error) {
	if _, err := ParseSplit(string(split)); err != nil {
		return Example{}, fmt.Errorf("task arc: %w", err)
	}
	d := 0
	if split == SplitTest {
		d = 1
	}
	n := int64(len(t.split[d]))
	if i < 0 || i >= n {
		return Example{}, fmt.Errorf("task arc: %s example %d, the split holds %d (want 0..%d)", split, i, n, n-1)
	}
	j := int(i)
	if d == 0 {
		j = int(t.trainOrder(seed)[i])
	}
	return t.BuiltExample(split, j), nil
}

// trainOrder returns the train split's visiting order for seed.
func (t *Arc) trainOrder(seed uint64) []int32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.order == nil || t.orderFor != seed {
		t.order = make([]int32, len(t.split[0]))
		for i := range t.order {
			t.order[i] = int32(i)
		}
		r := NewRand(seed, 0xa7c)
		r.Shuffle(len(t.order), func(i, j int) { t.order[i], t.order[j] = t.order[j], t.order[i] })
		t.orderFor = seed
	}
	return t.order
}

// BuiltExample returns example j of split in the builder's order (the
// order of the official dataset files). It panics if j is out of range.
func (t *Arc) BuiltExample(split Split, j int) Example {
	d := 0
	if split == SplitTest {
		d = 1
	}
	e := t.split[d][j]
	p := t.puzzles[e.puzzle]
	pair := t.pairs[p.task][d][e.pair]
	ex := Example{Input: make([]int32, arcSeqLen), Label: make([]int32, arcSeqLen), PuzzleID: p.id}
	ARCEncode(ex.Input, p.aug.Apply(pair.Input), int(e.padR), int(e.padC))
	ARCEncode(ex.Label, p.aug.Apply(pair.Output), int(e.padR), int(e.padC))
	for i, v := range ex.Label {
		if v == ARCPad {
			ex.Label[i] = IgnoreLabel
		}
	}
	return ex
}

// ARCTestItem describes example i of the test split for voting: the task
// it belongs to, the test pair, the augmentation that made it and its
// place in its group (0 = the original, k = the k-th augmentation).
type ARCTestItem struct {
	TaskID string
	Pair   int
	Aug    ARCAug
	Member int
}

// TestItem returns what test example i is (see ARCTestItem). It panics if
// i is out of range.
func (t *Arc) TestItem(i int) ARCTestItem {
	e := t.split[1][i]
	p := t.puzzles[e.puzzle]
	// The pair's index among the task's test pairs.
	return ARCTestItem{TaskID: t.tasks[p.task].ID, Pair: int(e.pair), Aug: p.aug, Member: int(p.member)}
}

// TestTasks returns the tasks of the test set, in file order, with their
// test pairs (outputs nil where unknown).
func (t *Arc) TestTasks() []ARCTask {
	out := make([]ARCTask, 0, len(t.evalSet))
	for _, i := range t.evalSet {
		out = append(out, t.tasks[i])
	}
	return out
}

// PuzzleName returns the official name of puzzle identifier id:
// "<blank>" for 0, a task id for an original, "<id>|||t<k>|||<map>" for an
// augmented one; "" when id is out of range.
func (t *Arc) PuzzleName(id int32) string {
	if id < 0 || int(id) >= len(t.names) {
		return ""
	}
	return t.names[id]
}

// Augmentations returns the number of augmentations per task asked for
// (the aug option); a task may have fewer when its symmetries repeat.
func (t *Arc) Augmentations() int { return t.aug }

// Encode implements Task: one grid, JSON rows or digits with '/' between
// rows, at the canvas corner with the blank puzzle id.
func (t *Arc) Encode(text string) (Example, error) {
	g, err := ParseARCGrid(text)
	if err != nil {
		return Example{}, fmt.Errorf("task arc: %w", err)
	}
	ex := Example{Input: make([]int32, arcSeqLen)}
	ARCEncode(ex.Input, g, 0, 0)
	return ex, nil
}

// Format implements Task: the input grid, digits with '/' between rows.
func (t *Arc) Format(ex Example) string { return ARCCrop(ex.Input).String() }

// Decode implements Task: the predicted grid (cropped as the official
// evaluator does), digits with '/' between rows.
func (t *Arc) Decode(ex Example, pred []int32) (string, error) {
	if len(pred) != arcSeqLen {
		return "", fmt.Errorf("task arc: prediction has %d tokens, want %d", len(pred), arcSeqLen)
	}
	return ARCCrop(pred).String(), nil
}

// Answer implements Answerer: as Decode.
func (t *Arc) Answer(ex Example, pred []int32) (string, error) { return t.Decode(ex, pred) }

// Verify implements Task: exact match on every labelled position.
func (t *Arc) Verify(ex Example, pred []int32) bool { return ExactMatch(ex.Label, pred) }

// PuzzleAug returns the task id and the augmentation of puzzle identifier
// id; ok is false for the blank identifier and ids out of range.
func (t *Arc) PuzzleAug(id int32) (taskID string, aug ARCAug, ok bool) {
	name := t.PuzzleName(id)
	if id <= 0 || name == "" {
		return "", ARCAug{}, false
	}
	base, rest, found := strings.Cut(name, arcIDSep)
	if !found {
		return name, ARCIdentity, true
	}
	ts, digits, _ := strings.Cut(rest, arcIDSep)
	a := ARCAug{}
	a.Trans, _ = strconv.Atoi(strings.TrimPrefix(ts, "t"))
	for i := range min(len(digits), 10) {
		a.Map[i] = digits[i] - '0'
	}
	return base, a, true
}
