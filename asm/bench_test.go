package asm

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// Each benchmark has two sub-benchmarks: the dispatched kernel, named after
// Impl() ("avx2+fma", "neon" or "generic"), and the generic reference, so
// one run gives the speed-up on this machine. Measure with -cpu 1:
//
//	go test -run XXX -bench . -cpu 1 ./asm/

// benchImpls runs f under the active implementation's name and under
// "generic" with the reference.
func benchImpls(b *testing.B, fast, generic func(b *testing.B)) {
	b.Run(Impl(), fast)
	b.Run("generic", generic)
}

// rowKernels holds one implementation of the exp-based row ops.
type rowKernels struct {
	exp, silu, siluGrad func(dst, x []float32)
	swiglu              func(dst, gate, up []float32)
	swigluGrad          func(dgate, dup, dy, gate, up []float32)
}

// avx2Bench returns bytesPerOp(bytes, op(rowAVX2)), or nil where there are
// no AVX2 row kernels.
func avx2Bench(bytes int, op func(k *rowKernels)) func(b *testing.B) {
	if rowAVX2 == nil {
		return nil
	}
	return bytesPerOp(bytes, func() { op(rowAVX2) })
}

// benchRowImpls is benchImpls for the exp-based row ops, named after
// RowImpl; where those run AVX-512 kernels it also times the AVX2 ones,
// under "avx2+fma" (avx2, when not nil).
func benchRowImpls(b *testing.B, fast, avx2, generic func(b *testing.B)) {
	b.Run(RowImpl(), fast)
	if avx2 != nil && RowImpl() != Impl() {
		b.Run(Impl(), avx2)
	}
	b.Run("generic", generic)
}

// BenchmarkKernel times one 6×16 micro-kernel call with k = 256: the panels
// (6 KiB of A, 16 KiB of B) and the tile stay in L1. The sub-benchmark is
// named after GemmImpl; GODEBUG=cpu.avx512f=off times the AVX2 kernel.
func BenchmarkKernel(b *testing.B) {
	const k = 256
	r := newRand(31)
	ap := randBuffer(r, k*MR, 0, -1, 1).s()
	bp := randBuffer(r, k*NR, 0, -1, 1).s()
	c := make([]float32, MR*NR)
	run := func(kernel func(k int, ap, bp, c []float32, ldc int)) func(b *testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				kernel(k, ap, bp, c, NR)
			}
			flops := 2 * MR * NR * k * float64(b.N)
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		}
	}
	b.Run(GemmImpl(), run(Kernel)) // the AVX-512 6×16 kernel where there is one
	b.Run("generic", run(kernelGeneric))
}

// BenchmarkKernelN times one KernelN call on 1 to 4 A panels against one B
// panel, and one KernelNW call on 1 and 2 A panels against two B panels
// (bpanels=2, the GEMM's 12×32 tile), with k = 256 (up to 24 KiB of A, 32
// KiB of B), reported per panel count; the sub-benchmarks are named after
// GemmImpl.
func BenchmarkKernelN(b *testing.B) {
	const k = 256
	r := newRand(33)
	for _, tc := range []struct{ panels, bpanels int }{{1, 1}, {2, 1}, {3, 1}, {4, 1}, {1, 2}, {2, 2}} {
		kernel, generic := KernelN, kernelNGeneric
		if tc.bpanels == 2 {
			kernel, generic = KernelNW, kernelNWGeneric
		}
		ap := randBuffer(r, tc.panels*k*MR, 0, -1, 1).s()
		bp := randBuffer(r, tc.bpanels*k*NR, 0, -1, 1).s()
		ldc := tc.bpanels * NR
		c := make([]float32, tc.panels*MR*ldc)
		run := func(kernel func(panels, k int, ap, bp, c []float32, ldc int)) func(b *testing.B) {
			return func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					kernel(tc.panels, k, ap, bp, c, ldc)
				}
				flops := 2 * float64(len(c)*k) * float64(b.N)
				b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			}
		}
		b.Run(fmt.Sprintf("panels=%d/bpanels=%d", tc.panels, tc.bpanels), func(b *testing.B) {
			b.Run(GemmImpl(), run(kernel))
			b.Run("generic", run(generic))
		})
	}
}

// BenchmarkKernelScaling measures what two cores of this machine give over
// one on pure micro-kernel work, with no memory traffic at all: each of two
// goroutines runs the GEMM's 12×32 kernel (KernelNW, 2 A panels) on its own
// L1-resident panels 16,384 times (about 18 ms), against one goroutine doing both shares in
// turn, alternating call by call. It reports the ratio of the median times,
// t2/t1: the ceiling for the two-worker speed-up of tensor.Gemm (which adds
// packing, cache misses and synchronisation).
//
//	go test ./asm -run '^$' -bench KernelScaling -benchtime 200x
func BenchmarkKernelScaling(b *testing.B) {
	const k, calls = 256, 16384
	r := newRand(34)
	type work struct{ ap, bp, c []float32 }
	var w [2]work
	for i := range w {
		w[i] = work{randBuffer(r, 2*k*MR, 0, -1, 1).s(), randBuffer(r, 2*k*NR, 0, -1, 1).s(), make([]float32, 2*MR*2*NR)}
	}
	share := func(w work) {
		for range calls {
			KernelNW(2, k, w.ap, w.bp, w.c, 2*NR)
		}
	}
	var t1, t2 []time.Duration
	for b.Loop() {
		t0 := time.Now()
		share(w[0])
		share(w[1])
		t1 = append(t1, time.Since(t0))

		t0 = time.Now()
		done := make(chan struct{})
		go func() { share(w[1]); close(done) }()
		share(w[0])
		<-done
		t2 = append(t2, time.Since(t0))
	}
	slices.Sort(t1)
	slices.Sort(t2)
	m1, m2 := t1[len(t1)/2], t2[len(t2)/2]
	flops := 2 * 2 * float64(2*MR*2*NR*k*calls)
	b.ReportMetric(flops/m1.Seconds()/1e9, "GFLOP/s-t1")
	b.ReportMetric(flops/m2.Seconds()/1e9, "GFLOP/s-t2")
	b.ReportMetric(float64(m1)/float64(m2), "t2/t1")
}

// BenchmarkPack times packing a 96×256 block of A (an MC×KC block) and a
// 256×256 block of B, both untransposed and transposed.
func BenchmarkPack(b *testing.B) {
	const mc, kc, nc = 96, 256, 256
	r := newRand(32)
	a := randBuffer(r, mc*kc, 0, -1, 1).s()
	bm := randBuffer(r, kc*nc, 0, -1, 1).s()
	dstA := make([]float32, mc*kc)
	dstB := make([]float32, kc*nc)
	for _, trans := range []bool{false, true} {
		name := "N"
		lda, ldb := kc, nc
		if trans {
			name, lda, ldb = "T", mc, kc
		}
		b.Run("A"+name, func(b *testing.B) {
			benchImpls(b,
				bytesPerOp(4*mc*kc*2, func() { PackA(dstA, a, lda, trans, mc, kc, 0.5) }),
				bytesPerOp(4*mc*kc*2, func() { packAGeneric(dstA, a, lda, trans, mc, kc, 0.5) }))
		})
		b.Run("B"+name, func(b *testing.B) {
			benchImpls(b,
				bytesPerOp(4*kc*nc*2, func() { PackB(dstB, bm, ldb, trans, kc, nc) }),
				bytesPerOp(4*kc*nc*2, func() { packBGeneric(dstB, bm, ldb, trans, kc, nc) }))
		})
	}
}

// rowLen is the row length of the row-op benchmarks: 16 KiB per row, so two
// or three rows fit in L1 together.
const rowLen = 4096

// bytesPerOp returns a benchmark that runs op in a loop and reports the
// bytes it reads and writes per second.
func bytesPerOp(bytes int, op func()) func(b *testing.B) {
	return func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			op()
		}
		b.ReportMetric(float64(bytes)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
	}
}

// rows returns n random rows of rowLen values in [lo, hi).
func rows(n int, lo, hi float32) [][]float32 {
	r := newRand(33)
	x := make([][]float32, n)
	for i := range x {
		x[i] = randBuffer(r, rowLen, 0, lo, hi).s()
	}
	return x
}

func BenchmarkDot(b *testing.B) {
	x := rows(2, -1, 1)
	var sink float32
	benchImpls(b,
		bytesPerOp(8*rowLen, func() { sink += Dot(x[0], x[1]) }),
		bytesPerOp(8*rowLen, func() { sink += dotGeneric(x[0], x[1]) }))
	_ = sink
}

func BenchmarkSum(b *testing.B) {
	x := rows(1, -1, 1)
	var sink float32
	benchImpls(b,
		bytesPerOp(4*rowLen, func() { sink += Sum(x[0]) }),
		bytesPerOp(4*rowLen, func() { sink += sumGeneric(x[0]) }))
	_ = sink
}

func BenchmarkMax(b *testing.B) {
	x := rows(1, -1, 1)
	var sink float32
	benchImpls(b,
		bytesPerOp(4*rowLen, func() { sink += Max(x[0]) }),
		bytesPerOp(4*rowLen, func() { sink += maxGeneric(x[0]) }))
	_ = sink
}

func BenchmarkAxpy(b *testing.B) {
	x := rows(2, -1, 1)
	benchImpls(b,
		bytesPerOp(12*rowLen, func() { Axpy(1e-3, x[0], x[1]) }),
		bytesPerOp(12*rowLen, func() { axpyGeneric(1e-3, x[0], x[1]) }))
}

func BenchmarkScale(b *testing.B) {
	x := rows(2, -1, 1)
	benchImpls(b,
		bytesPerOp(8*rowLen, func() { Scale(x[1], 0.5, x[0]) }),
		bytesPerOp(8*rowLen, func() { scaleGeneric(x[1], 0.5, x[0]) }))
}

func BenchmarkAdd(b *testing.B) {
	x := rows(3, -1, 1)
	benchImpls(b,
		bytesPerOp(12*rowLen, func() { Add(x[2], x[0], x[1]) }),
		bytesPerOp(12*rowLen, func() { addGeneric(x[2], x[0], x[1]) }))
}

func BenchmarkMul(b *testing.B) {
	x := rows(3, -1, 1)
	benchImpls(b,
		bytesPerOp(12*rowLen, func() { Mul(x[2], x[0], x[1]) }),
		bytesPerOp(12*rowLen, func() { mulGeneric(x[2], x[0], x[1]) }))
}

func BenchmarkExp(b *testing.B) {
	x := rows(2, -10, 10)
	benchRowImpls(b,
		bytesPerOp(8*rowLen, func() { Exp(x[1], x[0]) }),
		avx2Bench(8*rowLen, func(k *rowKernels) { k.exp(x[1], x[0]) }),
		bytesPerOp(8*rowLen, func() { expGeneric(x[1], x[0]) }))
}

func BenchmarkSiLU(b *testing.B) {
	x := rows(2, -10, 10)
	benchRowImpls(b,
		bytesPerOp(8*rowLen, func() { SiLU(x[1], x[0]) }),
		avx2Bench(8*rowLen, func(k *rowKernels) { k.silu(x[1], x[0]) }),
		bytesPerOp(8*rowLen, func() { siluGeneric(x[1], x[0]) }))
}

func BenchmarkSiLUGrad(b *testing.B) {
	x := rows(2, -10, 10)
	benchRowImpls(b,
		bytesPerOp(8*rowLen, func() { SiLUGrad(x[1], x[0]) }),
		avx2Bench(8*rowLen, func(k *rowKernels) { k.siluGrad(x[1], x[0]) }),
		bytesPerOp(8*rowLen, func() { siluGradGeneric(x[1], x[0]) }))
}

func BenchmarkSwiGLU(b *testing.B) {
	x := rows(3, -10, 10)
	benchRowImpls(b,
		bytesPerOp(12*rowLen, func() { SwiGLU(x[2], x[0], x[1]) }),
		avx2Bench(12*rowLen, func(k *rowKernels) { k.swiglu(x[2], x[0], x[1]) }),
		bytesPerOp(12*rowLen, func() { swigluGeneric(x[2], x[0], x[1]) }))
}

func BenchmarkSwiGLUGrad(b *testing.B) {
	x := rows(5, -10, 10)
	benchRowImpls(b,
		bytesPerOp(20*rowLen, func() { SwiGLUGrad(x[3], x[4], x[0], x[1], x[2]) }),
		avx2Bench(20*rowLen, func(k *rowKernels) { k.swigluGrad(x[3], x[4], x[0], x[1], x[2]) }),
		bytesPerOp(20*rowLen, func() { swigluGradGeneric(x[3], x[4], x[0], x[1], x[2]) }))
}

func BenchmarkRMSNorm(b *testing.B) {
	x := rows(2, -3, 3)
	var sink float32
	benchImpls(b,
		bytesPerOp(8*rowLen, func() { sink += RMSNorm(x[1], x[0], 1e-6) }),
		bytesPerOp(8*rowLen, func() { sink += rmsnormGeneric(x[1], x[0], 1e-6) }))
	_ = sink
}

func BenchmarkSoftmax(b *testing.B) {
	x := rows(2, -10, 10)
	benchImpls(b,
		bytesPerOp(8*rowLen, func() { Softmax(x[1], x[0]) }),
		bytesPerOp(8*rowLen, func() { softmaxGeneric(x[1], x[0]) }))
}

// BenchmarkTranspose times Transpose on the MLP-mixer's matrices (81×64, a
// 9×9 Sudoku's sequence by hidden 64, and back) and on a 512×512 one.
func BenchmarkTranspose(b *testing.B) {
	r := newRand(35)
	for _, s := range [][2]int{{81, 64}, {64, 81}, {512, 512}} {
		rows, cols := s[0], s[1]
		src := randBuffer(r, rows*cols, 0, -1, 1).s()
		dst := make([]float32, rows*cols)
		b.Run(fmt.Sprintf("%dx%d", rows, cols), func(b *testing.B) {
			benchImpls(b,
				bytesPerOp(8*rows*cols, func() { Transpose(dst, rows, src, cols, rows, cols) }),
				bytesPerOp(8*rows*cols, func() { transposeGeneric(dst, rows, src, cols, rows, cols) }))
		})
	}
}

// BenchmarkKernelNarrow times KernelNarrow on 40 A panels (a 240-row block)
// with k = 256 against one B panel of nr = 1 and 4 columns, and, as
// "generic", the fallback through KernelNSet (a 16-wide tile per panel).
// GFLOP/s count the useful products only (240·nr·k multiply-adds).
func BenchmarkKernelNarrow(b *testing.B) {
	const panels, k = 40, 256
	r := newRand(36)
	ap := randBuffer(r, panels*k*MR+8, 0, -1, 1).s()
	bp := randBuffer(r, k*NR, 0, -1, 1).s()
	out := make([]float32, panels*NarrowMax*8)
	for _, nr := range []int{1, 2, 3, 4} {
		run := func(kernel func(panels, k, nr int, ap, bp, out []float32)) func(b *testing.B) {
			return func(b *testing.B) {
				for b.Loop() {
					kernel(panels, k, nr, ap, bp, out)
				}
				b.ReportMetric(2*float64(panels*MR*nr*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			}
		}
		b.Run(fmt.Sprintf("nr=%d", nr), func(b *testing.B) {
			b.Run(Impl(), run(KernelNarrow))
			b.Run("generic", run(kernelNarrowLoop))
		})
	}
}

// BenchmarkAdamATan2 times one optimizer update of 64K parameters (1 MiB of
// w, m, v and g: from L2), reported as ns per element.
func BenchmarkAdamATan2(b *testing.B) {
	const n = 1 << 16
	r := newRand(41)
	w := randBuffer(r, n, 0, -1, 1).s()
	g := randBuffer(r, n, 0, -1e-2, 1e-2).s()
	m := randBuffer(r, n, 0, -1e-3, 1e-3).s()
	v := randBuffer(r, n, 0, 0, 1e-5).s()
	run := func(f func(w, m, v, g []float32, b1, b2, decay float32, stepSize, invBC2 float64)) func(b *testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				f(w, m, v, g, 0.9, 0.95, 1-1e-5, 1e-4, 1.05)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/element")
		}
	}
	benchImpls(b, run(AdamATan2), run(adamATan2Generic))
}
