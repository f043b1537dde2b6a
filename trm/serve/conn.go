package serve

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// LimitListener returns a listener that keeps at most n of ln's
// connections open at once (n ≥ 1). When n are open, Accept waits until
// one closes: further clients wait in the kernel's accept queue (the
// listen backlog) and are served in turn; none is accepted only to be
// closed. Closing the returned listener closes ln and ends a waiting
// Accept. Serve caps its listener this way with Options.MaxConns, and
// also closes, while all n are open, the connections slowest to send
// their request (see Options.MaxConns); use LimitListener for listeners
// of your own (the admin one).
func LimitListener(ln net.Listener, n int) net.Listener {
	if n < 1 {
		panic(fmt.Sprintf("serve: LimitListener of %d connections, want ≥ 1", n))
	}
	return newConnLimiter(ln, n, nil, 0)
}

// evictAfter is how long a connection may take to send its request (its
// header and body) while every slot of Serve's listener is taken, before
// it is closed to make room. Tests lower it.
var evictAfter = 2 * time.Second

// connLimiter is a listener whose connections are capped, counted and
// tracked by HTTP state (through http.Server.ConnState), so that a drain
// can wait for the requests under way, and so that, when every slot is
// taken, the connections still receiving a request after evictAfter are
// closed.
type connLimiter struct {
	net.Listener
	slots      chan struct{} // one token per open connection
	done       chan struct{} // closed by Close
	once       sync.Once
	cerr       error
	metrics    *metrics      // or nil
	evictAfter time.Duration // 0: never evict

	mu    sync.Mutex
	open  int
	peak  int
	busy  int // connections in StateNew or StateActive: a request coming or under way
	conns map[*limitedConn]http.ConnState
}

func newConnLimiter(ln net.Listener, n int, m *metrics, evictAfter time.Duration) *connLimiter {
	return &connLimiter{Listener: ln, slots: make(chan struct{}, n), done: make(chan struct{}),
		metrics: m, evictAfter: evictAfter, conns: map[*limitedConn]http.ConnState{}}
}

// Accept waits for a free slot, then for a connection.
func (l *connLimiter) Accept() (net.Conn, error) {
	if !l.acquire() {
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	lc := &limitedConn{Conn: c, l: l}
	lc.receiving.Store(time.Now().UnixNano())
	l.mu.Lock()
	l.open++
	l.peak = max(l.peak, l.open)
	l.busy++
	l.conns[lc] = http.StateNew
	l.setGauge()
	l.mu.Unlock()
	return lc, nil
}

// acquire takes a slot, waiting for one and, while every slot is taken,
// evicting slow connections; false when the listener is closed.
func (l *connLimiter) acquire() bool {
	select {
	case l.slots <- struct{}{}:
		return true
	case <-l.done:
		return false
	default:
	}
	if l.evictAfter <= 0 {
		select {
		case l.slots <- struct{}{}:
			return true
		case <-l.done:
			return false
		}
	}
	tick := time.NewTicker(min(l.evictAfter/4, 100*time.Millisecond))
	defer tick.Stop()
	for {
		l.evictSlow(time.Now())
		select {
		case l.slots <- struct{}{}:
			return true
		case <-l.done:
			return false
		case <-tick.C:
		}
	}
}

// evictSlow closes the connections that have been receiving their
// request (header or body) for longer than evictAfter.
func (l *connLimiter) evictSlow(now time.Time) {
	var slow []*limitedConn
	l.mu.Lock()
	for lc := range l.conns {
		if t := lc.receiving.Load(); t != 0 && now.Sub(time.Unix(0, t)) > l.evictAfter {
			slow = append(slow, lc)
		}
	}
	l.mu.Unlock()
	for _, lc := range slow {
		lc.evicted.Store(true)
		lc.Close()
	}
	if l.metrics != nil && len(slow) > 0 {
		l.metrics.evictedConnections.Add(float64(len(slow)))
	}
}

// Close closes the listener (once; later calls return the first error)
// and ends a waiting Accept. Open connections stay open.
func (l *connLimiter) Close() error {
	l.once.Do(func() {
		close(l.done)
		l.cerr = l.Listener.Close()
	})
	return l.cerr
}

// release frees c's slot; it runs once per connection.
func (l *connLimiter) release(c *limitedConn) {
	l.mu.Lock()
	l.open--
	if st, ok := l.conns[c]; ok {
		if isBusy(st) {
			l.busy--
		}
		delete(l.conns, c)
	}
	l.setGauge()
	l.mu.Unlock()
	<-l.slots
}

func (l *connLimiter) setGauge() {
	if l.metrics != nil {
		l.metrics.connections.Set(float64(l.open))
	}
}

func isBusy(st http.ConnState) bool { return st == http.StateNew || st == http.StateActive }

// connState is the http.Server.ConnState hook: it counts the connections
// that have a request coming or under way, and notes when a kept-alive
// connection starts receiving its next request.
func (l *connLimiter) connState(c net.Conn, st http.ConnState) {
	lc, ok := c.(*limitedConn)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	prev, known := l.conns[lc]
	if !known { // released already
		return
	}
	switch {
	case isBusy(prev) && !isBusy(st):
		l.busy--
	case !isBusy(prev) && isBusy(st):
		l.busy++
	}
	switch st {
	case http.StateIdle:
		lc.receiving.Store(0)
	case http.StateActive:
		if prev == http.StateIdle {
			lc.receiving.Store(time.Now().UnixNano())
		}
	case http.StateClosed, http.StateHijacked:
		delete(l.conns, lc)
		return
	}
	l.conns[lc] = st
}

// busyConns returns the number of connections with a request coming (a
// new connection yet to send one) or under way.
func (l *connLimiter) busyConns() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.busy
}

// openConns returns the number of connections open now.
func (l *connLimiter) openConns() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// peakConns returns the most connections that were open at once.
func (l *connLimiter) peakConns() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.peak
}

// limitedConn is a connection that frees its slot when first closed.
type limitedConn struct {
	net.Conn
	l      *connLimiter
	closed atomic.Bool
	// receiving is when the connection started receiving its current
	// request (Unix ns), 0 once the request is read or while it is idle.
	receiving atomic.Int64
	evicted   atomic.Bool // closed by evictSlow
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	if c.closed.CompareAndSwap(false, true) {
		c.l.release(c)
	}
	return err
}

type connKey struct{}

// withConn is the http.Server.ConnContext hook: it puts the connection in
// its requests' context, for received.
func withConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// received notes that r's connection has received all of r it will read:
// it is no longer slow to send its request, whatever the handler does
// next.
func received(r *http.Request) {
	if lc, ok := r.Context().Value(connKey{}).(*limitedConn); ok {
		lc.receiving.Store(0)
	}
}

// evicted reports whether r's connection was closed to make room for
// others while its request was arriving, and after how long.
func evicted(r *http.Request) (time.Duration, bool) {
	if lc, ok := r.Context().Value(connKey{}).(*limitedConn); ok && lc.evicted.Load() {
		return lc.l.evictAfter, true
	}
	return 0, false
}
