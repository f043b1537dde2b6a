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

// Serve serves the API on ln until ctx ends, then shuts down gracefully:
// readiness goes false, the listener closes, requests already accepted
// (queued or running) finish, and Serve returns nil — or, when they take
// longer than drain, it closes the remaining connections and returns an
// error saying so. It returns at once with the error if serving fails.
func (s *Server) Serve(ctx context.Context, ln net.Listener, drain time.Duration) error {
	hs := s.httpServer(s.handler)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		s.Close()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.ready.Store(false)
	s.log.Info("shutting down: listener closed, finishing accepted requests", "drain", drain.String())
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	err := hs.Shutdown(sctx)
	if err != nil {
		hs.Close()
		err = fmt.Errorf("serve: accepted requests still running after the drain time %v: %w", drain, err)
	}
	s.Close()
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = fmt.Errorf("serve: %w", serr)
	}
	return err
}

// httpServer returns an http.Server for h with timeouts that keep slow or
// idle clients from holding connections.
func (s *Server) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
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
