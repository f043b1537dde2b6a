package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/trm-go/trm/checkpoints"
	"github.com/trm-go/trm/trm/infer"
	"github.com/trm-go/trm/trm/serve"
)

// TestMain lets a test run this binary as trm itself (TRM_TEST_MAIN=1),
// for what needs a process of its own: signals.
func TestMain(m *testing.M) {
	if os.Getenv("TRM_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// TestServeFlags: bad flags are refused with exit code 2 and a message
// naming the flag.
func TestServeFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--max-batch", "0"}, "--max-batch 0, want 1 to"},
		{[]string{"--max-inputs", "10", "--max-queue", "5"}, "--max-inputs 10, want 1 to --max-queue (5)"},
		{[]string{"--timeout", "0s"}, "--timeout 0s, want > 0"},
		{[]string{"--halt", "soon"}, "--halt"},
		{[]string{"--log-format", "xml"}, `--log-format "xml"`},
		{[]string{"--log-level", "loud"}, `--log-level "loud"`},
		{[]string{"--model", "nameonly"}, `--model "nameonly", want NAME=PATH`},
		{[]string{"--model", "x=embedded:chess"}, `no model is shipped for "chess"`},
		{[]string{"--threads", "-1"}, "--threads -1"},
		{[]string{"--max-conns", "-1"}, "--max-conns -1, want ≥ 1"},
		{[]string{"--body-timeout", "0s"}, "--body-timeout 0s, want > 0"},
		{[]string{"--header-timeout", "-1s"}, "--header-timeout -1s, want > 0"},
		{[]string{"--idle-timeout", "0s"}, "--idle-timeout 0s, want > 0"},
		{[]string{"--drain-grace", "1m", "--shutdown-timeout", "30s"}, "--drain-grace 1m0s, want ≥ 0 and less than --shutdown-timeout (30s)"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	} {
		var out, errb bytes.Buffer
		code := run(append([]string{"serve"}, c.args...), &out, &errb)
		assert.Equal(t, exitUsage, code, "%v: %s", c.args, errb.String())
		assert.Contains(t, errb.String(), c.want, "%v", c.args)
	}
}

// TestServeStartFails: a busy port or a bad checkpoint fails start-up at
// once with exit code 1 and a clear message.
func TestServeStartFails(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	var out, errb bytes.Buffer
	code := run([]string{"serve", "--addr", busy.Addr().String(), "--admin-addr", "off"}, &out, &errb)
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errb.String(), "--addr: listen tcp "+busy.Addr().String())
	assert.Contains(t, errb.String(), "address already in use")

	errb.Reset()
	code = run([]string{"serve", "--addr", "127.0.0.1:0", "--admin-addr", busy.Addr().String()}, &out, &errb)
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errb.String(), "--admin-addr: listen tcp")

	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.safetensors")
	require.NoError(t, os.WriteFile(bad, []byte("not a checkpoint"), 0o644))
	for _, path := range []string{bad, filepath.Join(dir, "missing.safetensors")} {
		errb.Reset()
		code = run([]string{"serve", "--addr", "127.0.0.1:0", "--admin-addr", "off", "--model", "m=" + path}, &out, &errb)
		assert.Equal(t, exitFailure, code, errb.String())
		assert.Contains(t, errb.String(), "--model m: ")
		assert.Contains(t, errb.String(), path)
	}
}

// serveProcess starts trm serve in a process of its own and returns it
// with its base URL once it listens.
func serveProcess(t *testing.T, args ...string) (*exec.Cmd, string, *lockedBuffer) {
	t.Helper()
	return serveProcessEnv(t, nil, args...)
}

// serveProcessEnv is serveProcess with more environment variables.
func serveProcessEnv(t *testing.T, env []string, args ...string) (*exec.Cmd, string, *lockedBuffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--addr", "127.0.0.1:0", "--admin-addr", "off"}, args...)...)
	cmd.Env = append(append(os.Environ(), "TRM_TEST_MAIN=1"), env...)
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err, "stderr: %s", stderr.String())
	m := regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(line)
	require.NotNil(t, m, "first line %q", line)
	go io.Copy(io.Discard, stdout)
	return cmd, m[1], stderr
}

// lockedBuffer is a bytes.Buffer safe to read while a process writes it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitInFlight waits until the server reports a request in flight.
func waitInFlight(t *testing.T, url string) {
	t.Helper()
	require.Eventually(t, func() bool {
		resp, err := http.Get(url + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), "\ntrm_inflight_requests 1\n")
	}, 30*time.Second, 10*time.Millisecond, "a request in flight")
}

// TestServeSignals: SIGTERM lets requests in flight finish and exits 0; a
// second signal exits at once with 130.
func TestServeSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("starts trm serve processes (-short)")
	}
	// 9×9 work (all 6 steps of n puzzles, one loop) that is running when
	// the signal comes (waitInFlight): 32 puzzles end well within the
	// drain time even with the generic kernels on a loaded machine; 256
	// are still running when the second signal comes.
	postAsync := func(url string, n int) chan int {
		grids := make([]string, n)
		for i := range grids {
			grids[i] = `"` + strings.Repeat(".", 81) + `"`
		}
		grids[0] = `"4.....8.5.3..........7......2.....6.....8.4......1.......6.3.7.5..2.....1.4......"`
		body := `{"halt": "full", "inputs": [` + strings.Join(grids, ",") + `]}`
		codes := make(chan int, 1)
		go func() {
			resp, err := http.Post(url+"/v1/models/sudoku9/predict", "application/json", strings.NewReader(body))
			if err != nil {
				codes <- -1
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
		return codes
	}

	t.Run("drain", func(t *testing.T) {
		cmd, url, stderr := serveProcess(t, "--model", "sudoku9=embedded:sudoku9", "--loops", "1", "--shutdown-timeout", "5m")
		codes := postAsync(url, 32)
		waitInFlight(t, url)
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		assert.Equal(t, 200, <-codes, "the request in flight is answered")
		require.NoError(t, cmd.Wait(), "exit 0; stderr: %s", stderr.String())
		assert.Contains(t, stderr.String(), "shutting down")
		assert.Contains(t, stderr.String(), "every accepted request was answered")
	})

	t.Run("second signal", func(t *testing.T) {
		cmd, url, stderr := serveProcess(t, "--model", "sudoku9=embedded:sudoku9", "--loops", "1")
		codes := postAsync(url, 256)
		waitInFlight(t, url)
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		time.Sleep(50 * time.Millisecond)
		start := time.Now()
		require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
		err := cmd.Wait()
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "stderr: %s", stderr.String())
		assert.Equal(t, exitInterrupted, ee.ExitCode())
		assert.Less(t, time.Since(start), 2*time.Second, "exits at once")
		assert.Contains(t, stderr.String(), "second signal")
		<-codes
	})
}

// TestLoadtestAgainstServe: trm loadtest against the real server (not a
// fake) with several requests in flight: every answer equals the model's
// answer offline, and the run passes.
func TestLoadtestAgainstServe(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the models (-short)")
	}
	var ms []serve.Model
	for _, name := range []string{"arith", "sudoku6"} {
		data, ok := checkpoints.Lookup(name)
		require.True(t, ok)
		p, err := infer.DecodePredictor(data, "embedded:"+name)
		require.NoError(t, err)
		ms = append(ms, serve.Model{Name: name, Model: p.Model, Task: p.Task})
	}
	srv, err := serve.New(ms, serve.Options{Loops: 2, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	defer srv.Close()
	defer ts.Close()
	code, out, errOut := loadtestRun(context.Background(), "--url", ts.URL, "--models", "arith,sudoku6",
		"--requests", "120", "--concurrency", "16", "--pool", "30", "--json")
	require.Equal(t, exitOK, code, "stderr: %s\nstdout: %s", errOut, out)
	var rep struct {
		Pass        bool
		StatusCodes map[string]int64 `json:"status_codes"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	assert.True(t, rep.Pass)
	assert.Equal(t, map[string]int64{"200": 120}, rep.StatusCodes)
	assert.Contains(t, out, `"wrong":0`)
}
