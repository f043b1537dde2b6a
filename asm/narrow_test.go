package asm

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKernelNarrow checks KernelNarrow bitwise against KernelNSet on the
// same panels (one panel at a time into a 6×16 tile, the columns kept), for
// every width, group remainders of the narrow kernels (1..19 panels), short
// and long k, and A panels both with and without spare capacity after them
// (without it the last panel takes the fallback). The scratch lanes are
// ignored; out past its length must stay untouched.
func TestKernelNarrow(t *testing.T) {
	r := newRand(51)
	for nr := 1; nr <= NarrowMax; nr++ {
		for panels := 1; panels <= 19; panels += 1 + panels/4 {
			for _, k := range []int{1, 2, 5, 17, 64, 300} {
				for _, spare := range []bool{false, true} {
					ab := randBuffer(r, panels*k*MR, (panels+k)%8, -1, 1)
					ap := ab.s()
					if spare {
						ap = ab.all[ab.lo:ab.hi] // capacity runs into the guard
					}
					bp := randBuffer(r, k*NR, 3, -1, 1).s()
					ob := newBuffer(panels*nr*8, 1)
					out := ob.s()
					KernelNarrow(panels, k, nr, ap, bp, out)
					var tile [MR * NR]float32
					for q := 0; q < panels; q++ {
						KernelNSet(1, k, ap[q*k*MR:], bp, tile[:], NR)
						for j := 0; j < nr; j++ {
							for i := 0; i < MR; i++ {
								got, want := out[(q*nr+j)*8+i], tile[i*NR+j]
								if math.Float32bits(got) != math.Float32bits(want) {
									require.Failf(t, "mismatch", "nr=%d panels=%d k=%d spare=%v: panel %d row %d column %d = %v, KernelNSet gives %v", nr, panels, k, spare, q, i, j, got, want)
								}
							}
						}
					}
					ob.check(t, "KernelNarrow out")
					ab.check(t, "KernelNarrow ap")
				}
			}
		}
	}
}

func TestKernelNarrowPanics(t *testing.T) {
	const panels, k, nr = 2, 3, 2
	ap, bp, out := make([]float32, panels*k*MR), make([]float32, k*NR), make([]float32, panels*nr*8)
	assert.NotPanics(t, func() { KernelNarrow(panels, k, nr, ap, bp, out) })
	assert.Panics(t, func() { KernelNarrow(0, k, nr, ap, bp, out) })
	assert.Panics(t, func() { KernelNarrow(panels, -1, nr, ap, bp, out) })
	assert.Panics(t, func() { KernelNarrow(panels, k, 0, ap, bp, out) })
	assert.Panics(t, func() { KernelNarrow(panels, k, NarrowMax+1, ap, bp, out) })
	assert.Panics(t, func() { KernelNarrow(panels, k, nr, ap[1:], bp, out) })
	assert.Panics(t, func() { KernelNarrow(panels, k, nr, ap, bp[1:], out) })
	assert.Panics(t, func() { KernelNarrow(panels, k, nr, ap, bp, out[1:]) })
	out[0] = 5
	KernelNarrow(panels, 0, nr, nil, nil, out) // k = 0: zeros
	assert.Equal(t, make([]float32, len(out)), out)
}
