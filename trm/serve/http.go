package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// routes returns the public API's handler: every path, method checks and
// JSON errors done here, each request logged and counted, a panic turned
// into a 500.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/v1/models", s.only(s.listModels, http.MethodGet))
	mux.Handle("/v1/models/{name}", s.only(s.getModel, http.MethodGet))
	mux.Handle("/v1/models/{name}/predict", s.only(s.predict, http.MethodPost))
	mux.Handle("/v2", s.only(s.oipServerMetadata, http.MethodGet))
	mux.Handle("/v2/health/live", s.only(s.oipLive, http.MethodGet))
	mux.Handle("/v2/health/ready", s.only(s.oipReady, http.MethodGet))
	mux.Handle("/v2/models/{name}", s.only(s.oipModelMetadata, http.MethodGet))
	mux.Handle("/v2/models/{name}/ready", s.only(s.oipModelReady, http.MethodGet))
	mux.Handle("/v2/models/{name}/infer", s.only(s.oipInfer, http.MethodPost))
	mux.Handle("/v2/models/{name}/versions/{version}", s.only(s.oipModelMetadata, http.MethodGet))
	mux.Handle("/v2/models/{name}/versions/{version}/ready", s.only(s.oipModelReady, http.MethodGet))
	mux.Handle("/v2/models/{name}/versions/{version}/infer", s.only(s.oipInfer, http.MethodPost))
	mux.Handle("/metrics", s.only(s.metricsHandler().ServeHTTP, http.MethodGet))
	mux.Handle("/{$}", s.only(servePlayground, http.MethodGet))
	mux.Handle("/playground/", s.only(servePlayground, http.MethodGet))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errorf(http.StatusNotFound, codeNotFound, "no such path %s: see GET /v1/models, POST /v1/models/{name}/predict, /v2/... (Open Inference Protocol), /metrics", clip(r.URL.Path)))
	})
	return s.logged(mux)
}

// adminRoutes returns the admin listener's handler: pprof and metrics.
func (s *Server) adminRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.Handle("/metrics", s.metricsHandler())
	return mux
}

func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)})
}

// only wraps h so that any method but the allowed ones (and HEAD with GET)
// gets a 405 with an Allow header and a JSON error.
func (s *Server) only(h http.HandlerFunc, method string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == method || (method == http.MethodGet && r.Method == http.MethodHead) {
			h(w, r)
			return
		}
		allow := method
		if method == http.MethodGet {
			allow += ", " + http.MethodHead
		}
		w.Header().Set("Allow", allow)
		s.writeError(w, r, errorf(http.StatusMethodNotAllowed, codeMethod, "method %s not allowed on %s, want %s", clip(r.Method), clip(r.URL.Path), allow))
	})
}

// statusWriter records the status and size of a response, and adds
// "Connection: close" to it once the server drains.
type statusWriter struct {
	http.ResponseWriter
	status   int
	bytes    int
	draining *atomic.Bool
}

// header runs before the response's header is sent.
func (w *statusWriter) header(code int) {
	w.status = code
	if w.draining != nil && w.draining.Load() {
		w.Header().Set("Connection", "close")
	}
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.header(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.header(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logInfo carries what a handler learned (the model, the input count, an
// error) to the access log line.
type logInfo struct {
	model  string
	api    string
	inputs int
	err    error
	status int // overrides the written status in the log (499: client gone)
}

type logKey struct{}

// info returns the request's logInfo.
func info(r *http.Request) *logInfo {
	if li, ok := r.Context().Value(logKey{}).(*logInfo); ok {
		return li
	}
	return &logInfo{}
}

// logged wraps h with the request's deadlines, the access log, the
// request metrics and panic recovery: a panic is a 500 with a JSON body
// (when nothing was written yet) and an error log line with the stack; the
// server keeps serving.
//
// The deadlines: a body must arrive within Options.BodyTimeout (net/http
// lifts the read deadline once the body is read, for the answer may take
// longer), and the response must be written within BodyTimeout + Timeout
// + 10 s, so that neither a client trickling its body nor one that does
// not read the answer holds a connection. They are set only where the
// connection supports them (not under a ResponseRecorder).
func (s *Server) logged(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rc := http.NewResponseController(w)
		if r.Body != nil && r.Body != http.NoBody {
			// Not for a request without a body: net/http already
			// watches its connection for the client going away, with a
			// read that a deadline would end, cancelling the request.
			rc.SetReadDeadline(start.Add(s.opts.BodyTimeout))
		} else {
			received(r)
		}
		defer received(r)
		rc.SetWriteDeadline(start.Add(s.opts.BodyTimeout + s.opts.Timeout + 10*time.Second))
		li := &logInfo{}
		r = r.WithContext(context.WithValue(r.Context(), logKey{}, li))
		sw := &statusWriter{ResponseWriter: w, draining: &s.draining}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("panic in handler", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if sw.status == 0 {
					s.writeError(sw, r, errorf(http.StatusInternalServerError, codeInternal, "internal error (logged); the server goes on serving"))
				}
				li.err = fmt.Errorf("panic: %v", p)
			}
			status := sw.status
			if li.status != 0 {
				status = li.status
			}
			d := time.Since(start)
			if li.api != "" {
				model := li.model
				if model == "" {
					model = "unknown"
				}
				s.metrics.requests.WithLabelValues(model, li.api, strconv.Itoa(status)).Inc()
				if status == http.StatusOK {
					s.metrics.latency.WithLabelValues(model, li.api).Observe(d.Seconds())
				}
			}
			level := slog.LevelInfo
			switch {
			case status >= 500:
				level = slog.LevelError
			case r.URL.Path == "/metrics" || strings.HasPrefix(r.URL.Path, "/v2/health"):
				level = slog.LevelDebug
			}
			attrs := []any{"method", r.Method, "path", r.URL.Path, "status", status,
				"duration_ms", float64(d.Microseconds()) / 1000, "bytes", sw.bytes, "remote", r.RemoteAddr}
			if li.model != "" {
				attrs = append(attrs, "model", li.model, "inputs", li.inputs)
			}
			if li.err != nil {
				attrs = append(attrs, "error", li.err.Error())
			}
			s.log.Log(r.Context(), level, "http", attrs...)
		}()
		h.ServeHTTP(sw, r)
	})
}

// writeJSON sends v with the status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil { // only values built here are sent: a bug
		panic(fmt.Sprintf("serve: encoding a response: %v", err))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// writeError sends e in the native API's form, or the Open Inference
// Protocol's under /v2. A message over maxMessage bytes is cut, whatever
// it quotes.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, e *apiError) {
	e.Message = cutMessage(e.Message)
	info(r).err = e
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	if e.status == http.StatusRequestTimeout {
		w.Header().Set("Connection", "close") // the rest of the body is not read
	}
	if strings.HasPrefix(r.URL.Path, "/v2") {
		writeJSON(w, e.status, map[string]string{"error": e.Message})
		return
	}
	writeJSON(w, e.status, map[string]*apiError{"error": e})
}

// modelVersion is the one version of every served model, in the Open
// Inference Protocol's /v2/models/{name}/versions/{version} paths and
// metadata.
const modelVersion = "1"

// lookup returns the model named in the path, or a 404; a version in the
// path must be modelVersion.
func (s *Server) lookup(r *http.Request) (*served, *apiError) {
	name := r.PathValue("name")
	sv, ok := s.models[name]
	if !ok {
		return nil, errorf(http.StatusNotFound, codeUnknownModel, "no model %s; this server has %s", clip(name), strings.Join(s.names, ", "))
	}
	if v := r.PathValue("version"); v != "" && v != modelVersion {
		return nil, errorf(http.StatusNotFound, codeUnknownModel, "model %s has no version %s; its one version is %q", name, clip(v), modelVersion)
	}
	info(r).model = name
	return sv, nil
}

// run submits a job to the model's scheduler and waits for it within the
// server's timeout: 429 when the queue is full, 503 once the schedulers are closed,
// 504 when the deadline passes, a 499 in the log when the client left.
func (s *Server) run(r *http.Request, sv *served, j *job) *apiError {
	// No readiness check here: a request the HTTP server accepted is
	// answered even while the drain runs (readiness only steers load
	// balancers away); the schedulers close once every handler is done.
	switch err := sv.sched.submit(j); {
	case errors.Is(err, errQueueFull):
		return &apiError{status: http.StatusTooManyRequests, Code: codeQueueFull,
			Message: fmt.Sprintf("model %s has %d inputs queued (at most %d): retry later", sv.Name, sv.sched.queued(), s.opts.MaxQueue), retryAfter: defaultRetryAfter}
	case errors.Is(err, errClosed):
		return &apiError{status: http.StatusServiceUnavailable, Code: codeShuttingDown, Message: "the server is shutting down", retryAfter: defaultRetryAfter}
	case err != nil:
		return errorf(http.StatusInternalServerError, codeInternal, "%v", err)
	}
	select {
	case <-j.done:
	case <-j.ctx.Done():
		// The loops drop the job's inputs at their next step boundary.
	}
	var err error
	select {
	case <-j.done: // every input finished (a race with the deadline goes to the answer)
		err = j.result()
	default:
		err = j.ctx.Err()
	}
	switch {
	case err == nil:
		return nil
	case r.Context().Err() != nil:
		info(r).status = statusClientGone
		return errorf(statusClientGone, codeClientGone, "the client closed the request")
	case errors.Is(err, context.DeadlineExceeded):
		return errorf(http.StatusGatewayTimeout, codeTimeout, "no answer within the server's timeout of %v (queue and steps); send fewer inputs, fewer max_steps, or retry", s.opts.Timeout)
	case errors.Is(err, errInternal):
		return errorf(http.StatusInternalServerError, codeInternal, "%v (logged)", err)
	}
	return errorf(http.StatusInternalServerError, codeInternal, "%v", err)
}
