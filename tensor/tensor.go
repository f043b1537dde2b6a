package tensor

import (
	"fmt"
	"strconv"
	"strings"
)

// Tensor is an n-dimensional float32 array: a shape over contiguous,
// row-major storage (the last axis varies fastest).
//
// The fields are exported so that hot code can reach the storage directly;
// the invariant len(Data) == Size(Shape) is the caller's to keep. Several
// tensors may share one Data (see Reshape): a Tensor is a view, and copying
// the struct copies the view, not the values.
type Tensor struct {
	// Shape is the size of each axis, outermost first. A scalar has an
	// empty shape and one element.
	Shape []int
	// Data holds the Size(Shape) values in row-major order.
	Data []float32
}

// Size returns the number of elements of a tensor of the given shape: the
// product of its dimensions (1 for a scalar). It panics on a negative
// dimension.
func Size(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic("tensor: negative dimension in shape " + ShapeString(shape))
		}
		n *= d
	}
	return n
}

// New returns a zero-filled tensor of the given shape.
func New(shape ...int) *Tensor {
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, Size(shape))}
}

// FromSlice returns a tensor of the given shape over data (not copied). It
// panics if len(data) is not Size(shape): a mismatch is a programmer error;
// code that reads shapes from a file checks them itself first.
func FromSlice(data []float32, shape ...int) *Tensor {
	if len(data) != Size(shape) {
		panic(fmt.Sprintf("tensor: FromSlice: %d values for shape %s (%d wanted)", len(data), ShapeString(shape), Size(shape)))
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: data}
}

// ShapeString formats a shape like fmt's %v ("[2 3]") without making the
// slice escape to the heap, so that hot callers can keep shapes on the stack.
func ShapeString(shape []int) string {
	b := make([]byte, 0, 32)
	b = append(b, '[')
	for i, d := range shape {
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendInt(b, int64(d), 10)
	}
	return string(append(b, ']'))
}

// SameShape reports whether two shapes are equal.
func SameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Len returns the number of elements.
func (t *Tensor) Len() int { return len(t.Data) }

// Dims returns the number of axes.
func (t *Tensor) Dims() int { return len(t.Shape) }

// Dim returns the size of axis i; a negative i counts from the end (-1 is
// the last axis).
func (t *Tensor) Dim(i int) int {
	if i < 0 {
		i += len(t.Shape)
	}
	return t.Shape[i]
}

// Cols returns the size of the last axis (1 for a scalar).
func (t *Tensor) Cols() int {
	if len(t.Shape) == 0 {
		return 1
	}
	return t.Shape[len(t.Shape)-1]
}

// Rows returns the product of all axes but the last: the number of rows when
// the tensor is seen as a matrix of Cols() columns.
func (t *Tensor) Rows() int {
	if len(t.Shape) == 0 {
		return 1
	}
	return Size(t.Shape[:len(t.Shape)-1])
}

// Row returns row i of the tensor seen as a Rows()×Cols() matrix, as a
// slice of its storage.
func (t *Tensor) Row(i int) []float32 {
	c := t.Cols()
	return t.Data[i*c : (i+1)*c : (i+1)*c]
}

// ResolveShape returns shape with a single -1 entry replaced by the size that
// makes the element count n, in place. It panics if that is impossible.
func ResolveShape(n int, shape []int) []int {
	free := -1
	prod := 1
	for i, d := range shape {
		switch {
		case d == -1 && free < 0:
			free = i
		case d < 0:
			panic("tensor: bad shape " + ShapeString(shape))
		default:
			prod *= d
		}
	}
	if free >= 0 {
		if prod == 0 || n%prod != 0 {
			panic(fmt.Sprintf("tensor: cannot reshape %d elements to %s", n, ShapeString(shape)))
		}
		shape[free] = n / prod
		prod = n
	}
	if prod != n {
		panic(fmt.Sprintf("tensor: cannot reshape %d elements to %s", n, ShapeString(shape)))
	}
	return shape
}

// Reshape returns a view of t with another shape and the same storage. One
// dimension may be -1: it is inferred. It panics if the sizes differ.
func (t *Tensor) Reshape(shape ...int) *Tensor {
	s := ResolveShape(len(t.Data), append([]int(nil), shape...))
	return &Tensor{Shape: s, Data: t.Data}
}

// Clone returns a deep copy of t.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
}

// CopyFrom copies the values of src into t. The element counts must match
// (the shapes may differ); it panics otherwise.
func (t *Tensor) CopyFrom(src *Tensor) {
	if len(t.Data) != len(src.Data) {
		panic(fmt.Sprintf("tensor: CopyFrom: %v from %v", t.Shape, src.Shape))
	}
	copy(t.Data, src.Data)
}

// Zero sets every element to 0.
func (t *Tensor) Zero() { clear(t.Data) }

// Fill sets every element to v.
func (t *Tensor) Fill(v float32) {
	for i := range t.Data {
		t.Data[i] = v
	}
}

// At returns the element at the given index (one coordinate per axis).
func (t *Tensor) At(idx ...int) float32 { return t.Data[t.offset(idx)] }

// Set stores v at the given index (one coordinate per axis).
func (t *Tensor) Set(v float32, idx ...int) { t.Data[t.offset(idx)] = v }

func (t *Tensor) offset(idx []int) int {
	if len(idx) != len(t.Shape) {
		panic(fmt.Sprintf("tensor: index %v for shape %v", idx, t.Shape))
	}
	off := 0
	for i, x := range idx {
		if x < 0 || x >= t.Shape[i] {
			panic(fmt.Sprintf("tensor: index %v out of range for shape %v", idx, t.Shape))
		}
		off = off*t.Shape[i] + x
	}
	return off
}

// String formats the shape and the first few values, for debugging.
func (t *Tensor) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Tensor%v[", t.Shape)
	for i, v := range t.Data {
		if i == 8 {
			b.WriteString(" …")
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%g", v)
	}
	b.WriteByte(']')
	return b.String()
}

// mustSame panics unless a and b have the same shape.
func mustSame(op string, a, b *Tensor) {
	if !SameShape(a.Shape, b.Shape) || len(a.Data) != len(b.Data) {
		panic(fmt.Sprintf("tensor: %s: shapes %v and %v differ", op, a.Shape, b.Shape))
	}
}
