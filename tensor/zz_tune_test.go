package tensor

import (
	"fmt"
	"github.com/trm-go/trm/asm"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

func zzThreadCPU() time.Duration {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 3, uintptr(unsafe.Pointer(&ts)), 0)
	return time.Duration(ts.Nano())
}

// ZZTUNE="NN:97x512x3072,NN:5184x512x1536" ZZCFG="256/144/3072,..."
func TestZZTune(t *testing.T) {
	shapes := os.Getenv("ZZTUNE")
	if shapes == "" {
		t.Skip()
	}
	cfgs := strings.Split(os.Getenv("ZZCFG"), ",")
	reps, _ := strconv.Atoi(os.Getenv("ZZREPS"))
	if reps == 0 {
		reps = 5
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	SetWorkers(1)
	for _, sh := range strings.Split(shapes, ",") {
		var tr string
		var m, k, n int
		fmt.Sscanf(strings.Replace(sh, ":", " ", 1), "%s %dx%dx%d", &tr, &m, &k, &n)
		transA, transB := tr[0] == 'T', tr[1] == 'T'
		rng := rand.New(rand.NewPCG(1, 1))
		lda, ldb := k, n
		if transA {
			lda = m
		}
		if transB {
			ldb = k
		}
		a := gemmRandMatrix(rng, m, k, k)
		b := gemmRandMatrix(rng, k, n, n)
		c := make([]float32, m*n)
		samples := make([][]time.Duration, len(cfgs))
		for range reps {
			for i, cfg := range cfgs {
				var lz int
				fmt.Sscanf(cfg, "%d/%d/%d/%d", &gemmKC, &gemmMC, &gemmNC, &lz)
				Gemm(transA, transB, m, n, k, 1, a, lda, b, ldb, zzBeta, c, n)
				for range 3 {
					t0 := zzThreadCPU()
					Gemm(transA, transB, m, n, k, 1, a, lda, b, ldb, zzBeta, c, n)
					samples[i] = append(samples[i], zzThreadCPU()-t0)
				}
			}
		}
		fl := 2 * float64(m) * float64(n) * float64(k)
		for i, cfg := range cfgs {
			slices.Sort(samples[i])
			fmt.Printf("%s %dx%dx%d cfg %s: cpu best %.1f median %.1f GFLOP/s\n", tr, m, k, n, cfg, fl/samples[i][0].Seconds()/1e9, fl/samples[i][len(samples[i])/2].Seconds()/1e9)
		}
	}
}

func TestZZKernel(t *testing.T) {
	if os.Getenv("ZZK") == "" {
		t.Skip()
	}
	runtime.LockOSThread()
	for _, kc := range []int{64, 128, 192, 256, 384, 512} {
		ap := make([]float32, kc*6)
		bp := make([]float32, kc*16)
		c := make([]float32, 6*16)
		best := time.Hour
		for range 20 {
			t0 := zzThreadCPU()
			for range 200 {
				asmKernelForTune(kc, ap, bp, c, 16)
			}
			best = min(best, zzThreadCPU()-t0)
		}
		fmt.Printf("kernel kc=%d: %.1f GFLOP/s\n", kc, 200*2*6*16*float64(kc)/best.Seconds()/1e9)
	}
}

var asmKernelForTune = asm.Kernel

var zzBeta = func() float32 { v, _ := strconv.ParseFloat(os.Getenv("ZZBETA"), 32); return float32(v) }()

func TestZZScale(t *testing.T) {
	shapes := os.Getenv("ZZSCALE")
	if shapes == "" {
		t.Skip()
	}
	reps, _ := strconv.Atoi(os.Getenv("ZZREPS"))
	for _, sh := range strings.Split(shapes, ",") {
		var tr string
		var m, k, n int
		fmt.Sscanf(strings.Replace(sh, ":", " ", 1), "%s %dx%dx%d", &tr, &m, &k, &n)
		transA, transB := tr[0] == 'T', tr[1] == 'T'
		rng := rand.New(rand.NewPCG(1, 1))
		lda, ldb := k, n
		if transA {
			lda = m
		}
		if transB {
			ldb = k
		}
		a := gemmRandMatrix(rng, m, k, k)
		b := gemmRandMatrix(rng, k, n, n)
		c := make([]float32, m*n)
		best := [3]time.Duration{time.Hour, time.Hour, time.Hour}
		for range reps {
			for w := 1; w <= 2; w++ {
				SetWorkers(w)
				Gemm(transA, transB, m, n, k, 1, a, lda, b, ldb, 0, c, n)
				for range 3 {
					t0 := time.Now()
					Gemm(transA, transB, m, n, k, 1, a, lda, b, ldb, 0, c, n)
					best[w] = min(best[w], time.Since(t0))
				}
			}
		}
		fl := 2 * float64(m) * float64(n) * float64(k)
		fmt.Printf("%s %dx%dx%d: t1 %.1f t2 %.1f GFLOP/s (best wall) ratio %.2f\n", tr, m, k, n, fl/best[1].Seconds()/1e9, fl/best[2].Seconds()/1e9, float64(best[1])/float64(best[2]))
	}
}

func TestZZPar(t *testing.T) {
	if os.Getenv("ZZPAR") == "" {
		t.Skip()
	}
	rng := rand.New(rand.NewPCG(1, 1))
	m, k, n := 5184, 512, 1536
	a := gemmRandMatrix(rng, m, k, k)
	b := gemmRandMatrix(rng, k, n, n)
	c := make([]float32, m*n)
	proc := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(0, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	for _, w := range []int{1, 2, 1, 2} {
		SetWorkers(w)
		Gemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
		t0, p0 := time.Now(), proc()
		for range 5 {
			Gemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
		}
		fmt.Printf("w=%d wall %v proc cpu %v grid %v\n", w, time.Since(t0)/5, (proc()-p0)/5, fmt.Sprint(gemmGrid(m, n, k, w)))
	}
}

type zzTimed struct {
	g          *gemmCall
	start, end [2]time.Time
}

func (z *zzTimed) runPart(i int) {
	z.start[i] = time.Now()
	z.g.runPart(i)
	z.end[i] = time.Now()
}

func TestZZOverlap(t *testing.T) {
	if os.Getenv("ZZPAR") == "" {
		t.Skip()
	}
	rng := rand.New(rand.NewPCG(1, 1))
	m, k, n := 5184, 512, 1536
	a := gemmRandMatrix(rng, m, k, k)
	b := gemmRandMatrix(rng, k, n, n)
	c := make([]float32, m*n)
	g := &gemmCall{m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: n, c: c, ldc: n, tm: 2, tn: 1}
	var task parTask
	for range 8 {
		z := &zzTimed{g: g}
		t0 := time.Now()
		task.run(z, 2, 1)
		fmt.Printf("total %v part0 [%v, %v] part1 [%v, %v]\n", time.Since(t0).Round(time.Millisecond),
			z.start[0].Sub(t0).Round(time.Millisecond), z.end[0].Sub(t0).Round(time.Millisecond),
			z.start[1].Sub(t0).Round(time.Millisecond), z.end[1].Sub(t0).Round(time.Millisecond))
	}
}
