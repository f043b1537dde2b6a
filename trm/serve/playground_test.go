package serve

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/trm/task"
)

// browserPath finds Chromium or Chrome: $TRM_BROWSER, then the usual
// names on $PATH.
func browserPath() string {
	if p := os.Getenv("TRM_BROWSER"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestPlaygroundFiles: the page and its files are served with their types
// and a same-origin content security policy; nothing else is listed.
func TestPlaygroundFiles(t *testing.T) {
	_, ts := newTestServer(t, Options{}, "arith")
	for path, ctype := range map[string]string{
		"/":                      "text/html; charset=utf-8",
		"/playground/app.js":     "text/javascript; charset=utf-8",
		"/playground/style.css":  "text/css; charset=utf-8",
		"/playground/index.html": "", // FileServer redirects index.html to the folder
	} {
		resp, err := http.Get(ts.URL + path)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if ctype == "" {
			continue
		}
		assert.Equal(t, 200, resp.StatusCode, path)
		assert.Equal(t, ctype, resp.Header.Get("Content-Type"), path)
		assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'self'", path)
		assert.NotEmpty(t, body)
	}
	resp, err := http.Get(ts.URL + "/playground/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 404, resp.StatusCode, "no directory listing")
	resp, err = http.Post(ts.URL+"/", "text/plain", nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 405, resp.StatusCode)

	// GET /v1/models gives the page an example input and the grid layout.
	_, ts = newTestServer(t, Options{}, "sudoku6")
	resp, err = http.Get(ts.URL + "/v1/models/sudoku6")
	require.NoError(t, err)
	var info ModelInfo
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&info))
	resp.Body.Close()
	assert.Len(t, info.Example, 36)
	assert.Equal(t, &GridInfo{Kind: "sudoku", Rows: 6, Cols: 6, BoxRows: 2, BoxCols: 3}, info.Grid)
}

// TestPlaygroundInBrowser loads the playground in headless Chromium, runs
// a 6×6 Sudoku and a sum, and checks that the final grid and step count
// the page shows are the API's answer, that stepping back shows an earlier
// step, and that bad input is shown inline. A screenshot goes to
// $TRM_SCREENSHOT when set (the README's image).
func TestPlaygroundInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser (-short)")
	}
	browser := browserPath()
	if browser == "" {
		t.Skip("no Chromium or Chrome on this machine (Debian: apt-get install chromium; .ci/run installs it): the playground's browser test did not run")
	}
	_, ts := newTestServer(t, Options{}, "arith", "sudoku6")
	p := shipped(t, "sudoku6")
	ex, err := task.Labeled(p.Task, task.SplitTest, 9, 4)
	require.NoError(t, err)
	puzzle := p.Task.Format(ex)
	code, _, body := post(t, ts.URL+"/v1/models/sudoku6/predict", predictBody(t, PredictRequest{Inputs: []string{puzzle}, Halt: "full", Trace: true}))
	require.Equal(t, 200, code, "%s", body)
	var want PredictResponse
	require.NoError(t, json.Unmarshal(body, &want))

	alloc, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1000, 1100))...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	text := func(sel string) string {
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		require.NoError(t, err, sel)
		return strings.TrimSpace(s)
	}
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(ts.URL+"/?model=sudoku6"),
		chromedp.WaitReady(chromedp.CSS(`#model option[value="sudoku6"]`)),
		chromedp.SetValue(chromedp.CSS("#input"), puzzle),
		chromedp.Click(chromedp.CSS("#run")),
		chromedp.WaitVisible(chromedp.CSS("#result")),
	))
	o := want.Outputs[0]
	assert.Equal(t, o.Answer, text("#final"), "the final grid is the API's answer")
	assert.Equal(t, strconv.Itoa(o.Steps), text("#finalsteps"))
	assert.Equal(t, strconv.Itoa(o.Steps), text("#steps"))
	assert.Equal(t, strconv.Itoa(o.Steps), text("#stepno"), "the page opens on the last step")
	cells, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("#answer td")].map(td => td.textContent).join("")`))
	require.NoError(t, err)
	assert.Equal(t, o.Answer, cells, "the grid drawn is the answer")

	// Step back: the page shows step N−1's answer and q_halt.
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#prev"))))
	assert.Equal(t, strconv.Itoa(o.Steps-1), text("#stepno"))
	cells, err = chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("#answer td")].map(td => td.textContent).join("")`))
	require.NoError(t, err)
	assert.Equal(t, o.Trace[o.Steps-2].Answer, cells)
	assert.Equal(t, strconv.FormatFloat(float64(o.Trace[o.Steps-2].QHalt), 'f', 3, 64), text("#qhalt"))

	// Step 1, the cells the model filled in highlighted: the screenshot.
	require.NoError(t, chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`show(1)`)))
	assert.Equal(t, "1", text("#stepno"))
	assert.Contains(t, text("#changed"), "(from the input)")
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	shot := os.Getenv("TRM_SCREENSHOT")
	if shot == "" {
		shot = filepath.Join(t.TempDir(), "playground.png")
	}
	require.NoError(t, os.WriteFile(shot, png, 0o644))

	// Bad input is shown inline, with the server's message.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS("#input"), "not a sudoku"),
		chromedp.Click(chromedp.CSS("#run")),
		chromedp.WaitVisible(chromedp.CSS("#error")),
	))
	assert.Contains(t, text("#error"), "inputs[0]: sudoku6")

	// A sum: not a grid, the digits in a row.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS("#model"), "arith"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("model").dispatchEvent(new Event("change"))`),
		chromedp.SetValue(chromedp.CSS("#input"), "48213 + 99999"),
		chromedp.Click(chromedp.CSS("#run")),
		chromedp.WaitVisible(chromedp.CSS("#result")),
	))
	assert.Equal(t, "148212", text("#final"))
}
