package infer

import (
	"context"
	"fmt"
	"math"

	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/tensor"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/task"
)

// Trace is what a model did with one input, supervision step by step and,
// inside each step, net call by net call: the answer after every step and
// the cells that changed, the halting logit, the sizes of y and z and how
// far each net call moved them. It answers "does the latent settle (a
// fixed point) or keep moving; does the answer stop changing when q_halt
// says halt".
type Trace struct {
	// Input is the text as given, Task the task's name.
	Input string `json:"input"`
	Task  string `json:"task"`
	// HaltStep is the first step whose q_halt > 0, where early halting
	// stops (0 if none did); the trace runs every step regardless.
	HaltStep int `json:"halt_step"`
	// Steps holds every supervision step run, from step 1.
	Steps []TraceStep `json:"steps"`
}

// TraceStep is the state after one supervision step.
type TraceStep struct {
	Step int `json:"step"`
	// Answer is the compact answer (task.AnswerText) and Tokens the
	// predicted tokens (SeqLen of them).
	Answer string  `json:"answer"`
	Tokens []int32 `json:"tokens"`
	// Changed lists the positions whose predicted token differs from the
	// previous step's (at step 1: from the input's token).
	Changed []int `json:"changed"`
	// QHalt is the halting logit, HaltProb sigmoid(q_halt) (the model's
	// confidence that the answer is right), Halts q_halt > 0.
	QHalt    float32 `json:"q_halt"`
	HaltProb float64 `json:"halt_prob"`
	Halts    bool    `json:"halts"`
	// Valid says whether the answer is correct, judged by the task from
	// the input (nil where it cannot tell).
	Valid *bool `json:"valid"`
	// YNorm and ZNorm are ‖y‖ and ‖z‖ (the Frobenius norm over all L+P
	// positions and D channels) after the step.
	YNorm float64 `json:"y_norm"`
	ZNorm float64 `json:"z_norm"`
	// Confidence is each position's largest softmax probability;
	// MinConfidence and MeanConfidence summarise it.
	Confidence     []float64 `json:"confidence"`
	MinConfidence  float64   `json:"min_confidence"`
	MeanConfidence float64   `json:"mean_confidence"`
	// Cycles holds every net call of the step, in order.
	Cycles []TraceCycle `json:"cycles"`
}

// TraceCycle is the carry after one net call inside a step.
type TraceCycle struct {
	// Cycle is the recursion cycle (1 to T), Inner the latent update (1 to
	// n) or 0 for the answer update; Update is "z" or "y".
	Cycle  int    `json:"cycle"`
	Inner  int    `json:"inner"`
	Update string `json:"update"`
	// YNorm and ZNorm are ‖y‖ and ‖z‖ after the call; DeltaY and DeltaZ
	// are ‖y − y_prev‖ and ‖z − z_prev‖ against the previous net call
	// (the previous step's last one, or the starting states); ZCos is
	// cos(z, z_prev) (1 when either is zero).
	YNorm  float64 `json:"y_norm"`
	ZNorm  float64 `json:"z_norm"`
	DeltaY float64 `json:"delta_y"`
	DeltaZ float64 `json:"delta_z"`
	ZCos   float64 `json:"z_cos"`
}

// Trace runs one input through every supervision step (MaxSteps, or the
// model's N_sup) and records it; see Trace. It stops with ctx.Err() once
// ctx is cancelled, looking between steps.
func (p *Predictor) Trace(ctx context.Context, text string) (*Trace, error) {
	ex, err := p.Task.Encode(text)
	if err != nil {
		return nil, fmt.Errorf("input %q: %w", text, err)
	}
	tr, err := p.TraceExample(ctx, ex)
	if err != nil {
		return nil, err
	}
	tr.Input = text
	return tr, nil
}

// TraceExample is Trace for an encoded example.
func (p *Predictor) TraceExample(ctx context.Context, ex task.Example) (*Trace, error) {
	if err := task.CheckExample(p.Task, ex); err != nil {
		return nil, err
	}
	m := p.Model
	steps := stepsFor(m, p.MaxSteps)
	S, D, L, V := m.Config.SeqTotal(), m.Config.HiddenSize, m.Config.SeqLen, m.Config.VocabSize
	t := nn.NewTape()
	t.FreezeWeights(true) // fixed for the whole trace: each weight packed once
	fresh := func() { t.Reset(); t.SetNoGrad(true) }
	fresh()
	x := tensor.New(1, S, D)
	copy(x.Data, m.Input(t, ex.Input, []int32{ex.PuzzleID}).Value.Data)
	y, z := m.NewCarry(1)
	prevY := append([]float32(nil), y.Data...)
	prevZ := append([]float32(nil), z.Data...)
	prevTokens := ex.Input
	tr := &Trace{Input: p.Task.Format(ex), Task: p.Task.Name()}
	for step := 1; step <= steps; step++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fresh()
		var cycles []TraceCycle
		out, err := m.StepObserved(t, t.Const(x), t.Const(y), t.Const(z), func(c trm.Cycle, cy, cz *tensor.Tensor) {
			tc := TraceCycle{Cycle: c.Cycle, Inner: c.Inner, Update: "z",
				YNorm: norm(cy.Data), ZNorm: norm(cz.Data),
				DeltaY: distance(cy.Data, prevY), DeltaZ: distance(cz.Data, prevZ), ZCos: cosine(cz.Data, prevZ)}
			if c.IsY() {
				tc.Update = "y"
			}
			cycles = append(cycles, tc)
			copy(prevY, cy.Data)
			copy(prevZ, cz.Data)
		})
		if err != nil {
			return nil, err
		}
		copy(y.Data, out.Y.Value.Data)
		copy(z.Data, out.Z.Value.Data)
		q := out.QHalt.Value.Data[0]
		st := TraceStep{Step: step, QHalt: q, HaltProb: 1 / (1 + math.Exp(-float64(q))), Halts: q > 0,
			YNorm: norm(y.Data), ZNorm: norm(z.Data), Cycles: cycles,
			Tokens: make([]int32, L), Confidence: make([]float64, L), Changed: []int{}}
		logits := out.Logits.Value.Data
		st.MinConfidence = 1
		for i := range L {
			st.Tokens[i], st.Confidence[i] = argmaxProb(logits[i*V : (i+1)*V])
			st.MinConfidence = min(st.MinConfidence, st.Confidence[i])
			st.MeanConfidence += st.Confidence[i] / float64(L)
			if st.Tokens[i] != prevTokens[i] {
				st.Changed = append(st.Changed, i)
			}
		}
		if st.Answer, err = task.AnswerText(p.Task, ex, st.Tokens); err != nil {
			return nil, fmt.Errorf("step %d: decoding the answer: %w", step, err)
		}
		if valid, known := task.CheckAnswer(p.Task, ex, st.Tokens); known {
			st.Valid = &valid
		}
		if st.Halts && tr.HaltStep == 0 {
			tr.HaltStep = step
		}
		prevTokens = st.Tokens
		tr.Steps = append(tr.Steps, st)
	}
	return tr, nil
}

// argmaxProb returns the index of the largest logit (the first of equal
// ones, as trm.Predictions) and its softmax probability.
func argmaxProb(logits []float32) (int32, float64) {
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	sum := 0.0
	for _, v := range logits {
		sum += math.Exp(float64(v - logits[best]))
	}
	return int32(best), 1 / sum
}

func norm(a []float32) float64 {
	s := 0.0
	for _, v := range a {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s)
}

func distance(a, b []float32) float64 {
	s := 0.0
	for i, v := range a {
		d := float64(v) - float64(b[i])
		s += d * d
	}
	return math.Sqrt(s)
}

// cosine returns cos(a, b), or 1 when either is zero.
func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i, v := range a {
		ab += float64(v) * float64(b[i])
		aa += float64(v) * float64(v)
		bb += float64(b[i]) * float64(b[i])
	}
	if aa == 0 || bb == 0 {
		return 1
	}
	return ab / math.Sqrt(aa*bb)
}
