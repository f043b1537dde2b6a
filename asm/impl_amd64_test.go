//go:build amd64 && gc && !purego

package asm

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/cpu"
)

// wantImpl is the implementation the CPU features (as x/sys/cpu reports
// them, after GODEBUG) call for.
func wantImpl() string {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		return "avx2+fma"
	}
	return "generic"
}

// TestRowAVX512MatchesAVX2 checks that the AVX-512 row ops give bitwise the
// results of the AVX2 ones, on every length up to maxLen (so every tail
// mask of both) and on values that cover the range fixes of exp: NaN, the
// infinities, the over- and underflow ends, subnormals.
func TestRowAVX512MatchesAVX2(t *testing.T) {
	if !useAVX512Row {
		t.Skip("no AVX-512 row kernels on this CPU (or GODEBUG turned them off)")
	}
	r := newRand(41)
	special := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 88.7, 88.8, -87.3, -87.4, 100, -100, 1e-40, -1e-40,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	input := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			if r.IntN(4) == 0 {
				x[i] = special[r.IntN(len(special))]
			} else {
				x[i] = 40 * (2*r.Float32() - 1)
			}
		}
		return x
	}
	same := func(name string, n int, got, want []float32) {
		t.Helper()
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				require.Failf(t, "mismatch", "%s n=%d: [%d] = %v (%#x), AVX2 gives %v (%#x)", name, n, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
			}
		}
	}
	unary := []struct {
		name      string
		avx512, b func(dst, x []float32)
	}{{"exp", expAVX512, expAVX2}, {"silu", siluAVX512, siluAVX2}, {"siluGrad", siluGradAVX512, siluGradAVX2}}
	for n := 0; n <= maxLen; n++ {
		x, up, dy := input(n), input(n), input(n)
		for _, f := range unary {
			got, want := make([]float32, n), make([]float32, n)
			f.avx512(got, x)
			f.b(want, x)
			same(f.name, n, got, want)
		}
		got, want := make([]float32, n), make([]float32, n)
		swigluAVX512(got, x, up)
		swigluAVX2(want, x, up)
		same("swiglu", n, got, want)
		g1, g2, w1, w2 := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
		swigluGradAVX512(g1, g2, dy, x, up)
		swigluGradAVX2(w1, w2, dy, x, up)
		same("swigluGrad dgate", n, g1, w1)
		same("swigluGrad dup", n, g2, w2)
	}
}

// rowAVX2 gives the benchmarks the AVX2 row kernels, to time them beside the
// AVX-512 ones (the dispatched functions run only the widest).
var rowAVX2 = &rowKernels{
	exp: expAVX2, silu: siluAVX2, siluGrad: siluGradAVX2,
	swiglu: swigluAVX2, swigluGrad: swigluGradAVX2,
}
