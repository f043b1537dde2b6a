package nn

import (
	"fmt"
	"math"

	"github.com/trm-go/trm/asm"
	"github.com/trm-go/trm/tensor"
)

// RoPE holds the cos/sin tables of rotary position embeddings in the
// rotate-half convention: for position s and i < HeadDim/2 the angle is
// s·θ^(−2i/HeadDim), and each table row is [angles, angles] (the two halves
// repeat). Rows cover positions 0..MaxSeq-1.
type RoPE struct {
	// HeadDim is the size of one attention head (even).
	HeadDim int
	// MaxSeq is the number of positions in the tables.
	MaxSeq int
	// Cos and Sin are [MaxSeq, HeadDim] tables, row-major.
	Cos, Sin []float32
}

// NewRoPE builds the tables for heads of size headDim (even) over maxSeq
// positions with base theta (10000 in TRM). The angles are computed in
// float32 like the PyTorch reference, the cos/sin in float64 then rounded.
func NewRoPE(headDim, maxSeq int, theta float64) *RoPE {
	if headDim <= 0 || headDim%2 != 0 || maxSeq < 0 {
		panic(fmt.Sprintf("nn: NewRoPE: head dim %d (want even, > 0), max seq %d", headDim, maxSeq))
	}
	half := headDim / 2
	r := &RoPE{HeadDim: headDim, MaxSeq: maxSeq,
		Cos: make([]float32, maxSeq*headDim), Sin: make([]float32, maxSeq*headDim)}
	for i := range half {
		expo := float32(2*i) / float32(headDim)
		inv := float32(1 / math.Pow(theta, float64(expo)))
		for s := range maxSeq {
			a := float64(float32(s) * inv)
			c, sn := float32(math.Cos(a)), float32(math.Sin(a))
			r.Cos[s*headDim+i], r.Cos[s*headDim+half+i] = c, c
			r.Sin[s*headDim+i], r.Sin[s*headDim+half+i] = sn, sn
		}
	}
	return r
}

// rotate writes into dst the rotary embedding of x at position pos:
// dst = x·cos + rotate_half(x)·sin with rotate_half(x) = [−x₂, x₁].
func (r *RoPE) rotate(dst, x []float32, pos int) {
	hd := r.HeadDim
	half := hd / 2
	c, s := r.Cos[pos*hd:(pos+1)*hd], r.Sin[pos*hd:(pos+1)*hd]
	x1, x2 := x[:half], x[half:hd]
	d1, d2 := dst[:half], dst[half:hd]
	for i := range half {
		a, b := x1[i], x2[i]
		d1[i] = a*c[i] - b*s[i]
		d2[i] = b*c[half+i] + a*s[half+i]
	}
}

// rotateBack writes (add false) or adds (add true) to dst the transposed
// rotation of dy at position pos: the gradient of rotate.
func (r *RoPE) rotateBack(dst, dy []float32, pos int, add bool) {
	hd := r.HeadDim
	half := hd / 2
	c, s := r.Cos[pos*hd:(pos+1)*hd], r.Sin[pos*hd:(pos+1)*hd]
	g1, g2 := dy[:half], dy[half:hd]
	d1, d2 := dst[:half], dst[half:hd]
	if !add {
		for i := range half {
			a, b := g1[i], g2[i]
			d1[i] = a*c[i] + b*s[half+i]
			d2[i] = b*c[half+i] - a*s[i]
		}
		return
	}
	for i := range half {
		a, b := g1[i], g2[i]
		d1[i] += a*c[i] + b*s[half+i]
		d2[i] += b*c[half+i] - a*s[i]
	}
}

// RoPE applies rotary position embeddings to x of shape [..., S, H, hd]
// (sequence, heads, head dim): position s is the index on axis −3.
func (t *Tape) RoPE(x *Node, rope *RoPE) *Node {
	sh := x.Value.Shape
	if len(sh) < 3 || sh[len(sh)-1] != rope.HeadDim || sh[len(sh)-3] > rope.MaxSeq {
		panic(fmt.Sprintf("nn: RoPE: shape %v with head dim %d and %d positions", sh, rope.HeadDim, rope.MaxSeq))
	}
	y := t.node(sh, x)
	seq, heads, hd := sh[len(sh)-3], sh[len(sh)-2], sh[len(sh)-1]
	for v := 0; v < len(x.Value.Data); v += hd {
		pos := (v / (hd * heads)) % seq
		rope.rotate(y.Value.Data[v:v+hd], x.Value.Data[v:v+hd], pos)
	}
	if y.requiresGrad {
		t.record(record{op: opRoPE, out: y, a: x, rope: rope})
	}
	return y
}

func backRoPE(t *Tape, r *record) {
	sh := r.out.Value.Shape
	seq, heads, hd := sh[len(sh)-3], sh[len(sh)-2], sh[len(sh)-1]
	g, dy := t.grad(r.a), r.out.Grad.Data
	for v := 0; v < len(dy); v += hd {
		pos := (v / (hd * heads)) % seq
		r.rope.rotateBack(g[v:v+hd], dy[v:v+hd], pos, true)
	}
}

// Attention is non-causal multi-head scaled dot-product attention on a fused
// projection: qkv [B, S, 3·D] holds the query heads, then the key heads, then
// the value heads (D = heads·hd). Queries and keys get rotary embeddings when
// rope is not nil. It returns softmax(q·kᵀ/√hd)·v with the heads side by
// side, [B, S, D] (the input of o_proj).
//
// The B·heads (sequence, head) pairs run in parallel on the tape's Team.
func (t *Tape) Attention(qkv *Node, heads int, rope *RoPE) *Node {
	sh := qkv.Value.Shape
	if len(sh) != 3 || heads <= 0 || sh[2]%(3*heads) != 0 {
		panic(fmt.Sprintf("nn: Attention: qkv shape %v with %d heads", sh, heads))
	}
	bsz, seq, d := sh[0], sh[1], sh[2]/3
	hd := d / heads
	if rope != nil && (rope.HeadDim != hd || rope.MaxSeq < seq) {
		panic(fmt.Sprintf("nn: Attention: RoPE for head dim %d and %d positions, input %v with %d heads", rope.HeadDim, rope.MaxSeq, sh, heads))
	}
	var shape = [3]int{bsz, seq, d}
	y := t.node(shape[:], qkv)
	j := &t.attn
	*j = attnJob{
		team: t.team,
		bsz:  bsz, seq: seq, d: d, heads: heads, hd: hd,
		scale: float32(1 / math.Sqrt(float64(hd))),
		rope:  rope,
		x:     qkv.Value.Data,
		out:   y.Value.Data,
		// qk [B, S, 2D]: the rotated queries and keys, laid out like qkv.
		qk: t.arena.alloc(bsz * seq * 2 * d),
		// probs [B, H, S, S]: kept for backward when recording.
		probs: t.arena.alloc(bsz * heads * seq * seq),
	}
	t.team.Parallel(bsz*heads, j)
	if y.requiresGrad {
		t.record(record{op: opAttention, out: y, a: qkv, save: j.probs, save2: j.qk, rope: rope, i0: heads})
	}
	*j = attnJob{} // drop references to arena storage
	return y
}

// attnJob is one attention call (forward, or backward when backward is
// set), split into one part per (sequence, head) pair. The tape keeps one,
// reused by every call, so that no call allocates.
type attnJob struct {
	team                   tensor.Team // the tape's, for the products of each part
	backward               bool
	bsz, seq, d, heads, hd int
	scale                  float32
	rope                   *RoPE
	x, out, qk, probs      []float32 // qkv, result, rotated q/k, softmax
	dy, dx, dqk, dp        []float32 // backward: output grad, qkv grad, q/k grads, scratch
	fresh                  bool      // backward: dx is fresh (write, do not add)
}

// RunPart implements tensor.Job: part i is sequence i/heads, head i%heads.
func (j *attnJob) RunPart(i int) {
	if j.backward {
		j.backwardPart(i/j.heads, i%j.heads)
	} else {
		j.forwardPart(i/j.heads, i%j.heads)
	}
}

func (j *attnJob) forwardPart(b, h int) {
	seq, d, hd := j.seq, j.d, j.hd
	// Rotate this head's queries and keys into qk.
	for s := range seq {
		src := j.x[(b*seq+s)*3*d : (b*seq+s)*3*d+2*d]
		dst := j.qk[(b*seq+s)*2*d : (b*seq+s+1)*2*d]
		for _, off := range [2]int{h * hd, d + h*hd} {
			if j.rope == nil {
				copy(dst[off:off+hd], src[off:off+hd])
			} else {
				j.rope.rotate(dst[off:off+hd], src[off:off+hd], s)
			}
		}
	}
	p := j.probs[(b*j.heads+h)*seq*seq : (b*j.heads+h+1)*seq*seq]
	q := j.qk[b*seq*2*d+h*hd:]
	k := j.qk[b*seq*2*d+d+h*hd:]
	v := j.x[b*seq*3*d+2*d+h*hd:]
	// p [S, S] = scale · q [S, hd] · kᵀ, then a softmax per row.
	gemm(j.team, false, true, seq, seq, hd, j.scale, q, 2*d, k, 2*d, 0, p, seq)
	for r := range seq {
		asm.Softmax(p[r*seq:(r+1)*seq], p[r*seq:(r+1)*seq])
	}
	// o [S, hd] = p · v, written into this head's columns of out.
	gemm(j.team, false, false, seq, hd, seq, 1, p, seq, v, 3*d, 0, j.out[b*seq*d+h*hd:], d)
}

func (j *attnJob) backwardPart(b, h int) {
	seq, d, hd := j.seq, j.d, j.hd
	p := j.probs[(b*j.heads+h)*seq*seq : (b*j.heads+h+1)*seq*seq]
	dp := j.dp[(b*j.heads+h)*seq*seq : (b*j.heads+h+1)*seq*seq]
	q := j.qk[b*seq*2*d+h*hd:]
	k := j.qk[b*seq*2*d+d+h*hd:]
	v := j.x[b*seq*3*d+2*d+h*hd:]
	do := j.dy[b*seq*d+h*hd:]
	// dv [S, hd] (+)= pᵀ · do
	gemm(j.team, true, false, seq, hd, seq, 1, p, seq, do, d, beta(j.fresh), j.dx[b*seq*3*d+2*d+h*hd:], 3*d)
	// dp [S, S] = do · vᵀ
	gemm(j.team, false, true, seq, seq, hd, 1, do, d, v, 3*d, 0, dp, seq)
	// Softmax backward, row by row: ds = p ⊙ (dp − Σ dp⊙p), into dp.
	for r := range seq {
		pr, dr := p[r*seq:(r+1)*seq], dp[r*seq:(r+1)*seq]
		c := asm.Dot(pr, dr)
		for i, pv := range pr {
			dr[i] = pv * (dr[i] - c)
		}
	}
	// dq = scale · ds · k ; dk = scale · dsᵀ · q (gradients of the rotated
	// vectors, into dqk; each (b, h) block is written once, beta 0).
	gemm(j.team, false, false, seq, hd, seq, j.scale, dp, seq, k, 2*d, 0, j.dqk[b*seq*2*d+h*hd:], 2*d)
	gemm(j.team, true, false, seq, hd, seq, j.scale, dp, seq, q, 2*d, 0, j.dqk[b*seq*2*d+d+h*hd:], 2*d)
	// Undo the rotation into this head's query and key columns of dx.
	for s := range seq {
		src := j.dqk[(b*seq+s)*2*d : (b*seq+s+1)*2*d]
		dst := j.dx[(b*seq+s)*3*d : (b*seq+s)*3*d+2*d]
		for _, off := range [2]int{h * hd, d + h*hd} {
			g, o := src[off:off+hd], dst[off:off+hd]
			switch {
			case j.rope != nil:
				j.rope.rotateBack(o, g, s, !j.fresh)
			case j.fresh:
				copy(o, g)
			default:
				asm.Add(o, o, g)
			}
		}
	}
}

func backAttention(t *Tape, r *record) {
	sh := r.a.Value.Shape
	bsz, seq, d := sh[0], sh[1], sh[2]/3
	heads := r.i0
	hd := d / heads
	// A fresh dx is written whole: the value parts by the GEMMs (beta 0),
	// the query and key parts by the final rotation.
	dx, fresh := t.gradBuf(r.a)
	j := &t.attn
	*j = attnJob{
		team:     t.team,
		backward: true,
		bsz:      bsz, seq: seq, d: d, heads: heads, hd: hd,
		scale: float32(1 / math.Sqrt(float64(hd))),
		rope:  r.rope,
		x:     r.a.Value.Data, qk: r.save2, probs: r.save,
		dy: r.out.Grad.Data, dx: dx, fresh: fresh,
		dqk: t.arena.alloc(len(r.save2)),
		dp:  t.arena.alloc(len(r.save)),
	}
	t.team.Parallel(bsz*heads, j)
	t.arena.free(j.dp)
	t.arena.free(j.dqk)
	*j = attnJob{}
}
