package plots

import (
	"bytes"
	"encoding/xml"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/trm/infer"
	"github.com/trm-go/trm/trm/train"
)

// fakeRun returns the metrics of a run of n logged steps with a test
// evaluation every 4 of them.
func fakeRun(name string, n int, scale float64) Run {
	r := Run{Name: name}
	for i := 1; i <= n; i++ {
		step := int64(10 * i)
		r.Metrics = append(r.Metrics, train.StepMetrics{
			Step: step, Split: "train", Loss: scale * 3 / float64(i), TokenAcc: 1 - 0.5/float64(i),
			ExactAcc: 1 - 1/float64(i), HaltSteps: 1 + 3/float64(i), LR: 1e-3 * math.Min(1, float64(i)/3),
			Samples: step * 64, SamplesPerSec: 150,
		})
		if i%4 == 0 {
			r.Metrics = append(r.Metrics, train.StepMetrics{
				Step: step, Split: "test", Loss: math.NaN(), TokenAcc: 0.9, ExactAcc: 0.5 + float64(i)/100, HaltSteps: 2,
			})
		}
	}
	return r
}

func fakeTrace() *infer.Trace {
	tr := &infer.Trace{Input: "3 + 7", Task: "arith", HaltStep: 2}
	for s := 1; s <= 3; s++ {
		st := infer.TraceStep{Step: s, YNorm: 10 + float64(s), ZNorm: 20 - float64(s), HaltProb: 0.3 * float64(s),
			MeanConfidence: 0.9, MinConfidence: 0.5 + 0.1*float64(s)}
		for c := 1; c <= 2; c++ {
			for in := 1; in <= 2; in++ {
				st.Cycles = append(st.Cycles, infer.TraceCycle{Cycle: c, Inner: in, Update: "z",
					DeltaZ: 1 / float64(s*c*in), ZCos: 1 - 0.1/float64(s*c)})
			}
			st.Cycles = append(st.Cycles, infer.TraceCycle{Cycle: c, Update: "y", DeltaY: 0.5 / float64(s*c)})
		}
		tr.Steps = append(tr.Steps, st)
	}
	return tr
}

// render writes fig as PNG and SVG and checks both: the PNG decodes to the
// figure's size, the SVG is well-formed XML that contains every name.
func render(t *testing.T, fig *Figure, names ...string) (svg string) {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, fig.Write(&buf, PNG))
	img, err := png.Decode(&buf)
	require.NoError(t, err, "PNG output must decode")
	w, h := fig.Size()
	assert.Equal(t, int(math.Round(w.Dots(DPI))), img.Bounds().Dx())
	assert.Equal(t, int(math.Round(h.Dots(DPI))), img.Bounds().Dy())

	buf.Reset()
	require.NoError(t, fig.Write(&buf, SVG))
	svg = buf.String()
	assert.True(t, strings.HasPrefix(strings.TrimSpace(svg), "<?xml") || strings.Contains(svg, "<svg"), "SVG output starts an SVG document")
	dec := xml.NewDecoder(strings.NewReader(svg))
	for {
		_, err := dec.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err, "SVG output must be well-formed XML")
	}
	for _, n := range names {
		assert.Contains(t, svg, ">"+n+"<", "SVG shows %q", n)
	}
	return svg
}

func TestTrainingCurves(t *testing.T) {
	fig, err := TrainingCurves([]Run{fakeRun("run-a", 12, 1), fakeRun("run-b", 8, 2)})
	require.NoError(t, err)
	require.Len(t, fig.Panels, 6)
	render(t, fig, "run-a train", "run-a test", "run-b train", "run-b test",
		"loss", "exact accuracy", "token accuracy", "mean halting steps", "learning rate", "throughput")
}

func TestTrainingCurvesMissingSplit(t *testing.T) {
	r := fakeRun("only-train", 3, 1) // no test records
	fig, err := TrainingCurves([]Run{r})
	require.NoError(t, err)
	render(t, fig, "only-train train")
	_, err = TrainingCurves(nil)
	assert.ErrorContains(t, err, "no runs")
}

func TestLoadRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "my-run")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	l, err := train.NewMetricsLogger(train.MetricsOptions{Path: train.Run{Dir: dir}.MetricsPath()})
	require.NoError(t, err)
	for _, m := range fakeRun("x", 4, 1).Metrics {
		_, err := l.Log(m)
		require.NoError(t, err)
	}
	require.NoError(t, l.Close())
	r, err := LoadRun(dir)
	require.NoError(t, err)
	assert.Equal(t, "my-run", r.Name)
	assert.Len(t, r.Metrics, 5)

	_, err = LoadRun(t.TempDir())
	assert.Error(t, err, "a folder without metrics.jsonl")
}

func TestStepCurves(t *testing.T) {
	fig, err := StepCurves([]StepCurve{
		{Name: "trm", ExactAcc: []float64{0.5, 0.8, 0.9}, TokenAcc: []float64{0.9, 0.95, 0.99}},
		{Name: "no-recursion", ExactAcc: []float64{0.6}, TokenAcc: []float64{0.9}},
	})
	require.NoError(t, err)
	render(t, fig, "trm", "no-recursion", "exact accuracy per supervision step")
	_, err = StepCurves([]StepCurve{{Name: "empty"}})
	assert.ErrorContains(t, err, `"empty" has no steps`)
}

func TestTraceNorms(t *testing.T) {
	fig, err := TraceNorms(fakeTrace())
	require.NoError(t, err)
	render(t, fig, "‖y‖", "‖z‖", "‖Δz‖ (z update)", "‖Δy‖ (y update)", "cos(z, z_prev)", "sigmoid(q_halt)", "halts (q_halt &gt; 0)")

	// All deltas zero: the log axis falls back to linear instead of failing.
	tr := fakeTrace()
	for i := range tr.Steps {
		for j := range tr.Steps[i].Cycles {
			tr.Steps[i].Cycles[j].DeltaY, tr.Steps[i].Cycles[j].DeltaZ = 0, 0
		}
	}
	fig, err = TraceNorms(tr)
	require.NoError(t, err)
	render(t, fig, "change per net call (no data)")

	_, err = TraceNorms(&infer.Trace{})
	assert.ErrorContains(t, err, "no steps")
}

func TestBars(t *testing.T) {
	labels := []string{"T3n6", "T2n2", "no-ema", "attn", "1step", "norec"}
	fig, err := Bars("ablation", "exact (%)", "%.1f%%", labels, BarSeries{"run", []float64{87.4, 73.7, 79.9, 74.7, 56.5, 40}})
	require.NoError(t, err)
	render(t, fig, "T3n6", "no-ema", "87.4%", "56.5%")

	// Two series side by side, a legend, no bar (and no label) for NaN.
	fig, err = Bars("ablation", "exact (%)", "%.1f%%", labels[:2],
		BarSeries{"this run", []float64{12.5, 3.25}}, BarSeries{"paper", []float64{87.4, math.NaN()}})
	require.NoError(t, err)
	svg := render(t, fig, "12.5%", "3.2%", "87.4%", "this run", "paper")
	assert.NotContains(t, svg, "NaN")

	_, err = Bars("x", "y", "%v", []string{"inf"}, BarSeries{"s", []float64{math.Inf(1)}})
	assert.ErrorContains(t, err, `bar "inf"`)
	_, err = Bars("x", "y", "%v", []string{"a", "b"}, BarSeries{"s", []float64{1}})
	assert.ErrorContains(t, err, "1 values for 2 labels")
	_, err = Bars("x", "y", "%v", nil)
	assert.Error(t, err)
}

func TestSaveByExtension(t *testing.T) {
	fig, err := Bars("b", "v", "%.0f", []string{"a"}, BarSeries{"s", []float64{1}})
	require.NoError(t, err)
	dir := t.TempDir()
	for _, name := range []string{"x.png", "x.SVG"} {
		p := filepath.Join(dir, name)
		require.NoError(t, fig.Save(p))
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		if strings.HasSuffix(name, ".png") {
			_, err = png.Decode(bytes.NewReader(data))
			require.NoError(t, err)
		} else {
			assert.Contains(t, string(data), "<svg")
		}
	}
	err = fig.Save(filepath.Join(dir, "x.jpg"))
	assert.ErrorContains(t, err, `want .png or .svg`)
	_, err = os.Stat(filepath.Join(dir, "x.jpg"))
	assert.True(t, os.IsNotExist(err), "nothing written for a refused format")
}
