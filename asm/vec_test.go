package asm

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// reduction describes a function from one or two rows to a float32, checked
// by checkReduction on every length and offset.
type reduction struct {
	name   string
	nin    int
	lo, hi float32
	run    func(in [][]float32) float32
	ref    func(in [][]float32) float32
	// term returns |term i| of the sum, for the tolerance n·2⁻²³·Σ|terms|;
	// nil means the result must be exact.
	term func(in [][]float32, i int) float64
}

func (c reduction) check(t *testing.T, seed uint64) {
	r := newRand(seed)
	forLengths(func(n, off int) {
		bufs := make([]*buffer, c.nin)
		in := make([][]float32, c.nin)
		for j := range bufs {
			bufs[j] = randBuffer(r, n, (off+3*j)%8, c.lo, c.hi)
			in[j] = bufs[j].s()
		}
		got, want := c.run(in), c.ref(in)
		if c.term == nil {
			require.Equal(t, want, got, "%s n=%d off=%d", c.name, n, off)
		} else {
			var scale float64
			for i := 0; i < n; i++ {
				scale += c.term(in, i)
			}
			require.True(t, near(got, want, scale, float64(max(n, 1))),
				"%s n=%d off=%d: got %v, want %v (Σ|terms| = %v)", c.name, n, off, got, want, scale)
		}
		for _, b := range bufs {
			b.check(t, c.name)
		}
	})
}

func TestDot(t *testing.T) {
	reduction{
		name: "Dot", nin: 2, lo: -1, hi: 1,
		run:  func(in [][]float32) float32 { return Dot(in[0], in[1]) },
		ref:  func(in [][]float32) float32 { return dotGeneric(in[0], in[1]) },
		term: func(in [][]float32, i int) float64 { return abs(in[0][i] * in[1][i]) },
	}.check(t, 1)
}

func TestSum(t *testing.T) {
	reduction{
		name: "Sum", nin: 1, lo: -1, hi: 1,
		run:  func(in [][]float32) float32 { return Sum(in[0]) },
		ref:  func(in [][]float32) float32 { return sumGeneric(in[0]) },
		term: func(in [][]float32, i int) float64 { return abs(in[0][i]) },
	}.check(t, 2)
}

func TestMax(t *testing.T) {
	// All values negative: a kernel that lets the zeros of a masked load into
	// the maximum returns 0 instead.
	for _, r := range [][2]float32{{-3, -1}, {-1, 1}, {1e30, 3e38}} {
		reduction{
			name: "Max", nin: 1, lo: r[0], hi: r[1],
			run: func(in [][]float32) float32 { return Max(in[0]) },
			ref: func(in [][]float32) float32 { return maxGeneric(in[0]) },
		}.check(t, 3)
	}
}

func TestMaxSpecial(t *testing.T) {
	inf := float32(math.Inf(1))
	assert.Equal(t, -inf, Max(nil))
	assert.Equal(t, -inf, Max([]float32{-inf, -inf, -inf}))
	assert.Equal(t, inf, Max([]float32{1, inf, 2}))
	for n := 1; n <= 40; n++ {
		for at := 0; at < n; at++ {
			x := make([]float32, n)
			for i := range x {
				x[i] = -float32(i + 1)
			}
			x[at] = 7
			require.Equal(t, float32(7), Max(x), "n=%d, max at %d", n, at)
		}
	}
}

// alphaFor picks one of alphas from the row length, so that one length
// sweep tries every alpha with every tail length (n mod 8).
func alphaFor(alphas []float32, n int) float32 { return alphas[(n/8)%len(alphas)] }

func TestAxpy(t *testing.T) {
	alphas := []float32{0, 1, -0.75, 3.5}
	elementwise{
		name: "Axpy", nin: 2, nout: 1, lo: -2, hi: 2,
		run: func(out, in [][]float32) {
			copy(out[0], in[1])
			Axpy(alphaFor(alphas, len(in[0])), in[0], out[0])
		},
		ref: func(out, in [][]float32) {
			copy(out[0], in[1])
			axpyGeneric(alphaFor(alphas, len(in[0])), in[0], out[0])
		},
		// One rounding of the product (the generic code) or none (FMA).
		scale: func(in [][]float32, _, i int) float64 {
			return abs(alphaFor(alphas, len(in[0]))*in[0][i]) + abs(in[1][i])
		},
		tol: 2,
	}.check(t, 4)
}

func TestScale(t *testing.T) {
	alphas := []float32{0, 1, -0.75, 3.5e-3}
	elementwise{
		name: "Scale", nin: 1, nout: 1, lo: -2, hi: 2,
		run:   func(out, in [][]float32) { Scale(out[0], alphaFor(alphas, len(in[0])), in[0]) },
		ref:   func(out, in [][]float32) { scaleGeneric(out[0], alphaFor(alphas, len(in[0])), in[0]) },
		alias: [][2]int{{0, 0}},
	}.check(t, 5)
}

func TestAdd(t *testing.T) {
	elementwise{
		name: "Add", nin: 2, nout: 1, lo: -2, hi: 2,
		run:   func(out, in [][]float32) { Add(out[0], in[0], in[1]) },
		ref:   func(out, in [][]float32) { addGeneric(out[0], in[0], in[1]) },
		alias: [][2]int{{0, 0}, {0, 1}},
	}.check(t, 6)
}

func TestMul(t *testing.T) {
	elementwise{
		name: "Mul", nin: 2, nout: 1, lo: -2, hi: 2,
		run:   func(out, in [][]float32) { Mul(out[0], in[0], in[1]) },
		ref:   func(out, in [][]float32) { mulGeneric(out[0], in[0], in[1]) },
		alias: [][2]int{{0, 0}, {0, 1}},
	}.check(t, 7)
}

// TestAddSameSlice covers dst, x and y all being one slice.
func TestAddSameSlice(t *testing.T) {
	x := randBuffer(newRand(8), 37, 3, -1, 1).s()
	want := make([]float32, len(x))
	addGeneric(want, x, x)
	mulWant := make([]float32, len(x))
	mulGeneric(mulWant, want, want)
	Add(x, x, x)
	assert.Equal(t, want, x)
	Mul(x, x, x)
	assert.Equal(t, mulWant, x)
}

func TestVecPanics(t *testing.T) {
	a, b := make([]float32, 4), make([]float32, 5)
	assert.Panics(t, func() { Dot(a, b) })
	assert.Panics(t, func() { Axpy(1, a, b) })
	assert.Panics(t, func() { Scale(a, 1, b) })
	assert.Panics(t, func() { Add(a, a, b) })
	assert.Panics(t, func() { Mul(b, a, a) })
}
