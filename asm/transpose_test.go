package asm

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// transposeCase transposes a random r×c matrix (row stride lds) into dst
// (row stride ldd), both in guarded buffers, and checks every element of dst
// bitwise against the definition, the padding between r and ldd in each row
// of dst and the guards untouched, and src unchanged.
func transposeCase(t *testing.T, r, c, lds, ldd, off int) {
	t.Helper()
	rng := newRand(uint64(1000*r + c))
	sb := newBuffer((r-1)*lds+c, off)
	for i := range r {
		for j := range c {
			sb.all[sb.lo+i*lds+j] = 2*rng.Float32() - 1
		}
	}
	src := sb.s()
	before := clone(src)
	db := newBuffer((c-1)*ldd+r, (off+3)%8)
	dst := db.s()
	Transpose(dst, ldd, src, lds, r, c)
	for j := range c {
		for i := range ldd {
			at := j*ldd + i
			if at >= len(dst) {
				break
			}
			if i >= r {
				if math.Float32bits(dst[at]) != guardBits {
					require.Failf(t, "mismatch", "r=%d c=%d lds=%d ldd=%d: dst[%d][%d] (padding) was written", r, c, lds, ldd, j, i)
				}
				continue
			}
			if math.Float32bits(dst[at]) != math.Float32bits(src[i*lds+j]) {
				require.Failf(t, "mismatch", "r=%d c=%d lds=%d ldd=%d off=%d: dst[%d][%d] = %v, want %v", r, c, lds, ldd, off, j, i, dst[at], src[i*lds+j])
			}
		}
	}
	db.check(t, "Transpose dst")
	sb.check(t, "Transpose src")
	for i := range src {
		if math.Float32bits(src[i]) != math.Float32bits(before[i]) {
			require.Failf(t, "src changed", "r=%d c=%d: src[%d]", r, c, i)
		}
	}
}

// TestTranspose covers every r, c up to 19 (no block, one block, blocks and
// ragged edges for both the 8×8 AVX2 and the 4×4 NEON blocks), the
// MLP-mixer shapes (81×64 and back), large ones, and strides wider than the
// matrix.
func TestTranspose(t *testing.T) {
	t.Logf("Impl() = %q", Impl())
	for r := 1; r <= 19; r++ {
		for c := 1; c <= 19; c++ {
			transposeCase(t, r, c, c, r, (r+c)%8)
			transposeCase(t, r, c, c+3, r+5, (r*c)%8)
		}
	}
	for _, s := range [][2]int{{81, 64}, {64, 81}, {97, 512}, {512, 97}, {33, 40}, {256, 256}} {
		transposeCase(t, s[0], s[1], s[1], s[0], 0)
		transposeCase(t, s[0], s[1], s[1]+7, s[0]+1, 5)
	}
}

func TestTransposePanics(t *testing.T) {
	src, dst := make([]float32, 6), make([]float32, 6)
	assert.NotPanics(t, func() { Transpose(dst, 2, src, 3, 2, 3) })
	assert.NotPanics(t, func() { Transpose(nil, 1, nil, 1, 0, 0) })
	assert.NotPanics(t, func() { Transpose(nil, 3, nil, 1, 3, 0) })
	assert.Panics(t, func() { Transpose(dst, 2, src, 3, -1, 3) })
	assert.Panics(t, func() { Transpose(dst, 2, src, 2, 2, 3) }) // lds < c
	assert.Panics(t, func() { Transpose(dst, 1, src, 3, 2, 3) }) // ldd < r
	assert.Panics(t, func() { Transpose(dst, 2, src[1:], 3, 2, 3) })
	assert.Panics(t, func() { Transpose(dst[1:], 2, src, 3, 2, 3) })
}
