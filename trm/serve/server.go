package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/task"
)

// Model is a model to serve under a name.
type Model struct {
	// Name is the model's name in the URLs (/v1/models/{name}/predict):
	// letters, digits, '.', '_' and '-'.
	Name string
	// Model is the trained model. The batch loops share it read-only.
	Model *trm.Model
	// Task encodes inputs and decodes answers; nil: the task the model's
	// config names.
	Task task.Task
	// Source says where the model came from (a checkpoint path,
	// "embedded:arith"), for GET /v1/models and logs.
	Source string
}

// Options are the server's batching and limits. The zero value of each
// field means its default (see DefaultOptions).
type Options struct {
	// MaxBatch is the most inputs one batch loop runs together.
	MaxBatch int
	// MaxWait is how long an idle batch loop that got an input waits for
	// more to run with it before its first step; later arrivals join at
	// any step boundary without waiting. 0 (the default): a tenth of the
	// loop's last step when that is 1 ms or more, at most 5 ms (only large
	// models wait); negative: no wait.
	MaxWait time.Duration
	// MaxQueue is the most inputs waiting per model; a request whose inputs
	// do not fit is refused with 429 and Retry-After.
	MaxQueue int
	// MaxInputs is the most inputs one request may carry.
	MaxInputs int
	// MaxBody is the largest request body in bytes (413 above it).
	MaxBody int64
	// Timeout is the most a request may take, queue included (504 after
	// it). A request also ends when its client goes away.
	Timeout time.Duration
	// Loops is the number of batch loops per model, sharing the model's
	// queue. See Layout.
	Loops int
	// Halt is the halting mode of a request that names none: trm.HaltEarly
	// (default) or trm.HaltFull.
	Halt trm.HaltMode
	// BodyTimeout is the most time a request's body may take to arrive,
	// counted from the end of its header (which must itself arrive within
	// HeaderTimeout). A body still incomplete then gets 408 and its
	// connection is closed, so that a client trickling bytes cannot hold a
	// connection. The answer must then be written within BodyTimeout +
	// Timeout + 10 s of the header, or the connection is closed.
	BodyTimeout time.Duration
	// HeaderTimeout is the most time a request's header may take to
	// arrive; a new connection that sends nothing is closed after it.
	HeaderTimeout time.Duration
	// IdleTimeout is how long a kept-alive connection may wait for its
	// next request before the server closes it.
	IdleTimeout time.Duration
	// MaxConns is the most connections Serve keeps open at once. When
	// that many are open, further clients wait in the kernel's accept
	// queue (the listen backlog) until one closes, then are served in
	// turn: none is accepted only to be closed. Meanwhile the connections
	// that have spent over 2 s receiving their request (header or body)
	// are closed to make room (a body cut so gets 408): a client that
	// trickles its request cannot keep real ones waiting for the body
	// timeout. 0 (the default): half the process's limit on open files
	// (RLIMIT_NOFILE), at most 4096, so that descriptors remain for
	// everything else and no accept fails with "too many open files". It
	// applies to Serve only, not to Handler under a server of your own
	// (see LimitListener).
	MaxConns int
	// DrainGrace is how long Serve, once told to stop and its listener
	// closed, still reads kept-alive connections: a request arriving on
	// one is answered with "Connection: close", so that a client sending
	// on it just then is not cut off. Connections still idle after it are
	// closed. It ends early once every connection has closed; it counts
	// within Serve's drain time. 0 (the default): 1 s; negative: none.
	DrainGrace time.Duration
	// Logger receives the access log (Info), refusals and failures; nil:
	// slog.Default().
	Logger *slog.Logger
}

// DefaultOptions are the values zero fields of Options take.
var DefaultOptions = Options{
	MaxBatch:  16,
	MaxQueue:  1024,
	MaxInputs: 256,
	MaxBody:   1 << 20,
	Timeout:   60 * time.Second,
	Loops:     1,

	BodyTimeout:   30 * time.Second,
	HeaderTimeout: 10 * time.Second,
	IdleTimeout:   120 * time.Second,
	DrainGrace:    time.Second,
}

// maxConnsCeiling is the most connections MaxConns's default allows.
const maxConnsCeiling = 4096

// defaultMaxConns is MaxConns's default for a process allowed nofile open
// files: half of them, at most maxConnsCeiling, at least 1.
func defaultMaxConns(nofile uint64) int {
	if nofile == 0 || nofile/2 > maxConnsCeiling {
		return maxConnsCeiling
	}
	return max(1, int(nofile/2))
}

// withDefaults fills zero fields and checks the rest.
func (o Options) withDefaults() (Options, error) {
	d := DefaultOptions
	if o.MaxBatch == 0 {
		o.MaxBatch = d.MaxBatch
	}
	if o.MaxQueue == 0 {
		o.MaxQueue = d.MaxQueue
	}
	if o.MaxInputs == 0 {
		o.MaxInputs = d.MaxInputs
	}
	if o.MaxBody == 0 {
		o.MaxBody = d.MaxBody
	}
	if o.Timeout == 0 {
		o.Timeout = d.Timeout
	}
	if o.Loops == 0 {
		o.Loops = d.Loops
	}
	if o.BodyTimeout == 0 {
		o.BodyTimeout = d.BodyTimeout
	}
	if o.HeaderTimeout == 0 {
		o.HeaderTimeout = d.HeaderTimeout
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = d.IdleTimeout
	}
	if o.MaxConns == 0 {
		o.MaxConns = defaultMaxConns(openFileLimit())
	}
	switch {
	case o.DrainGrace == 0:
		o.DrainGrace = d.DrainGrace
	case o.DrainGrace < 0:
		o.DrainGrace = 0
	}
	if o.Halt == "" {
		o.Halt = trm.HaltEarly
	}
	if _, err := trm.ParseHaltMode(string(o.Halt)); err != nil {
		return o, fmt.Errorf("serve: default %w", err)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	switch {
	case o.MaxBatch < 1 || o.MaxBatch > trm.MaxBatchSize:
		return o, fmt.Errorf("serve: max batch %d, want in [1, %d]", o.MaxBatch, trm.MaxBatchSize)
	case o.MaxQueue < 1:
		return o, fmt.Errorf("serve: max queue %d, want ≥ 1", o.MaxQueue)
	case o.MaxInputs < 1 || o.MaxInputs > o.MaxQueue:
		return o, fmt.Errorf("serve: max inputs per request %d, want in [1, max queue %d]", o.MaxInputs, o.MaxQueue)
	case o.MaxBody < 64:
		return o, fmt.Errorf("serve: max body %d bytes, want ≥ 64", o.MaxBody)
	case o.Timeout < 0:
		return o, fmt.Errorf("serve: timeout %v, want > 0", o.Timeout)
	case o.BodyTimeout < 0:
		return o, fmt.Errorf("serve: body timeout %v, want > 0", o.BodyTimeout)
	case o.HeaderTimeout < 0:
		return o, fmt.Errorf("serve: header timeout %v, want > 0", o.HeaderTimeout)
	case o.IdleTimeout < 0:
		return o, fmt.Errorf("serve: idle timeout %v, want > 0", o.IdleTimeout)
	case o.MaxConns < 0:
		return o, fmt.Errorf("serve: max connections %d, want ≥ 1 (0: the default)", o.MaxConns)
	case o.Loops < 1 || o.Loops > 1024:
		return o, fmt.Errorf("serve: %d batch loops per model, want in [1, 1024]", o.Loops)
	}
	return o, nil
}

// Server serves models over HTTP: the native JSON API under /v1, the Open
// Inference Protocol (KServe v2) under /v2, and Prometheus metrics at
// /metrics. It keeps no state between requests, so replicas behind a load
// balancer scale it out. Create it with New, serve Handler (or call Serve),
// and end it with Shutdown or Close.
type Server struct {
	opts    Options
	log     *slog.Logger
	models  map[string]*served
	names   []string // sorted
	metrics *metrics
	handler http.Handler
	ready   atomic.Bool
	// draining is set when Serve's drain begins: responses say
	// "Connection: close" from then on.
	draining atomic.Bool
	conns    atomic.Pointer[connLimiter] // Serve's listener, for tests

	closeOnce sync.Once
}

// served is one model being served.
type served struct {
	Model
	sched   *scheduler
	example string // an input of the task, for GET /v1/models
}

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// New starts the batch loops of every model and returns the server,
// ready. Names must be valid and distinct; each model must fit its task.
func New(models []Model, opts Options) (*Server, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if len(models) == 0 {
		return nil, errors.New("serve: no models to serve")
	}
	s := &Server{opts: o, log: o.Logger, models: map[string]*served{}, metrics: newMetrics()}
	for _, m := range models {
		if !validName.MatchString(m.Name) {
			return nil, fmt.Errorf("serve: model name %q: want 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", m.Name)
		}
		if _, dup := s.models[m.Name]; dup {
			return nil, fmt.Errorf("serve: model name %q given twice", m.Name)
		}
		if m.Model == nil {
			return nil, fmt.Errorf("serve: model %q: no model", m.Name)
		}
		if m.Task == nil {
			if m.Task, err = m.Model.Config.NewTask(); err != nil {
				return nil, fmt.Errorf("serve: model %q: %w", m.Name, err)
			}
		}
		if err := m.Model.Config.CheckTask(m.Task); err != nil {
			return nil, fmt.Errorf("serve: model %q: %w", m.Name, err)
		}
		s.models[m.Name] = &served{Model: m, example: exampleOf(m.Task)}
		s.names = append(s.names, m.Name)
	}
	slices.Sort(s.names)
	for _, name := range s.names {
		sv := s.models[name]
		sv.sched = newScheduler(name, sv.Model.Model, o, o.Loops, s.log, s.metrics.forModel(name))
	}
	s.handler = s.routes()
	s.ready.Store(true)
	return s, nil
}

// Handler returns the server's HTTP handler (the public API; no pprof).
func (s *Server) Handler() http.Handler { return s.handler }

// MaxConns returns the most connections Serve keeps open at once
// (Options.MaxConns, its default resolved).
func (s *Server) MaxConns() int { return s.opts.MaxConns }

// Ready reports whether the server takes new requests: true from New
// until Shutdown or Close begins.
func (s *Server) Ready() bool { return s.ready.Load() }

// Close stops taking requests and waits for the batch loops to finish the
// inputs already queued. Call it after the HTTP server has stopped, so
// that no handler is still waiting for an answer (Serve does).
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.ready.Store(false)
		for _, sv := range s.models {
			sv.sched.close()
		}
		for _, sv := range s.models {
			sv.sched.wait()
		}
	})
}

// Serve serves the API on ln, with at most Options.MaxConns connections
// open at once, until ctx ends; then it drains in three stages, so that
// no request sent on a kept-alive connection is lost:
//
//  1. Readiness goes false and the listener closes: new connections are
//     refused, the client having sent nothing.
//  2. Every response now says "Connection: close", and its connection
//     closes after it. For Options.DrainGrace the open connections are
//     still read: a request that arrives on a kept-alive one is answered,
//     and the requests under way finish.
//  3. The connections left idle through the grace are closed, and the
//     batch loops stop once the queued inputs are answered.
//
// net/http's Server.Shutdown (and SetKeepAlivesEnabled(false)) close idle
// connections at once, and Shutdown drops a request it reads after it
// began: a request a client sends on a kept-alive connection just then is
// lost, and Go's client, like most, does not retry a POST. Serve calls
// Shutdown only at stage 3. The listener closes before keep-alives stop,
// not after: told to close while the listener is open, clients under load
// reconnect at once, and closing a listener resets the connections the
// kernel has queued but the server not yet accepted, each with a request
// sent. A connection left idle through the whole grace is closed at stage
// 3 (HTTP/1.1 has no way to warn an idle one), as is, at stage 1, one the
// kernel accepted in the same instant the listener closed.
//
// Serve returns nil when the drain ends within drain (grace included),
// or else closes the remaining connections and returns an error saying
// so. It returns at once with the error if serving fails.
func (s *Server) Serve(ctx context.Context, ln net.Listener, drain time.Duration) error {
	cl := newConnLimiter(ln, s.opts.MaxConns, s.metrics, evictAfter)
	s.metrics.maxConnections.Set(float64(s.opts.MaxConns))
	s.conns.Store(cl)
	hs := s.httpServer(s.handler)
	hs.ConnState, hs.ConnContext = cl.connState, withConn
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(cl) }()
	select {
	case err := <-errc:
		cl.Close()
		s.Close()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	start := time.Now()
	end, graceEnd := start.Add(drain), start.Add(min(s.opts.DrainGrace, drain))
	s.ready.Store(false)
	cl.Close()
	serr := <-errc // hs.Serve returns once Accept fails
	if errors.Is(serr, net.ErrClosed) || errors.Is(serr, http.ErrServerClosed) {
		serr = nil
	}
	s.draining.Store(true)
	s.log.Info("shutting down: listener closed, answering with Connection: close and finishing accepted requests",
		"grace", s.opts.DrainGrace.String(), "drain", drain.String())
	for {
		now := time.Now()
		if cl.openConns() == 0 || now.After(end) || now.After(graceEnd) && cl.busyConns() == 0 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	sctx, cancel := context.WithDeadline(context.Background(), end)
	defer cancel()
	err := hs.Shutdown(sctx)
	if err != nil {
		hs.Close()
		err = fmt.Errorf("serve: accepted requests still running after the drain time %v: %w", drain, err)
	}
	s.Close()
	if serr != nil && err == nil {
		err = fmt.Errorf("serve: %w", serr)
	}
	return err
}

// httpServer returns an http.Server for h with timeouts that keep slow or
// idle clients from holding connections: a header within HeaderTimeout,
// a whole request within HeaderTimeout + BodyTimeout (the public handler
// sets a tighter deadline for the body alone, see logged), and an idle
// connection closed after IdleTimeout. net/http lifts the read deadline
// once the body is read, so that an answer may take longer. WriteTimeout
// stays zero here (pprof profiles on the admin listener take 30 s and
// more); the public handler sets a write deadline per request.
func (s *Server) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: s.opts.HeaderTimeout,
		ReadTimeout:       s.opts.HeaderTimeout + s.opts.BodyTimeout,
		IdleTimeout:       s.opts.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// AdminHandler returns the handler for the admin listener: net/http/pprof
// under /debug/pprof/ and the metrics at /metrics. Serve it only on a
// loopback or otherwise private address.
func (s *Server) AdminHandler() http.Handler { return s.adminRoutes() }

// HTTPServer returns an http.Server for h with the server's timeouts and
// error log, for callers that run listeners of their own (the admin one).
func (s *Server) HTTPServer(h http.Handler) *http.Server { return s.httpServer(h) }
