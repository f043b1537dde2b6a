package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/checkpoints"
	"github.com/trm-go/trm/internal/loadgen"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/infer"
	"github.com/trm-go/trm/trm/task"
)

// loadtestRun runs trm loadtest with args through runContext, as main does,
// and returns its exit code and outputs.
func loadtestRun(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	return trmRunIn(ctx, "", append([]string{"loadtest"}, args...)...)
}

// fakeRequest is one request the fake server received.
type fakeRequest struct {
	Model  string
	Inputs []string
	Halt   string
	// RequestURI is the request target as sent.
	RequestURI string
}

// fakeFault is how the fake server misbehaves on the n-th request it
// receives (from 0): a status other than 200 (0: 200), or a wrong answer.
type fakeFault func(n int) (status int, wrong bool)

// fakeServer implements the predict contract of trm serve for the embedded
// models: POST /v1/models/{name}/predict answers each input with the
// embedded model run offline one input at a time (as the load generator
// expects), in the compact form (task.AnswerText). fault, if set, makes it
// answer some requests with an error status or a wrong answer; block makes
// every request wait until the client goes away.
type fakeServer struct {
	t     *testing.T
	fault fakeFault
	block bool

	mu       sync.Mutex
	preds    map[string]*infer.Predictor
	received []fakeRequest
	// arrived is signalled (without blocking) on every request.
	arrived chan struct{}
}

// newFakeServer starts the fake server serving models.
func newFakeServer(t *testing.T, fault fakeFault, models ...string) (*fakeServer, *httptest.Server) {
	t.Helper()
	f := &fakeServer{t: t, fault: fault, preds: map[string]*infer.Predictor{}, arrived: make(chan struct{}, 1)}
	for _, name := range models {
		data, ok := checkpoints.Lookup(name)
		require.True(t, ok, name)
		p, err := infer.DecodePredictor(data, "embedded:"+name)
		require.NoError(t, err)
		p.BatchSize = 1
		f.preds[name] = p
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/models/{name}/predict", f.predict)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return f, srv
}

// requests returns the requests received so far.
func (f *fakeServer) requests() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.received)
}

// fakeError writes an error in the contract's form.
func fakeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error": {"code": %q, "message": %q}}`, code, msg)
}

// predict serves POST /v1/models/{name}/predict.
func (f *fakeServer) predict(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Inputs []string `json:"inputs"`
		Halt   string   `json:"halt"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		fakeError(w, http.StatusBadRequest, "bad_json", err.Error())
		return
	}
	name := r.PathValue("name")
	f.mu.Lock()
	n := len(f.received)
	f.received = append(f.received, fakeRequest{name, req.Inputs, req.Halt, r.RequestURI})
	f.mu.Unlock()
	select {
	case f.arrived <- struct{}{}:
	default:
	}
	if f.block {
		<-r.Context().Done()
		return
	}
	var status int
	var wrong bool
	if f.fault != nil {
		status, wrong = f.fault(n)
	}
	if status != 0 && status != http.StatusOK {
		fakeError(w, status, "fault", fmt.Sprintf("fault on request %d", n))
		return
	}
	p, ok := f.preds[name]
	if !ok {
		fakeError(w, http.StatusNotFound, "model_not_found", fmt.Sprintf("no model %q", name))
		return
	}
	type output struct {
		Answer string `json:"answer"`
		Steps  int    `json:"steps"`
	}
	outs := make([]output, len(req.Inputs))
	f.mu.Lock() // a Predictor is not safe for concurrent use
	p.Halt = trm.HaltEarly
	if req.Halt == string(trm.HaltFull) {
		p.Halt = trm.HaltFull
	}
	preds, err := p.Predict(req.Inputs...)
	f.mu.Unlock()
	if err != nil {
		fakeError(w, http.StatusBadRequest, "bad_input", err.Error())
		return
	}
	for i, pr := range preds {
		ex, err := p.Task.Encode(req.Inputs[i])
		if err != nil {
			fakeError(w, http.StatusBadRequest, "bad_input", err.Error())
			return
		}
		a, err := task.AnswerText(p.Task, ex, pr.Tokens)
		if err != nil {
			f.t.Errorf("fake server: answer to %q: %v", req.Inputs[i], err)
			fakeError(w, http.StatusInternalServerError, "internal", err.Error())
			return
		}
		outs[i] = output{a, pr.Steps}
	}
	if wrong {
		outs[0].Answer += "7"
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(map[string]any{"model": name, "outputs": outs}); err != nil {
		f.t.Errorf("fake server: writing the answer: %v", err)
	}
}

// skipShort skips the tests that run the embedded models.
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the shipped models")
	}
}

// TestLoadtestAllRight: a server giving the offline model's answers passes
// (exit 0), and the report counts every request and answer.
func TestLoadtestAllRight(t *testing.T) {
	skipShort(t)
	fake, srv := newFakeServer(t, nil, "arith")
	code, out, errOut := loadtestRun(context.Background(), "--url", srv.URL, "--models", "arith", "--requests", "12", "--concurrency", "3", "--pool", "5")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Empty(t, errOut)
	for _, want := range []string{
		"server:    " + srv.URL + "\n",
		"workload:  arith; 1 input per request; --halt early; seed 0\n",
		"load:      3 in flight for 12 requests\n",
		"offline:   5 expected answers from the embedded models in ",
		"requests:  12 in ",
		"status:    200 ×12\n",
		"transport: 0 errors\n",
		"answers:   12 in 12 responses with status 200: 12 matched the offline model, 0 wrong\n",
		"  arith     12 requests, 12 with status 200, p50 ",
		"result:    PASS\n",
	} {
		assert.Contains(t, out, want)
	}
	reqs := fake.requests()
	require.Len(t, reqs, 12)
	for _, r := range reqs {
		assert.Equal(t, "arith", r.Model)
		assert.Equal(t, "early", r.Halt)
		assert.Len(t, r.Inputs, 1)
		assert.Equal(t, "/v1/models/arith/predict", r.RequestURI, "the request index travels in a fragment, never sent")
	}
}

// TestLoadtestJSON: --json prints one object; a mix of two models takes
// turns, each request holding --inputs-per-request inputs.
func TestLoadtestJSON(t *testing.T) {
	skipShort(t)
	fake, srv := newFakeServer(t, nil, "arith", "sudoku6")
	code, out, errOut := loadtestRun(context.Background(), "--url", srv.URL+"/", "--models", "arith,sudoku6",
		"--requests", "4", "--inputs-per-request", "3", "--rate", "200", "--halt", "full", "--json")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	var rep loadgen.Report
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	assert.Equal(t, strings.Count(out, "\n"), 1, "one line")
	assert.Equal(t, uint64(4), rep.Requests)
	assert.Equal(t, map[string]int{"200": 4}, rep.StatusCodes)
	assert.Equal(t, 12, rep.Answers)
	assert.Equal(t, 12, rep.Matched)
	assert.Equal(t, 0, rep.Wrong)
	assert.Equal(t, 12, rep.OfflineAnswers, "the pools trimmed to the inputs the 4 requests use")
	assert.Equal(t, 200, rep.Rate)
	assert.Equal(t, "full", rep.Halt)
	assert.True(t, rep.Verified)
	assert.True(t, rep.Pass)
	assert.Empty(t, rep.Failures)
	require.Len(t, rep.Models, 2)
	for i, name := range []string{"arith", "sudoku6"} {
		assert.Equal(t, name, rep.Models[i].Name)
		assert.Equal(t, uint64(2), rep.Models[i].Requests)
		assert.Equal(t, 6, rep.Models[i].Answers)
	}
	reqs := fake.requests()
	require.Len(t, reqs, 4)
	inputs := 0
	for _, r := range reqs {
		assert.Len(t, r.Inputs, 3)
		assert.Equal(t, "full", r.Halt)
		inputs += len(r.Inputs)
	}
	assert.Equal(t, 12, inputs)
}

// TestLoadtestDetectsWrongAnswers: a 200 answer that differs from the
// offline model's is counted wrong, quoted, and fails the run (exit 1).
func TestLoadtestDetectsWrongAnswers(t *testing.T) {
	skipShort(t)
	_, srv := newFakeServer(t, func(n int) (int, bool) { return 0, n%4 == 3 }, "arith")
	code, out, errOut := loadtestRun(context.Background(), "--url", srv.URL, "--models", "arith", "--requests", "8", "--concurrency", "2", "--json")
	require.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	var rep loadgen.Report
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	assert.Equal(t, 8, rep.Answers)
	assert.Equal(t, 6, rep.Matched)
	assert.Equal(t, 2, rep.Wrong)
	assert.False(t, rep.Pass)
	require.Len(t, rep.WrongExamples, 2)
	for _, m := range rep.WrongExamples {
		assert.Equal(t, m.Want+"7", m.Got)
		assert.Equal(t, "arith", m.Model)
	}
	assert.LessOrEqual(t, rep.Right, 6, "a wrong answer is not the true one either")
	assert.Contains(t, errOut, "trm loadtest: load test failed: 2 of 8 answers differ from the offline model")

	// The text report quotes them.
	code, out, _ = loadtestRun(context.Background(), "--url", srv.URL, "--models", "arith", "--requests", "8", "--concurrency", "1")
	require.Equal(t, 1, code)
	assert.Contains(t, out, "6 matched the offline model, 2 wrong\n")
	assert.Contains(t, out, "  wrong: arith ")
	assert.Contains(t, out, "result:    FAIL: 2 of 8 answers differ from the offline model\n")
}

// TestLoadtestStatusCodes: statuses are counted; 429 is back-pressure and
// passes, 5xx fails.
func TestLoadtestStatusCodes(t *testing.T) {
	skipShort(t)
	_, srv := newFakeServer(t, func(n int) (int, bool) {
		switch n % 5 {
		case 1:
			return http.StatusTooManyRequests, false
		case 3:
			return http.StatusInternalServerError, false
		}
		return 0, false
	}, "arith")
	code, out, errOut := loadtestRun(context.Background(), "--url", srv.URL, "--models", "arith", "--requests", "10", "--concurrency", "2")
	require.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, out, "status:    200 ×6, 429 ×2, 500 ×2\n")
	assert.Contains(t, out, "answers:   6 in 6 responses with status 200: 6 matched the offline model, 0 wrong\n")
	assert.Contains(t, out, "  429 fault: fault on request 1\n", "the server's error code and message")
	assert.Contains(t, errOut, "2 responses with status 500 Internal Server Error")
	assert.NotContains(t, errOut, "429")

	_, srv429 := newFakeServer(t, func(n int) (int, bool) {
		if n%2 == 1 {
			return http.StatusTooManyRequests, false
		}
		return 0, false
	}, "arith")
	code, out, errOut = loadtestRun(context.Background(), "--url", srv429.URL, "--models", "arith", "--requests", "6", "--concurrency", "1")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, out, "status:    200 ×3, 429 ×3\n")
	assert.Contains(t, out, "result:    PASS\n")
}

// TestLoadtestModelNotServed: a 4xx other than 429 (here 404, a model the
// server does not serve) fails the run.
func TestLoadtestModelNotServed(t *testing.T) {
	_, srv := newFakeServer(t, nil)
	code, out, errOut := loadtestRun(context.Background(), "--url", srv.URL, "--models", "sudoku9", "--no-verify", "--requests", "2")
	require.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, out, "status:    404 ×2\n")
	assert.Contains(t, out, `404 model_not_found: no model "sudoku9"`)
	assert.Contains(t, errOut, "2 responses with status 404 Not Found; no response with status 200")
}

// TestLoadtestBounds: --requests N sends exactly N requests, at a rate or
// with requests in flight; --duration ends a run in time.
func TestLoadtestBounds(t *testing.T) {
	skipShort(t)
	for _, load := range [][]string{{"--rate", "100"}, {"--concurrency", "5"}} {
		fake, srv := newFakeServer(t, nil, "arith")
		args := append([]string{"--url", srv.URL, "--models", "arith", "--requests", "7", "--pool", "3"}, load...)
		code, out, errOut := loadtestRun(context.Background(), args...)
		require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
		assert.Len(t, fake.requests(), 7, load)
		assert.Contains(t, out, "requests:  7 in ")
	}

	fake, srv := newFakeServer(t, nil, "arith")
	start := time.Now()
	code, out, errOut := loadtestRun(context.Background(), "--url", srv.URL, "--models", "arith", "--pool", "4", "--duration", "300ms", "--rate", "20")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Less(t, time.Since(start), 5*time.Second)
	n := len(fake.requests())
	assert.GreaterOrEqual(t, n, 3)
	assert.LessOrEqual(t, n, 8, "20/s for 300ms")
	assert.Contains(t, out, "load:      20 requests/s for 300ms\n")
}

// TestLoadtestDeterministic: the same seed sends the same requests in the
// same order; another seed other inputs.
func TestLoadtestDeterministic(t *testing.T) {
	skipShort(t)
	inputs := func(seed string) []fakeRequest {
		fake, srv := newFakeServer(t, nil, "arith", "sudoku6")
		code, out, errOut := loadtestRun(context.Background(), "--url", srv.URL, "--models", "arith=2,sudoku6", "--no-verify",
			"--requests", "6", "--concurrency", "1", "--seed", seed, "--pool", "2")
		require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
		assert.Contains(t, out, "offline:   skipped (--no-verify)")
		assert.Contains(t, out, "workload:  arith=2,sudoku6; ")
		return fake.requests()
	}
	a, b, c := inputs("3"), inputs("3"), inputs("4")
	require.Len(t, a, 6)
	assert.Equal(t, a, b)
	assert.NotEqual(t, a, c)
	var models []string
	for _, r := range a {
		models = append(models, r.Model)
	}
	assert.Equal(t, []string{"arith", "sudoku6", "arith", "arith", "sudoku6", "arith"}, models)
	assert.Equal(t, a[0].Inputs, a[3].Inputs, "arith's pool of 2 cycles: its requests 0 and 2")
	assert.NotEqual(t, a[0].Inputs, a[2].Inputs)
}

// TestLoadtestNoVerify: without the offline answers a changed answer is
// not "wrong", but it still shows in the accuracy against the truth.
func TestLoadtestNoVerify(t *testing.T) {
	skipShort(t)
	_, srv := newFakeServer(t, func(n int) (int, bool) { return 0, true }, "arith")
	code, out, errOut := loadtestRun(context.Background(), "--url", srv.URL, "--models", "arith", "--no-verify", "--requests", "4", "--json")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	var rep loadgen.Report
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	assert.False(t, rep.Verified)
	assert.Equal(t, 0, rep.OfflineAnswers)
	assert.Equal(t, 4, rep.Answers)
	assert.Equal(t, 0, rep.Wrong)
	assert.Equal(t, 0, rep.Right)
	assert.Equal(t, 0.0, rep.Accuracy)
}

// TestLoadtestTransportErrors: a server that is gone gives transport
// errors, which fail the run.
func TestLoadtestTransportErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	code, out, errOut := loadtestRun(context.Background(), "--url", url, "--models", "arith", "--no-verify", "--requests", "3", "--concurrency", "1")
	require.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, out, "transport: 3 errors\n")
	assert.Contains(t, out, "connection refused")
	assert.Contains(t, out, "status:    none\n")
	assert.Contains(t, errOut, "3 transport errors")
}

// TestLoadtestInterrupted: cancelling the context (SIGINT) stops the run at
// once, abandoning the requests in flight, and still prints the report;
// the exit status is 130.
func TestLoadtestInterrupted(t *testing.T) {
	fake, srv := newFakeServer(t, nil)
	fake.block = true
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-fake.arrived
		time.Sleep(50 * time.Millisecond)
		cancel()
	}()
	start := time.Now()
	code, out, errOut := loadtestRun(ctx, "--url", srv.URL, "--models", "arith", "--no-verify", "--duration", "1m", "--concurrency", "2", "--timeout", "1m")
	assert.Equal(t, 130, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Less(t, time.Since(start), 10*time.Second)
	assert.Regexp(t, `interrupted: \d+ requests in flight abandoned\n`, out)
	assert.Contains(t, out, "requests:  0 in ")
	assert.Contains(t, out, "result:    INTERRUPTED\n")
	assert.Contains(t, errOut, "trm loadtest: interrupted")
}

// TestLoadtestLoopbackOnly: a --url whose host is not a loopback address
// is refused with exit 2, before anything is sent.
func TestLoadtestLoopbackOnly(t *testing.T) {
	for _, u := range []string{
		"http://example.com:8080",
		"http://10.1.2.3:8080",
		"http://0.0.0.0:8080",
		"http://[2001:db8::1]:8080",
		"http://127.0.0.1.nip.io:8080",
		"https://192.168.1.1",
	} {
		code, out, errOut := loadtestRun(context.Background(), "--url", u, "--models", "arith", "--requests", "1")
		assert.Equal(t, 2, code, u)
		assert.Empty(t, out)
		assert.Contains(t, errOut, "is not a loopback address", u)
		assert.Contains(t, errOut, "(127.0.0.0/8, ::1, localhost)", u)
	}
}

// TestLoadtestBadFlags: bad flags exit 2 with a message naming the flag.
func TestLoadtestBadFlags(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--rate", "10", "--concurrency", "2"}, "--rate and --concurrency exclude each other"},
		{[]string{"--rate", "0"}, "--rate 0, want requests per second in [1, 1000000]"},
		{[]string{"--concurrency", "0"}, "--concurrency 0, want requests in flight in [1, 10000]"},
		{[]string{"--max-workers", "8"}, "--max-workers goes with --rate"},
		{[]string{"--rate", "5", "--max-workers", "0"}, "--max-workers 0, want"},
		{[]string{"--duration", "-1s"}, "--duration -1s, want ≥ 0"},
		{[]string{"--duration", "0"}, "--duration 0 without --requests: the run would never end"},
		{[]string{"--requests", "-3"}, "--requests -3, want ≥ 0"},
		{[]string{"--pool", "0"}, "--pool 0, want distinct inputs per model in [1, 100000]"},
		{[]string{"--inputs-per-request", "0"}, "--inputs-per-request 0, want an integer in [1, 10000]"},
		{[]string{"--timeout", "0s"}, "--timeout 0s, want > 0"},
		{[]string{"--halt", "sometimes"}, `--halt: halt mode "sometimes"`},
		{[]string{"--models", "arith,chess"}, `--models "arith,chess": no embedded model "chess" (known: arith, sudoku6, sudoku9)`},
		{[]string{"--models", "arith,arith"}, "model arith given twice"},
		{[]string{"--models", "arith=0"}, `weight "0" of arith, want an integer in [1, 1000]`},
		{[]string{"--models", "arith,"}, "empty model name"},
		{[]string{"--url", "ftp://127.0.0.1/"}, `--url "ftp://127.0.0.1/": scheme "ftp", want http or https`},
		{[]string{"--url", "127.0.0.1:8080"}, `--url "127.0.0.1:8080"`},
		{[]string{"--url", "http://127.0.0.1:8080/?x=1"}, "without query or fragment"},
		{[]string{"--threads", "-1"}, "--threads -1, want ≥ 0"},
		{[]string{"--requests", "ten"}, `invalid value "ten" for flag -requests`},
		{[]string{"extra"}, `unexpected argument "extra"`},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			code, out, errOut := loadtestRun(context.Background(), c.args...)
			assert.Equal(t, 2, code, "stderr: %s", errOut)
			assert.Contains(t, errOut, c.want)
			assert.Contains(t, errOut, "Run 'trm help loadtest' for usage.")
			assert.Empty(t, out)
		})
	}
}

// TestLoadtestHelp: -h prints the flags and the rules, exit 0.
func TestLoadtestHelp(t *testing.T) {
	code, _, errOut := loadtestRun(context.Background(), "-h")
	assert.Equal(t, 0, code)
	for _, want := range []string{
		"Usage: trm loadtest [flags]", "-url", "-models", "-rate", "-concurrency", "-duration", "-requests",
		"-seed", "-inputs-per-request", "-halt", "-timeout", "-json", "-no-verify", "-pool", "-max-workers",
		"loopback", "--no-verify for it", "Exit status: 0",
	} {
		assert.Contains(t, errOut, want)
	}
}
