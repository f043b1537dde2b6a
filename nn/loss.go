package nn

import (
	"fmt"
	"math"

	"github.com/trm-go/trm/tensor"
)

// IgnoreLabel is the label value that losses skip (PyTorch's ignore_index).
const IgnoreLabel = -100

// stablemax s(v) = v+1 for v ≥ 0, 1/(1−v) for v < 0, and its derivative.
func stablemax(v float64) float64 {
	if v >= 0 {
		return v + 1
	}
	return 1 / (1 - v)
}

func stablemaxGrad(v float64) float64 {
	if v >= 0 {
		return 1
	}
	return 1 / ((1 - v) * (1 - v))
}

// ceShape checks logits [B, S, V] (or [B, V]: one position per sequence)
// against labels and returns B, S, V.
func ceShape(op string, logits *Node, labels []int32) (b, s, v int) {
	sh := logits.Value.Shape
	switch len(sh) {
	case 2:
		b, s, v = sh[0], 1, sh[1]
	case 3:
		b, s, v = sh[0], sh[1], sh[2]
	default:
		panic(fmt.Sprintf("nn: %s: logits shape %v, want [B, S, V]", op, sh))
	}
	if len(labels) != b*s {
		panic(fmt.Sprintf("nn: %s: %d labels for logits %v", op, len(labels), sh))
	}
	for _, l := range labels {
		if l != IgnoreLabel && (l < 0 || int(l) >= v) {
			panic(fmt.Sprintf("nn: %s: label %d out of range [0, %d)", op, l, v))
		}
	}
	return b, s, v
}

// StablemaxCE returns the stablemax cross-entropy of each sequence, [B]:
// for logits [B, S, V] and labels [B·S] (IgnoreLabel = skip), the mean over
// the sequence's labelled positions of −log(s(v_label)/Σ_j s(v_j)) with
// s(v) = v+1 for v ≥ 0 and 1/(1−v) for v < 0, computed in float64 (TRM's
// loss). A sequence without labels has loss 0. labels must stay unchanged
// until Backward is done.
func (t *Tape) StablemaxCE(logits *Node, labels []int32) *Node {
	return t.crossEntropy(opStablemaxCE, logits, labels)
}

// SoftmaxCE is StablemaxCE with the usual softmax: the mean over labelled
// positions of −log softmax(v)_label, per sequence, computed in float64.
func (t *Tape) SoftmaxCE(logits *Node, labels []int32) *Node {
	return t.crossEntropy(opSoftmaxCE, logits, labels)
}

func (t *Tape) crossEntropy(op opKind, logits *Node, labels []int32) *Node {
	name := "StablemaxCE"
	if op == opSoftmaxCE {
		name = "SoftmaxCE"
	}
	bsz, seq, voc := ceShape(name, logits, labels)
	var shape = [1]int{bsz}
	y := t.node(shape[:], logits)
	x := logits.Value.Data
	for b := range bsz {
		var sum float64
		n := 0
		for s := range seq {
			l := labels[b*seq+s]
			if l == IgnoreLabel {
				continue
			}
			n++
			row := x[(b*seq+s)*voc : (b*seq+s+1)*voc]
			if op == opStablemaxCE {
				var tot float64
				for _, v := range row {
					tot += stablemax(float64(v))
				}
				sum -= math.Log(stablemax(float64(row[l])) / tot)
			} else {
				_, lse := logSumExp(row)
				sum -= float64(row[l]) - lse
			}
		}
		y.Value.Data[b] = float32(sum / float64(max(n, 1)))
	}
	if y.requiresGrad {
		t.record(record{op: op, out: y, a: logits, ids: labels})
	}
	return y
}

// logSumExp returns max(row) and log Σ exp(row) in float64.
func logSumExp(row []float32) (float64, float64) {
	m := math.Inf(-1)
	for _, v := range row {
		m = math.Max(m, float64(v))
	}
	var s float64
	for _, v := range row {
		s += math.Exp(float64(v) - m)
	}
	return m, m + math.Log(s)
}

func backCE(t *Tape, r *record) {
	sh := r.a.Value.Shape
	voc := sh[len(sh)-1]
	bsz := sh[0]
	seq := len(r.a.Value.Data) / (bsz * voc)
	x, dy, labels := r.a.Value.Data, r.out.Grad.Data, r.ids
	g := t.grad(r.a)
	for b := range bsz {
		n := 0
		for s := range seq {
			if labels[b*seq+s] != IgnoreLabel {
				n++
			}
		}
		if n == 0 {
			continue
		}
		scale := float64(dy[b]) / float64(n)
		for s := range seq {
			l := labels[b*seq+s]
			if l == IgnoreLabel {
				continue
			}
			row := x[(b*seq+s)*voc : (b*seq+s+1)*voc]
			gr := g[(b*seq+s)*voc : (b*seq+s+1)*voc]
			if r.op == opStablemaxCE {
				var tot float64
				for _, v := range row {
					tot += stablemax(float64(v))
				}
				for j, v := range row {
					gr[j] += float32(scale * stablemaxGrad(float64(v)) / tot)
				}
				vl := float64(row[l])
				gr[l] -= float32(scale * stablemaxGrad(vl) / stablemax(vl))
			} else {
				_, lse := logSumExp(row)
				for j, v := range row {
					p := math.Exp(float64(v) - lse)
					if j == int(l) {
						p--
					}
					gr[j] += float32(scale * p)
				}
			}
		}
	}
}

// BCEWithLogits returns the element-wise binary cross-entropy of the logits
// x against targets in [0, 1] (one per element of x), computed stably in
// float64: max(x, 0) − x·t + log(1 + e^−|x|). The targets are copied.
func (t *Tape) BCEWithLogits(x *Node, targets []float32) *Node {
	if len(targets) != len(x.Value.Data) {
		panic(fmt.Sprintf("nn: BCEWithLogits: %d targets for logits %v", len(targets), x.Value.Shape))
	}
	y := t.node(x.Value.Shape, x)
	for i, v := range x.Value.Data {
		xv, tv := float64(v), float64(targets[i])
		y.Value.Data[i] = float32(math.Max(xv, 0) - xv*tv + math.Log1p(math.Exp(-math.Abs(xv))))
	}
	if y.requiresGrad {
		save := t.arena.alloc(len(targets))
		copy(save, targets)
		t.record(record{op: opBCE, out: y, a: x, save: save})
	}
	return y
}

func backBCE(t *Tape, r *record) {
	g, dy := t.grad(r.a), r.out.Grad.Data
	for i, v := range r.a.Value.Data {
		sig := 1 / (1 + math.Exp(-float64(v)))
		g[i] += float32(float64(dy[i]) * (sig - float64(r.save[i])))
	}
}

// SequenceCorrect writes into dst[b] 1 when every labelled position of
// sequence b is predicted right (the argmax of its logits row equals the
// label) and 0 otherwise, for logits [B, S, V] and labels [B·S]; a sequence
// without labels counts as correct. These are the targets of TRM's halting
// loss. It returns the number of correct labelled positions (for token
// accuracy).
func SequenceCorrect(dst []float32, logits []float32, labels []int32, batch, seq, vocab int) int {
	if len(dst) != batch || len(labels) != batch*seq || len(logits) != batch*seq*vocab {
		panic(fmt.Sprintf("nn: SequenceCorrect: %d outputs, %d labels, %d logits for [%d %d %d]",
			len(dst), len(labels), len(logits), batch, seq, vocab))
	}
	right := 0
	for b := range batch {
		ok := true
		for s := range seq {
			l := labels[b*seq+s]
			if l == IgnoreLabel {
				continue
			}
			row := tensor.Tensor{Shape: []int{1, vocab}, Data: logits[(b*seq+s)*vocab : (b*seq+s+1)*vocab]}
			var best [1]int32
			tensor.ArgmaxRows(best[:], &row)
			if best[0] == l {
				right++
			} else {
				ok = false
			}
		}
		dst[b] = 0
		if ok {
			dst[b] = 1
		}
	}
	return right
}
