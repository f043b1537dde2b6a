package asm

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// Differential fuzz targets: the dispatched kernels against the generic
// references on inputs built from the fuzzer's bytes. `go test` runs the
// seed corpus; `go test -fuzz FuzzKernel ./asm/` (one target at a time)
// explores further.

// boundedFloats turns each 2 bytes of data into a value in [-4, 4) with
// 2⁻¹³ resolution: finite inputs for the kernels whose results depend on
// the order of a sum.
func boundedFloats(data []byte) []float32 {
	x := make([]float32, len(data)/2)
	for i := range x {
		x[i] = float32(int16(binary.LittleEndian.Uint16(data[2*i:]))) / (1 << 13)
	}
	return x
}

// rawFloats turns each 4 bytes of data into the float32 with those bits:
// NaNs, infinities, subnormals and extremes included.
func rawFloats(data []byte) []float32 {
	x := make([]float32, len(data)/4)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	return x
}

// floatBytes is the inverse of rawFloats, for seeds.
func floatBytes(x ...float32) []byte {
	b := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

func seedBytes(n int, seed uint64) []byte {
	r := newRand(seed)
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func FuzzKernel(f *testing.F) {
	f.Add(uint8(1), uint8(0), seedBytes(64, 1))
	f.Add(uint8(4), uint8(3), seedBytes(300, 2))
	f.Add(uint8(37), uint8(16), seedBytes(1000, 3))
	f.Add(uint8(255), uint8(1), seedBytes(10, 4))
	f.Fuzz(func(t *testing.T, kb, extra uint8, data []byte) {
		vals := boundedFloats(data)
		if len(vals) == 0 {
			vals = []float32{1}
		}
		k, ldc := int(kb)%80, NR+int(extra)%24
		at := 0
		next := func() float32 { at++; return vals[at%len(vals)] * float32(1+at%3) }
		ap, bp := make([]float32, k*MR), make([]float32, k*NR)
		c := make([]float32, (MR-1)*ldc+NR)
		for _, s := range [][]float32{ap, bp, c} {
			for i := range s {
				s[i] = next()
			}
		}
		want := clone(c)
		if k > 0 {
			kernelGeneric(k, ap, bp, want, ldc)
		}
		c0 := clone(c)
		Kernel(k, ap, bp, c, ldc)
		for i := 0; i < MR; i++ {
			for j := 0; j < ldc && i*ldc+j < len(c); j++ {
				at := i*ldc + j
				if j >= NR {
					if c[at] != c0[at] {
						require.Failf(t, "mismatch", "C[%d][%d] between rows changed", i, j)
					}
					continue
				}
				scale := abs(c0[at])
				for p := 0; p < k; p++ {
					scale += abs(ap[p*MR+i] * bp[p*NR+j])
				}
				if !near(c[at], want[at], scale, float64(k+2)) {
					require.Failf(t, "mismatch", "k=%d ldc=%d C[%d][%d] = %v, want %v", k, ldc, i, j, c[at], want[at])
				}
			}
		}
	})
}

func FuzzVecOps(f *testing.F) {
	f.Add(float32(1), seedBytes(4, 5))
	f.Add(float32(-0.5), seedBytes(68, 6))
	f.Add(float32(3), seedBytes(1030, 7))
	f.Add(float32(0), []byte{})
	f.Fuzz(func(t *testing.T, alpha float32, data []byte) {
		if alpha != alpha || math.IsInf(float64(alpha), 0) || math.Abs(float64(alpha)) > 1e6 {
			alpha = 1
		}
		v := boundedFloats(data)
		n := len(v) / 2
		x, y := v[:n:n], v[n:2*n]
		var sx, sxy float64
		for i := range x {
			sx += abs(x[i])
			sxy += abs(x[i] * y[i])
		}
		tol := float64(max(n, 1))
		got, want := Dot(x, y), dotGeneric(x, y)
		require.True(t, near(got, want, sxy, tol), "Dot n=%d: %v, want %v", n, got, want)
		got, want = Sum(x), sumGeneric(x)
		require.True(t, near(got, want, sx, tol), "Sum n=%d: %v, want %v", n, got, want)
		require.Equal(t, maxGeneric(x), Max(x), "Max n=%d", n)

		gotv, wantv := clone(y), clone(y)
		Axpy(alpha, x, gotv)
		axpyGeneric(alpha, x, wantv)
		for i := range wantv {
			if !near(gotv[i], wantv[i], abs(alpha*x[i])+abs(y[i]), 2) {
				require.Failf(t, "mismatch", "Axpy [%d]: %v, want %v", i, gotv[i], wantv[i])
			}
		}
		Scale(gotv, alpha, x)
		scaleGeneric(wantv, alpha, x)
		require.Equal(t, wantv, gotv, "Scale")
		Add(gotv, x, y)
		addGeneric(wantv, x, y)
		require.Equal(t, wantv, gotv, "Add")
		Mul(gotv, x, y)
		mulGeneric(wantv, x, y)
		require.Equal(t, wantv, gotv, "Mul")
	})
}

func FuzzRowOps(f *testing.F) {
	inf := float32(math.Inf(1))
	f.Add(floatBytes(0, 1, -1, 2, -2, 0.5, 88.5, -88.5, 100, -100, inf, -inf, float32(math.NaN()), 1e-40, 87, -87, expHi, expLo))
	f.Add(seedBytes(4*40, 8))
	f.Add(seedBytes(4*9, 9))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		raw := rawFloats(data)
		n := len(raw) / 3
		x, up, dy := raw[:n:n], raw[n:2*n:2*n], raw[2*n:3*n]
		got := [2][]float32{make([]float32, n), make([]float32, n)}
		want := [2][]float32{make([]float32, n), make([]float32, n)}
		check := func(name string, o int, scale func(i int) float64, tol float64) {
			for i := 0; i < n; i++ {
				if !near(got[o][i], want[o][i], scale(i), tol) {
					require.Failf(t, "mismatch", "%s(%v) output %d: %v, want %v", name, x[i], o, got[o][i], want[o][i])
				}
			}
		}
		Exp(got[0], x)
		expGeneric(want[0], x)
		check("Exp", 0, func(i int) float64 { return abs(want[0][i]) }, 2)
		SiLU(got[0], x)
		siluGeneric(want[0], x)
		check("SiLU", 0, func(i int) float64 { return abs(x[i]) }, 4)
		SiLUGrad(got[0], x)
		siluGradGeneric(want[0], x)
		check("SiLUGrad", 0, func(i int) float64 { return 1 + abs(x[i]) }, 4)
		SwiGLU(got[0], x, up)
		swigluGeneric(want[0], x, up)
		check("SwiGLU", 0, func(i int) float64 { return abs(x[i]) * abs(up[i]) }, 4)
		SwiGLUGrad(got[0], got[1], dy, x, up)
		swigluGradGeneric(want[0], want[1], dy, x, up)
		check("SwiGLUGrad", 0, func(i int) float64 { return abs(dy[i]) * abs(up[i]) * (1 + abs(x[i])) }, 4)
		check("SwiGLUGrad", 1, func(i int) float64 { return abs(dy[i]) * abs(x[i]) }, 4)

		// The row reductions on finite values.
		b := boundedFloats(data)
		if len(b) == 0 {
			return
		}
		gr, wr := make([]float32, len(b)), make([]float32, len(b))
		tol := float64(len(b)) + 4
		r, rw := RMSNorm(gr, b, 1e-5), rmsnormGeneric(wr, b, 1e-5)
		require.True(t, near(r, rw, float64(rw), tol), "RMSNorm: r = %v, want %v", r, rw)
		for i := range wr {
			if !near(gr[i], wr[i], abs(wr[i]), tol) {
				require.Failf(t, "mismatch", "RMSNorm [%d]: %v, want %v", i, gr[i], wr[i])
			}
		}
		Softmax(gr, b)
		softmaxGeneric(wr, b)
		for i := range wr {
			if !near(gr[i], wr[i], abs(wr[i]), tol) {
				require.Failf(t, "mismatch", "Softmax [%d]: %v, want %v", i, gr[i], wr[i])
			}
		}
	})
}
