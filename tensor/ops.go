package tensor

import (
	"fmt"

	"github.com/trm-go/trm/asm"
)

// Add computes dst = a + b element-wise. All three must have the same shape;
// dst may alias a or b.
func Add(dst, a, b *Tensor) {
	mustSame("Add", dst, a)
	mustSame("Add", dst, b)
	asm.Add(dst.Data, a.Data, b.Data)
}

// Mul computes dst = a ⊙ b element-wise. All three must have the same shape;
// dst may alias a or b.
func Mul(dst, a, b *Tensor) {
	mustSame("Mul", dst, a)
	mustSame("Mul", dst, b)
	asm.Mul(dst.Data, a.Data, b.Data)
}

// Scale computes dst = alpha·a. dst may be a.
func Scale(dst *Tensor, alpha float32, a *Tensor) {
	mustSame("Scale", dst, a)
	asm.Scale(dst.Data, alpha, a.Data)
}

// AddBroadcast computes dst = a + b where b's shape is a suffix of a's
// (b is repeated over a's leading axes, e.g. a [B, S, D] and b [S, D] or
// [D]). dst must have a's shape and may alias a.
func AddBroadcast(dst, a, b *Tensor) {
	mustSame("AddBroadcast", dst, a)
	mustSuffix("AddBroadcast", a, b)
	n := len(b.Data)
	if n == 0 {
		return
	}
	for off := 0; off < len(a.Data); off += n {
		asm.Add(dst.Data[off:off+n], a.Data[off:off+n], b.Data)
	}
}

// SumBroadcast accumulates dst += Σ over the leading axes of src, where dst's
// shape is a suffix of src's: the gradient of AddBroadcast's b.
func SumBroadcast(dst, src *Tensor) {
	mustSuffix("SumBroadcast", src, dst)
	n := len(dst.Data)
	if n == 0 {
		return
	}
	for off := 0; off < len(src.Data); off += n {
		asm.Add(dst.Data, dst.Data, src.Data[off:off+n])
	}
}

func mustSuffix(op string, a, b *Tensor) {
	ok := len(b.Shape) <= len(a.Shape) && SameShape(a.Shape[len(a.Shape)-len(b.Shape):], b.Shape)
	if !ok {
		panic(fmt.Sprintf("tensor: %s: shape %v is not a suffix of %v", op, b.Shape, a.Shape))
	}
}

// Sum returns the sum of all elements, accumulated in float64.
func Sum(a *Tensor) float64 {
	var s float64
	for _, v := range a.Data {
		s += float64(v)
	}
	return s
}

// Mean returns the mean of all elements, accumulated in float64 (NaN for an
// empty tensor).
func Mean(a *Tensor) float64 {
	return Sum(a) / float64(len(a.Data))
}

// ArgmaxRows writes into dst[r] the index of the largest element of row r of
// a (seen as Rows()×Cols()); the first one wins on ties. len(dst) must be
// a.Rows().
func ArgmaxRows(dst []int32, a *Tensor) {
	rows, cols := a.Rows(), a.Cols()
	if len(dst) != rows {
		panic(fmt.Sprintf("tensor: ArgmaxRows: %d outputs for %d rows", len(dst), rows))
	}
	for r := range rows {
		row := a.Data[r*cols : (r+1)*cols]
		best := 0
		for j := 1; j < cols; j++ {
			if row[j] > row[best] {
				best = j
			}
		}
		dst[r] = int32(best)
	}
}

// TransposeMatrices transposes batch row-major r×c matrices stored back to
// back in src into c×r matrices in dst (asm.Transpose on each). dst must not
// overlap src.
func TransposeMatrices(dst, src []float32, batch, r, c int) {
	if len(src) < batch*r*c || len(dst) < batch*r*c {
		panic("tensor: TransposeMatrices: slice too short")
	}
	if r == 0 || c == 0 {
		return
	}
	for b := range batch {
		asm.Transpose(dst[b*r*c:(b+1)*r*c], r, src[b*r*c:(b+1)*r*c], c, r, c)
	}
}

// Gather copies rows of table ([V, D]) into dst ([N, D] in any shape whose
// last axis is D and with N·D elements): row i of dst is row ids[i] of
// table, times scale. It panics on an id out of range.
func Gather(dst, table *Tensor, ids []int32, scale float32) {
	d := table.Cols()
	v := table.Rows()
	if len(dst.Data) != len(ids)*d {
		panic(fmt.Sprintf("tensor: Gather: %d ids of width %d into %v", len(ids), d, dst.Shape))
	}
	for i, id := range ids {
		if id < 0 || int(id) >= v {
			panic(fmt.Sprintf("tensor: Gather: id %d out of range [0, %d)", id, v))
		}
		asm.Scale(dst.Data[i*d:(i+1)*d], scale, table.Data[int(id)*d:(int(id)+1)*d])
	}
}

// ScatterAdd is the adjoint of Gather: row ids[i] of table gets
// scale·(row i of src) added to it. Repeated ids accumulate.
func ScatterAdd(table, src *Tensor, ids []int32, scale float32) {
	d := table.Cols()
	v := table.Rows()
	if len(src.Data) != len(ids)*d {
		panic(fmt.Sprintf("tensor: ScatterAdd: %d ids of width %d from %v", len(ids), d, src.Shape))
	}
	for i, id := range ids {
		if id < 0 || int(id) >= v {
			panic(fmt.Sprintf("tensor: ScatterAdd: id %d out of range [0, %d)", id, v))
		}
		asm.Axpy(scale, src.Data[i*d:(i+1)*d], table.Data[int(id)*d:(int(id)+1)*d])
	}
}

// axisSplit returns the product of the dimensions before axis, the
// dimension itself and the product of those after it.
func axisSplit(shape []int, axis int) (outer, dim, inner int) {
	outer, inner = 1, 1
	for i, d := range shape {
		switch {
		case i < axis:
			outer *= d
		case i > axis:
			inner *= d
		}
	}
	return outer, shape[axis], inner
}

// checkAxisCompat panics unless a and b agree on every axis except axis.
func checkAxisCompat(op string, a, b *Tensor, axis int) {
	if axis < 0 || axis >= len(a.Shape) || len(a.Shape) != len(b.Shape) {
		panic(fmt.Sprintf("tensor: %s: axis %d of shapes %v and %v", op, axis, a.Shape, b.Shape))
	}
	for i := range a.Shape {
		if i != axis && a.Shape[i] != b.Shape[i] {
			panic(fmt.Sprintf("tensor: %s: shapes %v and %v differ off axis %d", op, a.Shape, b.Shape, axis))
		}
	}
}

// Slice copies into dst the part of src from index from (inclusive) along
// axis, dst.Shape[axis] entries long. dst and src agree on every other axis.
func Slice(dst, src *Tensor, axis, from int) {
	checkAxisCompat("Slice", dst, src, axis)
	outer, n, inner := axisSplit(dst.Shape, axis)
	sn := src.Shape[axis]
	if from < 0 || from+n > sn {
		panic(fmt.Sprintf("tensor: Slice: [%d, %d) out of range for axis %d of %v", from, from+n, axis, src.Shape))
	}
	for o := range outer {
		copy(dst.Data[o*n*inner:(o+1)*n*inner], src.Data[(o*sn+from)*inner:(o*sn+from+n)*inner])
	}
}

// AddSlice adds src into the part of dst from index from along axis,
// src.Shape[axis] entries long: the adjoint of Slice.
func AddSlice(dst *Tensor, axis, from int, src *Tensor) {
	checkAxisCompat("AddSlice", dst, src, axis)
	outer, n, inner := axisSplit(src.Shape, axis)
	dn := dst.Shape[axis]
	if from < 0 || from+n > dn {
		panic(fmt.Sprintf("tensor: AddSlice: [%d, %d) out of range for axis %d of %v", from, from+n, axis, dst.Shape))
	}
	for o := range outer {
		d := dst.Data[(o*dn+from)*inner : (o*dn+from+n)*inner]
		asm.Add(d, d, src.Data[o*n*inner:(o+1)*n*inner])
	}
}

// Concat writes into dst the concatenation of a and b along axis (a first).
// The three agree on every other axis and dst.Shape[axis] is the sum of a's
// and b's.
func Concat(dst *Tensor, axis int, a, b *Tensor) {
	checkAxisCompat("Concat", dst, a, axis)
	checkAxisCompat("Concat", dst, b, axis)
	outer, dn, inner := axisSplit(dst.Shape, axis)
	an, bn := a.Shape[axis], b.Shape[axis]
	if an+bn != dn {
		panic(fmt.Sprintf("tensor: Concat: %v and %v into %v along axis %d", a.Shape, b.Shape, dst.Shape, axis))
	}
	for o := range outer {
		d := dst.Data[o*dn*inner : (o+1)*dn*inner]
		copy(d[:an*inner], a.Data[o*an*inner:(o+1)*an*inner])
		copy(d[an*inner:], b.Data[o*bn*inner:(o+1)*bn*inner])
	}
}
