package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/trm-go/trm/trm"
)

// Config is how a run loads the server.
type Config struct {
	// URL is the server's base URL (ParseURL): requests go to
	// URL/v1/models/{name}/predict.
	URL *url.URL
	// Rate is the requests sent per second; 0 runs Concurrency requests
	// in flight at all times, as fast as the server answers.
	Rate int
	// Concurrency is the requests in flight when Rate is 0.
	Concurrency int
	// MaxWorkers bounds the requests in flight at a fixed Rate (vegeta
	// adds workers while the server falls behind); 0 means 256.
	MaxWorkers int
	// Duration bounds the run in time and Requests in count (0: no
	// bound); the run stops at whichever comes first. One must be set.
	Duration time.Duration
	Requests int64
	// Timeout bounds each request, from sending to the end of the body.
	Timeout time.Duration
	// Halt is the "halt" of every request.
	Halt trm.HaltMode
	// MaxBody bounds the response body read (0: 64 MiB); a longer body is
	// cut and counted as malformed.
	MaxBody int64
}

// defaultMaxWorkers is Config.MaxWorkers when 0.
const defaultMaxWorkers = 256

// maxWrongExamples is the number of wrong answers a Report quotes.
const maxWrongExamples = 5

// MaxErrors is the number of distinct errors a Report lists.
const MaxErrors = 10

// Latency is a latency summary, in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// latencyOf converts vegeta's latency metrics (after Close).
func latencyOf(l vegeta.LatencyMetrics) Latency {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return Latency{ms(l.P50), ms(l.P95), ms(l.P99), ms(l.Max), ms(l.Mean)}
}

// Mismatch is a 200 answer that differs from the offline model's.
type Mismatch struct {
	Model string `json:"model"`
	Input string `json:"input"`
	Got   string `json:"got"`
	Want  string `json:"want"`
}

// Counts are the answers of a run or of one model.
type Counts struct {
	// Requests is the requests answered (with any status) or failed in
	// transport; requests cut short by an interruption are not counted.
	Requests uint64 `json:"requests"`
	// OK is the responses with status 200.
	OK int `json:"ok_responses"`
	// Answers is the answers in 200 responses (one per input).
	Answers int `json:"answers"`
	// Matched and Wrong are the answers equal to and different from the
	// offline model's (both 0 when the run is not verified).
	Matched int `json:"matched"`
	Wrong   int `json:"wrong"`
	// Malformed is the 200 responses whose body is not {"model", "outputs"}
	// with one answer per input.
	Malformed int `json:"malformed"`
	// Right is the answers equal to the task's true answer, and Accuracy
	// Right / Answers.
	Right    int     `json:"right"`
	Accuracy float64 `json:"accuracy"`
	// Latency is over every counted request, whatever its status.
	Latency Latency `json:"latency_ms"`
}

// ModelReport is the part of a run that went to one model.
type ModelReport struct {
	Name string `json:"name"`
	Counts
}

// Report is the outcome of a run.
type Report struct {
	// The run's settings.
	URL              string `json:"url"`
	Mix              Mix    `json:"models"`
	Rate             int    `json:"rate,omitempty"`
	Concurrency      int    `json:"concurrency,omitempty"`
	DurationLimit    string `json:"duration_limit,omitempty"`
	RequestLimit     int64  `json:"request_limit,omitempty"`
	Seed             uint64 `json:"seed"`
	InputsPerRequest int    `json:"inputs_per_request"`
	Halt             string `json:"halt"`
	Verified         bool   `json:"verified"`
	// OfflineAnswers is the expected answers computed offline before the
	// attack, in OfflineSeconds.
	OfflineAnswers int     `json:"offline_answers"`
	OfflineSeconds float64 `json:"offline_s"`

	Counts
	// Seconds is the wall time from the first request sent to the last
	// answer; SentRate the requests sent per second; Throughput the 200
	// responses per second (over Seconds).
	Seconds    float64 `json:"duration_s"`
	SentRate   float64 `json:"sent_rate"`
	Throughput float64 `json:"throughput"`
	// StatusCodes counts the responses by status; TransportErrors the
	// requests that got no response (refused, reset, timed out).
	StatusCodes     map[string]int `json:"status_codes"`
	TransportErrors int            `json:"transport_errors"`
	// Errors lists distinct errors, at most MaxErrors: transport errors,
	// statuses other than 200 with the server's error code and message,
	// malformed 200 bodies.
	Errors []string `json:"errors"`
	// Cancelled is the requests in flight when the run was interrupted
	// (not counted elsewhere).
	Cancelled   int  `json:"cancelled"`
	Interrupted bool `json:"interrupted"`

	Models        []ModelReport `json:"per_model"`
	WrongExamples []Mismatch    `json:"wrong_examples,omitempty"`
	// Failures says why the run failed (exit status 1); empty when it
	// passed.
	Failures []string `json:"failures"`
	Pass     bool     `json:"pass"`
}

// predictRequest is the body of POST /v1/models/{name}/predict.
type predictRequest struct {
	Inputs []string `json:"inputs"`
	Halt   string   `json:"halt,omitempty"`
}

// predictResponse is the part of a 200 body that the run checks.
type predictResponse struct {
	Model   string `json:"model"`
	Outputs []struct {
		Answer *string `json:"answer"`
	} `json:"outputs"`
}

// errorResponse is the body of an error status.
type errorResponse struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Run loads the server with w's requests as cfg says and returns the
// report. Cancelling ctx stops the run: no new request is sent, the ones in
// flight are abandoned (counted as Cancelled) and the report covers what was
// done, with Interrupted set. The error is for a run that could not start.
func Run(ctx context.Context, cfg Config, w *Workload) (*Report, error) {
	if cfg.URL == nil {
		return nil, fmt.Errorf("loadgen: no URL")
	}
	if err := CheckLoopback(cfg.URL.Hostname()); err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	switch {
	case cfg.Rate < 0:
		return nil, fmt.Errorf("loadgen: rate %d, want ≥ 0", cfg.Rate)
	case cfg.Rate == 0 && cfg.Concurrency < 1:
		return nil, fmt.Errorf("loadgen: concurrency %d, want ≥ 1", cfg.Concurrency)
	case cfg.Duration < 0 || cfg.Requests < 0:
		return nil, fmt.Errorf("loadgen: negative bound")
	case cfg.Duration == 0 && cfg.Requests == 0:
		return nil, fmt.Errorf("loadgen: no bound: set a duration or a number of requests")
	case cfg.Timeout <= 0:
		return nil, fmt.Errorf("loadgen: timeout %v, want > 0", cfg.Timeout)
	}
	if cfg.MaxWorkers <= 0 {
		cfg.MaxWorkers = defaultMaxWorkers
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 64 << 20
	}
	wc := w.Config()
	rep := &Report{
		URL: cfg.URL.String(), Mix: wc.Mix, Rate: cfg.Rate, RequestLimit: cfg.Requests,
		Seed: wc.Seed, InputsPerRequest: wc.PerRequest, Halt: string(cfg.Halt), Verified: wc.Verify,
		OfflineAnswers: w.OfflineAnswers, OfflineSeconds: w.Offline.Seconds(),
		StatusCodes: map[string]int{}, Errors: []string{}, Failures: []string{},
	}
	if cfg.Duration > 0 {
		rep.DurationLimit = cfg.Duration.String()
	}

	// The request URLs, one per model. Request i carries "#i": a fragment
	// is never sent (it is not part of the request target), but vegeta
	// hands it back in Result.URL, which ties each result to its request.
	urls := make([]string, len(wc.Mix))
	for m, mw := range wc.Mix {
		urls[m] = cfg.URL.JoinPath("v1", "models", mw.Name, "predict").String()
	}
	header := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}
	var next atomic.Int64
	targeter := func(t *vegeta.Target) error {
		if err := ctx.Err(); err != nil {
			return err // vegeta stops the attack
		}
		i := next.Add(1) - 1
		m, items := w.Request(i)
		req := predictRequest{Inputs: make([]string, len(items)), Halt: string(cfg.Halt)}
		for j, k := range items {
			req.Inputs[j] = w.Item(m, k).Input
		}
		body, err := json.Marshal(req)
		if err != nil {
			return err
		}
		t.Method, t.URL, t.Body, t.Header = http.MethodPost, urls[m]+"#"+strconv.FormatInt(i, 10), body, header
		return nil
	}

	var pacer vegeta.Pacer = vegeta.ConstantPacer{} // 0: as fast as the workers go
	opts := []func(*vegeta.Attacker){vegeta.Client(newClient(ctx, cfg)), vegeta.MaxBody(cfg.MaxBody)}
	if cfg.Rate > 0 {
		pacer = vegeta.ConstantPacer{Freq: cfg.Rate, Per: time.Second}
		opts = append(opts, vegeta.Workers(uint64(min(cfg.Rate, cfg.MaxWorkers, vegeta.DefaultWorkers))), vegeta.MaxWorkers(uint64(cfg.MaxWorkers)))
	} else {
		rep.Concurrency = cfg.Concurrency
		opts = append(opts, vegeta.Workers(uint64(cfg.Concurrency)), vegeta.MaxWorkers(uint64(cfg.Concurrency)))
	}
	if cfg.Requests > 0 {
		pacer = boundedPacer{pacer, uint64(cfg.Requests)}
	}
	atk := vegeta.NewAttacker(opts...)

	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			atk.Stop()
		case <-done:
		}
	}()

	c := newCollector(w, rep)
	for r := range atk.Attack(vegeta.Targeter(targeter), pacer, cfg.Duration, "trm-loadtest") {
		c.add(ctx, r)
	}
	rep.Interrupted = ctx.Err() != nil
	c.close()
	return rep, nil
}

// boundedPacer stops an attack after n hits.
type boundedPacer struct {
	vegeta.Pacer
	n uint64
}

// Pace implements vegeta.Pacer.
func (p boundedPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if hits >= p.n {
		return 0, true
	}
	return p.Pacer.Pace(elapsed, hits)
}

// newClient returns the HTTP client of a run: no proxy, no redirect
// followed, connections only to loopback addresses, and every request
// abandoned once ctx is cancelled.
func newClient(ctx context.Context, cfg Config) *http.Client {
	dialer := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second, Control: loopbackControl}
	conns := max(cfg.Concurrency, cfg.MaxWorkers)
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         dialer.DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
	}
	return &http.Client{
		Transport: cancelTransport{ctx, tr},
		Timeout:   cfg.Timeout,
		// A redirect could lead off this machine: the 3xx is the answer.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// cancelTransport abandons each request, body included, once ctx is
// cancelled (vegeta's requests carry no context of their own).
type cancelTransport struct {
	ctx  context.Context
	next http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t cancelTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rctx, cancel := context.WithCancel(req.Context()) // keeps the client's deadline
	stop := context.AfterFunc(t.ctx, cancel)
	release := func() {
		stop()
		cancel()
	}
	resp, err := t.next.RoundTrip(req.WithContext(rctx))
	if err != nil {
		release()
		return nil, err
	}
	resp.Body = &releaseBody{ReadCloser: resp.Body, release: release}
	return resp, nil
}

// releaseBody calls release once the body is closed.
type releaseBody struct {
	io.ReadCloser
	release func()
}

// Close implements io.Closer.
func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}

// collector tallies the results of a run into its report.
type collector struct {
	w        *Workload
	rep      *Report
	all      vegeta.Metrics
	models   []vegeta.Metrics
	counts   []Counts
	errs     map[string]bool
	fivexx   int
	statuses map[int]int
}

// newCollector returns a collector of w's results into rep.
func newCollector(w *Workload, rep *Report) *collector {
	n := len(w.Config().Mix)
	return &collector{
		w: w, rep: rep, models: make([]vegeta.Metrics, n), counts: make([]Counts, n),
		errs: map[string]bool{}, statuses: map[int]int{},
	}
}

// noteError records a distinct error message.
func (c *collector) noteError(msg string) {
	if c.errs[msg] {
		return
	}
	c.errs[msg] = true
	if len(c.rep.Errors) < MaxErrors {
		c.rep.Errors = append(c.rep.Errors, msg)
	}
}

// add tallies one result.
func (c *collector) add(ctx context.Context, r *vegeta.Result) {
	if r.Code == 0 && ctx.Err() != nil {
		// Abandoned in flight, or never sent (the targeter refuses once
		// ctx is cancelled).
		c.rep.Cancelled++
		return
	}
	base, frag, _ := strings.Cut(r.URL, "#")
	i, err := strconv.ParseInt(frag, 10, 64)
	if err != nil {
		// Not one of ours: the targeter fails only once ctx is cancelled.
		c.noteError("result without a request index: " + r.Error)
		return
	}
	// The fragment would make every transport error distinct.
	r.Error = strings.ReplaceAll(r.Error, r.URL, base)
	r.URL = base
	m, items := c.w.Request(i)
	c.all.Add(r)
	c.models[m].Add(r)
	cnt := &c.counts[m]
	cnt.Requests++
	switch {
	case r.Code == 0:
		c.rep.TransportErrors++
		c.noteError(r.Error)
		return
	case r.Code != http.StatusOK:
		c.statuses[int(r.Code)]++
		msg := strconv.Itoa(int(r.Code))
		var e errorResponse
		if json.Unmarshal(r.Body, &e) == nil && (e.Error.Code != "" || e.Error.Message != "") {
			msg += " " + e.Error.Code + ": " + e.Error.Message
		} else {
			msg += " " + http.StatusText(int(r.Code))
		}
		c.noteError(msg)
		return
	}
	c.statuses[http.StatusOK]++
	cnt.OK++
	name := c.w.Config().Mix[m].Name
	var resp predictResponse
	err = json.Unmarshal(r.Body, &resp)
	if err == nil && resp.Model != name {
		err = fmt.Errorf("model %q, want %q", resp.Model, name)
	}
	if err == nil && len(resp.Outputs) != len(items) {
		err = fmt.Errorf("%d outputs for %d inputs", len(resp.Outputs), len(items))
	}
	if err == nil {
		for _, o := range resp.Outputs {
			if o.Answer == nil {
				err = fmt.Errorf("an output without an answer")
				break
			}
		}
	}
	if err != nil {
		cnt.Malformed++
		c.noteError(fmt.Sprintf("200 from %s with a malformed body: %v", name, err))
		return
	}
	verify := c.w.Config().Verify
	for j, o := range resp.Outputs {
		it := c.w.Item(m, items[j])
		cnt.Answers++
		if *o.Answer == it.Truth {
			cnt.Right++
		}
		if !verify {
			continue
		}
		if *o.Answer == it.Expected {
			cnt.Matched++
			continue
		}
		cnt.Wrong++
		if len(c.rep.WrongExamples) < maxWrongExamples {
			c.rep.WrongExamples = append(c.rep.WrongExamples, Mismatch{name, it.Input, *o.Answer, it.Expected})
		}
	}
}

// close computes the summaries and the verdict.
func (c *collector) close() {
	rep := c.rep
	c.all.Close()
	for m := range c.models {
		c.models[m].Close()
		cnt := c.counts[m]
		cnt.Latency = latencyOf(c.models[m].Latencies)
		if cnt.Answers > 0 {
			cnt.Accuracy = float64(cnt.Right) / float64(cnt.Answers)
		}
		rep.Models = append(rep.Models, ModelReport{Name: rep.Mix[m].Name, Counts: cnt})
		rep.OK += cnt.OK
		rep.Answers += cnt.Answers
		rep.Matched += cnt.Matched
		rep.Wrong += cnt.Wrong
		rep.Malformed += cnt.Malformed
		rep.Right += cnt.Right
	}
	rep.Requests = c.all.Requests
	rep.Latency = latencyOf(c.all.Latencies)
	if rep.Answers > 0 {
		rep.Accuracy = float64(rep.Right) / float64(rep.Answers)
	}
	rep.Seconds = (c.all.Duration + c.all.Wait).Seconds()
	rep.SentRate = c.all.Rate
	if rep.Seconds > 0 {
		rep.Throughput = float64(rep.OK) / rep.Seconds
	}
	for code, n := range c.statuses {
		rep.StatusCodes[strconv.Itoa(code)] = n
	}
	rep.Failures = verdict(rep, c.statuses)
	rep.Pass = len(rep.Failures) == 0
}

// verdict lists why a run failed: a wrong or malformed 200 answer, a
// transport error, any status other than 200 and 429 (5xx: the server
// failed; another 4xx: the server refused the load generator's request,
// so the two disagree on the contract or the model is not served), or no
// 200 response at all in a run that was not interrupted.
func verdict(rep *Report, statuses map[int]int) []string {
	fails := []string{}
	if rep.Wrong > 0 {
		fails = append(fails, fmt.Sprintf("%d of %d answers differ from the offline model", rep.Wrong, rep.Answers))
	}
	if rep.Malformed > 0 {
		fails = append(fails, fmt.Sprintf("%d responses with status 200 have a malformed body", rep.Malformed))
	}
	if rep.TransportErrors > 0 {
		fails = append(fails, fmt.Sprintf("%d transport errors", rep.TransportErrors))
	}
	codes := make([]int, 0, len(statuses))
	for code := range statuses {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	for _, code := range codes {
		if code == http.StatusOK || code == http.StatusTooManyRequests {
			continue
		}
		fails = append(fails, fmt.Sprintf("%d responses with status %d %s", statuses[code], code, http.StatusText(code)))
	}
	if rep.OK == 0 && !rep.Interrupted {
		fails = append(fails, "no response with status 200")
	}
	return fails
}
