package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trm-go/trm/internal/loadgen"
	"github.com/trm-go/trm/trm"
)

// Bounds of the trm loadtest flags.
const (
	maxLoadConcurrency = 10000
	maxLoadRate        = 1000000
	maxLoadPool        = 100000
	maxInputsPerReq    = 10000
)

// defaultLoadDuration bounds a run in time when neither --duration nor
// --requests is given.
const defaultLoadDuration = 10 * time.Second

// defaultLoadConcurrency is --concurrency when neither it nor --rate is
// given.
const defaultLoadConcurrency = 4

// loadtestFlags are the flags of trm loadtest.
type loadtestFlags struct {
	rt          runtimeFlags
	url         string
	models      string
	rate        int
	concurrency int
	maxWorkers  int
	duration    time.Duration
	requests    int64
	seed        uint64
	pool        int
	perRequest  int
	haltName    string
	timeout     time.Duration
	noVerify    bool

	// Set by validate.
	base *url.URL
	mix  loadgen.Mix
	halt trm.HaltMode
}

// parseLoadtestFlags parses and checks the command line of trm loadtest:
// -h gives errHelp, a bad flag a usageError.
func parseLoadtestFlags(e env, args []string) (*loadtestFlags, error) {
	f := &loadtestFlags{}
	fs := newFlagSet(e, "loadtest", "[flags]",
		"Loads a trm inference server (trm serve) on this machine with a seeded,\n"+
			"deterministic workload and reports throughput, latency, status codes and\n"+
			"whether every answer was right. Request i is always the same: POST\n"+
			"/v1/models/{name}/predict with --inputs-per-request inputs of that model's\n"+
			"task, the models taking turns as --models says (\"arith,sudoku9=3\": three\n"+
			"sudoku9 requests for each arith one), each model cycling through --pool\n"+
			"distinct inputs of its task's test split under --seed.\n"+
			"\n"+
			"The load is --rate requests per second (vegeta adds workers, up to\n"+
			"--max-workers in flight, while the server falls behind) or --concurrency\n"+
			"requests in flight at all times, as fast as the server answers (the\n"+
			"default: 4 in flight). The run stops after --duration or --requests,\n"+
			"whichever comes first; without either it lasts 10s, and --requests alone\n"+
			"sends exactly that many requests, however long they take.\n"+
			"\n"+
			"Before the attack, each pool input is answered offline by the embedded\n"+
			"model of the same name (one at a time, with --halt): a 200 answer that\n"+
			"differs is counted wrong, the server having changed the model's answer.\n"+
			"This assumes the server serves the embedded checkpoints, as trm serve\n"+
			"does by default: a server serving another checkpoint under these names\n"+
			"gives mismatches, so pass --no-verify for it. Accuracy against the\n"+
			"task's true answers is reported either way (the models are not 100%\n"+
			"accurate). Run the load generator with --threads below the CPU count to\n"+
			"leave CPUs to the server.\n"+
			"\n"+
			"Only a server on a loopback address is loaded (127.0.0.0/8, ::1,\n"+
			"localhost): another --url is refused, and so are connections that\n"+
			"resolve elsewhere and redirects.\n"+
			"\n"+
			"Exit status: 0 every 200 answer matched the offline model and every\n"+
			"response was 200 or 429; 1 failure: a wrong answer, a malformed 200\n"+
			"body, a transport error (refused, reset, timed out), a 5xx or another\n"+
			"4xx status, or no 200 response at all (the reasons are printed); 2 bad\n"+
			"flags; 130 interrupted by SIGINT or SIGTERM (the requests in flight are\n"+
			"abandoned, and the report covers what was done).")
	f.rt.register(fs)
	fs.StringVar(&f.url, "url", "http://127.0.0.1:8080", "base `URL` of the server; its host must be a loopback address")
	fs.StringVar(&f.models, "models", "arith,sudoku6,sudoku9", "`list` of embedded model names to mix, each with an optional =weight (requests per turn, default 1), e.g. arith,sudoku9=3")
	fs.IntVar(&f.rate, "rate", 0, "requests per second, at a fixed rate (instead of --concurrency)")
	fs.IntVar(&f.concurrency, "concurrency", 0, fmt.Sprintf("requests in flight at all times, as fast as the server answers (default %d when --rate is not given)", defaultLoadConcurrency))
	fs.IntVar(&f.maxWorkers, "max-workers", 256, "with --rate: the most requests in flight")
	fs.DurationVar(&f.duration, "duration", 0, fmt.Sprintf("bound the run in time (default %v, or no bound when --requests is given)", defaultLoadDuration))
	fs.Int64Var(&f.requests, "requests", 0, "bound the run in requests sent (0: no bound)")
	fs.Uint64Var(&f.seed, "seed", 0, "seed choosing the inputs (the same seed sends the same requests)")
	fs.IntVar(&f.pool, "pool", 100, "distinct inputs per model, answered offline before the attack and cycled through")
	fs.IntVar(&f.perRequest, "inputs-per-request", 1, "inputs in each request")
	fs.StringVar(&f.haltName, "halt", string(trm.HaltEarly), "halting of the requests and the offline answers: early (stop at q_halt > 0) or full (N_sup steps)")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "limit of each request, from sending to the end of the answer")
	fs.BoolVar(&f.noVerify, "no-verify", false, "skip the offline answers: check only the accuracy against the true answers (for a server that does not serve the embedded checkpoints)")
	if err := parse(fs, args, false); err != nil {
		return nil, err
	}
	if err := f.rt.validate(); err != nil {
		return nil, err
	}
	if err := f.validate(fs); err != nil {
		return nil, err
	}
	return f, nil
}

// validate checks the values after parsing and fills in the defaults
// that depend on which flags fs was given.
func (f *loadtestFlags) validate(fs *flag.FlagSet) error {
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	var err error
	if f.base, err = loadgen.ParseURL(f.url); err != nil {
		return usagef("--url %q: %v", f.url, err)
	}
	if f.halt, err = trm.ParseHaltMode(f.haltName); err != nil {
		return usagef("--halt: %v", err)
	}
	if f.mix, err = loadgen.ParseMix(f.models); err != nil {
		return usagef("--models %q: %v", f.models, err)
	}
	switch {
	case set["rate"] && set["concurrency"]:
		return usagef("--rate and --concurrency exclude each other: a run has a fixed rate or a fixed number of requests in flight")
	case set["rate"] && (f.rate < 1 || f.rate > maxLoadRate):
		return usagef("--rate %d, want requests per second in [1, %d] (for as fast as possible, use --concurrency)", f.rate, maxLoadRate)
	case set["concurrency"] && (f.concurrency < 1 || f.concurrency > maxLoadConcurrency):
		return usagef("--concurrency %d, want requests in flight in [1, %d]", f.concurrency, maxLoadConcurrency)
	case set["max-workers"] && !set["rate"]:
		return usagef("--max-workers goes with --rate (with --concurrency, the requests in flight are --concurrency)")
	case f.maxWorkers < 1 || f.maxWorkers > maxLoadConcurrency:
		return usagef("--max-workers %d, want requests in flight in [1, %d]", f.maxWorkers, maxLoadConcurrency)
	case f.duration < 0:
		return usagef("--duration %v, want ≥ 0", f.duration)
	case f.requests < 0:
		return usagef("--requests %d, want ≥ 0 (0: no bound)", f.requests)
	case set["duration"] && f.duration == 0 && f.requests == 0:
		return usagef("--duration 0 without --requests: the run would never end; bound it in time or in requests")
	case f.pool < 1 || f.pool > maxLoadPool:
		return usagef("--pool %d, want distinct inputs per model in [1, %d]", f.pool, maxLoadPool)
	case f.perRequest < 1 || f.perRequest > maxInputsPerReq:
		return usagef("--inputs-per-request %d, want an integer in [1, %d]", f.perRequest, maxInputsPerReq)
	case f.timeout <= 0:
		return usagef("--timeout %v, want > 0 (a limit such as 30s)", f.timeout)
	}
	if !set["rate"] && !set["concurrency"] {
		f.concurrency = defaultLoadConcurrency
	}
	if !set["duration"] && f.requests == 0 {
		f.duration = defaultLoadDuration
	}
	return nil
}

// runLoadtest is trm loadtest: it builds the workload (with the offline
// answers unless --no-verify), loads the server, prints the report and
// fails (exit 1) when the run did not pass, or gives ctx's error (exit 130)
// when it was interrupted.
func runLoadtest(ctx context.Context, e env, args []string) error {
	f, err := parseLoadtestFlags(e, args)
	if err != nil {
		return err
	}
	return f.rt.withRuntime(func() error {
		w, err := loadgen.NewWorkload(ctx, loadgen.WorkloadConfig{
			Mix: f.mix, Seed: f.seed, Pool: f.pool, PerRequest: f.perRequest,
			Halt: f.halt, Verify: !f.noVerify, Requests: f.requests,
		})
		if err != nil {
			return err
		}
		rep, err := loadgen.Run(ctx, loadgen.Config{
			URL: f.base, Rate: f.rate, Concurrency: f.concurrency, MaxWorkers: f.maxWorkers,
			Duration: f.duration, Requests: f.requests, Timeout: f.timeout, Halt: f.halt,
		}, w)
		if err != nil {
			return err
		}
		if f.rt.json {
			err = writeJSON(e.stdout, rep)
		} else {
			err = writeLoadReport(e.stdout, rep)
		}
		if err != nil {
			return fmt.Errorf("writing the report: %w", err)
		}
		switch {
		case rep.Interrupted:
			// Exit status 130, after the report of what was done.
			return fmt.Errorf("load test: %w", ctx.Err())
		case !rep.Pass:
			return errors.New("load test failed: " + strings.Join(rep.Failures, "; "))
		}
		return nil
	})
}

// writeLoadReport prints the report for people.
func writeLoadReport(w io.Writer, r *loadgen.Report) error {
	var b strings.Builder
	plural := func(n int, one, many string) string {
		if n == 1 {
			return "1 " + one
		}
		return strconv.Itoa(n) + " " + many
	}
	load := fmt.Sprintf("%d in flight", r.Concurrency)
	if r.Rate > 0 {
		load = fmt.Sprintf("%d requests/s", r.Rate)
	}
	var bounds []string
	if r.DurationLimit != "" {
		bounds = append(bounds, r.DurationLimit)
	}
	if r.RequestLimit > 0 {
		bounds = append(bounds, fmt.Sprintf("%d requests", r.RequestLimit))
	}
	fmt.Fprintf(&b, "server:    %s\n", r.URL)
	fmt.Fprintf(&b, "workload:  %s; %s per request; --halt %s; seed %d\n",
		r.Mix, plural(r.InputsPerRequest, "input", "inputs"), r.Halt, r.Seed)
	fmt.Fprintf(&b, "load:      %s for %s\n", load, strings.Join(bounds, " or "))
	if r.Verified {
		fmt.Fprintf(&b, "offline:   %s from the embedded models in %s\n",
			plural(r.OfflineAnswers, "expected answer", "expected answers"), fmtSeconds(r.OfflineSeconds))
	} else {
		fmt.Fprintf(&b, "offline:   skipped (--no-verify): answers checked against the true answers only\n")
	}
	fmt.Fprintf(&b, "requests:  %d in %s (%.1f/s sent); throughput %.1f/s (status 200)\n",
		r.Requests, fmtSeconds(r.Seconds), r.SentRate, r.Throughput)
	fmt.Fprintf(&b, "latency:   p50 %s, p95 %s, p99 %s, max %s\n",
		fmtMillis(r.Latency.P50), fmtMillis(r.Latency.P95), fmtMillis(r.Latency.P99), fmtMillis(r.Latency.Max))
	fmt.Fprintf(&b, "status:    %s\n", fmtStatusCodes(r.StatusCodes))
	fmt.Fprintf(&b, "transport: %s\n", plural(r.TransportErrors, "error", "errors"))
	if len(r.Errors) > 0 {
		fmt.Fprintf(&b, "errors:    (each distinct error once, at most %d)\n", loadgen.MaxErrors)
		for _, msg := range r.Errors {
			fmt.Fprintf(&b, "  %s\n", msg)
		}
	}
	if r.Cancelled > 0 || r.Interrupted {
		fmt.Fprintf(&b, "interrupted: %s in flight abandoned\n", plural(r.Cancelled, "request", "requests"))
	}
	answers := fmt.Sprintf("%d in %s with status 200", r.Answers, plural(r.OK, "response", "responses"))
	if r.Verified {
		answers += fmt.Sprintf(": %d matched the offline model, %d wrong", r.Matched, r.Wrong)
	}
	if r.Malformed > 0 {
		answers += fmt.Sprintf("; %s malformed", plural(r.Malformed, "response", "responses"))
	}
	fmt.Fprintf(&b, "answers:   %s\n", answers)
	for _, m := range r.WrongExamples {
		fmt.Fprintf(&b, "  wrong: %s %q: got %q, offline model %q\n", m.Model, m.Input, m.Got, m.Want)
	}
	fmt.Fprintf(&b, "truth:     %d of %d right (%.2f%%)\n", r.Right, r.Answers, 100*r.Accuracy)
	fmt.Fprintf(&b, "per model:\n")
	for _, m := range r.Models {
		line := fmt.Sprintf("  %-8s  %d requests, %d with status 200, p50 %s, p99 %s, %d answers",
			m.Name, m.Requests, m.OK, fmtMillis(m.Latency.P50), fmtMillis(m.Latency.P99), m.Answers)
		if r.Verified {
			line += fmt.Sprintf(", %d wrong", m.Wrong)
		}
		line += fmt.Sprintf(", %.2f%% right", 100*m.Accuracy)
		fmt.Fprintln(&b, line)
	}
	switch {
	case r.Interrupted:
		fmt.Fprintf(&b, "result:    INTERRUPTED\n")
	case r.Pass:
		fmt.Fprintf(&b, "result:    PASS\n")
	default:
		fmt.Fprintf(&b, "result:    FAIL: %s\n", strings.Join(r.Failures, "; "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// fmtMillis renders milliseconds as a duration rounded to 3 significant
// places or so: 12.3ms, 1.23s, 456µs.
func fmtMillis(ms float64) string {
	d := time.Duration(ms * float64(time.Millisecond))
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	default:
		return d.Round(time.Microsecond).String()
	}
}

// fmtSeconds renders seconds as a duration: 10.02s, 850ms.
func fmtSeconds(s float64) string { return fmtMillis(1000 * s) }

// fmtStatusCodes renders status counts in code order: "200 ×990, 429 ×10",
// or "none".
func fmtStatusCodes(codes map[string]int) string {
	if len(codes) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(codes))
	for k := range codes {
		keys = append(keys, k)
	}
	slices.Sort(keys) // three digits each
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d", k, codes[k])
	}
	return strings.Join(parts, ", ")
}
