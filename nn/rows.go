package nn

import (
	"github.com/trm-go/trm/asm"
	"github.com/trm-go/trm/tensor"
)

// The memory-bound row and element-wise ops of a block (RMSNorm, SwiGLU,
// residual sums, transposes) are split into parts of at least parMinWork
// values and run on tensor.Parallel, so that they do not become the serial
// bottleneck once the GEMMs run on many cores. Each op fills the tape's one
// rowJob (no closure, no allocation) and dispatches on its kind.

// parMinWork is the smallest part, in float32 values touched (~64 KiB of
// each operand: tens of microseconds, far above the cost of a hand-off).
// Tests lower it to split small inputs into many uneven parts.
var parMinWork = 16384

type rowKind uint8

const (
	rowsAdd            rowKind = iota // out = a + b, element-wise
	rowsAccum                         // out += a
	rowsRMSNorm                       // out = rms(a) per row; rinv
	rowsRMSNormBack                   // out (+)= r·(dy − y·mean(dy⊙y)); a = y, b = dy
	rowsAddRMSNorm                    // out = rms(a + b) per row; rinv
	rowsSwiGLU                        // out = silu(a[:, :I])·a[:, I:]
	rowsSwiGLUBack                    // out (+)= d swiglu; a = gate|up, b = dy
	rowsSwiGLURows                    // out row r = silu(gate row)·up row; a = [.., 2·inter, cols]
	rowsSwiGLURowsBack                // out (+)= d swiglu by rows; a = gate|up rows, b = dy
	rowsTranspose                     // out[m] = a[m]ᵀ for matrices m of rows×cols
	rowsTransposeAccum                // out[m] += a[m]ᵀ
)

// rowJob is one such op; see rowKind for the meaning of the operands.
type rowJob struct {
	kind       rowKind
	out, a, b  []float32
	rinv, tmp  []float32
	rows, cols int // rows of cols values (matrices of rows×cols for transposes)
	per        int // rows (elements, matrices) per part
	inter      int // SwiGLURows: gate (and up) rows per matrix
	eps        float32
	fresh      bool
}

// run splits the job's units (rows, elements or matrices: n of them, each
// of size unit values) into parts and runs them.
func (t *Tape) runRows(j *rowJob, n, unit int) {
	j.per = max(1, parMinWork/max(unit, 1))
	parts := (n + j.per - 1) / j.per
	t.team.Parallel(parts, j)
	*j = rowJob{}
}

// RunPart implements tensor.Job.
func (j *rowJob) RunPart(i int) {
	lo := i * j.per
	switch j.kind {
	case rowsAdd, rowsAccum:
		hi := min(len(j.out), lo+j.per)
		if j.kind == rowsAdd {
			asm.Add(j.out[lo:hi], j.a[lo:hi], j.b[lo:hi])
		} else {
			asm.Add(j.out[lo:hi], j.out[lo:hi], j.a[lo:hi])
		}
	case rowsRMSNorm, rowsAddRMSNorm:
		c := j.cols
		for r := lo; r < min(j.rows, lo+j.per); r++ {
			o, x := j.out[r*c:(r+1)*c], j.a[r*c:(r+1)*c]
			if j.kind == rowsAddRMSNorm {
				asm.Add(o, x, j.b[r*c:(r+1)*c]) // the sum, normalised in place
				x = o
			}
			f := asm.RMSNorm(o, x, j.eps)
			if j.rinv != nil {
				j.rinv[r] = f
			}
		}
	case rowsRMSNormBack:
		c := j.cols
		inv := 1 / float32(c)
		for r := lo; r < min(j.rows, lo+j.per); r++ {
			yr, dyr, gr := j.a[r*c:(r+1)*c], j.b[r*c:(r+1)*c], j.out[r*c:(r+1)*c]
			ri := j.rinv[r]
			m := asm.Dot(dyr, yr) * inv
			if j.fresh {
				asm.Scale(gr, ri, dyr)
			} else {
				asm.Axpy(ri, dyr, gr)
			}
			asm.Axpy(-ri*m, yr, gr)
		}
	case rowsSwiGLU:
		c, h := j.cols, j.cols/2
		for r := lo; r < min(j.rows, lo+j.per); r++ {
			row := j.a[r*c : (r+1)*c]
			asm.SwiGLU(j.out[r*h:(r+1)*h], row[:h], row[h:])
		}
	case rowsSwiGLUBack:
		c, h := j.cols, j.cols/2
		var tmp []float32
		if !j.fresh {
			tmp = j.tmp[i*c : (i+1)*c]
		}
		for r := lo; r < min(j.rows, lo+j.per); r++ {
			row, gr, dy := j.a[r*c:(r+1)*c], j.out[r*c:(r+1)*c], j.b[r*h:(r+1)*h]
			if j.fresh {
				asm.SwiGLUGrad(gr[:h], gr[h:], dy, row[:h], row[h:])
				continue
			}
			asm.SwiGLUGrad(tmp[:h], tmp[h:], dy, row[:h], row[h:])
			asm.Add(gr, gr, tmp)
		}
	case rowsSwiGLURows, rowsSwiGLURowsBack:
		// Output row r is row i of matrix m: its gate is row i of the
		// input's matrix m, its up row inter + i.
		c, h := j.cols, j.inter
		var tmp []float32
		if j.kind == rowsSwiGLURowsBack && !j.fresh {
			tmp = j.tmp[i*2*c : (i+1)*2*c]
		}
		for r := lo; r < min(j.rows, lo+j.per); r++ {
			g := (r/h*2*h + r%h) * c
			gate, up := j.a[g:g+c], j.a[g+h*c:g+h*c+c]
			if j.kind == rowsSwiGLURows {
				asm.SwiGLU(j.out[r*c:(r+1)*c], gate, up)
				continue
			}
			dg, du, dy := j.out[g:g+c], j.out[g+h*c:g+h*c+c], j.b[r*c:(r+1)*c]
			if j.fresh {
				asm.SwiGLUGrad(dg, du, dy, gate, up)
				continue
			}
			asm.SwiGLUGrad(tmp[:c], tmp[c:], dy, gate, up)
			asm.Add(dg, dg, tmp[:c])
			asm.Add(du, du, tmp[c:])
		}
	case rowsTranspose, rowsTransposeAccum:
		sz := j.rows * j.cols
		hi := min(len(j.a)/max(sz, 1), lo+j.per)
		if j.kind == rowsTranspose {
			tensor.TransposeMatrices(j.out[lo*sz:hi*sz], j.a[lo*sz:hi*sz], hi-lo, j.rows, j.cols)
			return
		}
		tmp := j.tmp[i*sz : (i+1)*sz]
		for m := lo; m < hi; m++ {
			tensor.TransposeMatrices(tmp, j.a[m*sz:(m+1)*sz], 1, j.rows, j.cols)
			asm.Add(j.out[m*sz:(m+1)*sz], j.out[m*sz:(m+1)*sz], tmp)
		}
	}
}

// parAdd computes out = a + b element-wise.
func (t *Tape) parAdd(out, a, b []float32) {
	j := &t.rows
	*j = rowJob{kind: rowsAdd, out: out, a: a, b: b}
	t.runRows(j, len(out), 1)
}

// parAccum computes out += a element-wise.
func (t *Tape) parAccum(out, a []float32) {
	j := &t.rows
	*j = rowJob{kind: rowsAccum, out: out, a: a}
	t.runRows(j, len(out), 1)
}

// parTranspose writes (accum false) or adds (accum true) into out the
// transposes of the batch rows×cols matrices in a.
func (t *Tape) parTranspose(out, a []float32, batch, rows, cols int, accum bool) {
	j := &t.rows
	*j = rowJob{kind: rowsTranspose, out: out, a: a, rows: rows, cols: cols}
	if accum {
		j.kind = rowsTransposeAccum
	}
	per := max(1, parMinWork/max(rows*cols, 1))
	if accum {
		j.tmp = t.arena.alloc(((batch + per - 1) / per) * rows * cols)
	}
	tmp := j.tmp
	t.runRows(j, batch, rows*cols) // clears j
	t.arena.free(tmp)
}
