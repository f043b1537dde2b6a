package nn

import (
	"fmt"

	"github.com/trm-go/trm/asm"
	"github.com/trm-go/trm/tensor"
)

// opKind names a recorded op; record.backward switches on it (no closure or
// interface value is made per op).
type opKind uint8

const (
	opReshape opKind = iota
	opLinear
	opAdd
	opAddBroadcast
	opMul
	opScale
	opEmbedding
	opRMSNorm
	opAddRMSNorm
	opSiLU
	opSwiGLU
	opTranspose
	opSlice
	opConcat
	opRoPE
	opAttention
	opSum
	opMean
	opStablemaxCE
	opSoftmaxCE
	opBCE
	opMixLinear
	opSwiGLURows
	opAddRMSNormCols
	opSwiGLULinear
	opSwiGLURowsMixLinear
)

// record is one recorded op: its kind, output, inputs and whatever it saved
// for the backward pass.
type record struct {
	op      opKind
	out     *Node
	a, b, c *Node
	ids     []int32   // embedding ids, labels
	save    []float32 // op-specific saved values
	save2   []float32
	rope    *RoPE
	f       float32
	i0, i1  int
}

func (r *record) backward(t *Tape) {
	switch r.op {
	case opReshape:
		if !t.gradShare(r.a, r.out.Grad.Data) {
			t.accum(r.a, r.out.Grad.Data)
		}
	case opLinear:
		backLinear(t, r)
	case opAdd:
		backAdd(t, r)
	case opAddBroadcast:
		backAddBroadcast(t, r)
	case opMul:
		backMul(t, r)
	case opScale:
		if g, fresh := t.gradBuf(r.a); fresh {
			asm.Scale(g, r.f, r.out.Grad.Data)
		} else {
			asm.Axpy(r.f, r.out.Grad.Data, g)
		}
	case opEmbedding:
		tensor.ScatterAdd(t.gradT(r.a), &r.out.Grad, r.ids, r.f)
	case opRMSNorm:
		backRMSNorm(t, r)
	case opAddRMSNorm:
		backAddRMSNorm(t, r)
	case opSiLU:
		backSiLU(t, r)
	case opSwiGLU:
		backSwiGLU(t, r)
	case opTranspose:
		backTranspose(t, r)
	case opSlice:
		tensor.AddSlice(t.gradT(r.a), r.i0, r.i1, &r.out.Grad)
	case opConcat:
		backConcat(t, r)
	case opRoPE:
		backRoPE(t, r)
	case opAttention:
		backAttention(t, r)
	case opSum, opMean:
		g := t.grad(r.a)
		d := r.out.Grad.Data[0]
		if r.op == opMean {
			d /= float32(len(g))
		}
		for i := range g {
			g[i] += d
		}
	case opStablemaxCE, opSoftmaxCE:
		backCE(t, r)
	case opBCE:
		backBCE(t, r)
	case opMixLinear:
		backMixLinear(t, r)
	case opSwiGLURows:
		backSwiGLURows(t, r)
	case opAddRMSNormCols:
		backAddRMSNormCols(t, r)
	case opSwiGLULinear:
		backSwiGLULinear(t, r)
	case opSwiGLURowsMixLinear:
		backSwiGLURowsMixLinear(t, r)
	default:
		panic(fmt.Sprintf("nn: unknown op %d", r.op))
	}
}

// mustSame panics unless a and b have the same shape.
func mustSame(op string, a, b *Node) {
	if !tensor.SameShape(a.Value.Shape, b.Value.Shape) {
		panic(fmt.Sprintf("nn: %s: shapes %v and %v differ", op, a.Value.Shape, b.Value.Shape))
	}
}

// Linear computes y = x·Wᵀ + bias over the last axis, PyTorch's layout:
// x [..., in], w [out, in], bias [out] or nil; y [..., out].
func (t *Tape) Linear(x, w, bias *Node) *Node {
	if len(w.Value.Shape) != 2 || x.Value.Cols() != w.Value.Shape[1] {
		panic(fmt.Sprintf("nn: Linear: input %v, weight %v", x.Value.Shape, w.Value.Shape))
	}
	out, in := w.Value.Shape[0], w.Value.Shape[1]
	if bias != nil && len(bias.Value.Data) != out {
		panic(fmt.Sprintf("nn: Linear: bias %v for %d outputs", bias.Value.Shape, out))
	}
	var shape [MaxDims]int
	s := append(shape[:0], x.Value.Shape...)
	s[len(s)-1] = out
	y := t.node(s, x, w, bias)
	m := x.Value.Rows()
	// y [m, out] = x [m, in] · Wᵀ
	if p := t.packedWeight(w); p != nil {
		gemmPacked(t.team, m, x.Value.Data, p, y.Value.Data)
	} else {
		gemm(t.team, false, true, m, out, in, 1, x.Value.Data, in, w.Value.Data, in, 0, y.Value.Data, out)
	}
	if bias != nil {
		for i := range m {
			row := y.Value.Data[i*out : (i+1)*out]
			asm.Add(row, row, bias.Value.Data)
		}
	}
	if y.requiresGrad {
		t.record(record{op: opLinear, out: y, a: x, b: w, c: bias})
	}
	return y
}

func backLinear(t *Tape, r *record) {
	x, w, bias, dy := r.a, r.b, r.c, r.out.Grad.Data
	out, in := w.Value.Shape[0], w.Value.Shape[1]
	m := x.Value.Rows()
	if need(x) {
		// dx [m, in] += dy [m, out] · W [out, in]
		g, fresh := t.gradBuf(x)
		gemm(t.team, false, false, m, in, out, 1, dy, out, w.Value.Data, in, beta(fresh), g, in)
	}
	if need(w) {
		// dW [out, in] += dyᵀ [out, m] · x [m, in]
		g, fresh := t.gradBuf(w)
		gemm(t.team, true, false, out, in, m, 1, dy, out, x.Value.Data, in, beta(fresh), g, in)
	}
	if need(bias) {
		g := t.grad(bias)
		for i := range m {
			asm.Add(g, g, dy[i*out:(i+1)*out])
		}
	}
}

// Add returns a + b. b may also have a shape that is a suffix of a's (e.g. a
// [B, S, D] and b [S, D]): it is then broadcast over a's leading axes.
func (t *Tape) Add(a, b *Node) *Node {
	y := t.node(a.Value.Shape, a, b)
	if tensor.SameShape(a.Value.Shape, b.Value.Shape) {
		t.parAdd(y.Value.Data, a.Value.Data, b.Value.Data)
		if y.requiresGrad {
			t.record(record{op: opAdd, out: y, a: a, b: b})
		}
		return y
	}
	tensor.AddBroadcast(&y.Value, &a.Value, &b.Value)
	if y.requiresGrad {
		t.record(record{op: opAddBroadcast, out: y, a: a, b: b})
	}
	return y
}

// beta is the GEMM beta that writes a fresh gradient or adds to one.
func beta(fresh bool) float32 {
	if fresh {
		return 0
	}
	return 1
}

func backAdd(t *Tape, r *record) { t.addBack(r.a, r.b, r.out.Grad.Data) }

// addBack passes dy, the gradient of a + b, on to a and b: as their
// storage where they have none yet and no later step reads dy.
func (t *Tape) addBack(a, b *Node, dy []float32) {
	shared := false
	if need(a) {
		shared = t.gradShare(a, dy)
		if !shared {
			t.accum(a, dy)
		}
	}
	if need(b) {
		// Once a owns dy's storage, b must not share it (a's later
		// contributions would leak into b's gradient); if b is a, adding dy
		// to itself doubles it, as it should.
		if shared || !t.gradShare(b, dy) {
			t.accum(b, dy)
		}
	}
}

func backAddBroadcast(t *Tape, r *record) {
	if need(r.a) && !t.gradShare(r.a, r.out.Grad.Data) {
		t.accum(r.a, r.out.Grad.Data)
	}
	if need(r.b) {
		tensor.SumBroadcast(t.gradT(r.b), &r.out.Grad)
	}
}

// Mul returns the element-wise product a ⊙ b (same shapes).
func (t *Tape) Mul(a, b *Node) *Node {
	mustSame("Mul", a, b)
	y := t.node(a.Value.Shape, a, b)
	asm.Mul(y.Value.Data, a.Value.Data, b.Value.Data)
	if y.requiresGrad {
		t.record(record{op: opMul, out: y, a: a, b: b})
	}
	return y
}

func backMul(t *Tape, r *record) {
	dy := r.out.Grad.Data
	var tmp []float32
	for _, in := range [2][2]*Node{{r.a, r.b}, {r.b, r.a}} {
		x, other := in[0], in[1]
		if !need(x) {
			continue
		}
		if g, fresh := t.gradBuf(x); fresh {
			asm.Mul(g, dy, other.Value.Data)
		} else {
			if tmp == nil {
				tmp = t.arena.alloc(len(dy))
			}
			asm.Mul(tmp, dy, other.Value.Data)
			asm.Add(g, g, tmp)
		}
	}
	t.arena.free(tmp)
}

// Scale returns s·x.
func (t *Tape) Scale(x *Node, s float32) *Node {
	y := t.node(x.Value.Shape, x)
	asm.Scale(y.Value.Data, s, x.Value.Data)
	if y.requiresGrad {
		t.record(record{op: opScale, out: y, a: x, f: s})
	}
	return y
}

// Embedding looks up rows of table ([V, D]) and scales them: the result has
// shape [len(ids), D] with row i = scale·table[ids[i]]. The gradient is
// scatter-added into table's. ids must stay unchanged until Backward is done.
// It panics on an id out of range.
func (t *Tape) Embedding(table *Node, ids []int32, scale float32) *Node {
	if len(table.Value.Shape) != 2 {
		panic(fmt.Sprintf("nn: Embedding: table shape %v, want [V, D]", table.Value.Shape))
	}
	var shape = [2]int{len(ids), table.Value.Shape[1]}
	y := t.node(shape[:], table)
	tensor.Gather(&y.Value, &table.Value, ids, scale)
	if y.requiresGrad {
		t.record(record{op: opEmbedding, out: y, a: table, ids: ids, f: scale})
	}
	return y
}

// Transpose swaps the last two axes: x [..., R, C] gives [..., C, R]
// (the MLP-mixer works on [B, D, S]).
func (t *Tape) Transpose(x *Node) *Node {
	n := len(x.Value.Shape)
	if n < 2 {
		panic(fmt.Sprintf("nn: Transpose: shape %v has fewer than 2 axes", x.Value.Shape))
	}
	var shape [MaxDims]int
	s := append(shape[:0], x.Value.Shape...)
	s[n-2], s[n-1] = s[n-1], s[n-2]
	y := t.node(s, x)
	rows, cols := x.Value.Shape[n-2], x.Value.Shape[n-1]
	t.parTranspose(y.Value.Data, x.Value.Data, len(x.Value.Data)/max(rows*cols, 1), rows, cols, false)
	if y.requiresGrad {
		t.record(record{op: opTranspose, out: y, a: x})
	}
	return y
}

func backTranspose(t *Tape, r *record) {
	shape := r.out.Value.Shape
	n := len(shape)
	rows, cols := shape[n-2], shape[n-1]
	batch := len(r.out.Value.Data) / max(rows*cols, 1)
	g, fresh := t.gradBuf(r.a)
	t.parTranspose(g, r.out.Grad.Data, batch, rows, cols, !fresh)
}

// Slice returns x[..., from:to, ...] along axis (a copy).
func (t *Tape) Slice(x *Node, axis, from, to int) *Node {
	if axis < 0 || axis >= len(x.Value.Shape) || from < 0 || to < from || to > x.Value.Shape[axis] {
		panic(fmt.Sprintf("nn: Slice: [%d:%d] on axis %d of %v", from, to, axis, x.Value.Shape))
	}
	var shape [MaxDims]int
	s := append(shape[:0], x.Value.Shape...)
	s[axis] = to - from
	y := t.node(s, x)
	tensor.Slice(&y.Value, &x.Value, axis, from)
	if y.requiresGrad {
		t.record(record{op: opSlice, out: y, a: x, i0: axis, i1: from})
	}
	return y
}

// Concat joins a and b along axis (a first); they agree on every other axis.
// The puzzle-embedding prefix is joined to the token embeddings this way.
func (t *Tape) Concat(axis int, a, b *Node) *Node {
	if axis < 0 || axis >= len(a.Value.Shape) {
		panic(fmt.Sprintf("nn: Concat: axis %d of %v", axis, a.Value.Shape))
	}
	var shape [MaxDims]int
	s := append(shape[:0], a.Value.Shape...)
	s[axis] += b.Value.Shape[axis]
	y := t.node(s, a, b)
	tensor.Concat(&y.Value, axis, &a.Value, &b.Value)
	if y.requiresGrad {
		t.record(record{op: opConcat, out: y, a: a, b: b, i0: axis})
	}
	return y
}

func backConcat(t *Tape, r *record) {
	axis := r.i0
	na := r.a.Value.Shape[axis]
	for _, part := range [2]struct {
		n    *Node
		from int
	}{{r.a, 0}, {r.b, na}} {
		if !need(part.n) {
			continue
		}
		g, fresh := t.gradBuf(part.n)
		dst := tensor.Tensor{Shape: part.n.Value.Shape, Data: g}
		if !fresh {
			dst.Data = t.arena.alloc(len(g))
		}
		tensor.Slice(&dst, &r.out.Grad, axis, part.from)
		if !fresh {
			asm.Add(g, g, dst.Data)
			t.arena.free(dst.Data)
		}
	}
}

// Sum returns the sum of all elements of x as a scalar node (shape []).
func (t *Tape) Sum(x *Node) *Node {
	y := t.node(nil, x)
	y.Value.Data[0] = float32(tensor.Sum(&x.Value))
	if y.requiresGrad {
		t.record(record{op: opSum, out: y, a: x})
	}
	return y
}

// Mean returns the mean of all elements of x as a scalar node (shape []).
func (t *Tape) Mean(x *Node) *Node {
	y := t.node(nil, x)
	y.Value.Data[0] = float32(tensor.Mean(&x.Value))
	if y.requiresGrad {
		t.record(record{op: opMean, out: y, a: x})
	}
	return y
}
