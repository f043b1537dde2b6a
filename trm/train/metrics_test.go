package train

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock advances by step on every call.
func fakeClock(step time.Duration) func() time.Time {
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time {
		t = t.Add(step)
		return t
	}
}

func TestMetricsFileAndLogLines(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "metrics.jsonl")
	var out bytes.Buffer
	l, err := NewMetricsLogger(MetricsOptions{Path: path, Out: &out, TotalSteps: 100, Now: fakeClock(2 * time.Second)})
	require.NoError(t, err)
	// Start at t=2s; first log at t=4s: 2 s elapsed, 640 samples → 320/s.
	m, err := l.Log(StepMetrics{Step: 10, Loss: 1.5, TokenAcc: 0.5, ExactAcc: 0.25, HaltSteps: 3, LR: 1e-4, Samples: 640})
	require.NoError(t, err)
	assert.Equal(t, 2.0, m.Elapsed)
	assert.Equal(t, 320.0, m.SamplesPerSec)
	assert.Equal(t, "train", m.Split)
	_, err = l.Log(StepMetrics{Step: 20, Loss: math.NaN(), Samples: 1280, Extra: map[string]float64{"halt_loss": 0.7, "b": math.Inf(1)}})
	require.NoError(t, err)
	_, err = l.Log(StepMetrics{Step: 20, Split: "test", ExactAcc: 0.9})
	require.NoError(t, err)
	l.Printf("saved checkpoint at step %d", 20)
	require.NoError(t, l.Close())

	got, err := ReadMetrics(path)
	require.NoError(t, err)
	require.Len(t, got, 3)
	assert.Equal(t, int64(10), got[0].Step)
	assert.Equal(t, 1.5, got[0].Loss)
	assert.Equal(t, 1e-4, got[0].LR)
	assert.True(t, math.IsNaN(got[1].Loss), "a NaN loss is kept (as null)")
	assert.Equal(t, 0.7, got[1].Extra["halt_loss"])
	assert.True(t, math.IsNaN(got[1].Extra["b"]))
	assert.Equal(t, 320.0, got[1].SamplesPerSec, "640 more samples in 2 s")
	assert.Equal(t, "test", got[2].Split)
	assert.Equal(t, 0.9, got[2].ExactAcc)

	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	first := strings.SplitN(string(raw), "\n", 2)[0]
	assert.Equal(t, `{"step":10,"split":"train","loss":1.5,"token_acc":0.5,"exact_acc":0.25,"mean_halt_steps":3,"lr":0.0001,"samples_per_sec":320,"elapsed_s":2,"samples":640}`, first)

	// Not a terminal: slog text lines.
	text := out.String()
	assert.Contains(t, text, "msg=train step=10 of=100 loss=1.5 token_acc=0.5 exact_acc=0.25 halt_steps=3 lr=0.0001 samples_per_sec=320 eta=18s")
	assert.Contains(t, text, "msg=test step=20 of=100 token_acc=0 exact_acc=0.9 halt_steps=0\n", "an evaluation has no loss to show")
	assert.Contains(t, text, `msg="saved checkpoint at step 20"`)
	assert.NotContains(t, text, "\r")

	// Appending: a resumed run continues the file.
	l, err = NewMetricsLogger(MetricsOptions{Path: path})
	require.NoError(t, err)
	_, err = l.Log(StepMetrics{Step: 30})
	require.NoError(t, err)
	require.NoError(t, l.Close())
	got, err = ReadMetrics(path)
	require.NoError(t, err)
	assert.Len(t, got, 4)
}

func TestMetricsProgressBar(t *testing.T) {
	var out bytes.Buffer
	l, err := NewMetricsLogger(MetricsOptions{Out: &out, Progress: true, TotalSteps: 1000, StartStep: 0, Now: fakeClock(time.Second)})
	require.NoError(t, err)
	_, err = l.Log(StepMetrics{Step: 250, Loss: 0.12345, TokenAcc: 0.981, ExactAcc: 0.9, HaltSteps: 3.2, Samples: 5000})
	require.NoError(t, err)
	// 1 s for 250 steps → 750 steps left take 3 s.
	assert.Equal(t, "\rstep 250/1000 [======>                 ]  25% loss 0.1235 tok 98.1% exact 90.0% halt 3.2 5000/s ETA 3s\x1b[K", out.String())

	out.Reset()
	_, err = l.Log(StepMetrics{Step: 300, Split: "test", ExactAcc: 0.5})
	require.NoError(t, err)
	assert.Equal(t, "\r\x1b[Ktest step 300: token 0.00%, exact 50.00%, halt steps 0.00\n", out.String(),
		"an evaluation is printed on its own line, the bar erased first")

	out.Reset()
	_, err = l.Log(StepMetrics{Step: 1000, Samples: 20000})
	require.NoError(t, err)
	assert.Contains(t, out.String(), "[========================] 100%")
	require.NoError(t, l.Close())
	assert.True(t, strings.HasSuffix(out.String(), "\n"), "Close ends the bar line")
}

func TestReadMetricsErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(`{"step":1}`+"\n\n"+`{"step":"x"}`+"\n"), 0o644))
	_, err := ReadMetrics(path)
	assert.ErrorContains(t, err, `metrics "`+path+`" line 3:`)
	require.NoError(t, os.WriteFile(path, []byte(`{"stp":1}`), 0o644))
	_, err = ReadMetrics(path)
	assert.ErrorContains(t, err, `unknown field "stp"`)
	_, err = NewMetricsLogger(MetricsOptions{Path: filepath.Join(path, "sub", "x")})
	assert.Error(t, err)
}

func TestTruncateMetrics(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metrics.jsonl")
	lines := []string{
		`{"step":1,"split":"train","loss":1,"samples":8}`,
		`{"step":2,"split":"train","loss":1,"samples":16}`,
		`{"step":2,"split":"test","loss":null,"exact_acc":0.5,"samples":0}`,
		`{"step":3,"split":"train","loss":1,"samples":24}`,
	}
	write := func(s string) {
		require.NoError(t, os.WriteFile(path, []byte(s), 0o644))
	}
	read := func() string {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		return string(b)
	}
	all := strings.Join(lines, "\n") + "\n"
	write(all)
	require.NoError(t, TruncateMetrics(path, 2))
	assert.Equal(t, strings.Join(lines[:3], "\n")+"\n", read(), "lines after step 2 dropped, the step-2 evaluation kept")
	require.NoError(t, TruncateMetrics(path, 5))
	assert.Equal(t, strings.Join(lines[:3], "\n")+"\n", read(), "nothing to drop")

	write(all + `{"step":4,"split":"tr`) // torn by a crash
	require.NoError(t, TruncateMetrics(path, 9))
	assert.Equal(t, all, read())
	require.NoError(t, TruncateMetrics(path, 0))
	assert.Equal(t, "", read())
	require.NoError(t, TruncateMetrics(filepath.Join(t.TempDir(), "none.jsonl"), 3))
}
