package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/internal/trmtest"
)

// serveOn runs srv.Serve on a loopback listener until the test ends (or
// stop is called) and returns the listener's address and stop, which
// ends Serve and returns its error.
func serveOn(t *testing.T, srv *Server, drain time.Duration) (addr string, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln, drain) }()
	var once sync.Once
	var serr error
	stop = func() error {
		once.Do(func() {
			cancel()
			serr = <-served
		})
		return serr
	}
	t.Cleanup(func() { stop() })
	return ln.Addr().String(), stop
}

// slowBodies sends slow clients at a server with opts (MaxConns at most
// 32): each sends a header announcing a 100-byte body, then a byte every
// 200 ms, until the server answers or closes the connection, or 60 s
// pass. Once all are connected, real requests queued behind them must all
// be answered, every slow client but at most mayRemain must be cut off by
// the server, and no more than MaxConns connections may be open at once.
// Loopback only.
func slowBodies(t *testing.T, opts Options, slow, mayRemain int) *Server {
	const real = 8
	p := shipped(t, "arith")
	opts.Logger, opts.Timeout = quiet(), 10*time.Minute
	srv, err := New([]Model{{Name: "arith", Model: p.Model, Task: p.Task}}, opts)
	require.NoError(t, err)
	addr, stop := serveOn(t, srv, time.Minute)

	var (
		dialed, done sync.WaitGroup
		dialErrs     atomic.Int64
		cut, got408  atomic.Int64 // the server ended the connection; with a 408
		quit         = make(chan struct{})
	)
	for range slow {
		dialed.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			c, err := net.DialTimeout("tcp", addr, 30*time.Second)
			dialed.Done()
			if err != nil {
				dialErrs.Add(1)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(60 * time.Second))
			if _, err := io.WriteString(c, "POST /v1/models/arith/predict HTTP/1.1\r\nHost: trm\r\n"+
				"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"); err != nil {
				return
			}
			ended := make(chan string, 1)
			go func() {
				b, err := io.ReadAll(c)
				if isTimeout(err) {
					ended <- "" // our own deadline: not cut by the server
					return
				}
				ended <- string(b) + "\x00"
			}()
			tick := time.NewTicker(200 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case resp := <-ended:
					if resp != "" {
						cut.Add(1)
						if strings.HasPrefix(resp, "HTTP/1.1 408 ") {
							got408.Add(1)
						}
					}
					return
				case <-tick.C:
					c.Write([]byte(" ")) // an error shows in the read
				case <-quit:
					return
				}
			}
		}()
	}
	dialed.Wait()

	trmtest.PostSums(t, "http://"+addr, real, 7, "a real request behind the slow clients")
	// The slow clients are cut off by the server: wait for them (30 s at
	// most), then stop any left.
	for end := time.Now().Add(30 * time.Second); cut.Load() < int64(slow-mayRemain) && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
	close(quit)
	done.Wait()
	assert.Zero(t, dialErrs.Load(), "every slow client connected (the accept queue holds them)")
	assert.GreaterOrEqual(t, cut.Load(), int64(slow-mayRemain), "slow clients cut off by the server")
	peak := srv.conns.Load().peakConns()
	assert.LessOrEqual(t, peak, opts.MaxConns, "connections open at once")
	assert.Positive(t, peak, "connections open at once")
	require.NoError(t, stop())
	t.Logf("peak connections %d (cap %d); %d of %d slow clients cut, %d of them read a 408", peak, opts.MaxConns, cut.Load(), slow, got408.Load())
	return srv
}

// slowCount is the number of slow clients: 1,000, or 200 with -short.
func slowCount() int {
	if testing.Short() {
		return 200
	}
	return 1000
}

// TestSlowBodies: 1,000 clients that trickle their bodies hold no
// connection past the body timeout; never more than MaxConns connections
// are open, and real requests queued behind them are all answered.
func TestSlowBodies(t *testing.T) {
	srv := slowBodies(t, Options{MaxConns: 32, BodyTimeout: 100 * time.Millisecond}, slowCount(), 0)
	m := scrape(t, srv)
	assert.Contains(t, m, "\ntrm_max_connections 32\n")
	assert.Contains(t, m, "\ntrm_evicted_connections_total 0\n", "the body timeout cut them, before any eviction")
}

// TestSlowBodiesEvicted: with a body timeout far longer than the test,
// slow clients are still cut off while every connection is taken: those
// that have been sending their request for longer than evictAfter are
// closed to make room, and real requests get through. Those left once the
// pressure is over (at most MaxConns) keep their connections.
func TestSlowBodiesEvicted(t *testing.T) {
	prev := evictAfter
	evictAfter = 100 * time.Millisecond
	t.Cleanup(func() { evictAfter = prev })
	srv := slowBodies(t, Options{MaxConns: 32, BodyTimeout: 10 * time.Minute}, slowCount(), 32)
	assert.NotContains(t, scrape(t, srv), "\ntrm_evicted_connections_total 0\n")
}

// scrape returns the server's metrics in the Prometheus text format.
func scrape(t *testing.T, srv *Server) string {
	t.Helper()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestDrainKeepAlive: clients sending POSTs back to back on kept-alive
// connections while the server drains lose none: every request sent is
// answered 200, and a client stops only when a new connection is refused
// (the listener closed; nothing was sent). 20 runs.
func TestDrainKeepAlive(t *testing.T) {
	runs := 20
	if testing.Short() {
		runs = 3
	}
	const clients, warm = 32, 64 // drain once each client has sent about two
	p := shipped(t, "arith")
	var answered, refused, reusedAnswered int64
	for run := range runs {
		srv, err := New([]Model{{Name: "arith", Model: p.Model, Task: p.Task}},
			Options{Logger: quiet(), DrainGrace: 50 * time.Millisecond, Timeout: 10 * time.Minute})
		require.NoError(t, err)
		addr, stop := serveOn(t, srv, time.Minute)
		tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxIdleConns: clients}
		client := &http.Client{Transport: tr, Timeout: 2 * time.Minute}

		var (
			ok, reusedOK, dialRefused atomic.Int64
			mu                        sync.Mutex
			lost                      []string
			wg                        sync.WaitGroup
			draining                  = make(chan struct{})
			drainOnce                 sync.Once
		)
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 100000 { // bounded; a refused dial ends it long before
					var reused bool
					trace := &httptrace.ClientTrace{GotConn: func(ci httptrace.GotConnInfo) { reused = ci.Reused }}
					a, b := c, i%1000
					req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodPost,
						"http://"+addr+"/v1/models/arith/predict", strings.NewReader(fmt.Sprintf(`{"inputs": ["%d + %d"]}`, a, b)))
					if err != nil {
						t.Error(err)
						return
					}
					resp, err := client.Do(req)
					if err != nil {
						var op *net.OpError
						if errors.As(err, &op) && op.Op == "dial" {
							dialRefused.Add(1) // the listener is closed: nothing was sent
							return
						}
						mu.Lock()
						lost = append(lost, fmt.Sprintf("run %d client %d request %d (kept-alive connection: %v): %v", run, c, i, reused, err))
						mu.Unlock()
						return
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 || !strings.Contains(string(body), fmt.Sprintf(`"answer":"%d"`, a+b)) {
						mu.Lock()
						lost = append(lost, fmt.Sprintf("run %d client %d request %d: status %d: %s", run, c, i, resp.StatusCode, body))
						mu.Unlock()
						return
					}
					if reused {
						reusedOK.Add(1)
					}
					if ok.Add(1) == warm {
						drainOnce.Do(func() { close(draining) })
					}
				}
			}()
		}
		<-draining
		serr := make(chan error, 1)
		go func() { serr <- stop() }()
		wg.Wait()
		require.NoError(t, <-serr, "run %d", run)
		tr.CloseIdleConnections()
		require.Empty(t, lost, "run %d: requests lost in the drain", run)
		require.Positive(t, reusedOK.Load(), "run %d: requests went on kept-alive connections", run)
		answered += ok.Load()
		reusedAnswered += reusedOK.Load()
		refused += dialRefused.Load()
	}
	t.Logf("%d runs: %d requests answered (%d on kept-alive connections), 0 lost; %d clients stopped by a refused dial", runs, answered, reusedAnswered, refused)
}

// TestBodyTimeoutSparesAnswer: the body deadline ends with the body. An
// answer that takes far longer than the body timeout is still sent: a
// read deadline left on the connection would end net/http's watch for a
// client going away, which cancels the request.
func TestBodyTimeoutSparesAnswer(t *testing.T) {
	started, release := holdLoops(t)
	_, ts := newTestServer(t, Options{BodyTimeout: 20 * time.Millisecond, Loops: 1}, "arith")
	codes := make(chan int, 1)
	go func() {
		code, _, body := post(t, ts.URL+"/v1/models/arith/predict", `{"inputs": ["3 + 7"]}`)
		if code == 200 {
			assert.Contains(t, string(body), `"answer":"10"`)
		}
		codes <- code
	}()
	<-started
	time.Sleep(200 * time.Millisecond) // ten body timeouts
	close(release)
	assert.Equal(t, 200, <-codes)
}

// TestBodyTimeout: a body that stops arriving gets 408 with a JSON error
// and "Connection: close", in either API.
func TestBodyTimeout(t *testing.T) {
	_, ts := newTestServer(t, Options{BodyTimeout: 50 * time.Millisecond}, "arith")
	for _, path := range []string{"/v1/models/arith/predict", "/v2/models/arith/infer", "/v1/models"} {
		c, err := net.Dial("tcp", ts.Listener.Addr().String())
		require.NoError(t, err)
		c.SetDeadline(time.Now().Add(30 * time.Second))
		_, err = io.WriteString(c, "POST "+path+" HTTP/1.1\r\nHost: trm\r\nContent-Length: 100\r\n\r\n{\"inputs\"")
		require.NoError(t, err)
		resp, err := io.ReadAll(c) // the server answers and closes
		c.Close()
		require.NoError(t, err, "%s: the server closes the connection", path)
		if path == "/v1/models" { // 405 at once; the unread body still may not hold the connection
			assert.Contains(t, string(resp), "HTTP/1.1 405 ", path)
			continue
		}
		assert.Contains(t, string(resp), "HTTP/1.1 408 ", path)
		assert.Contains(t, string(resp), "Connection: close", path)
		assert.Contains(t, string(resp), "did not arrive within the server's body timeout of 50ms", path)
	}
}
