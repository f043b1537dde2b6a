package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/trm-go/trm/checkpoints"
	"github.com/trm-go/trm/tensor"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/infer"
	"github.com/trm-go/trm/trm/serve"
)

// serveFlags are the flags of trm serve.
type serveFlags struct {
	addr, adminAddr string
	models          listFlag
	threads, loops  int
	tune            bool
	haltName        string
	maxWait         string
	opts            serve.Options
	maxBody         int64
	shutdown        time.Duration
	logFormat       string
	logLevel        string
}

func parseServeFlags(e env, args []string) (*serveFlags, error) {
	f := &serveFlags{}
	d := serve.DefaultOptions
	fs := newFlagSet(e, "serve", "[flags]",
		"Serves models over HTTP until SIGINT or SIGTERM: the native JSON API\n"+
			"(POST /v1/models/NAME/predict, GET /v1/models), the Open Inference Protocol\n"+
			"(KServe v2: /v2/health/live, /v2/health/ready, /v2/models/NAME/infer, ...)\n"+
			"and Prometheus metrics (GET /metrics). Without --model it serves the\n"+
			"embedded models: "+strings.Join(checkpoints.Tasks(), ", ")+".\n"+
			"\n"+
			"Requests are batched one supervision step at a time: an input leaves its\n"+
			"batch as soon as it halts and queued inputs join at the next step. Bad\n"+
			"requests get a 4xx with a JSON error naming the field; a full queue is 429\n"+
			"with Retry-After, a request past --timeout 504.\n"+
			"\n"+
			"Slow clients cannot hold connections: a header must arrive within\n"+
			"--header-timeout, a body within --body-timeout (408 after it), and at most\n"+
			"--max-conns connections are open at once; more wait in the kernel's accept\n"+
			"queue and are served in turn, so descriptors remain for real clients.\n"+
			"\n"+
			"On SIGINT or SIGTERM readiness goes false and the listener closes. For\n"+
			"--drain-grace open connections are still read, each response saying\n"+
			"\"Connection: close\", so that no request sent on a kept-alive connection is\n"+
			"lost; accepted requests finish, idle connections close (all within\n"+
			"--shutdown-timeout) and trm serve exits 0. A second signal exits at once\n"+
			"(130). pprof is served on --admin-addr only.\n"+
			"\n"+
			"Exit status: 0 after a graceful shutdown; 1 start-up failure (a bad\n"+
			"checkpoint, a busy port) or a drain that ran out of time; 2 bad flags;\n"+
			"130 a second signal.")
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "`host:port` of the API (':8080' listens on every interface, as a container needs)")
	fs.StringVar(&f.adminAddr, "admin-addr", "127.0.0.1:6060", "`host:port` of the admin listener (pprof, metrics); \"off\" for none")
	fs.Var(&f.models, "model", "serve `NAME=PATH` (repeatable): a checkpoint file, or embedded:TASK for a shipped model; default: every shipped model")
	fs.IntVar(&f.threads, "threads", 0, fmt.Sprintf("CPU threads for the models, at most %d (0: all CPUs)", maxThreads))
	fs.BoolVar(&f.tune, "tune", true, "run each network application of a loop on as many of its threads as have run it fastest lately: fewer when another process holds a core (false: always all of them; the answers are the same)")
	fs.IntVar(&f.loops, "loops", 0, "batch loops per model (0: one single-threaded loop per thread for small models, else one loop using every thread)")
	fs.StringVar(&f.haltName, "halt", string(trm.HaltEarly), "halting of a request that names none: early (stop at q_halt > 0) or full (N_sup steps)")
	fs.IntVar(&f.opts.MaxBatch, "max-batch", d.MaxBatch, "most inputs one batch loop runs together")
	fs.StringVar(&f.maxWait, "max-wait", "auto", "how long a lone input waits for company before its first step: a duration (0: none) or auto (a tenth of a step if that is ≥ 1ms, at most 5ms: only large models wait)")
	fs.IntVar(&f.opts.MaxQueue, "max-queue", d.MaxQueue, "most inputs waiting per model (429 beyond)")
	fs.IntVar(&f.opts.MaxInputs, "max-inputs", d.MaxInputs, "most inputs in one request")
	fs.Int64Var(&f.maxBody, "max-body", d.MaxBody, "largest request body in `bytes` (413 beyond)")
	fs.DurationVar(&f.opts.Timeout, "timeout", d.Timeout, "most time a request may take, queue included (504 beyond)")
	fs.DurationVar(&f.opts.BodyTimeout, "body-timeout", d.BodyTimeout, "most time a request body may take to arrive after its header (408 beyond; the connection closes)")
	fs.DurationVar(&f.opts.HeaderTimeout, "header-timeout", d.HeaderTimeout, "most time a request header may take to arrive (the connection closes beyond)")
	fs.DurationVar(&f.opts.IdleTimeout, "idle-timeout", d.IdleTimeout, "how long a kept-alive connection may wait for its next request")
	fs.IntVar(&f.opts.MaxConns, "max-conns", 0, "most connections open at once; when full, new ones wait in the kernel's accept queue until one closes, none is dropped (0: half the open-file limit, at most 4096)")
	fs.DurationVar(&f.shutdown, "shutdown-timeout", 30*time.Second, "how long the drain after SIGINT/SIGTERM may take, grace included")
	fs.DurationVar(&f.opts.DrainGrace, "drain-grace", d.DrainGrace, "after SIGINT/SIGTERM has closed the listener, how long kept-alive connections are still read, each request answered with \"Connection: close\" (0: none)")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json (log/slog, on standard error)")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	if err := parse(fs, args, false); err != nil {
		return nil, err
	}
	switch {
	case f.threads < 0 || f.threads > maxThreads:
		return nil, usagef("--threads %d, want 0 to %d", f.threads, maxThreads)
	case f.loops < 0 || f.loops > maxThreads:
		return nil, usagef("--loops %d, want 0 to %d", f.loops, maxThreads)
	case f.opts.MaxBatch < 1 || f.opts.MaxBatch > trm.MaxBatchSize:
		return nil, usagef("--max-batch %d, want 1 to %d", f.opts.MaxBatch, trm.MaxBatchSize)
	case f.opts.MaxQueue < 1:
		return nil, usagef("--max-queue %d, want ≥ 1", f.opts.MaxQueue)
	case f.opts.MaxInputs < 1 || f.opts.MaxInputs > f.opts.MaxQueue:
		return nil, usagef("--max-inputs %d, want 1 to --max-queue (%d)", f.opts.MaxInputs, f.opts.MaxQueue)
	case f.maxBody < 64:
		return nil, usagef("--max-body %d, want ≥ 64 bytes", f.maxBody)
	case f.opts.Timeout <= 0:
		return nil, usagef("--timeout %v, want > 0", f.opts.Timeout)
	case f.shutdown <= 0:
		return nil, usagef("--shutdown-timeout %v, want > 0", f.shutdown)
	case f.opts.BodyTimeout <= 0:
		return nil, usagef("--body-timeout %v, want > 0", f.opts.BodyTimeout)
	case f.opts.HeaderTimeout <= 0:
		return nil, usagef("--header-timeout %v, want > 0", f.opts.HeaderTimeout)
	case f.opts.IdleTimeout <= 0:
		return nil, usagef("--idle-timeout %v, want > 0", f.opts.IdleTimeout)
	case f.opts.MaxConns < 0:
		return nil, usagef("--max-conns %d, want ≥ 1, or 0 for the default", f.opts.MaxConns)
	case f.opts.DrainGrace < 0 || f.opts.DrainGrace >= f.shutdown:
		return nil, usagef("--drain-grace %v, want ≥ 0 and less than --shutdown-timeout (%v)", f.opts.DrainGrace, f.shutdown)
	case f.logFormat != "text" && f.logFormat != "json":
		return nil, usagef("--log-format %q, want text or json", f.logFormat)
	}
	if f.maxWait != "auto" { // serve.Options: 0 is auto, negative no wait
		w, err := time.ParseDuration(f.maxWait)
		if err != nil || w < 0 {
			return nil, usagef("--max-wait %q, want auto or a duration ≥ 0 such as 500us", f.maxWait)
		}
		f.opts.MaxWait = w
		if w == 0 {
			f.opts.MaxWait = -1
		}
	}
	f.opts.MaxBody = f.maxBody
	if f.opts.DrainGrace == 0 { // serve.Options: 0 is the default, negative none
		f.opts.DrainGrace = -1
	}
	halt, err := trm.ParseHaltMode(f.haltName)
	if err != nil {
		return nil, usagef("--halt: %v", err)
	}
	f.opts.Halt = halt
	return f, nil
}

// logger returns the slog logger the flags ask for, on w.
func (f *serveFlags) logger(e env) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, usagef("--log-level %q, want debug, info, warn or error", f.logLevel)
	}
	o := &slog.HandlerOptions{Level: level}
	if f.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(e.stderr, o)), nil
	}
	return slog.New(slog.NewTextHandler(e.stderr, o)), nil
}

// loadServed loads the models of --model, or every shipped one.
func (f *serveFlags) loadServed() ([]serve.Model, error) {
	specs := []string(f.models)
	if len(specs) == 0 {
		for _, name := range checkpoints.Tasks() {
			specs = append(specs, name+"="+checkpoints.Prefix+name)
		}
	}
	var out []serve.Model
	for _, spec := range specs {
		name, path, ok := strings.Cut(spec, "=")
		if !ok || name == "" || path == "" {
			return nil, usagef("--model %q, want NAME=PATH (a checkpoint file, or embedded:TASK)", spec)
		}
		p, err := infer.LoadPredictor(path) // a file, or embedded:TASK
		if errors.Is(err, checkpoints.ErrNotShipped) {
			return nil, usagef("--model %s: %v", name, err)
		}
		if err != nil {
			return nil, fmt.Errorf("--model %s: %w", name, err)
		}
		out = append(out, serve.Model{Name: name, Model: p.Model, Task: p.Task, Source: path})
	}
	return out, nil
}

// runServe is trm serve.
func runServe(ctx context.Context, e env, args []string) error {
	f, err := parseServeFlags(e, args)
	if err != nil {
		return err
	}
	log, err := f.logger(e)
	if err != nil {
		return err
	}
	models, err := f.loadServed()
	if err != nil {
		return err
	}
	threads := f.threads
	if threads == 0 {
		threads = runtime.NumCPU()
	}
	ms := make([]*trm.Model, len(models))
	for i, m := range models {
		ms[i] = m.Model
	}
	workers, loops := serve.Layout(threads, ms)
	if f.loops > 0 {
		loops, workers = f.loops, max(1, threads/f.loops)
	}
	f.opts.Loops, f.opts.Logger = loops, log
	if avail, ok := availableMemory(); ok {
		for _, m := range models {
			run := trm.MemoryCheck{Batch: f.opts.MaxBatch * loops, BatchField: "--max-batch × --loops", Loaded: true}
			if err := m.Model.Config.CheckMemory(run, avail); err != nil {
				return usagef("--model %s: %v", m.Name, err)
			}
		}
	}
	prevProcs := runtime.GOMAXPROCS(threads)
	defer runtime.GOMAXPROCS(prevProcs)
	tensor.SetWorkers(workers)
	defer tensor.SetWorkers(0)
	defer tensor.SetTuning(tensor.SetTuning(f.tune))

	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	var adminLn net.Listener
	if f.adminAddr != "off" {
		if adminLn, err = net.Listen("tcp", f.adminAddr); err != nil {
			ln.Close()
			return fmt.Errorf("--admin-addr: %w", err)
		}
	}
	srv, err := serve.New(models, f.opts)
	if err != nil {
		ln.Close()
		if adminLn != nil {
			adminLn.Close()
		}
		return err
	}
	if adminLn != nil {
		admin := srv.HTTPServer(srv.AdminHandler())
		go admin.Serve(serve.LimitListener(adminLn, adminMaxConns))
		defer admin.Close()
		if !isLoopback(adminLn.Addr()) {
			log.Warn("the admin listener (pprof) is not on a loopback address", "admin_addr", adminLn.Addr().String())
		}
	}
	names := make([]string, len(models))
	for i, m := range models {
		names[i] = m.Name
	}
	log.Info("serving", "addr", ln.Addr().String(), "admin_addr", addrOf(adminLn), "models", strings.Join(names, ","),
		"threads", threads, "loops_per_model", loops, "workers_per_kernel", workers,
		"max_batch", f.opts.MaxBatch, "max_queue", f.opts.MaxQueue, "timeout", f.opts.Timeout.String(), "max_conns", srv.MaxConns())
	fmt.Fprintf(e.stdout, "trm serve: listening on http://%s (models: %s)\n", ln.Addr(), strings.Join(names, ", "))

	// A second signal, while the first one's drain runs, exits at once.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		<-sigs
		<-sigs
		log.Warn("second signal: exiting without finishing accepted requests")
		os.Exit(exitInterrupted)
	}()
	if err := srv.Serve(ctx, ln, f.shutdown); err != nil {
		return err
	}
	log.Info("shut down: every accepted request was answered")
	return nil
}

// adminMaxConns is the most connections the admin listener keeps open.
const adminMaxConns = 64

// isLoopback reports whether a listener's address is a loopback one.
func isLoopback(a net.Addr) bool {
	t, ok := a.(*net.TCPAddr)
	return ok && t.IP.IsLoopback()
}

func addrOf(ln net.Listener) string {
	if ln == nil {
		return "off"
	}
	return ln.Addr().String()
}
