package nn

import (
	"fmt"
	"math"

	"github.com/trm-go/trm/asm"
)

// The MLP-mixer's sequence MLP (mlp_t) mixes positions. The official code
// transposes h [B, S, D] to [B, D, S], applies a SwiGLU MLP over the last
// axis, adds the residual, normalises over that axis and transposes back.
// The ops below compute the same on h as it lies, with no transposed copy
// in either pass: the products take the weight from the left (MixLinear),
// the SwiGLU's gate and up are the two halves of the second-to-last axis
// (SwiGLURows), and the residual sum is normalised down the columns
// (AddRMSNormCols).

// MixLinear returns y[..., o, d] = Σ_s W[o, s]·x[..., s, d]: a Linear
// without bias over the second-to-last axis of x [..., S, D], W [O, S] in
// PyTorch's layout (Linear(S, O) applied to xᵀ and transposed back);
// y is [..., O, D]. One product W·x_b per matrix x_b of x.
func (t *Tape) MixLinear(x, w *Node) *Node {
	xs := x.Value.Shape
	if len(xs) < 2 || len(w.Value.Shape) != 2 || w.Value.Shape[1] != xs[len(xs)-2] {
		panic(fmt.Sprintf("nn: MixLinear: input %v, weight %v (want [..., S, D] and [O, S])", xs, w.Value.Shape))
	}
	o, s, d := w.Value.Shape[0], w.Value.Shape[1], xs[len(xs)-1]
	var shape [MaxDims]int
	ys := append(shape[:0], xs...)
	ys[len(ys)-2] = o
	y := t.node(ys, x, w)
	for b := range mats(x.Value.Data, s*d) {
		// y_b [O, D] = W [O, S] · x_b [S, D]
		gemm(t.team, false, false, o, d, s, 1, w.Value.Data, s,
			x.Value.Data[b*s*d:(b+1)*s*d], d, 0, y.Value.Data[b*o*d:(b+1)*o*d], d)
	}
	if y.requiresGrad {
		t.record(record{op: opMixLinear, out: y, a: x, b: w})
	}
	return y
}

// mats returns how many matrices of size values data holds.
func mats(data []float32, size int) int {
	if size == 0 {
		return 0
	}
	return len(data) / size
}

func backMixLinear(t *Tape, r *record) {
	x, w, dy := r.a, r.b, r.out.Grad.Data
	o, s := w.Value.Shape[0], w.Value.Shape[1]
	d := x.Value.Cols()
	n := mats(x.Value.Data, s*d)
	if need(x) {
		g, fresh := t.gradBuf(x)
		for b := range n {
			// dx_b [S, D] (+)= Wᵀ [S, O] · dy_b [O, D]
			gemm(t.team, true, false, s, d, o, 1, w.Value.Data, s,
				dy[b*o*d:(b+1)*o*d], d, beta(fresh), g[b*s*d:(b+1)*s*d], d)
		}
	}
	if need(w) {
		g, fresh := t.gradBuf(w)
		for b := range n {
			// dW [O, S] += dy_b [O, D] · x_bᵀ [D, S]
			gemm(t.team, false, true, o, s, d, 1, dy[b*o*d:(b+1)*o*d], d,
				x.Value.Data[b*s*d:(b+1)*s*d], d, beta(fresh && b == 0), g, s)
		}
	}
}

// SwiGLURows returns silu(gate)·up for gu [..., 2I, D] whose gate is the
// first I rows of each matrix and up the last I: [..., I, D]. It is SwiGLU
// over the second-to-last axis (SwiGLU on guᵀ, transposed back).
func (t *Tape) SwiGLURows(gu *Node) *Node {
	gs := gu.Value.Shape
	if len(gs) < 2 || gs[len(gs)-2]%2 != 0 {
		panic(fmt.Sprintf("nn: SwiGLURows: %v, want [..., 2I, D]", gs))
	}
	inter, d := gs[len(gs)-2]/2, gs[len(gs)-1]
	var shape [MaxDims]int
	s := append(shape[:0], gs...)
	s[len(s)-2] = inter
	y := t.node(s, gu)
	j := &t.rows
	*j = rowJob{kind: rowsSwiGLURows, out: y.Value.Data, a: gu.Value.Data,
		rows: mats(gu.Value.Data, 2*inter*d) * inter, cols: d, inter: inter}
	t.runRows(j, j.rows, 2*d)
	if y.requiresGrad {
		t.record(record{op: opSwiGLURows, out: y, a: gu})
	}
	return y
}

func backSwiGLURows(t *Tape, r *record) {
	gs := r.a.Value.Shape
	inter, d := gs[len(gs)-2]/2, gs[len(gs)-1]
	rows := mats(r.a.Value.Data, 2*inter*d) * inter
	g, fresh := t.gradBuf(r.a)
	j := &t.rows
	*j = rowJob{kind: rowsSwiGLURowsBack, out: g, a: r.a.Value.Data, b: r.out.Grad.Data,
		rows: rows, cols: d, inter: inter, fresh: fresh}
	if !fresh {
		per := max(1, parMinWork/(2*d))
		j.tmp = t.arena.alloc((rows + per - 1) / per * 2 * d)
	}
	tmp := j.tmp
	t.runRows(j, rows, 2*d) // clears j
	t.arena.free(tmp)
}

// SwiGLURowsMixLinear returns MixLinear(SwiGLURows(gu), w), the second half
// of the MLP-mixer's sequence MLP, without keeping SwiGLURows(gu) for the
// backward pass (see SwiGLULinear): bit-identical values and gradients, and
// [..., I, D] less held per MLP in a training step.
func (t *Tape) SwiGLURowsMixLinear(gu, w *Node) *Node {
	prev := t.SetNoGrad(true)
	h := t.SwiGLURows(gu)
	y := t.MixLinear(h, w)
	t.SetNoGrad(prev)
	t.arena.free(h.Value.Data)
	h.Value.Data = nil
	if !prev && (need(gu) || need(w)) {
		y.requiresGrad = true
		t.record(record{op: opSwiGLURowsMixLinear, out: y, a: gu, b: w})
	}
	return y
}

func backSwiGLURowsMixLinear(t *Tape, r *record) {
	prev := t.SetNoGrad(true)
	h := t.SwiGLURows(r.a) // what the forward pass computed, again
	t.SetNoGrad(prev)
	backRecomputed(t, h, record{op: opMixLinear, out: r.out, a: h, b: r.b}, record{op: opSwiGLURows, out: h, a: r.a})
}

// AddRMSNormCols returns a + b normalised down each column of every
// matrix: for a and b [..., S, D], column d of matrix m is divided by the
// root mean square of its S values (plus eps). It is AddRMSNorm over the
// second-to-last axis: the mixer's post-norm h = rms(hᵀ + mlp_t(hᵀ))ᵀ
// without the transposes.
func (t *Tape) AddRMSNormCols(a, b *Node, eps float32) *Node {
	mustSame("AddRMSNormCols", a, b)
	as := a.Value.Shape
	if len(as) < 2 {
		panic(fmt.Sprintf("nn: AddRMSNormCols: %v, want [..., S, D]", as))
	}
	s, d := as[len(as)-2], as[len(as)-1]
	y := t.node(as, a, b)
	n := mats(a.Value.Data, s*d)
	rinv := t.arena.alloc(n * d)
	j := t.colJob(n, s, d)
	j.kind, j.out, j.a, j.b, j.rinv, j.eps = colsAddRMSNorm, y.Value.Data, a.Value.Data, b.Value.Data, rinv, eps
	t.runCols(j)
	if y.requiresGrad {
		t.record(record{op: opAddRMSNormCols, out: y, a: a, b: b, save: rinv})
	} else {
		t.arena.free(rinv)
	}
	return y
}

// backAddRMSNormCols: the sum's gradient rinv·(dy − y·mean(dy⊙y)) per
// column, then on to a and b as Add's backward passes it.
func backAddRMSNormCols(t *Tape, r *record) {
	ys := r.out.Value.Shape
	s, d := ys[len(ys)-2], ys[len(ys)-1]
	ds := t.arena.alloc(len(r.out.Grad.Data))
	j := t.colJob(mats(ds, s*d), s, d)
	j.kind, j.out, j.a, j.b, j.rinv = colsRMSNormBack, ds, r.out.Value.Data, r.out.Grad.Data, r.save
	t.runCols(j)
	t.addBack(r.a, r.b, ds)
	t.freeUnlessGrad(ds, r.a, r.b)
}

type colKind uint8

const (
	colsAddRMSNorm  colKind = iota // out = a + b normalised per column; rinv
	colsRMSNormBack                // out = rinv·(dy − y·mean(dy⊙y)) per column; a = y, b = dy
)

// colJob is a column-wise op over n matrices of s×d values, run in parts of
// one matrix and a block of cb columns (each part's values are s strided
// rows of cb). tmp holds two rows of cb per part.
type colJob struct {
	kind        colKind
	out, a, b   []float32
	rinv, tmp   []float32
	n, s, d, cb int
	blocks      int // column blocks per matrix
	eps         float32
}

// colJob fills the tape's column job for n matrices of s×d, with blocks of
// columns wide enough that a part touches about parMinWork values.
func (t *Tape) colJob(n, s, d int) *colJob {
	j := &t.cols
	cb := min(max(16, parMinWork/max(s, 1))&^15, d)
	cb = max(cb, 1)
	*j = colJob{n: n, s: s, d: d, cb: cb, blocks: (d + cb - 1) / cb}
	return j
}

// runCols runs j's parts on the tape's team.
func (t *Tape) runCols(j *colJob) {
	parts := j.n * j.blocks
	j.tmp = t.arena.alloc(parts * 2 * j.cb)
	t.team.Parallel(parts, j)
	t.arena.free(j.tmp)
	*j = colJob{}
}

// RunPart implements tensor.Job.
func (j *colJob) RunPart(p int) {
	m, blk := p/j.blocks, p%j.blocks
	c0 := blk * j.cb
	c1 := min(j.d, c0+j.cb)
	w := c1 - c0
	acc := j.tmp[p*2*j.cb:][:w]
	sq := j.tmp[p*2*j.cb+j.cb:][:w]
	rinv := j.rinv[m*j.d+c0 : m*j.d+c1]
	row := func(x []float32, r int) []float32 {
		off := (m*j.s+r)*j.d + c0
		return x[off : off+w]
	}
	clear(acc)
	switch j.kind {
	case colsAddRMSNorm:
		for r := range j.s {
			o := row(j.out, r)
			asm.Add(o, row(j.a, r), row(j.b, r)) // the sum, normalised in place
			asm.Mul(sq, o, o)
			asm.Add(acc, acc, sq)
		}
		for i, ss := range acc {
			rinv[i] = float32(1 / math.Sqrt(float64(ss/float32(j.s)+j.eps)))
		}
		for r := range j.s {
			o := row(j.out, r)
			asm.Mul(o, o, rinv)
		}
	case colsRMSNormBack:
		for r := range j.s {
			asm.Mul(sq, row(j.b, r), row(j.a, r))
			asm.Add(acc, acc, sq)
		}
		asm.Scale(acc, 1/float32(j.s), acc) // mean(dy⊙y) per column
		for r := range j.s {
			o := row(j.out, r)
			asm.Mul(sq, row(j.a, r), acc)
			copy(o, row(j.b, r))
			asm.Axpy(-1, sq, o)
			asm.Mul(o, o, rinv)
		}
	}
}
