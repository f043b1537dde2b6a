package tensor

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTensorBasics(t *testing.T) {
	x := New(2, 3)
	assert.Equal(t, []int{2, 3}, x.Shape)
	assert.Equal(t, 6, x.Len())
	assert.Equal(t, 2, x.Dims())
	assert.Equal(t, 3, x.Dim(-1))
	assert.Equal(t, 2, x.Rows())
	assert.Equal(t, 3, x.Cols())
	x.Set(5, 1, 2)
	assert.Equal(t, float32(5), x.At(1, 2))
	assert.Equal(t, float32(5), x.Data[5])
	assert.Equal(t, []float32{0, 0, 5}, x.Row(1))
	assert.Panics(t, func() { x.At(2, 0) })
	assert.Panics(t, func() { x.At(0) })

	s := New()
	assert.Equal(t, 1, s.Len(), "a scalar has one element")
	assert.Equal(t, 1, s.Rows())

	x.Fill(2)
	c := x.Clone()
	x.Zero()
	assert.Equal(t, []float32{2, 2, 2, 2, 2, 2}, c.Data)
	assert.Equal(t, []float32{0, 0, 0, 0, 0, 0}, x.Data)
	x.CopyFrom(c)
	assert.Equal(t, c.Data, x.Data)
	assert.Panics(t, func() { x.CopyFrom(New(5)) })
	assert.Equal(t, "Tensor[2 3][2 2 2 2 2 2]", x.String())
}

func TestReshapeIsAView(t *testing.T) {
	x := FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	y := x.Reshape(3, -1)
	assert.Equal(t, []int{3, 2}, y.Shape)
	y.Data[0] = 9
	assert.Equal(t, float32(9), x.Data[0])
	assert.Panics(t, func() { x.Reshape(4, -1) })
	assert.Panics(t, func() { x.Reshape(-1, -1) })
	assert.Panics(t, func() { x.Reshape(7) })
	assert.Panics(t, func() { FromSlice([]float32{1}, 2) })
	assert.Panics(t, func() { New(2, -1) })
}

func TestShapeString(t *testing.T) {
	assert.Equal(t, "[]", ShapeString(nil))
	assert.Equal(t, "[2 -3 4]", ShapeString([]int{2, -3, 4}))
	assert.True(t, SameShape([]int{1, 2}, []int{1, 2}))
	assert.False(t, SameShape([]int{1, 2}, []int{2, 1}))
	assert.False(t, SameShape([]int{1}, []int{1, 1}))
}

func ttRand(rng *rand.Rand, shape ...int) *Tensor {
	x := New(shape...)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	return x
}

func TestElementwise(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	a, b := ttRand(rng, 3, 5), ttRand(rng, 3, 5)
	dst := New(3, 5)
	Add(dst, a, b)
	for i := range dst.Data {
		assert.Equal(t, a.Data[i]+b.Data[i], dst.Data[i])
	}
	Mul(dst, a, b)
	for i := range dst.Data {
		assert.Equal(t, a.Data[i]*b.Data[i], dst.Data[i])
	}
	Scale(dst, 3, a)
	for i := range dst.Data {
		assert.Equal(t, 3*a.Data[i], dst.Data[i])
	}
	assert.Panics(t, func() { Add(dst, a, New(5, 3)) })

	row := ttRand(rng, 5)
	AddBroadcast(dst, a, row)
	for i := range dst.Data {
		assert.Equal(t, a.Data[i]+row.Data[i%5], dst.Data[i])
	}
	acc := New(5)
	SumBroadcast(acc, a)
	for j := range 5 {
		assert.InDelta(t, a.Data[j]+a.Data[5+j]+a.Data[10+j], acc.Data[j], 1e-6)
	}
	assert.Panics(t, func() { AddBroadcast(dst, a, New(3)) })
}

func TestReductions(t *testing.T) {
	x := FromSlice([]float32{1, 5, 2, 7, 7, -1}, 2, 3)
	assert.Equal(t, 21.0, Sum(x))
	assert.Equal(t, 3.5, Mean(x))
	idx := make([]int32, 2)
	ArgmaxRows(idx, x)
	assert.Equal(t, []int32{1, 0}, idx, "first maximum wins")
	assert.Panics(t, func() { ArgmaxRows(make([]int32, 3), x) })
}

func TestTranspose(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, sh := range [][3]int{{1, 1, 1}, {2, 3, 5}, {3, 33, 70}, {1, 97, 40}} {
		x := ttRand(rng, sh[0], sh[1], sh[2])
		y := New(sh[0], sh[2], sh[1])
		TransposeMatrices(y.Data, x.Data, sh[0], sh[1], sh[2])
		for b := range sh[0] {
			for i := range sh[1] {
				for j := range sh[2] {
					require.Equal(t, x.At(b, i, j), y.At(b, j, i))
				}
			}
		}
		back := New(sh[:]...)
		TransposeMatrices(back.Data, y.Data, sh[0], sh[2], sh[1])
		require.Equal(t, x.Data, back.Data)
	}
	assert.Panics(t, func() { TransposeMatrices(make([]float32, 5), make([]float32, 6), 1, 2, 3) })
}

func TestGatherScatter(t *testing.T) {
	table := FromSlice([]float32{0, 1, 10, 11, 20, 21}, 3, 2)
	ids := []int32{2, 0, 2}
	dst := New(3, 2)
	Gather(dst, table, ids, 2)
	assert.Equal(t, []float32{40, 42, 0, 2, 40, 42}, dst.Data)
	g := New(3, 2)
	ScatterAdd(g, FromSlice([]float32{1, 2, 3, 4, 5, 6}, 3, 2), ids, 1)
	assert.Equal(t, []float32{3, 4, 0, 0, 6, 8}, g.Data, "repeated ids accumulate")
	assert.Panics(t, func() { Gather(dst, table, []int32{3, 0, 0}, 1) })
	assert.Panics(t, func() { Gather(dst, table, []int32{-1, 0, 0}, 1) })
	assert.Panics(t, func() { Gather(dst, table, []int32{0}, 1) })
}

func TestSliceConcat(t *testing.T) {
	// a [2, 1, 2], b [2, 2, 2] → c [2, 3, 2] along axis 1.
	a := FromSlice([]float32{1, 2, 3, 4}, 2, 1, 2)
	b := FromSlice([]float32{5, 6, 7, 8, 9, 10, 11, 12}, 2, 2, 2)
	c := New(2, 3, 2)
	Concat(c, 1, a, b)
	assert.Equal(t, []float32{1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12}, c.Data)
	s := New(2, 2, 2)
	Slice(s, c, 1, 1)
	assert.Equal(t, b.Data, s.Data)
	Slice(a, c, 1, 0)
	assert.Equal(t, []float32{1, 2, 3, 4}, a.Data)
	// The last axis too.
	s2 := New(2, 3, 1)
	Slice(s2, c, 2, 1)
	assert.Equal(t, []float32{2, 6, 8, 4, 10, 12}, s2.Data)
	acc := New(2, 3, 2)
	AddSlice(acc, 1, 1, b)
	AddSlice(acc, 1, 1, b)
	assert.Equal(t, []float32{0, 0, 10, 12, 14, 16, 0, 0, 18, 20, 22, 24}, acc.Data)
	assert.Panics(t, func() { Slice(s, c, 1, 2) })
	assert.Panics(t, func() { Concat(c, 1, a, a) })
	assert.Panics(t, func() { Concat(c, 0, a, b) })
}

// ttJob records which parts ran.
type ttJob struct{ hits []int32 }

func (j *ttJob) RunPart(i int) { j.hits[i]++ }

func TestParallel(t *testing.T) {
	prev := Workers()
	defer SetWorkers(prev)
	for _, w := range []int{1, 2, 5} {
		SetWorkers(w)
		for _, parts := range []int{0, 1, 3, 64} {
			j := &ttJob{hits: make([]int32, parts)}
			Parallel(parts, j)
			for i, h := range j.hits {
				require.Equal(t, int32(1), h, "workers %d, part %d of %d", w, i, parts)
			}
		}
	}
}

// ttGemmJob runs one Gemm large enough to be split in every part: Parallel's
// parts run on the same worker pool as Gemm's and may call a parallel Gemm.
type ttGemmJob struct {
	a, b []float32
	c    [][]float32
	n    int
}

func (j *ttGemmJob) RunPart(i int) {
	Gemm(false, false, j.n, j.n, j.n, float32(i+1), j.a, j.n, j.b, j.n, 0, j.c[i], j.n)
}

func TestParallelNestedGemm(t *testing.T) {
	prev := Workers()
	defer SetWorkers(prev)
	SetWorkers(4)
	rng := rand.New(rand.NewPCG(4, 4))
	const n = 160 // 2n³ ≈ 8 MFLOP: the GEMM splits it
	j := &ttGemmJob{a: ttRand(rng, n, n).Data, b: ttRand(rng, n, n).Data, n: n}
	for range 12 {
		j.c = append(j.c, make([]float32, n*n))
	}
	Parallel(len(j.c), j)
	want := make([]float32, n*n)
	for i, c := range j.c {
		Gemm(false, false, n, n, n, float32(i+1), j.a, n, j.b, n, 0, want, n)
		require.Equal(t, want, c, "part %d", i)
	}
}

// ttCountJob counts how often each part ran.
type ttCountJob struct{ n []int32 }

func (j *ttCountJob) RunPart(i int) { j.n[i]++ }

// TestParallelManyParts covers calls with more parts than one pool task can
// count (they run in chunks): every part runs exactly once.
func TestParallelManyParts(t *testing.T) {
	prev := Workers()
	defer SetWorkers(prev)
	SetWorkers(3)
	j := &ttCountJob{n: make([]int32, 3*parMaxParts+7)}
	Parallel(len(j.n), j)
	for i, c := range j.n {
		if c != 1 {
			t.Fatalf("part %d ran %d times, want 1", i, c)
		}
	}
}
