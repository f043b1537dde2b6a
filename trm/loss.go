package trm

import (
	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/tensor"
	"github.com/trm-go/trm/trm/task"
)

// LossOut holds the loss of a supervision step and what the metrics need.
type LossOut struct {
	// Loss is the scalar batch loss mean_b(CE_b + w·BCE_b) (or the
	// weighted sum with Loss's weights).
	Loss *nn.Node
	// Correct[b] is 1 when every labelled position of sample b is
	// predicted right (the halting target), else 0.
	Correct []float32
	// TokensRight[b] and Tokens[b] count the right and the labelled
	// positions of sample b.
	TokensRight, Tokens []int
}

// Loss returns TRM's loss for one supervision step (spec §3): per sample the
// stablemax cross-entropy averaged over labelled positions plus
// halt_loss_weight × the BCE of q_halt against "the sequence is exactly
// right". With weights == nil the batch loss is the mean over samples;
// otherwise it is Σ_b weights[b]·loss_b (weights must stay unchanged until
// Backward). haltWeight is the config's halt_loss_weight (0.5). labels
// holds B·L ids with task.IgnoreLabel where unsupervised.
func (m *Model) Loss(t *nn.Tape, out StepOut, labels []int32, weights []float32, haltWeight float64) LossOut {
	sh := out.Logits.Shape()
	B, L, V := sh[0], sh[1], sh[2]
	res := LossOut{
		Correct:     make([]float32, B),
		TokensRight: make([]int, B),
		Tokens:      make([]int, B),
	}
	nn.SequenceCorrect(res.Correct, out.Logits.Value.Data, labels, B, L, V)
	preds := make([]int32, B*L)
	Predictions(preds, &out.Logits.Value)
	for b := range B {
		for s, l := range labels[b*L : (b+1)*L] {
			if l == task.IgnoreLabel {
				continue
			}
			res.Tokens[b]++
			if preds[b*L+s] == l {
				res.TokensRight[b]++
			}
		}
	}
	ce := t.StablemaxCE(out.Logits, labels)             // [B]
	bce := t.BCEWithLogits(out.QHalt, res.Correct)      // [B]
	per := t.Add(ce, t.Scale(bce, float32(haltWeight))) // [B]
	if weights == nil {
		res.Loss = t.Mean(per)
	} else {
		res.Loss = t.Sum(t.Mul(per, t.Const(tensor.FromSlice(weights, B))))
	}
	return res
}

// Predictions writes the argmax token of every position of logits
// [B, L, V] into dst (B·L ids).
func Predictions(dst []int32, logits *tensor.Tensor) { tensor.ArgmaxRows(dst, logits) }
