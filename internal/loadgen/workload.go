// Package loadgen drives a trm inference server (trm serve) with a seeded,
// deterministic workload of the embedded models' tasks, and checks every
// answer it gets back: against the same embedded model run offline in the
// load generator (a server that changes an answer under load is wrong), and
// against the task's true answer (the models are not 100% accurate). It is
// the library part of trm loadtest.
//
// The attack runs on github.com/tsenart/vegeta; Run refuses any server that
// is not on a loopback address.
package loadgen

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trm-go/trm/checkpoints"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/infer"
	"github.com/trm-go/trm/trm/task"
)

// MaxWeight bounds the weight of a model in a Mix.
const MaxWeight = 1000

// ModelWeight is one model of a Mix: the server's model name (the name of
// an embedded checkpoint, whose task has the same name) and its share of
// the requests.
type ModelWeight struct {
	Name   string `json:"name"`
	Weight int    `json:"weight"`
}

// Mix is the models a workload sends requests to, each getting Weight
// requests out of every sum-of-weights, interleaved.
type Mix []ModelWeight

// String renders the mix as ParseMix reads it ("arith,sudoku9=3"), a
// weight shown only when it is not 1.
func (m Mix) String() string {
	parts := make([]string, len(m))
	for i, mw := range m {
		parts[i] = mw.Name
		if mw.Weight != 1 {
			parts[i] += "=" + strconv.Itoa(mw.Weight)
		}
	}
	return strings.Join(parts, ",")
}

// ParseMix reads a comma-separated list of model names, each optionally
// with "=weight" (an integer in [1, MaxWeight], default 1): "arith,sudoku6,
// sudoku9=2". Every name must be an embedded checkpoint (checkpoints.Tasks)
// and appear once.
func ParseMix(s string) (Mix, error) {
	var m Mix
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return nil, fmt.Errorf("empty model name in %q, want names separated by commas such as arith,sudoku9=2", s)
		}
		name, w, hasWeight := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		weight := 1
		if hasWeight {
			v, err := strconv.Atoi(strings.TrimSpace(w))
			if err != nil || v < 1 || v > MaxWeight {
				return nil, fmt.Errorf("weight %q of %s, want an integer in [1, %d]", w, name, MaxWeight)
			}
			weight = v
		}
		if _, ok := checkpoints.Lookup(name); !ok {
			return nil, fmt.Errorf("no embedded model %q (known: %s): the load generator makes inputs and expected answers with the embedded models", name, strings.Join(checkpoints.Tasks(), ", "))
		}
		if slices.ContainsFunc(m, func(x ModelWeight) bool { return x.Name == name }) {
			return nil, fmt.Errorf("model %s given twice", name)
		}
		m = append(m, ModelWeight{name, weight})
	}
	return m, nil
}

// WorkloadConfig describes a workload.
type WorkloadConfig struct {
	// Mix is the models and their shares of the requests.
	Mix Mix
	// Seed chooses the examples: pool input k of a model is example k of
	// its task's test split under Seed.
	Seed uint64
	// Pool is the number of distinct inputs per model, cycled through.
	Pool int
	// PerRequest is the number of inputs in one request.
	PerRequest int
	// Halt is the halting mode of the offline answers (the request's
	// "halt" as well).
	Halt trm.HaltMode
	// Verify runs the embedded models offline to get the answer the server
	// should give to each pool input.
	Verify bool
	// Requests, when positive, is the most requests the run will send:
	// the pools are trimmed to the inputs those requests use.
	Requests int64
}

// Item is one pool input.
type Item struct {
	// Input is the text sent, as the task formats it ("3 + 7").
	Input string
	// Truth is the task's correct answer in the server's compact form.
	Truth string
	// Expected is the answer of the embedded model run offline, in the
	// same form; "" when the workload is not verified.
	Expected string
}

// pool is the inputs of one model.
type pool struct {
	name   string
	weight int
	task   task.Task
	items  []Item
}

// Workload is the deterministic sequence of requests of a run: request i
// always goes to the same model with the same inputs (for a given
// WorkloadConfig), whatever the timing. It is safe for concurrent use once
// built.
type Workload struct {
	cfg   WorkloadConfig
	pools []pool
	// sched is one period of the model schedule: request i goes to model
	// sched[i % len(sched)]; rank[s] counts the slots before s that hold
	// the same model.
	sched, rank []int
	// Offline is the wall time of the offline answers (0 without Verify)
	// and OfflineAnswers their number.
	Offline        time.Duration
	OfflineAnswers int
}

// NewWorkload builds the pools of inputs, with their true answers and,
// with cfg.Verify, the embedded models' own answers computed one input at
// a time (BatchSize 1) with cfg.Halt. It stops with ctx.Err() once ctx is
// cancelled.
func NewWorkload(ctx context.Context, cfg WorkloadConfig) (*Workload, error) {
	switch {
	case len(cfg.Mix) == 0:
		return nil, fmt.Errorf("loadgen: no models in the mix")
	case cfg.Pool < 1:
		return nil, fmt.Errorf("loadgen: pool %d, want ≥ 1", cfg.Pool)
	case cfg.PerRequest < 1:
		return nil, fmt.Errorf("loadgen: %d inputs per request, want ≥ 1", cfg.PerRequest)
	}
	w := &Workload{cfg: cfg}
	w.schedule()
	for m, mw := range cfg.Mix {
		if mw.Weight < 1 || mw.Weight > MaxWeight {
			return nil, fmt.Errorf("loadgen: weight %d of %s, want an integer in [1, %d]", mw.Weight, mw.Name, MaxWeight)
		}
		p, err := w.buildPool(ctx, mw, w.used(m))
		if err != nil {
			return nil, err
		}
		w.pools = append(w.pools, p)
	}
	return w, nil
}

// schedule spreads each period of sum-of-weights requests over the models
// by smooth weighted round robin: arith=2,sudoku9=1 gives arith, sudoku9,
// arith.
func (w *Workload) schedule() {
	total := 0
	for _, mw := range w.cfg.Mix {
		total += max(mw.Weight, 1)
	}
	cur := make([]int, len(w.cfg.Mix))
	seen := make([]int, len(w.cfg.Mix))
	w.sched, w.rank = make([]int, total), make([]int, total)
	for s := range total {
		best := 0
		for m, mw := range w.cfg.Mix {
			cur[m] += max(mw.Weight, 1)
			if cur[m] > cur[best] {
				best = m
			}
		}
		cur[best] -= total
		w.sched[s], w.rank[s] = best, seen[best]
		seen[best]++
	}
}

// used returns how many pool inputs of model m the run can use: the pool
// size, or fewer when cfg.Requests bounds the requests.
func (w *Workload) used(m int) int {
	if w.cfg.Requests <= 0 {
		return w.cfg.Pool
	}
	period := int64(len(w.sched))
	reqs := (w.cfg.Requests / period) * int64(w.cfg.Mix[m].Weight)
	for s := range w.cfg.Requests % period {
		if w.sched[s] == m {
			reqs++
		}
	}
	if reqs >= int64(w.cfg.Pool) || reqs*int64(w.cfg.PerRequest) >= int64(w.cfg.Pool) {
		return w.cfg.Pool
	}
	return int(reqs) * w.cfg.PerRequest
}

// buildPool makes n distinct inputs of a model (fewer when its test split
// is a fixed list that is shorter, or holds repeats).
func (w *Workload) buildPool(ctx context.Context, mw ModelWeight, n int) (pool, error) {
	p, err := infer.LoadPredictor(checkpoints.Prefix + mw.Name)
	if err != nil {
		return pool{}, fmt.Errorf("loadgen: %w", err)
	}
	// The model's own task, with its options (arith digits=5, sudoku9
	// blanks=40): the inputs the shipped model, and the server serving it,
	// are made for.
	t := p.Task
	pl := pool{name: mw.Name, weight: mw.Weight, task: t}
	limit := int64(4*n + 16) // examples tried, in case of repeats
	if l := t.Len(task.SplitTest); l > 0 {
		limit = min(limit, int64(l))
	}
	seen := make(map[string]bool, n)
	for k := int64(0); len(pl.items) < n && k < limit; k++ {
		ex, err := task.Labeled(t, task.SplitTest, w.cfg.Seed, k)
		if err != nil {
			return pool{}, fmt.Errorf("loadgen: %s: %w", mw.Name, err)
		}
		input := t.Format(ex)
		if seen[input] {
			continue
		}
		seen[input] = true
		truth, err := task.AnswerText(t, ex, ex.Label)
		if err != nil {
			return pool{}, fmt.Errorf("loadgen: %s: true answer of %q: %w", mw.Name, input, err)
		}
		pl.items = append(pl.items, Item{Input: input, Truth: truth})
	}
	if n > 0 && len(pl.items) == 0 {
		return pool{}, fmt.Errorf("loadgen: %s: the test split gave no input", mw.Name)
	}
	if !w.cfg.Verify || len(pl.items) == 0 {
		return pl, nil
	}
	start := time.Now()
	p.Halt, p.BatchSize = w.cfg.Halt, 1
	inputs := make([]string, len(pl.items))
	for k, it := range pl.items {
		inputs[k] = it.Input
	}
	preds, err := p.PredictContext(ctx, inputs...)
	if err != nil {
		if ctx.Err() != nil {
			return pool{}, err
		}
		return pool{}, fmt.Errorf("loadgen: %s offline: %w", mw.Name, err)
	}
	for k := range pl.items {
		// The answer in the server's compact form, from the encoded input
		// (Prediction.Answer is the terminal form: a grid over lines).
		ex, err := t.Encode(pl.items[k].Input)
		if err != nil {
			return pool{}, fmt.Errorf("loadgen: %s: %q: %w", mw.Name, pl.items[k].Input, err)
		}
		if pl.items[k].Expected, err = task.AnswerText(t, ex, preds[k].Tokens); err != nil {
			return pool{}, fmt.Errorf("loadgen: %s: offline answer to %q: %w", mw.Name, pl.items[k].Input, err)
		}
	}
	w.Offline += time.Since(start)
	w.OfflineAnswers += len(pl.items)
	return pl, nil
}

// Config returns the configuration the workload was built from.
func (w *Workload) Config() WorkloadConfig { return w.cfg }

// Request returns request i: the index of its model in the mix and the
// indices of its inputs in that model's pool (see Item). It is a pure
// function of i.
func (w *Workload) Request(i int64) (model int, items []int) {
	period := int64(len(w.sched))
	s := int(i % period)
	model = w.sched[s]
	// k: how many requests before i went to the same model.
	k := (i/period)*int64(w.cfg.Mix[model].Weight) + int64(w.rank[s])
	n := int64(len(w.pools[model].items))
	items = make([]int, w.cfg.PerRequest)
	for j := range items {
		items[j] = int((k*int64(w.cfg.PerRequest) + int64(j)) % n)
	}
	return model, items
}

// Item returns pool input k of model m.
func (w *Workload) Item(m, k int) Item { return w.pools[m].items[k] }

// PoolSize returns the number of inputs in model m's pool.
func (w *Workload) PoolSize(m int) int { return len(w.pools[m].items) }
