package nn

import (
	"fmt"

	"github.com/trm-go/trm/asm"
)

// RMSEps is the epsilon of TRM's RMSNorm.
const RMSEps = 1e-5

// RMSNorm normalises x over its last axis without a learned weight:
// y = x / sqrt(mean(x²) + eps), in float32.
func (t *Tape) RMSNorm(x *Node, eps float32) *Node {
	return t.rmsNorm(opRMSNorm, rowsRMSNorm, x, nil, eps)
}

// rmsNorm is RMSNorm (b nil) or AddRMSNorm: the output, its row job, and
// the record with 1/rms per row saved for the backward pass.
func (t *Tape) rmsNorm(op opKind, kind rowKind, a, b *Node, eps float32) *Node {
	y := t.node(a.Value.Shape, a, b)
	var rinv, bv []float32
	if y.requiresGrad {
		rinv = t.arena.alloc(a.Value.Rows())
	}
	if b != nil {
		bv = b.Value.Data
	}
	j := &t.rows
	*j = rowJob{kind: kind, out: y.Value.Data, a: a.Value.Data, b: bv, rinv: rinv,
		rows: a.Value.Rows(), cols: a.Value.Cols(), eps: eps}
	t.runRows(j, j.rows, j.cols)
	if y.requiresGrad {
		t.record(record{op: op, out: y, a: a, b: b, save: rinv})
	}
	return y
}

// backRMSNorm: with y = x·r, dx = r·(dy − y·mean(dy⊙y)).
func backRMSNorm(t *Tape, r *record) {
	g, fresh := t.gradBuf(r.a)
	t.rmsNormBack(g, fresh, r)
}

// rmsNormBack writes (fresh) or adds into g the gradient of the input of
// the RMSNorm whose output, gradient and 1/rms r holds.
func (t *Tape) rmsNormBack(g []float32, fresh bool, r *record) {
	j := &t.rows
	*j = rowJob{kind: rowsRMSNormBack, out: g, a: r.out.Value.Data, b: r.out.Grad.Data,
		rinv: r.save, rows: len(r.save), cols: r.out.Value.Cols(), fresh: fresh}
	t.runRows(j, j.rows, j.cols)
}

// AddRMSNorm returns RMSNorm(a + b, eps) for a and b of one shape: a
// block's post-norm residual, h = rms_norm(h + f(h)). Each row is summed and
// normalised while it is in cache, and the sum is never stored: one pass
// over the activations and one tensor fewer than RMSNorm(Add(a, b)), whose
// values and gradients it gives bit for bit.
func (t *Tape) AddRMSNorm(a, b *Node, eps float32) *Node {
	mustSame("AddRMSNorm", a, b)
	return t.rmsNorm(opAddRMSNorm, rowsAddRMSNorm, a, b, eps)
}

// backAddRMSNorm: the sum's gradient, as backRMSNorm gives it, then on to
// a and b as Add's backward passes it.
func backAddRMSNorm(t *Tape, r *record) {
	ds := t.arena.alloc(len(r.out.Grad.Data))
	t.rmsNormBack(ds, true, r)
	t.addBack(r.a, r.b, ds)
	t.freeUnlessGrad(ds, r.a, r.b)
}

// SiLU returns x·σ(x) element-wise.
func (t *Tape) SiLU(x *Node) *Node {
	y := t.node(x.Value.Shape, x)
	asm.SiLU(y.Value.Data, x.Value.Data)
	if y.requiresGrad {
		t.record(record{op: opSiLU, out: y, a: x})
	}
	return y
}

func backSiLU(t *Tape, r *record) {
	g, fresh := t.gradBuf(r.a)
	tmp := g
	if !fresh {
		tmp = t.arena.alloc(len(g))
	}
	asm.SiLUGrad(tmp, r.a.Value.Data)
	asm.Mul(tmp, tmp, r.out.Grad.Data)
	if !fresh {
		asm.Add(g, g, tmp)
		t.arena.free(tmp)
	}
}

// SwiGLU splits the last axis of gu ([..., 2·I]) into gate = the first half
// and up = the second half and returns silu(gate)·up ([..., I]): the
// activation between gate_up_proj and down_proj.
func (t *Tape) SwiGLU(gu *Node) *Node {
	cols := gu.Value.Cols()
	if cols%2 != 0 {
		panic(fmt.Sprintf("nn: SwiGLU: last axis of %v is odd", gu.Value.Shape))
	}
	inter := cols / 2
	var shape [MaxDims]int
	s := append(shape[:0], gu.Value.Shape...)
	s[len(s)-1] = inter
	y := t.node(s, gu)
	j := &t.rows
	*j = rowJob{kind: rowsSwiGLU, out: y.Value.Data, a: gu.Value.Data, rows: gu.Value.Rows(), cols: cols}
	t.runRows(j, j.rows, cols)
	if y.requiresGrad {
		t.record(record{op: opSwiGLU, out: y, a: gu})
	}
	return y
}

// SwiGLULinear returns Linear(SwiGLU(gu), w, bias), the second half of a
// SwiGLU MLP, without keeping SwiGLU(gu) ([..., I]) for the backward pass:
// the backward step computes it again from gu (an exp per element, what
// the forward pass did) for w's gradient. Values and gradients are those
// of the two ops, bit for bit; a training step holds [..., I] less per MLP.
func (t *Tape) SwiGLULinear(gu, w, bias *Node) *Node {
	prev := t.SetNoGrad(true)
	h := t.SwiGLU(gu)
	y := t.Linear(h, w, bias)
	t.SetNoGrad(prev)
	t.arena.free(h.Value.Data) // the next MLP's takes it
	h.Value.Data = nil
	if !prev && (need(gu) || need(w) || need(bias)) {
		y.requiresGrad = true
		t.record(record{op: opSwiGLULinear, out: y, a: gu, b: w, c: bias})
	}
	return y
}

func backSwiGLULinear(t *Tape, r *record) {
	prev := t.SetNoGrad(true)
	h := t.SwiGLU(r.a) // what the forward pass computed, again
	t.SetNoGrad(prev)
	backRecomputed(t, h, record{op: opLinear, out: r.out, a: h, b: r.b, c: r.c}, record{op: opSwiGLU, out: h, a: r.a})
}

// backRecomputed runs the backward steps of the two ops a fused op stands
// for, given h, the value between them, computed again: use's (the op that
// reads h), then, when h's producer has an input that needs a gradient,
// produce's; and gives h's storage back.
func backRecomputed(t *Tape, h *Node, use, produce record) {
	h.requiresGrad = need(produce.a)
	use.backward(t)
	if h.requiresGrad {
		produce.backward(t)
		t.arena.free(h.Grad.Data)
	}
	t.arena.free(h.Value.Data)
	h.Value.Data, h.Grad.Data = nil, nil
}

func backSwiGLU(t *Tape, r *record) {
	cols := r.a.Value.Cols()
	rows := r.a.Value.Rows()
	g, fresh := t.gradBuf(r.a)
	j := &t.rows
	*j = rowJob{kind: rowsSwiGLUBack, out: g, a: r.a.Value.Data, b: r.out.Grad.Data,
		rows: rows, cols: cols, fresh: fresh}
	if !fresh {
		per := max(1, parMinWork/cols)
		j.tmp = t.arena.alloc((rows + per - 1) / per * cols)
	}
	tmp := j.tmp
	t.runRows(j, rows, cols) // clears j
	t.arena.free(tmp)
}
