package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/trm"
)

// TestParseMix: names with optional weights; unknown, repeated and badly
// weighted models are refused.
func TestParseMix(t *testing.T) {
	m, err := ParseMix("arith, sudoku9=3 ,sudoku6")
	require.NoError(t, err)
	assert.Equal(t, Mix{{"arith", 1}, {"sudoku9", 3}, {"sudoku6", 1}}, m)
	assert.Equal(t, "arith,sudoku9=3,sudoku6", m.String())

	for s, want := range map[string]string{
		"":               "empty model name",
		"arith,,sudoku6": "empty model name",
		"maze":           `no embedded model "maze" (known: arith, sudoku6, sudoku9)`,
		"arith=x":        `weight "x" of arith, want an integer in [1, 1000]`,
		"arith=1001":     `weight "1001" of arith`,
		"arith,arith=2":  "model arith given twice",
	} {
		_, err := ParseMix(s)
		assert.ErrorContains(t, err, want, s)
	}
}

// TestParseURLLoopbackOnly: only loopback hosts pass; the base URL loses
// its trailing slash.
func TestParseURLLoopbackOnly(t *testing.T) {
	for s, want := range map[string]string{
		"http://127.0.0.1:8080":         "http://127.0.0.1:8080",
		"http://127.1.2.3:80/":          "http://127.1.2.3:80",
		"http://[::1]:8080/prefix/":     "http://[::1]:8080/prefix",
		"http://localhost:8080":         "http://localhost:8080",
		"https://LOCALHOST.":            "https://LOCALHOST.",
		"http://[::ffff:127.0.0.1]:808": "http://[::ffff:127.0.0.1]:808",
	} {
		u, err := ParseURL(s)
		if assert.NoError(t, err, s) {
			assert.Equal(t, want, u.String())
		}
	}
	for s, want := range map[string]string{
		"http://example.com":           "is not a loopback address",
		"http://0.0.0.0:8080":          "is not a loopback address",
		"http://[::]:8080":             "is not a loopback address",
		"http://10.0.0.1":              "is not a loopback address",
		"http://localhost.example.com": "is not a loopback address",
		"http://127.0.0.1.nip.io":      "is not a loopback address",
		"ftp://127.0.0.1":              `scheme "ftp"`,
		"http://":                      "no host",
		"http://u:p@127.0.0.1":         "user information",
		"http://127.0.0.1/#x":          "without query or fragment",
		"http://127.0.0.1/?":           "without query or fragment",
	} {
		_, err := ParseURL(s)
		assert.ErrorContains(t, err, want, s)
	}
}

// TestLoopbackControl: the dialer connects only to loopback addresses.
func TestLoopbackControl(t *testing.T) {
	for _, a := range []string{"127.0.0.1:80", "127.9.9.9:1", "[::1]:8080", "[::ffff:127.0.0.1]:80"} {
		assert.NoError(t, loopbackControl("tcp", a, nil), a)
	}
	for _, a := range []string{"10.0.0.1:80", "[2001:db8::1]:80", "0.0.0.0:80", "example.com:80"} {
		assert.Error(t, loopbackControl("tcp", a, nil), a)
	}
}

// workload builds a workload without the offline pass (fast).
func workload(t *testing.T, cfg WorkloadConfig) *Workload {
	t.Helper()
	cfg.Halt = trm.HaltEarly
	w, err := NewWorkload(context.Background(), cfg)
	require.NoError(t, err)
	return w
}

// TestWorkloadScheduleAndPools: the weighted schedule, the inputs of each
// request, and pools that depend on the seed alone.
func TestWorkloadScheduleAndPools(t *testing.T) {
	w := workload(t, WorkloadConfig{Mix: Mix{{"arith", 2}, {"sudoku6", 1}}, Seed: 5, Pool: 4, PerRequest: 3})
	var models []int
	for i := range int64(6) {
		m, _ := w.Request(i)
		models = append(models, m)
	}
	assert.Equal(t, []int{0, 1, 0, 0, 1, 0}, models, "arith twice per turn, interleaved")
	assert.Equal(t, 4, w.PoolSize(0))
	assert.Equal(t, 4, w.PoolSize(1))

	// Arith's requests take its pool 3 inputs at a time, cycling.
	_, a0 := w.Request(0)
	_, a1 := w.Request(2)
	_, a2 := w.Request(3)
	assert.Equal(t, []int{0, 1, 2}, a0)
	assert.Equal(t, []int{3, 0, 1}, a1)
	assert.Equal(t, []int{2, 3, 0}, a2)

	// Distinct inputs, each with its true answer; the same seed gives the
	// same pool, another seed another.
	seen := map[string]bool{}
	for k := range w.PoolSize(0) {
		it := w.Item(0, k)
		assert.False(t, seen[it.Input], it.Input)
		seen[it.Input] = true
		assert.NotEmpty(t, it.Truth)
		assert.Empty(t, it.Expected, "not verified")
	}
	same := workload(t, WorkloadConfig{Mix: Mix{{"arith", 2}, {"sudoku6", 1}}, Seed: 5, Pool: 4, PerRequest: 3})
	other := workload(t, WorkloadConfig{Mix: Mix{{"arith", 2}, {"sudoku6", 1}}, Seed: 6, Pool: 4, PerRequest: 3})
	assert.Equal(t, w.Item(1, 2), same.Item(1, 2))
	assert.NotEqual(t, w.Item(1, 2), other.Item(1, 2))
	assert.Equal(t, 0, w.OfflineAnswers)
}

// TestWorkloadTrimsPoolsToRequests: a run bounded in requests builds only
// the pool inputs they use.
func TestWorkloadTrimsPoolsToRequests(t *testing.T) {
	w := workload(t, WorkloadConfig{Mix: Mix{{"arith", 1}, {"sudoku6", 1}, {"sudoku9", 1}}, Pool: 100, PerRequest: 2, Requests: 4})
	assert.Equal(t, 4, w.PoolSize(0), "requests 0 and 3")
	assert.Equal(t, 2, w.PoolSize(1))
	assert.Equal(t, 2, w.PoolSize(2))
}

// TestWorkloadVerifyMatchesTruthMostly: the offline answers are the
// model's, nearly all right for arith; a cancelled context stops the pass.
func TestWorkloadVerifyMatchesTruthMostly(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the shipped models")
	}
	w, err := NewWorkload(context.Background(), WorkloadConfig{Mix: Mix{{"arith", 1}}, Seed: 1, Pool: 20, PerRequest: 1, Halt: trm.HaltFull, Verify: true})
	require.NoError(t, err)
	assert.Equal(t, 20, w.OfflineAnswers)
	assert.Positive(t, w.Offline)
	right := 0
	for k := range w.PoolSize(0) {
		it := w.Item(0, k)
		require.NotEmpty(t, it.Expected)
		if it.Expected == it.Truth {
			right++
		}
	}
	assert.GreaterOrEqual(t, right, 19, "the shipped arith model is ~100% right with --halt full")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = NewWorkload(ctx, WorkloadConfig{Mix: Mix{{"sudoku9", 1}}, Pool: 50, PerRequest: 1, Halt: trm.HaltFull, Verify: true})
	assert.ErrorIs(t, err, context.Canceled)
}

// TestRunRefusesBadConfig: Run refuses a non-loopback URL, a run without
// bound and a zero timeout, and runs a good config.
func TestRunRefusesBadConfig(t *testing.T) {
	w := workload(t, WorkloadConfig{Mix: Mix{{"arith", 1}}, Pool: 1, PerRequest: 1})
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	u, err := ParseURL(srv.URL)
	require.NoError(t, err)
	ok := Config{URL: u, Concurrency: 1, Requests: 1, Timeout: time.Second}

	bad := ok
	far := *u
	far.Host = "192.0.2.1:80"
	bad.URL = &far
	_, err = Run(context.Background(), bad, w)
	assert.ErrorContains(t, err, "is not a loopback address")
	bad = ok
	bad.Requests = 0
	_, err = Run(context.Background(), bad, w)
	assert.ErrorContains(t, err, "no bound")
	bad = ok
	bad.Timeout = 0
	_, err = Run(context.Background(), bad, w)
	assert.ErrorContains(t, err, "timeout")

	rep, err := Run(context.Background(), ok, w)
	require.NoError(t, err)
	assert.Equal(t, uint64(1), rep.Requests)
	assert.Equal(t, map[string]int{"404": 1}, rep.StatusCodes)
	assert.False(t, rep.Pass)
}
