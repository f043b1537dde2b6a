package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/asm"
	"github.com/trm-go/trm/checkpoints"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/infer"
	"github.com/trm-go/trm/trm/task"
)

// shipped returns the predictor of an embedded model.
func shipped(t testing.TB, name string) *infer.Predictor {
	t.Helper()
	data, ok := checkpoints.Lookup(name)
	require.True(t, ok, name)
	p, err := infer.DecodePredictor(data, "embedded:"+name)
	require.NoError(t, err)
	return p
}

// quiet is a logger that drops everything below Error, for tests that
// expect refusals; failures still show.
func quiet() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// newTestServer serves the named embedded models with opts on a loopback
// listener; both are closed at the end of the test.
func newTestServer(t testing.TB, opts Options, names ...string) (*Server, *httptest.Server) {
	t.Helper()
	var ms []Model
	for _, n := range names {
		p := shipped(t, n)
		ms = append(ms, Model{Name: n, Model: p.Model, Task: p.Task, Source: "embedded:" + n})
	}
	if opts.Logger == nil {
		opts.Logger = quiet()
	}
	if opts.Timeout == 0 {
		opts.Timeout = 10 * time.Minute // arm64 under qemu is ~50× slower
	}
	srv, err := New(ms, opts)
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	return srv, ts
}

// post sends body to url and returns the status, headers and body.
func post(t testing.TB, url, body string) (int, http.Header, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, b
}

// predictBody returns a native predict request for inputs.
func predictBody(t testing.TB, req PredictRequest) string {
	b, err := json.Marshal(req)
	require.NoError(t, err)
	return string(b)
}

// aloneAnswers runs each text alone (batch 1) through the model, as the
// server must answer it however it is batched.
func aloneAnswers(t testing.TB, p *infer.Predictor, halt trm.HaltMode, texts []string) []Output {
	t.Helper()
	p.Halt, p.BatchSize = halt, 1
	out := make([]Output, len(texts))
	for i, text := range texts {
		ex, err := p.Task.Encode(text)
		require.NoError(t, err)
		preds, err := p.PredictExamples(nil, []task.Example{ex})
		require.NoError(t, err)
		ans, err := task.AnswerText(p.Task, ex, preds[0].Tokens)
		require.NoError(t, err)
		out[i] = Output{Answer: ans, Steps: preds[0].Steps, Confidence: preds[0].Confidence, Valid: preds[0].Valid}
	}
	return out
}

// testInputs returns n test-split inputs of a task, as text.
func testInputs(t testing.TB, tk task.Task, n int) []string {
	out := make([]string, n)
	for i := range out {
		ex, err := task.Labeled(tk, task.SplitTest, 7, int64(i))
		require.NoError(t, err)
		out[i] = tk.Format(ex)
	}
	return out
}

// TestBatchingKeepsAnswers: hundreds of concurrent clients, each with one
// input, get exactly the answer (tokens, steps, and sigmoid(q_halt) within
// float32 rounding) the model gives that input alone, although the server
// batches them at every step, with several loops.
func TestBatchingKeepsAnswers(t *testing.T) {
	var maxSeen atomic.Int32
	hook := func(model string, b int) {
		for {
			m := maxSeen.Load()
			if int32(b) <= m || maxSeen.CompareAndSwap(m, int32(b)) {
				return
			}
		}
	}
	testStepHook.Store(&hook)
	defer testStepHook.Store(nil)
	for _, tc := range []struct {
		model string
		n     int
		halt  trm.HaltMode
	}{{"arith", 300, trm.HaltEarly}, {"sudoku6", 200, trm.HaltEarly}, {"sudoku9", 100, trm.HaltFull}} {
		switch {
		case testing.Short() && tc.model == "sudoku9":
			continue // -short: arm64 under qemu in CI, where a 9×9 step takes ~50× longer
		case testing.Short():
			tc.n /= 10
		case asm.Impl() == "generic":
			tc.n /= 5 // the plain-Go kernels (purego, CI) are ~10× slower
		}
		t.Run(tc.model, func(t *testing.T) {
			maxSeen.Store(0)
			_, ts := newTestServer(t, Options{MaxBatch: 32, Loops: 2, MaxWait: 5 * time.Millisecond}, tc.model)
			p := shipped(t, tc.model)
			var texts []string
			if tc.model == "arith" {
				for i := range tc.n {
					texts = append(texts, fmt.Sprintf("%d + %d", i*7919%100000, i*104729%100000))
				}
			} else {
				texts = testInputs(t, p.Task, tc.n)
			}
			want := aloneAnswers(t, p, tc.halt, texts)
			got := make([]Output, len(texts))
			var wg sync.WaitGroup
			for i, text := range texts {
				wg.Add(1)
				go func() {
					defer wg.Done()
					code, _, body := post(t, ts.URL+"/v1/models/"+tc.model+"/predict",
						predictBody(t, PredictRequest{Inputs: []string{text}, Halt: string(tc.halt)}))
					if !assert.Equal(t, http.StatusOK, code, "%s", body) {
						return
					}
					var r PredictResponse
					if assert.NoError(t, json.Unmarshal(body, &r)) && assert.Len(t, r.Outputs, 1) {
						got[i] = r.Outputs[0]
					}
				}()
			}
			wg.Wait()
			for i := range texts {
				assert.Equal(t, want[i].Answer, got[i].Answer, "input %d %q", i, texts[i])
				assert.Equal(t, want[i].Steps, got[i].Steps, "input %d", i)
				assert.InDelta(t, want[i].Confidence, got[i].Confidence, 1e-5, "input %d", i)
				assert.Equal(t, want[i].Valid, got[i].Valid, "input %d", i)
			}
			assert.Greater(t, maxSeen.Load(), int32(1), "concurrent requests were batched")
		})
	}
}

// TestStepLevelJoin: a request that arrives while another runs joins the
// running batch at the next step (batch size 2) and leaves on its own
// schedule, with one loop.
func TestStepLevelJoin(t *testing.T) {
	started := make(chan struct{})
	var once sync.Once
	var mu sync.Mutex
	var sizes []int
	hook := func(model string, b int) {
		mu.Lock()
		sizes = append(sizes, b)
		mu.Unlock()
		once.Do(func() { close(started) })
		time.Sleep(5 * time.Millisecond) // give the second request time to queue
	}
	testStepHook.Store(&hook)
	defer testStepHook.Store(nil)
	_, ts := newTestServer(t, Options{MaxBatch: 8, Loops: 1, MaxWait: -1}, "sudoku9")
	p := shipped(t, "sudoku9")
	in := testInputs(t, p.Task, 2)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		code, _, body := post(t, ts.URL+"/v1/models/sudoku9/predict", predictBody(t, PredictRequest{Inputs: in[:1], Halt: "full"}))
		assert.Equal(t, 200, code, "%s", body)
	}()
	<-started
	code, _, body := post(t, ts.URL+"/v1/models/sudoku9/predict", predictBody(t, PredictRequest{Inputs: in[1:], Halt: "full", MaxSteps: 2}))
	assert.Equal(t, 200, code, "%s", body)
	var r PredictResponse
	require.NoError(t, json.Unmarshal(body, &r))
	assert.Equal(t, 2, r.Outputs[0].Steps)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	// 6 steps of the first input, 2 of them shared with the second.
	assert.Equal(t, 8, sum(sizes), "sizes %v", sizes)
	assert.Equal(t, 1, sizes[0])
	assert.Contains(t, sizes, 2, "the second request joined the running batch: %v", sizes)
	assert.Equal(t, 1, sizes[len(sizes)-1], "the second request left after its 2 steps: %v", sizes)
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

// TestPredictAPI: the native API's answers, options and trace.
func TestPredictAPI(t *testing.T) {
	_, ts := newTestServer(t, Options{}, "arith", "sudoku9")
	code, _, body := post(t, ts.URL+"/v1/models/arith/predict", `{"inputs": ["3 + 7", "99999 + 1"], "halt": "full"}`)
	require.Equal(t, 200, code, "%s", body)
	var r PredictResponse
	require.NoError(t, json.Unmarshal(body, &r))
	assert.Equal(t, "arith", r.Model)
	require.Len(t, r.Outputs, 2)
	assert.Equal(t, "10", r.Outputs[0].Answer)
	assert.Equal(t, "100000", r.Outputs[1].Answer)
	for _, o := range r.Outputs {
		assert.Equal(t, 4, o.Steps, "halt full runs N_sup = 4 steps")
		require.NotNil(t, o.Valid)
		assert.True(t, *o.Valid)
		assert.InDelta(t, 1/(1+math.Exp(-float64(o.QHalt))), o.Confidence, 1e-6)
		assert.Nil(t, o.Trace)
	}

	// A solved Sudoku: the answer is the grid's 81 cells, valid; the trace
	// has every step, its last entry the answer.
	p := shipped(t, "sudoku9")
	ex, err := task.Labeled(p.Task, task.SplitTest, 3, 0)
	require.NoError(t, err)
	solution, err := task.AnswerText(p.Task, ex, ex.Label)
	require.NoError(t, err)
	code, _, body = post(t, ts.URL+"/v1/models/sudoku9/predict", predictBody(t, PredictRequest{Inputs: []string{p.Task.Format(ex)}, Trace: true, MaxSteps: 3, Halt: "full"}))
	require.Equal(t, 200, code, "%s", body)
	r = PredictResponse{}
	require.NoError(t, json.Unmarshal(body, &r))
	o := r.Outputs[0]
	assert.Equal(t, solution, o.Answer)
	assert.Len(t, o.Answer, 81)
	assert.Equal(t, 3, o.Steps)
	require.Len(t, o.Trace, 3)
	for i, st := range o.Trace {
		assert.Equal(t, i+1, st.Step)
		assert.Len(t, st.Answer, 81)
	}
	assert.Equal(t, o.Answer, o.Trace[2].Answer)
	assert.Equal(t, o.QHalt, o.Trace[2].QHalt)

	// The solved grid is judged valid, in the JSON as true (not omitted:
	// a task that cannot tell sends null).
	assert.Contains(t, string(body), `"valid":true`)

	// GET /v1/models and /v1/models/{name}.
	resp, err := http.Get(ts.URL + "/v1/models")
	require.NoError(t, err)
	var list struct{ Models []ModelInfo }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&list))
	resp.Body.Close()
	require.Len(t, list.Models, 2)
	assert.Equal(t, "arith", list.Models[0].Name)
	assert.Equal(t, "arith", list.Models[0].Task)
	assert.Equal(t, 4, list.Models[0].MaxSteps)
	assert.Equal(t, int64(132738), list.Models[0].Parameters, "ParamCount, the count README and checkpoints/doc.go state (not the tensors' sum with y_init and z_init)")
	assert.Equal(t, "sudoku9", list.Models[1].Config.Task)
	resp, err = http.Get(ts.URL + "/v1/models/sudoku9")
	require.NoError(t, err)
	var one ModelInfo
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&one))
	resp.Body.Close()
	assert.Equal(t, "embedded:sudoku9", one.Source)
}

// getJSON GETs url and returns the status and the JSON object of the body.
func getJSON(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	var v map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
	return resp.StatusCode, v
}

// TestOIP: the Open Inference Protocol endpoints.
func TestOIP(t *testing.T) {
	_, ts := newTestServer(t, Options{}, "arith")
	get := func(path string) (int, map[string]any) { return getJSON(t, ts.URL+path) }
	code, v := get("/v2/health/live")
	assert.Equal(t, 200, code)
	assert.Equal(t, true, v["live"])
	code, v = get("/v2/health/ready")
	assert.Equal(t, 200, code)
	assert.Equal(t, true, v["ready"])
	code, v = get("/v2")
	assert.Equal(t, 200, code)
	assert.Equal(t, "trm", v["name"])
	code, v = get("/v2/models/arith")
	assert.Equal(t, 200, code)
	assert.Equal(t, "arith", v["name"])
	assert.Equal(t, []any{map[string]any{"name": "text", "datatype": "BYTES", "shape": []any{-1.0}}}, v["inputs"])
	code, v = get("/v2/models/arith/ready")
	assert.Equal(t, 200, code)
	assert.Equal(t, true, v["ready"])
	code, v = get("/v2/models/nope/ready")
	assert.Equal(t, 404, code)
	assert.Contains(t, v["error"], `no model "nope"`)

	code, _, body := post(t, ts.URL+"/v2/models/arith/infer",
		`{"id": "r1", "parameters": {"halt": "full"}, "inputs": [{"name": "text", "shape": [2], "datatype": "BYTES", "data": ["3 + 7", "12 + 30"]}]}`)
	require.Equal(t, 200, code, "%s", body)
	var r struct {
		ModelName string `json:"model_name"`
		ID        string
		Outputs   []struct {
			Name     string
			Shape    []int
			Datatype string
			Data     []any
		}
	}
	require.NoError(t, json.Unmarshal(body, &r))
	assert.Equal(t, "arith", r.ModelName)
	assert.Equal(t, "r1", r.ID)
	require.Len(t, r.Outputs, 3)
	assert.Equal(t, "answer", r.Outputs[0].Name)
	assert.Equal(t, "BYTES", r.Outputs[0].Datatype)
	assert.Equal(t, []int{2}, r.Outputs[0].Shape)
	assert.Equal(t, []any{"10", "42"}, r.Outputs[0].Data)
	assert.Equal(t, "confidence", r.Outputs[1].Name)
	assert.Equal(t, "FP32", r.Outputs[1].Datatype)
	assert.Equal(t, "steps", r.Outputs[2].Name)
	assert.Equal(t, "INT32", r.Outputs[2].Datatype)
	assert.Equal(t, []any{4.0, 4.0}, r.Outputs[2].Data)

	// Requested outputs only.
	code, _, body = post(t, ts.URL+"/v2/models/arith/infer",
		`{"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["1 + 1"]}], "outputs": [{"name": "steps"}]}`)
	require.Equal(t, 200, code, "%s", body)
	r.Outputs = nil
	require.NoError(t, json.Unmarshal(body, &r))
	require.Len(t, r.Outputs, 1)
	assert.Equal(t, "steps", r.Outputs[0].Name)
}

// TestRefusals: every bad request gets its status and a JSON error naming
// the field (and the input's index) and what was expected.
func TestRefusals(t *testing.T) {
	_, ts := newTestServer(t, Options{MaxInputs: 3, MaxBody: 4096}, "arith")
	predict := ts.URL + "/v1/models/arith/predict"
	infer := ts.URL + "/v2/models/arith/infer"
	for _, tc := range []struct {
		name, url, body string
		status          int
		code, field     string
		index           *int
		msg             string
	}{
		{"malformed", predict, `{"inputs": [`, 400, codeBadJSON, "", nil, "malformed JSON"},
		{"syntax", predict, `{"inputs": [1,}`, 400, codeBadJSON, "", nil, "malformed JSON at byte"},
		{"empty body", predict, ``, 400, codeBadJSON, "", nil, "empty request body"},
		{"not an object", predict, `["3 + 7"]`, 400, codeBadJSON, "", nil, "want a JSON object"},
		{"trailing", predict, `{"inputs": ["3 + 7"]} {}`, 400, codeBadJSON, "", nil, "data after the JSON object"},
		{"inputs type", predict, `{"inputs": "3 + 7"}`, 400, codeBadField, "inputs", nil, "want an array of strings"},
		{"input type", predict, `{"inputs": [3]}`, 400, codeBadField, "inputs", nil, "want a string"},
		{"max_steps type", predict, `{"inputs": ["3 + 7"], "max_steps": "four"}`, 400, codeBadField, "max_steps", nil, `"max_steps" is a JSON string, want a whole number`},
		{"max_steps 1e9", predict, `{"inputs": ["3 + 7"], "max_steps": 1e9}`, 400, codeBadField, "max_steps", nil, `"max_steps" is the JSON number 1e9, want a whole number written in digits alone`},
		{"trace type", predict, `{"inputs": ["3 + 7"], "trace": 1}`, 400, codeBadField, "trace", nil, "want true or false"},
		{"unknown field", predict, `{"input": ["3 + 7"]}`, 400, codeBadField, "input", nil, `unknown field "input"`},
		{"no inputs", predict, `{}`, 400, codeBadField, "inputs", nil, "missing or empty"},
		{"empty inputs", predict, `{"inputs": []}`, 400, codeBadField, "inputs", nil, "missing or empty"},
		{"too many", predict, `{"inputs": ["1 + 1", "1 + 1", "1 + 1", "1 + 1"]}`, 400, codeBadField, "inputs", nil, "at most 3"},
		{"bad input", predict, `{"inputs": ["1 + 1", "3 plus 7"]}`, 400, codeBadInput, "inputs", ptr(1), "inputs[1]"},
		{"bad halt", predict, `{"inputs": ["1 + 1"], "halt": "soon"}`, 400, codeBadField, "halt", nil, `want "full" or "early"`},
		{"max_steps high", predict, `{"inputs": ["1 + 1"], "max_steps": 5}`, 400, codeBadField, "max_steps", nil, "want 1 to 4"},
		{"max_steps negative", predict, `{"inputs": ["1 + 1"], "max_steps": -1}`, 400, codeBadField, "max_steps", nil, "want 1 to 4"},
		{"too large", predict, `{"inputs": ["` + strings.Repeat("1", 5000) + `"]}`, 413, codeTooLarge, "", nil, "over 4096 bytes"},
		{"unknown model", ts.URL + "/v1/models/nope/predict", `{"inputs": ["1 + 1"]}`, 404, codeUnknownModel, "", nil, `no model "nope"; this server has arith`},
		{"unknown path", ts.URL + "/v1/predict", `{}`, 404, codeNotFound, "", nil, "no such path"},
		{"oip name", infer, `{"inputs": [{"name": "x", "shape": [1], "datatype": "BYTES", "data": ["1 + 1"]}]}`, 400, "", "", nil, `want exactly one input tensor, named "text"`},
		{"oip datatype", infer, `{"inputs": [{"name": "text", "shape": [1], "datatype": "FP32", "data": ["1 + 1"]}]}`, 400, "", "", nil, `want "BYTES"`},
		{"oip shape", infer, `{"inputs": [{"name": "text", "shape": [2], "datatype": "BYTES", "data": ["1 + 1"]}]}`, 400, "", "", nil, "send shape [1]"},
		{"oip data", infer, `{"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": [1]}]}`, 400, "", "", nil, "want a string"},
		{"oip bad input", infer, `{"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["x"]}]}`, 400, "", "", nil, "inputs[0].data[0]"},
		{"oip output", infer, `{"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["1 + 1"]}], "outputs": [{"name": "logits"}]}`, 400, "", "", nil, `requested output "logits"`},
		{"oip steps", infer, `{"parameters": {"max_steps": 9}, "inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["1 + 1"]}]}`, 400, "", "", nil, "parameters.max_steps 9, want 1 to 4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, hdr, body := post(t, tc.url, tc.body)
			assert.Equal(t, tc.status, code, "%s", body)
			assert.Equal(t, "application/json", hdr.Get("Content-Type"))
			if strings.Contains(tc.url, "/v2/") {
				var e struct{ Error string }
				require.NoError(t, json.Unmarshal(body, &e), "%s", body)
				assert.Contains(t, e.Error, tc.msg)
				return
			}
			var e struct{ Error apiError }
			require.NoError(t, json.Unmarshal(body, &e), "%s", body)
			assert.Equal(t, tc.code, e.Error.Code)
			assert.Equal(t, tc.field, e.Error.Field)
			assert.Equal(t, tc.index, e.Error.Index)
			assert.Contains(t, e.Error.Message, tc.msg)
		})
	}

	// Wrong methods: 405 with Allow.
	for _, c := range []struct{ method, path, allow string }{
		{"GET", "/v1/models/arith/predict", "POST"},
		{"DELETE", "/v1/models", "GET, HEAD"},
		{"PUT", "/v2/models/arith/infer", "POST"},
		{"POST", "/v2/health/live", "GET, HEAD"},
		{"POST", "/metrics", "GET, HEAD"},
	} {
		req, err := http.NewRequest(c.method, ts.URL+c.path, nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, 405, resp.StatusCode, "%s %s", c.method, c.path)
		assert.Equal(t, c.allow, resp.Header.Get("Allow"))
		assert.Contains(t, string(body), "not allowed")
	}
}

func ptr[T any](v T) *T { return &v }

// holdLoops makes every step wait until release is closed, and reports on
// started when the first step begins.
func holdLoops(t *testing.T) (started, release chan struct{}) {
	started, release = make(chan struct{}), make(chan struct{})
	var once sync.Once
	hook := func(string, int) {
		once.Do(func() { close(started) })
		<-release
	}
	testStepHook.Store(&hook)
	t.Cleanup(func() { testStepHook.Store(nil) })
	return started, release
}

// TestQueueFull: inputs beyond the queue are refused with 429 and
// Retry-After, whole requests at a time; what was accepted is answered.
func TestQueueFull(t *testing.T) {
	started, release := holdLoops(t)
	srv, ts := newTestServer(t, Options{MaxQueue: 4, MaxInputs: 3, MaxBatch: 1, Loops: 1, MaxWait: -1}, "arith")
	url := ts.URL + "/v1/models/arith/predict"
	var wg sync.WaitGroup
	codes := make(chan int, 3)
	send := func(body string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _, _ := post(t, url, body)
			codes <- code
		}()
	}
	send(`{"inputs": ["1 + 1"]}`) // runs (held)
	<-started
	send(`{"inputs": ["1 + 2", "1 + 3", "1 + 4"]}`) // queued: 3 of 4
	require.Eventually(t, func() bool { return srv.models["arith"].sched.queued() == 3 }, time.Minute, time.Millisecond)
	code, hdr, body := post(t, url, `{"inputs": ["2 + 2", "2 + 3"]}`) // 5 > 4
	assert.Equal(t, http.StatusTooManyRequests, code)
	assert.Equal(t, "1", hdr.Get("Retry-After"))
	assert.Contains(t, string(body), `"code":"queue_full"`)
	send(`{"inputs": ["2 + 2"]}`) // fits: 4 of 4
	require.Eventually(t, func() bool { return srv.models["arith"].sched.queued() == 4 }, time.Minute, time.Millisecond)
	close(release)
	wg.Wait()
	close(codes)
	for c := range codes {
		assert.Equal(t, 200, c)
	}
}

// TestDeadline: a request past the server's timeout gets 504, and its
// inputs leave the batch; the server goes on answering.
func TestDeadline(t *testing.T) {
	// The loop is held at its first step (or still warming up, with the
	// generic kernels): either way the request outlives its 50 ms.
	_, release := holdLoops(t)
	srv, ts := newTestServer(t, Options{Timeout: 50 * time.Millisecond, Loops: 1}, "arith")
	code, _, body := post(t, ts.URL+"/v1/models/arith/predict", `{"inputs": ["1 + 1", "2 + 2"]}`)
	assert.Equal(t, http.StatusGatewayTimeout, code)
	assert.Contains(t, string(body), `"code":"deadline_exceeded"`)
	close(release)
	sc := srv.models["arith"].sched
	require.Eventually(t, func() bool {
		sc.mu.Lock()
		defer sc.mu.Unlock()
		return sc.running == 0 && len(sc.queue) == 0
	}, time.Minute, time.Millisecond, "the timed-out inputs left the batch")
	// The loop goes on: a job without the 50 ms limit is answered.
	p := shipped(t, "arith")
	ex, err := p.Task.Encode("1 + 1")
	require.NoError(t, err)
	j := newJob(context.Background(), []task.Example{ex}, trm.HaltFull, 4, false)
	require.NoError(t, sc.submit(j))
	<-j.done
	require.NoError(t, j.result())
	ans, err := task.AnswerText(p.Task, ex, j.items[0].tokens)
	require.NoError(t, err)
	assert.Equal(t, "2", ans)
}

// TestClientGone: inputs of a request whose client went away leave their
// batch at the next step boundary (or are dropped from the queue).
func TestClientGone(t *testing.T) {
	var steps atomic.Int32
	hook := func(string, int) { steps.Add(1); time.Sleep(20 * time.Millisecond) }
	testStepHook.Store(&hook)
	defer testStepHook.Store(nil)
	srv, ts := newTestServer(t, Options{Loops: 1, MaxBatch: 4}, "sudoku6")
	p := shipped(t, "sudoku6")
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "POST", ts.URL+"/v1/models/sudoku6/predict",
		strings.NewReader(predictBody(t, PredictRequest{Inputs: testInputs(t, p.Task, 4), Halt: "full"})))
	require.NoError(t, err)
	done := make(chan error)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	require.Eventually(t, func() bool { return steps.Load() >= 1 }, 5*time.Minute, time.Millisecond)
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
	sc := srv.models["sudoku6"].sched
	require.Eventually(t, func() bool {
		sc.mu.Lock()
		defer sc.mu.Unlock()
		return sc.running == 0
	}, time.Minute, time.Millisecond)
	assert.Less(t, steps.Load(), int32(6), "the inputs left before their 6 steps")
}

// TestPanics: a panic in a handler (here, in a task's Encode) or in a
// batch loop is a 500 with a JSON body and a log line; the server keeps
// serving.
func TestPanics(t *testing.T) {
	p := shipped(t, "arith")
	var logs bytes.Buffer
	var mu sync.Mutex
	srv, err := New([]Model{{Name: "arith", Model: p.Model, Task: panicky{p.Task}}},
		Options{Loops: 1, Logger: slog.New(slog.NewTextHandler(&syncWriter{w: &logs, mu: &mu}, nil))})
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	defer srv.Close()
	defer ts.Close()
	url := ts.URL + "/v1/models/arith/predict"

	code, _, body := post(t, url, `{"inputs": ["boom"]}`)
	assert.Equal(t, 500, code)
	assert.Contains(t, string(body), `"code":"internal"`)

	var calls atomic.Int32
	hook := func(string, int) {
		if calls.Add(1) == 1 {
			panic("a bug in a step")
		}
	}
	testStepHook.Store(&hook)
	defer testStepHook.Store(nil)
	code, _, body = post(t, url, `{"inputs": ["1 + 1"]}`)
	assert.Equal(t, 500, code)
	assert.Contains(t, string(body), "internal error while running the model")

	code, _, body = post(t, url, `{"inputs": ["1 + 1"], "halt": "full"}`)
	assert.Equal(t, 200, code, "the server goes on: %s", body)
	assert.Contains(t, string(body), `"answer":"2"`)
	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, logs.String(), "panic in handler")
	assert.Contains(t, logs.String(), "panic in batch loop")
	assert.Contains(t, logs.String(), "a bug in a step")
}

// panicky is a task whose Encode panics on "boom".
type panicky struct{ task.Task }

func (p panicky) Encode(text string) (task.Example, error) {
	if text == "boom" {
		panic("encode exploded")
	}
	return p.Task.Encode(text)
}

type syncWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

// TestMetrics: /metrics reports requests by model and status, latency,
// batch sizes, steps, samples and queue depth in Prometheus format.
func TestMetrics(t *testing.T) {
	_, ts := newTestServer(t, Options{}, "arith")
	post(t, ts.URL+"/v1/models/arith/predict", `{"inputs": ["1 + 1", "2 + 2"], "halt": "full"}`)
	post(t, ts.URL+"/v1/models/arith/predict", `{"inputs": ["x"]}`)
	post(t, ts.URL+"/v2/models/arith/infer", `{"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["5 + 5"]}]}`)
	resp, err := http.Get(ts.URL + "/metrics")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := string(b)
	for _, want := range []string{
		`trm_requests_total{api="v1",code="200",model="arith"} 1`,
		`trm_requests_total{api="v1",code="400",model="arith"} 1`,
		`trm_requests_total{api="v2",code="200",model="arith"} 1`,
		`trm_request_duration_seconds_count{api="v1",model="arith"} 1`,
		`trm_samples_total{model="arith"} 3`,
		`trm_steps_per_input_sum{model="arith"} 9`, // 4 + 4 (full) + 1 (5 + 5 halts at once)
		`trm_queue_depth{model="arith"} 0`,
		`trm_batch_size_count{model="arith"}`,
		`trm_step_duration_seconds_count{model="arith"}`,
		`trm_inflight_requests`,
		`go_goroutines`,
		`process_resident_memory_bytes`,
	} {
		assert.True(t, strings.Contains(m, want), "/metrics lacks %s", want)
	}
}

// TestServeDrain: on shutdown readiness goes false, the listener closes,
// and every request already accepted is answered; Serve returns nil.
func TestServeDrain(t *testing.T) {
	started, release := holdLoops(t)
	p := shipped(t, "arith")
	srv, err := New([]Model{{Name: "arith", Model: p.Model, Task: p.Task}}, Options{Loops: 1, Logger: quiet()})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error)
	go func() { served <- srv.Serve(ctx, ln, 10*time.Second) }()
	url := "http://" + ln.Addr().String()

	const n = 20
	codes := make(chan int, n)
	for i := range n {
		go func() {
			code, _, body := post(t, url+"/v1/models/arith/predict", fmt.Sprintf(`{"inputs": ["%d + 1"]}`, i))
			if code == 200 {
				assert.Contains(t, string(body), fmt.Sprintf(`"answer":"%d"`, i+1))
			}
			codes <- code
		}()
	}
	<-started
	sc := srv.models["arith"].sched
	require.Eventually(t, func() bool {
		sc.mu.Lock()
		defer sc.mu.Unlock()
		return sc.running+len(sc.queue) == n
	}, time.Minute, time.Millisecond, "all requests accepted")
	cancel()
	require.Eventually(t, func() bool { return !srv.Ready() }, time.Minute, time.Millisecond)
	// Readiness goes false first, then Shutdown closes the listener: poll
	// until a dial is refused rather than racing the two.
	require.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second)
		if err != nil {
			return true
		}
		c.Close()
		return false
	}, time.Minute, time.Millisecond, "the listener is closed")
	close(release)
	require.NoError(t, <-served)
	for range n {
		assert.Equal(t, 200, <-codes, "no accepted request is lost")
	}
}

// TestNewRefuses: bad names, duplicates, options.
func TestNewRefuses(t *testing.T) {
	p := shipped(t, "arith")
	m := Model{Name: "arith", Model: p.Model}
	_, err := New(nil, Options{})
	assert.ErrorContains(t, err, "no models")
	_, err = New([]Model{m, m}, Options{})
	assert.ErrorContains(t, err, `"arith" given twice`)
	_, err = New([]Model{{Name: "a/b", Model: p.Model}}, Options{})
	assert.ErrorContains(t, err, `model name "a/b"`)
	_, err = New([]Model{m}, Options{MaxBatch: -1})
	assert.ErrorContains(t, err, "max batch -1")
	_, err = New([]Model{m}, Options{MaxQueue: 4, MaxInputs: 5})
	assert.ErrorContains(t, err, "max inputs per request 5")
	s9 := shipped(t, "sudoku9")
	_, err = New([]Model{{Name: "x", Model: p.Model, Task: s9.Task}}, Options{})
	assert.Error(t, err, "a task that does not fit the model")
}

// TestWaitFor: the wait for company is the option when set, and by default
// a tenth of the last step per input, only where that is 10 ms or more, at
// most 5 ms.
func TestWaitFor(t *testing.T) {
	b := &batch{}
	for _, c := range []struct {
		opt, last, want time.Duration
	}{
		{3 * time.Millisecond, time.Second, 3 * time.Millisecond},
		{-1, time.Second, 0},
		{0, 0, 0},
		{0, 2 * time.Millisecond, 0},
		{0, 20 * time.Millisecond, 2 * time.Millisecond},
		{0, 200 * time.Millisecond, 5 * time.Millisecond},
	} {
		s := &scheduler{maxWait: c.opt}
		b.lastStep = c.last
		assert.Equal(t, c.want, s.waitFor(b), "MaxWait %v, last step %v", c.opt, c.last)
	}
}

// oipInfer posts an infer request body to path and returns the status and
// the decoded response (or error) body.
func oipInfer(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	code, _, b := post(t, url, body)
	var v map[string]any
	require.NoError(t, json.Unmarshal(b, &v), "%s", b)
	return code, v
}

// TestOIPParameters: request parameters are open key/value pairs: unknown
// ones (content_type, binary_data_output, ...) are ignored at every level,
// the known ones still checked.
func TestOIPParameters(t *testing.T) {
	_, ts := newTestServer(t, Options{}, "arith")
	infer := ts.URL + "/v2/models/arith/infer"
	code, v := oipInfer(t, infer, `{"parameters": {"content_type": "str", "binary_data_output": false, "halt": "full", "priority": 3, "nested": {"a": [1]}},
		"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "parameters": {"content_type": "str"}, "data": ["3 + 7"]}],
		"outputs": [{"name": "answer", "parameters": {"binary_data": false}}]}`)
	require.Equal(t, 200, code, "%v", v)
	out := v["outputs"].([]any)[0].(map[string]any)
	assert.Equal(t, []any{"10"}, out["data"])

	for _, c := range []struct{ params, want string }{
		{`{"halt": 3}`, "parameters.halt is the JSON number 3, want a string"},
		{`{"halt": "soon"}`, `parameters.halt "soon", want "full" or "early"`},
		{`{"max_steps": "4"}`, "parameters.max_steps is a JSON string, want a whole number"},
		{`{"max_steps": 1e9}`, "parameters.max_steps is the JSON number 1e9, want a whole number"},
		{`{"max_steps": 9}`, "parameters.max_steps 9, want 1 to 4"},
	} {
		code, v := oipInfer(t, infer, `{"parameters": `+c.params+`, "inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["3 + 7"]}]}`)
		assert.Equal(t, 400, code, c.params)
		assert.Contains(t, v["error"], c.want, c.params)
	}
}

// TestOIPShapes: the data of the input tensor may be row-major flattened
// or nested as its shape says; the outputs have the input's shape.
func TestOIPShapes(t *testing.T) {
	_, ts := newTestServer(t, Options{MaxInputs: 8}, "arith")
	infer := ts.URL + "/v2/models/arith/infer"
	for _, c := range []struct {
		shape, data string
		answers     []any
	}{
		{`[1, 1]`, `[["3 + 7"]]`, []any{"10"}},
		{`[1, 1]`, `["3 + 7"]`, []any{"10"}},
		{`[2, 2]`, `[["1 + 1", "2 + 2"], ["3 + 3", "4 + 4"]]`, []any{"2", "4", "6", "8"}},
		{`[2, 2]`, `["1 + 1", "2 + 2", "3 + 3", "4 + 4"]`, []any{"2", "4", "6", "8"}},
		{`[2, 1, 2]`, `[[["1 + 1", "2 + 2"]], [["3 + 3", "4 + 4"]]]`, []any{"2", "4", "6", "8"}},
		{`[2, 1, 2]`, `[["1 + 1", "2 + 2"], ["3 + 3", "4 + 4"]]`, []any{"2", "4", "6", "8"}},
	} {
		code, v := oipInfer(t, infer, `{"inputs": [{"name": "text", "shape": `+c.shape+`, "datatype": "BYTES", "data": `+c.data+`}], "parameters": {"halt": "full"}}`)
		require.Equal(t, 200, code, "%s %s: %v", c.shape, c.data, v)
		outs := v["outputs"].([]any)
		require.Len(t, outs, 3)
		for _, o := range outs {
			var shape []int
			require.NoError(t, json.Unmarshal([]byte(c.shape), &shape))
			got := []int{}
			for _, d := range o.(map[string]any)["shape"].([]any) {
				got = append(got, int(d.(float64)))
			}
			assert.Equal(t, shape, got, "%s: output shape", c.shape)
		}
		assert.Equal(t, c.answers, outs[0].(map[string]any)["data"], "%s %s", c.shape, c.data)
	}
	for _, c := range []struct{ shape, data, want string }{
		{`[1, 1]`, `[["3 + 7", "1 + 1"]]`, "inputs[0].data[0] holds 2 elements, want 1"},
		{`[2, 1]`, `[["3 + 7"]]`, "has 1 arrays, want 2"},
		{`[2]`, `[["3 + 7"], ["1 + 1"]]`, "is an array, but the shape is [2]"},
		{`[1, 1]`, `[[7]]`, "inputs[0].data[0][0] is the JSON number 7, want a string"},
		{`[1]`, `"3 + 7"`, "inputs[0].data is a JSON string, want an array"},
		{`[]`, `["3 + 7"]`, "want 1 to 16 sizes"},
		{`[-1]`, `["3 + 7"]`, "want sizes ≥ 0"},
		{`[3, 3]`, `["1 + 1"]`, "more than 8 inputs"},
		{`[4611686018427387904, 4]`, `["1 + 1"]`, "more than 8 inputs"},
	} {
		code, v := oipInfer(t, infer, `{"inputs": [{"name": "text", "shape": `+c.shape+`, "datatype": "BYTES", "data": `+c.data+`}]}`)
		assert.Equal(t, 400, code, "%s %s", c.shape, c.data)
		assert.Contains(t, v["error"], c.want, "%s %s", c.shape, c.data)
	}
}

// TestOIPVersions: a model has one version, "1": the versioned paths serve
// it, metadata lists it, and another version is a 404 naming the known one.
func TestOIPVersions(t *testing.T) {
	_, ts := newTestServer(t, Options{}, "arith")
	get := func(path string) (int, map[string]any) { return getJSON(t, ts.URL+path) }
	code, v := get("/v2/models/arith")
	assert.Equal(t, 200, code)
	assert.Equal(t, []any{"1"}, v["versions"])
	code, v = get("/v2/models/arith/versions/1")
	assert.Equal(t, 200, code)
	assert.Equal(t, "arith", v["name"])
	code, v = get("/v2/models/arith/versions/1/ready")
	assert.Equal(t, 200, code)
	assert.Equal(t, true, v["ready"])
	body := `{"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["3 + 7"]}]}`
	code, v = oipInfer(t, ts.URL+"/v2/models/arith/versions/1/infer", body)
	require.Equal(t, 200, code, "%v", v)
	assert.Equal(t, "1", v["model_version"])
	assert.Equal(t, "arith", v["model_name"])

	for _, path := range []string{"/v2/models/arith/versions/2", "/v2/models/arith/versions/2/ready"} {
		code, v = get(path)
		assert.Equal(t, 404, code, path)
		assert.Contains(t, v["error"], `model arith has no version "2"; its one version is "1"`, path)
	}
	code, v = oipInfer(t, ts.URL+"/v2/models/arith/versions/2/infer", body)
	assert.Equal(t, 404, code)
	assert.Contains(t, v["error"], `no version "2"`)
	code, v = get("/v2/models/nope/versions/1")
	assert.Equal(t, 404, code)
	assert.Contains(t, v["error"], `no model "nope"`)
}

// TestErrorsDoNotEcho: a refusal names the value at fault without echoing
// a large input whole: quoted values are cut to 64 bytes with their length.
func TestErrorsDoNotEcho(t *testing.T) {
	_, ts := newTestServer(t, Options{MaxBody: 4 << 20}, "arith")
	big := strings.Repeat("x", 1<<20)
	predict, infer := ts.URL+"/v1/models/arith/predict", ts.URL+"/v2/models/arith/infer"
	oip := func(in string) string {
		return `{"inputs": [` + in + `]}`
	}
	for _, c := range []struct{ name, url, body, want string }{
		{"input", predict, `{"inputs": ["` + big + `"]}`, "inputs[0]: arith: "},
		{"input digits", predict, `{"inputs": ["1 + ` + strings.Repeat("9", 1<<20) + `"]}`, "inputs[0]: arith: "},
		{"halt", predict, `{"inputs": ["1 + 1"], "halt": "` + big + `"}`, "halt "},
		{"unknown field", predict, `{"` + big + `": 1}`, "unknown field "},
		{"max_steps", predict, `{"inputs": ["1 + 1"], "max_steps": 1` + strings.Repeat("0", 1<<20) + `}`, `"max_steps\" is the JSON number 1000`},
		{"oip input", infer, oip(`{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["` + big + `"]}`), "inputs[0].data[0]: arith: "},
		{"oip name", infer, oip(`{"name": "` + big + `", "shape": [1], "datatype": "BYTES", "data": ["1 + 1"]}`), "want exactly one input tensor"},
		{"oip datatype", infer, oip(`{"name": "text", "shape": [1], "datatype": "` + big + `", "data": ["1 + 1"]}`), "has datatype "},
		{"oip output", infer, `{"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["1 + 1"]}], "outputs": [{"name": "` + big + `"}]}`, "requested output "},
		{"oip number", infer, oip(`{"name": "text", "shape": [1], "datatype": "BYTES", "data": [1` + strings.Repeat("0", 1<<20) + `]}`), "is the JSON number 1000"},
		{"oip halt", infer, `{"parameters": {"halt": "` + big + `"}, "inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["1 + 1"]}]}`, "parameters.halt "},
		{"oip version", ts.URL + "/v2/models/arith/versions/" + strings.Repeat("7", 8000) + "/infer", oip(`{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["1 + 1"]}`), "has no version "},
		{"path", ts.URL + "/v1/" + strings.Repeat("p", 8000), `{}`, "no such path "},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, body := post(t, c.url, c.body)
			assert.True(t, code >= 400 && code < 500, "status %d", code)
			assert.Less(t, len(body), 2048, "the error echoes the input: %.200s…", body)
			assert.Contains(t, string(body), c.want)
			assert.Regexp(t, `… \(\d+ bytes\)`, string(body), "the message notes the value's length")
			assert.NotContains(t, string(body), "message cut", "values are clipped, not the message")
			assert.NotContains(t, string(body), "\n\t", "one line")
		})
	}
}
