package asm

import (
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// The tests compare the dispatched functions (the SIMD kernels where the CPU
// has them, the generic code otherwise) with the *Generic references. They
// are architecture independent: the same file checks AVX2, NEON and purego
// builds.

// maxLen is the largest row length the exhaustive length sweeps try: more
// than 32 vectors of 8, so that every unrolled loop runs several times and
// every tail length 0..7 occurs after each loop.
const maxLen = 260

// guardLen floats of guard lie on each side of every test buffer.
const guardLen = 16

// guardBits is the NaN the guards are filled with; no kernel produces this
// payload, so a changed guard shows up even when it is overwritten with NaN.
const guardBits = 0x7fa0bad0

// eps32 is 2⁻²³, the spacing of float32 values in [1, 2).
const eps32 = 1.0 / (1 << 23)

// buffer is a float32 slice placed at a chosen alignment with NaN guards on
// both sides.
type buffer struct {
	all    []float32
	lo, hi int
}

// newBuffer returns a buffer of n floats starting off floats (0..7) after a
// 32-byte boundary, with guards around it.
func newBuffer(n, off int) *buffer {
	all := make([]float32, n+off+2*guardLen+8)
	start := guardLen
	for uintptr(unsafe.Pointer(&all[start]))%32 != 0 {
		start++
	}
	for i := range all {
		all[i] = math.Float32frombits(guardBits)
	}
	b := &buffer{all: all, lo: start + off, hi: start + off + n}
	return b
}

// s returns the usable part of the buffer.
func (b *buffer) s() []float32 { return b.all[b.lo:b.hi:b.hi] }

// check fails the test if any guard changed.
func (b *buffer) check(t testing.TB, what string) {
	t.Helper()
	for i, v := range b.all {
		if (i < b.lo || i >= b.hi) && math.Float32bits(v) != guardBits {
			require.Failf(t, "guard overwritten", "%s: guard at %d (slice is [%d, %d)) is %v", what, i, b.lo, b.hi, v)
		}
	}
}

// fill sets the buffer to uniform random values in [lo, hi) and returns it.
func (b *buffer) fill(r *rand.Rand, lo, hi float32) *buffer {
	for i := range b.s() {
		b.all[b.lo+i] = lo + (hi-lo)*r.Float32()
	}
	return b
}

// randBuffer returns a guarded buffer of n random values in [lo, hi).
func randBuffer(r *rand.Rand, n, off int, lo, hi float32) *buffer {
	return newBuffer(n, off).fill(r, lo, hi)
}

// newRand returns a deterministic generator for one test.
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)) }

// ulps returns the number of float32 values between a and b (0 when equal,
// including +0 and −0; a large number when one is NaN).
func ulps(a, b float32) int64 {
	if a == b {
		return 0
	}
	if a != a || b != b {
		return math.MaxInt64
	}
	ord := func(v float32) int64 {
		u := int64(math.Float32bits(v))
		if u&(1<<31) != 0 {
			return -(u &^ (1 << 31))
		}
		return u
	}
	d := ord(a) - ord(b)
	if d < 0 {
		d = -d
	}
	return d
}

// near reports whether got agrees with want to within tol units of
// 2⁻²³·scale, where scale is the magnitude of the terms that produced want
// (not of want itself, which may be a small difference of large terms). A
// NaN must match a NaN, an infinity must match exactly.
func near(got, want float32, scale, tol float64) bool {
	switch {
	case want != want:
		return got != got
	case math.IsInf(float64(want), 0) || math.IsInf(float64(got), 0):
		return got == want
	case got == want:
		return true
	}
	return math.Abs(float64(got)-float64(want)) <= tol*eps32*scale
}

func abs(v float32) float64 { return math.Abs(float64(v)) }

// clone returns a copy of x.
func clone(x []float32) []float32 { return append(make([]float32, 0, len(x)), x...) }

// forLengths runs f for every length 0..maxLen and every offset 0..7 of
// the slices from a 32-byte boundary. With -short (the arm64 run under
// qemu) rows longer than 40 get offsets 0, 3 and 6 only.
func forLengths(f func(n, off int)) {
	for n := 0; n <= maxLen; n++ {
		for off := 0; off < 8; off++ {
			if testing.Short() && n > 40 && off%3 != 0 {
				continue
			}
			f(n, off)
		}
	}
}

// An elementwise describes a function of rows computed element by element,
// for the shared length/offset/guard/aliasing sweep of checkElementwise.
type elementwise struct {
	name      string
	nin, nout int
	lo, hi    float32 // inputs are uniform in [lo, hi)
	// run and ref compute the outputs from the inputs with the dispatched
	// function and with the generic reference.
	run, ref func(out, in [][]float32)
	// scale returns the magnitude of the terms that make output o at index
	// i; tol is the tolerance in units of 2⁻²³·scale. A nil scale means the
	// outputs must be bitwise equal.
	scale func(in [][]float32, o, i int) float64
	tol   float64
	// alias lists the (output, input) pairs that may share memory.
	alias [][2]int
}

// check runs e on every length and offset with guarded buffers, then on
// each aliasing pair the documentation allows.
func (e elementwise) check(t *testing.T, seed uint64) {
	r := newRand(seed)
	forLengths(func(n, off int) {
		in := make([]*buffer, e.nin)
		ins := make([][]float32, e.nin)
		for j := range in {
			in[j] = randBuffer(r, n, (off+3*j)%8, e.lo, e.hi)
			ins[j] = in[j].s()
		}
		out := make([]*buffer, e.nout)
		outs := make([][]float32, e.nout)
		want := make([][]float32, e.nout)
		for j := range out {
			out[j] = newBuffer(n, (off+5*j+1)%8)
			outs[j] = out[j].s()
			want[j] = make([]float32, n)
		}
		saved := make([][]float32, e.nin)
		for j := range ins {
			saved[j] = clone(ins[j])
		}
		e.ref(want, ins)
		e.run(outs, ins)
		e.compare(t, n, off, "", -1, outs, want, ins)
		for j := range in {
			in[j].check(t, e.name+" input")
			require.Equal(t, saved[j], ins[j], "%s n=%d off=%d: input %d changed", e.name, n, off, j)
		}
		for j := range out {
			out[j].check(t, e.name+" output")
		}

		// Aliasing: output o computed in place over a copy of input i.
		for _, a := range e.alias {
			o, i := a[0], a[1]
			aliased := make([][]float32, e.nin)
			copy(aliased, ins)
			b := newBuffer(n, off)
			copy(b.s(), ins[i])
			aliased[i] = b.s()
			outs2 := make([][]float32, e.nout)
			for j := range outs2 {
				outs2[j] = make([]float32, n)
			}
			outs2[o] = b.s()
			e.run(outs2, aliased)
			b.check(t, e.name+" aliased")
			e.compare(t, n, off, "aliased ", o, outs2, want, ins)
		}
	})
}

// compare checks output only (all outputs when only < 0) against want.
func (e elementwise) compare(t *testing.T, n, off int, what string, only int, got, want, in [][]float32) {
	t.Helper()
	for o := range got {
		if only >= 0 && o != only {
			continue
		}
		for i := 0; i < n; i++ {
			g, w := got[o][i], want[o][i]
			if e.scale == nil {
				if math.Float32bits(g) != math.Float32bits(w) {
					require.Failf(t, "mismatch", "%s %sn=%d off=%d output %d [%d]: got %v, want %v", e.name, what, n, off, o, i, g, w)
				}
				continue
			}
			if !near(g, w, e.scale(in, o, i), e.tol) {
				require.Failf(t, "mismatch", "%s %sn=%d off=%d output %d [%d]: got %v, want %v (inputs %v)",
					e.name, what, n, off, o, i, g, w, column(in, i))
			}
		}
	}
}

// column returns the inputs at index i, for failure messages.
func column(in [][]float32, i int) []float32 {
	c := make([]float32, len(in))
	for j := range in {
		c[j] = in[j][i]
	}
	return c
}
