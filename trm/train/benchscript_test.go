package train_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// TestBenchTorchPinning checks the thread pinning of scripts/bench_trm.py,
// the PyTorch half of scripts/bench_trm.sh: run with one torch thread and
// one OpenBLAS thread, on every CPU of the machine (no taskset), the timed
// runs must not use a second core: their CPU time (user + system) is at
// most 1.15 times their wall time. Unpinned, torch's OpenMP pool and
// OpenBLAS's pthreads each start one thread per core and a training step's
// products and element-wise ops spread over them (cpu_per_wall near the
// core count). It needs Debian's python3-torch with OpenBLAS
// (libopenblas0-pthread) and at least two CPUs, and skips, saying which,
// without them (CI has no Python); about twenty seconds at hidden 128.
func TestBenchTorchPinning(t *testing.T) {
	if testing.Short() {
		t.Skip("runs PyTorch: skipped under -short")
	}
	if runtime.NumCPU() < 2 {
		t.Skip("one CPU: a second core cannot be used")
	}
	python := "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import torch").Run(); err != nil {
		t.Skipf("%s cannot import torch (apt-get install python3-torch): %v", python, err)
	}
	blasdir := "/usr/lib/x86_64-linux-gnu/openblas-pthread"
	if runtime.GOARCH == "arm64" {
		blasdir = "/usr/lib/aarch64-linux-gnu/openblas-pthread"
	}
	if _, err := os.Stat(filepath.Join(blasdir, "libblas.so.3")); err != nil {
		t.Skipf("no OpenBLAS (apt-get install libopenblas0-pthread): %v", err)
	}
	script := filepath.Join("..", "..", "scripts", "bench_trm.py")
	for _, mode := range []string{"train", "infer"} {
		cmd := exec.Command(python, script, "--variant", "mlp", "--mode", mode, "--batch", "4",
			"--hidden", "128", "--warmup", "1", "--repeat", "5", "--torch-threads", "1", "--blas-threads", "1")
		// As scripts/bench_trm.sh runs it, less the taskset: OpenBLAS first on
		// the library path, and no thread settings inherited from outside.
		cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+blasdir, "OMP_NUM_THREADS=", "OPENBLAS_NUM_THREADS=", "MKL_NUM_THREADS=")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s --mode %s: %v\n%s", script, mode, err, stderr.Bytes())
		}
		var got struct {
			TorchThreads int     `json:"torch_threads"`
			BlasThreads  int     `json:"blas_threads"`
			CPUPerWall   float64 `json:"cpu_per_wall"`
			CPU          float64 `json:"cpu_s"`
			Blas         string  `json:"blas"`
		}
		lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
		if err := json.Unmarshal(lines[len(lines)-1], &got); err != nil {
			t.Fatalf("%s --mode %s: last line %q: %v", script, mode, lines[len(lines)-1], err)
		}
		t.Logf("%s: torch threads %d, OpenBLAS threads %d (%s): CPU %.3f s, CPU/wall %.2f",
			mode, got.TorchThreads, got.BlasThreads, got.Blas, got.CPU, got.CPUPerWall)
		if got.TorchThreads != 1 || got.BlasThreads != 1 {
			t.Errorf("%s: torch threads %d, OpenBLAS threads %d; want 1 and 1", mode, got.TorchThreads, got.BlasThreads)
		}
		if got.CPUPerWall > 1.15 {
			t.Errorf("%s: CPU time %.2f× the wall time with one thread in each pool: a second core was used", mode, got.CPUPerWall)
		}
	}
}
