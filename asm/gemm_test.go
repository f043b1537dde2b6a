package asm

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// kernelCase runs Kernel and kernelGeneric on the same random panels and a
// C tile with row stride ldc, and compares them. The C buffer has NaN guards
// around it and in the gap between rows (columns NR..ldc-1), which must stay
// untouched. off sets the alignment of the three buffers.
func kernelCase(t *testing.T, r *rand.Rand, k, ldc, off int, lo, hi float32) {
	t.Helper()
	ab := randBuffer(r, k*MR, off, lo, hi)
	bb := randBuffer(r, k*NR, (off+3)%8, lo, hi)
	cb := newBuffer((MR-1)*ldc+NR, (off+6)%8)
	ap, bp, c := ab.s(), bb.s(), cb.s()
	for i := 0; i < MR; i++ {
		for j := 0; j < NR; j++ {
			c[i*ldc+j] = lo + (hi-lo)*r.Float32()
		}
	}
	want := clone(c)
	kernelGeneric(k, ap, bp, want, ldc)
	c0 := clone(c)
	Kernel(k, ap, bp, c, ldc)

	for i := 0; i < MR; i++ {
		for j := 0; j < ldc && i*ldc+j < len(c); j++ {
			at := i*ldc + j
			if j >= NR {
				if math.Float32bits(c[at]) != guardBits {
					require.Failf(t, "mismatch", "k=%d ldc=%d: C[%d][%d] (between rows) was written", k, ldc, i, j)
				}
				continue
			}
			// n·2⁻²³·Σ|terms| with the k products and the old C value.
			scale := abs(c0[at])
			for p := 0; p < k; p++ {
				scale += abs(ap[p*MR+i] * bp[p*NR+j])
			}
			if !near(c[at], want[at], scale, float64(k+2)) {
				require.Failf(t, "mismatch", "k=%d ldc=%d off=%d: C[%d][%d] = %v, want %v", k, ldc, off, i, j, c[at], want[at])
			}
		}
	}
	ab.check(t, "Kernel ap")
	bb.check(t, "Kernel bp")
	cb.check(t, "Kernel c")
}

func TestKernel(t *testing.T) {
	r := newRand(21)
	ks := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 15, 16, 17, 31, 33, 64, 100, 255, 256}
	for _, k := range ks {
		for _, ldc := range []int{NR, NR + 1, 23, 32, 45} {
			kernelCase(t, r, k, ldc, (k+ldc)%8, -1, 1)
		}
	}
	for off := 0; off < 8; off++ {
		kernelCase(t, r, 13, NR+off, off, -2, 2)
	}
	// Large magnitudes of one sign: relative accuracy without cancellation.
	kernelCase(t, r, 50, 20, 3, 1e3, 1e4)
}

// TestKernelExact uses small integers, for which every product and sum is
// exact in float32: the kernels must agree bitwise.
func TestKernelExact(t *testing.T) {
	r := newRand(22)
	for _, k := range []int{1, 4, 5, 37} {
		ap := make([]float32, k*MR)
		bp := make([]float32, k*NR)
		for i := range ap {
			ap[i] = float32(r.IntN(9) - 4)
		}
		for i := range bp {
			bp[i] = float32(r.IntN(9) - 4)
		}
		ldc := NR + 3
		c := make([]float32, (MR-1)*ldc+NR)
		for i := range c {
			c[i] = float32(r.IntN(100))
		}
		want := clone(c)
		kernelGeneric(k, ap, bp, want, ldc)
		Kernel(k, ap, bp, c, ldc)
		require.Equal(t, want, c, "k=%d", k)
	}
}

func TestKernelZeroK(t *testing.T) {
	c := make([]float32, (MR-1)*NR+NR)
	for i := range c {
		c[i] = float32(i)
	}
	want := clone(c)
	Kernel(0, nil, nil, c, NR)
	assert.Equal(t, want, c)
}

func TestKernelPanics(t *testing.T) {
	k := 3
	ap, bp := make([]float32, k*MR), make([]float32, k*NR)
	c := make([]float32, (MR-1)*NR+NR)
	assert.NotPanics(t, func() { Kernel(k, ap, bp, c, NR) })
	assert.Panics(t, func() { Kernel(-1, ap, bp, c, NR) })
	assert.Panics(t, func() { Kernel(k, ap[1:], bp, c, NR) })
	assert.Panics(t, func() { Kernel(k, ap, bp[1:], c, NR) })
	assert.Panics(t, func() { Kernel(k, ap, bp, c[1:], NR) })
	assert.Panics(t, func() { Kernel(k, ap, bp, c, NR-1) })
	assert.Panics(t, func() { Kernel(k, ap, bp, c, NR+1) }) // c too short for this ldc
}

// The packing tests compare with the layouts documented in gemm.go, written
// out directly here, so they check the generic code as well.

func TestPackA(t *testing.T) {
	r := newRand(23)
	for _, trans := range []bool{false, true} {
		for _, mc := range []int{1, 2, 5, 6, 7, 11, 12, 13, 20, 37} {
			for _, kc := range []int{1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33} {
				for _, pad := range []int{0, 3} {
					alpha := float32(1)
					if pad > 0 {
						alpha = -0.375
					}
					packACase(t, r, trans, mc, kc, pad, alpha)
				}
			}
		}
	}
}

func packACase(t *testing.T, r *rand.Rand, trans bool, mc, kc, pad int, alpha float32) {
	t.Helper()
	rows, cols := mc, kc // op(A) is mc×kc; A is stored rows×cols
	if trans {
		rows, cols = kc, mc
	}
	lda := cols + pad
	a := randBuffer(r, (rows-1)*lda+cols, (mc+kc)%8, -4, 4)
	opA := func(i, p int) float32 {
		if trans {
			return a.s()[p*lda+i]
		}
		return a.s()[i*lda+p]
	}
	panels := (mc + MR - 1) / MR
	dst := newBuffer(panels*MR*kc, pad)
	for i := range dst.s() {
		dst.s()[i] = 99 // the padding must be overwritten with zeros
	}
	PackA(dst.s(), a.s(), lda, trans, mc, kc, alpha)
	for q := 0; q < panels; q++ {
		for p := 0; p < kc; p++ {
			for i := 0; i < MR; i++ {
				want := float32(0)
				if q*MR+i < mc {
					want = alpha * opA(q*MR+i, p)
				}
				if got := dst.s()[q*kc*MR+p*MR+i]; got != want {
					require.Failf(t, "mismatch", "PackA trans=%v mc=%d kc=%d lda=%d: panel %d, p=%d, i=%d: %v, want %v", trans, mc, kc, lda, q, p, i, got, want)
				}
			}
		}
	}
	dst.check(t, "PackA dst")
	a.check(t, "PackA a")
}

func TestPackB(t *testing.T) {
	r := newRand(24)
	for _, trans := range []bool{false, true} {
		for _, nc := range []int{1, 2, 7, 8, 15, 16, 17, 31, 40} {
			for _, kc := range []int{1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33} {
				for _, pad := range []int{0, 5} {
					packBCase(t, r, trans, kc, nc, pad)
				}
			}
		}
	}
}

func packBCase(t *testing.T, r *rand.Rand, trans bool, kc, nc, pad int) {
	t.Helper()
	rows, cols := kc, nc // op(B) is kc×nc; B is stored rows×cols
	if trans {
		rows, cols = nc, kc
	}
	ldb := cols + pad
	b := randBuffer(r, (rows-1)*ldb+cols, (nc+kc)%8, -4, 4)
	opB := func(p, j int) float32 {
		if trans {
			return b.s()[j*ldb+p]
		}
		return b.s()[p*ldb+j]
	}
	panels := (nc + NR - 1) / NR
	dst := newBuffer(panels*NR*kc, pad%8)
	for i := range dst.s() {
		dst.s()[i] = 99
	}
	PackB(dst.s(), b.s(), ldb, trans, kc, nc)
	for q := 0; q < panels; q++ {
		for p := 0; p < kc; p++ {
			for j := 0; j < NR; j++ {
				want := float32(0)
				if q*NR+j < nc {
					want = opB(p, q*NR+j)
				}
				if got := dst.s()[q*kc*NR+p*NR+j]; got != want {
					require.Failf(t, "mismatch", "PackB trans=%v kc=%d nc=%d ldb=%d: panel %d, p=%d, j=%d: %v, want %v", trans, kc, nc, ldb, q, p, j, got, want)
				}
			}
		}
	}
	dst.check(t, "PackB dst")
	b.check(t, "PackB b")
}

func TestPackPanics(t *testing.T) {
	a := make([]float32, 64)
	assert.Panics(t, func() { PackA(make([]float32, 5), a, 8, false, 6, 1, 1) })  // dst short
	assert.Panics(t, func() { PackA(make([]float32, 48), a, 7, false, 6, 8, 1) }) // lda < kc
	assert.Panics(t, func() { PackA(make([]float32, 108), a, 8, true, 8, 9, 1) }) // a short
	assert.Panics(t, func() { PackB(make([]float32, 15), a, 16, false, 1, 16) })  // dst short
	assert.Panics(t, func() { PackB(make([]float32, 256), a, 8, true, 16, 1) })   // ldb < kc
	assert.NotPanics(t, func() { PackA(nil, nil, 0, false, 0, 5, 1) })
	assert.NotPanics(t, func() { PackB(nil, nil, 0, true, 5, 0) })
}

// TestKernelPacked runs a small GEMM through PackA, PackB and Kernel with
// the ragged edges padded, and checks it against a float64 triple loop.
func TestKernelPacked(t *testing.T) {
	r := newRand(25)
	const m, n, k = 13, 37, 29
	a := randBuffer(r, m*k, 1, -1, 1).s()
	b := randBuffer(r, k*n, 2, -1, 1).s()
	ap := make([]float32, 3*MR*k)
	bp := make([]float32, 3*NR*k)
	PackA(ap, a, k, false, m, k, 2)
	PackB(bp, b, n, false, k, n)
	ldc := 3 * NR
	c := make([]float32, 3*MR*ldc)
	for qi := 0; qi < 3; qi++ {
		for qj := 0; qj < 3; qj++ {
			Kernel(k, ap[qi*MR*k:], bp[qj*NR*k:], c[qi*MR*ldc+qj*NR:], ldc)
		}
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var want, scale float64
			for p := 0; p < k; p++ {
				want += 2 * float64(a[i*k+p]) * float64(b[p*n+j])
				scale += math.Abs(2 * float64(a[i*k+p]) * float64(b[p*n+j]))
			}
			require.InDelta(t, want, c[i*ldc+j], (k+1)*eps32*scale, "C[%d][%d]", i, j)
		}
	}
}

// kernelNCase runs KernelN (bpanels = 1) or KernelNW (bpanels = 2) with
// panels A panels, and the generic oracle, on the same random panels and a C
// block with row stride ldc, and compares them. As in kernelCase, the C
// buffer has NaN guards around it and between the rows. It also checks that
// the result is bitwise equal to one call of Kernel per pair of panels, as
// documented, and the same for the Set variant on a NaN-filled block.
func kernelNCase(t *testing.T, r *rand.Rand, panels, bpanels, k, ldc, off int, lo, hi float32) {
	t.Helper()
	name, run, set, oracle := "KernelN", KernelN, KernelNSet, kernelNGeneric
	if bpanels == 2 {
		name, run, set, oracle = "KernelNW", KernelNW, KernelNWSet, kernelNWGeneric
	}
	rows, cols := panels*MR, bpanels*NR
	ab := randBuffer(r, panels*k*MR, off, lo, hi)
	bb := randBuffer(r, bpanels*k*NR, (off+5)%8, lo, hi)
	cb := newBuffer((rows-1)*ldc+cols, (off+2)%8)
	ap, bp, c := ab.s(), bb.s(), cb.s()
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			c[i*ldc+j] = lo + (hi-lo)*r.Float32()
		}
	}
	// kernels calls Kernel on each pair of panels of c.
	kernels := func(c []float32) {
		for q := 0; q < panels; q++ {
			for h := 0; h < bpanels; h++ {
				Kernel(k, ap[q*k*MR:], bp[h*k*NR:], c[q*MR*ldc+h*NR:], ldc)
			}
		}
	}
	want := clone(c)
	oracle(panels, k, ap, bp, want, ldc)
	loop := clone(c)
	kernels(loop)
	c0 := clone(c)
	run(panels, k, ap, bp, c, ldc)

	for i := 0; i < rows; i++ {
		q, iq := i/MR, i%MR
		for j := 0; j < ldc && i*ldc+j < len(c); j++ {
			at := i*ldc + j
			if j >= cols {
				if math.Float32bits(c[at]) != guardBits {
					require.Failf(t, "mismatch", "%s panels=%d k=%d ldc=%d: C[%d][%d] (between rows) was written", name, panels, k, ldc, i, j)
				}
				continue
			}
			if math.Float32bits(c[at]) != math.Float32bits(loop[at]) {
				require.Failf(t, "mismatch", "%s panels=%d k=%d ldc=%d off=%d: C[%d][%d] = %v, Kernel gives %v", name, panels, k, ldc, off, i, j, c[at], loop[at])
			}
			h, jh := j/NR, j%NR
			scale := abs(c0[at])
			for p := 0; p < k; p++ {
				scale += abs(ap[q*k*MR+p*MR+iq] * bp[h*k*NR+p*NR+jh])
			}
			if !near(c[at], want[at], scale, float64(k+2)) {
				require.Failf(t, "mismatch", "%s panels=%d k=%d ldc=%d off=%d: C[%d][%d] = %v, want %v", name, panels, k, ldc, off, i, j, c[at], want[at])
			}
		}
	}
	ab.check(t, name+" ap")
	bb.check(t, name+" bp")
	cb.check(t, name+" c")

	// The Set variant: the block starts as NaN, which must not propagate;
	// the result is bitwise that of Kernel on a zeroed block.
	zero := clone(c)
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			zero[i*ldc+j] = 0
			c[i*ldc+j] = float32(math.NaN())
		}
	}
	kernels(zero)
	set(panels, k, ap, bp, c, ldc)
	for at := range c {
		if math.Float32bits(c[at]) != math.Float32bits(zero[at]) {
			require.Failf(t, "mismatch", "%sSet panels=%d k=%d ldc=%d off=%d: c[%d] = %v, want %v", name, panels, k, ldc, off, at, c[at], zero[at])
		}
	}
	cb.check(t, name+"Set c")
}

func TestKernelN(t *testing.T) {
	t.Logf("GemmImpl() = %q", GemmImpl())
	r := newRand(26)
	for _, bpanels := range []int{1, 2} {
		for panels := 1; panels <= 9; panels++ {
			for _, k := range []int{1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33, 256} {
				for _, ldc := range []int{bpanels * NR, bpanels*NR + 1, 37} {
					kernelNCase(t, r, panels, bpanels, k, ldc, (panels+k+ldc)%8, -1, 1)
				}
			}
		}
		for off := 0; off < 8; off++ {
			kernelNCase(t, r, 4, bpanels, 13, bpanels*NR+off, off, -2, 2)
		}
		kernelNCase(t, r, 5, bpanels, 50, 40, 3, 1e3, 1e4)
	}
}

// TestKernelNExact uses small integers, for which every product and sum is
// exact in float32: KernelN and KernelNW must agree bitwise with the
// reference.
func TestKernelNExact(t *testing.T) {
	r := newRand(27)
	for _, bpanels := range []int{1, 2} {
		run, oracle := KernelN, kernelNGeneric
		if bpanels == 2 {
			run, oracle = KernelNW, kernelNWGeneric
		}
		for panels := 1; panels <= 6; panels++ {
			for _, k := range []int{1, 4, 5, 37} {
				ap := make([]float32, panels*k*MR)
				bp := make([]float32, bpanels*k*NR)
				for i := range ap {
					ap[i] = float32(r.IntN(9) - 4)
				}
				for i := range bp {
					bp[i] = float32(r.IntN(9) - 4)
				}
				ldc := bpanels*NR + 3
				c := make([]float32, (panels*MR-1)*ldc+bpanels*NR)
				for i := range c {
					c[i] = float32(r.IntN(100))
				}
				want := clone(c)
				oracle(panels, k, ap, bp, want, ldc)
				run(panels, k, ap, bp, c, ldc)
				require.Equal(t, want, c, "bpanels=%d panels=%d k=%d", bpanels, panels, k)
			}
		}
	}
}

func TestKernelNPanics(t *testing.T) {
	const panels, k = 3, 3
	ap, bp := make([]float32, panels*k*MR), make([]float32, k*NR)
	c := make([]float32, (panels*MR-1)*NR+NR)
	assert.NotPanics(t, func() { KernelN(panels, k, ap, bp, c, NR) })
	assert.NotPanics(t, func() { KernelN(panels, 0, nil, nil, c, NR) })
	assert.Panics(t, func() { KernelN(0, k, ap, bp, c, NR) })
	assert.Panics(t, func() { KernelN(panels, -1, ap, bp, c, NR) })
	assert.Panics(t, func() { KernelN(panels, k, ap[1:], bp, c, NR) })
	assert.Panics(t, func() { KernelN(panels, k, ap, bp[1:], c, NR) })
	assert.Panics(t, func() { KernelN(panels, k, ap, bp, c[1:], NR) })
	assert.Panics(t, func() { KernelN(panels, k, ap, bp, c, NR-1) })
	assert.Panics(t, func() { KernelN(panels, k, ap, bp, c, NR+1) })
	assert.Panics(t, func() { KernelN(panels+1, k, ap, bp, c, NR) })
	assert.Panics(t, func() { KernelNSet(0, k, ap, bp, c, NR) })
	assert.Panics(t, func() { KernelNSet(panels, k, ap[1:], bp, c, NR) })
	assert.Panics(t, func() { KernelNSet(panels, k, ap, bp, c[1:], NR) })
	c[0] = 5
	KernelNSet(panels, 0, nil, nil, c, NR) // k = 0: C = 0
	assert.Equal(t, make([]float32, len(c)), c)
}

func TestKernelNWPanics(t *testing.T) {
	const panels, k, ldc = 3, 3, 2 * NR
	ap, bp := make([]float32, panels*k*MR), make([]float32, 2*k*NR)
	c := make([]float32, (panels*MR-1)*ldc+2*NR)
	assert.NotPanics(t, func() { KernelNW(panels, k, ap, bp, c, ldc) })
	assert.NotPanics(t, func() { KernelNW(panels, 0, nil, nil, c, ldc) })
	assert.Panics(t, func() { KernelNW(0, k, ap, bp, c, ldc) })
	assert.Panics(t, func() { KernelNW(panels, -1, ap, bp, c, ldc) })
	assert.Panics(t, func() { KernelNW(panels, k, ap[1:], bp, c, ldc) })
	assert.Panics(t, func() { KernelNW(panels, k, ap, bp[1:], c, ldc) })
	assert.Panics(t, func() { KernelNW(panels, k, ap, bp, c[1:], ldc) })
	assert.Panics(t, func() { KernelNW(panels, k, ap, bp, c, ldc-1) })
	assert.Panics(t, func() { KernelNW(panels+1, k, ap, bp, c, ldc) })
	assert.Panics(t, func() { KernelNWSet(0, k, ap, bp, c, ldc) })
	assert.Panics(t, func() { KernelNWSet(panels, k, ap, bp[1:], c, ldc) })
	assert.Panics(t, func() { KernelNWSet(panels, k, ap, bp, c[1:], ldc) })
	c[0], c[NR] = 5, 6
	KernelNWSet(panels, 0, nil, nil, c, ldc) // k = 0: C = 0
	assert.Equal(t, make([]float32, len(c)), c)
}
