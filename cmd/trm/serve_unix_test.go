//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package main

import (
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/internal/trmtest"
)

// init lowers this process's limit on open files to TRM_TEST_NOFILE, in
// the trm serve processes the tests start (never in the test process).
func init() {
	v := os.Getenv("TRM_TEST_NOFILE")
	if v == "" || os.Getenv("TRM_TEST_MAIN") != "1" {
		return
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		panic("TRM_TEST_NOFILE: " + err.Error())
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: n, Max: n}); err != nil {
		panic("TRM_TEST_NOFILE: " + err.Error())
	}
}

// TestServeSlowClients: a trm serve allowed 256 open files keeps serving
// real requests while 1,000 clients trickle request bodies at it: the
// default --max-conns (half the limit) keeps descriptors free, and
// --body-timeout cuts the slow clients off, so no accept fails with "too
// many open files". Loopback only; every client stops by itself.
func TestServeSlowClients(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a trm serve process and 1,000 connections (-short)")
	}
	const slow, real = 1000, 8
	cmd, url, stderr := serveProcessEnv(t, []string{"TRM_TEST_NOFILE=256"},
		"--model", "arith=embedded:arith", "--body-timeout", "100ms")
	addr := strings.TrimPrefix(url, "http://")

	var (
		dialed, done sync.WaitGroup
		cut          atomic.Int64
	)
	for range slow {
		dialed.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			c, err := net.DialTimeout("tcp", addr, 30*time.Second)
			dialed.Done()
			if err != nil {
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(60 * time.Second))
			io.WriteString(c, "POST /v1/models/arith/predict HTTP/1.1\r\nHost: trm\r\nContent-Length: 100\r\n\r\n{")
			ended := make(chan bool, 1)
			go func() {
				_, err := io.ReadAll(c)
				var ne net.Error
				ended <- !(errors.As(err, &ne) && ne.Timeout())
			}()
			for {
				select {
				case byServer := <-ended:
					if byServer {
						cut.Add(1)
					}
					return
				case <-time.After(200 * time.Millisecond):
					c.Write([]byte(" "))
				}
			}
		}()
	}
	dialed.Wait()
	trmtest.PostSums(t, url, real, 1, "a real request")
	done.Wait()
	assert.Equal(t, int64(slow), cut.Load(), "every slow client was cut off by the server")
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait(), "stderr: %s", stderr.String())
	assert.Contains(t, stderr.String(), "max_conns=128", "the default cap: half the limit")
	assert.NotContains(t, stderr.String(), "too many open files")
}
