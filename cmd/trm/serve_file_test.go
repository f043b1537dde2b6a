package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/internal/trmtest"
)

// TestServedCheckpointOutlivesItsFile: trm serve keeps answering with the
// model it loaded, under load from loopback clients, while another model
// of the same layout is copied over its checkpoint file (as cp does: the
// same file, truncated and rewritten) and while the file is then
// truncated to 0 bytes. Every answer is the loaded model's and the server
// stays up. (With the memory-mapped checkpoints of issue 29 the copy
// changed the answers, 777 became 777777, and the truncation killed the
// server with SIGBUS.)
func TestServedCheckpointOutlivesItsFile(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a trm serve process (-short)")
	}
	dir := t.TempDir()
	// a is the shipped arith model, b an untrained one of the same layout.
	a, b := trmtest.SwapCheckpoints(t, dir)

	cmd, url, stderr := serveProcess(t, "--model", "arith="+a)
	client := &http.Client{Timeout: 30 * time.Second}
	body := `{"halt": "full", "inputs": ["777 + 0", "48213 + 99999", "12 + 345", "99999 + 1", "31415 + 27182"]}`
	ask := func() ([]string, error) {
		resp, err := client.Post(url+"/v1/models/arith/predict", "application/json", strings.NewReader(body))
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var r struct{ Outputs []struct{ Answer string } }
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("status %d, decoding: %v", resp.StatusCode, err)
		}
		var s []string
		for _, o := range r.Outputs {
			s = append(s, o.Answer)
		}
		return s, nil
	}
	want, err := ask()
	require.NoError(t, err)
	require.Equal(t, []string{"777", "148212", "357", "100000", "58597"}, want)

	// Four clients ask in a loop until stopped; the first error or wrong
	// answer of each is kept.
	var (
		answered atomic.Int64
		stop     atomic.Bool
		mu       sync.Mutex
		problems []string
		wg       sync.WaitGroup
	)
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				got, err := ask()
				if err == nil && !slices.Equal(got, want) {
					err = fmt.Errorf("answers %q, want %q", got, want)
				}
				if err != nil {
					mu.Lock()
					problems = append(problems, err.Error())
					mu.Unlock()
					return
				}
				answered.Add(1)
			}
		})
	}
	waitAnswered := func(n int64) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for answered.Load() < n && time.Now().Before(deadline) {
			mu.Lock()
			failed := len(problems) == 4
			mu.Unlock()
			if failed {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitAnswered(20)
	src, err := os.ReadFile(b)
	require.NoError(t, err)
	f, err := os.OpenFile(a, os.O_WRONLY|os.O_TRUNC, 0) // cp b a
	require.NoError(t, err)
	_, err = f.Write(src)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	waitAnswered(answered.Load() + 40)
	require.NoError(t, os.Truncate(a, 0)) // truncate -s 0 a
	waitAnswered(answered.Load() + 40)
	stop.Store(true)
	wg.Wait()

	assert.Empty(t, problems, "server stderr: %s", stderr.String())
	got, err := ask()
	assert.NoError(t, err, "the server is still up")
	assert.Equal(t, want, got)
	assert.Nil(t, cmd.ProcessState, "the server has not exited")
	assert.NotContains(t, stderr.String(), "fatal error")
	t.Logf("%d requests answered during the copy and the truncation", answered.Load())
}
