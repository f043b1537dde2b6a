package plots

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/trm-go/trm/trm/infer"
	"github.com/trm-go/trm/trm/task"
	"github.com/trm-go/trm/trm/train"
)

// Run is the metrics of one training run, under the name its curves get
// in the legend.
type Run struct {
	Name    string
	Metrics []train.StepMetrics
}

// LoadRun reads <dir>/metrics.jsonl of a run folder (see train.Run); the
// run is named after the folder.
func LoadRun(dir string) (Run, error) {
	path := train.Run{Dir: dir}.MetricsPath()
	m, err := train.ReadMetrics(path)
	if err != nil {
		return Run{}, err
	}
	if len(m) == 0 {
		return Run{}, fmt.Errorf("plots: %s holds no metrics, want at least one logged step", path)
	}
	return Run{Name: filepath.Base(filepath.Clean(dir)), Metrics: m}, nil
}

// split returns the metric f of r's records of the given split against
// their step.
func (r Run) split(s task.Split, f func(m train.StepMetrics) float64) Series {
	var out Series
	for _, m := range r.Metrics {
		if m.Split == string(s) {
			out.X = append(out.X, float64(m.Step))
			out.Y = append(out.Y, f(m))
		}
	}
	return out
}

// TrainingCurves draws the metrics of one or more runs over training, one
// panel per metric: loss, exact and token accuracy (%), mean halting
// steps, learning rate and samples/s. Each run has its own colour; the
// train split is solid, the test split (periodic evaluations) dashed with
// points. The legend is on the exact-accuracy panel.
func TrainingCurves(runs []Run) (*Figure, error) {
	if len(runs) == 0 {
		return nil, errors.New("plots: no runs, want at least one")
	}
	type metric struct {
		title, unit string
		splits      []task.Split
		value       func(m train.StepMetrics) float64
		legend      bool
	}
	pct := func(v float64) float64 { return 100 * v }
	both := []task.Split{task.SplitTrain, task.SplitTest}
	trainOnly := []task.Split{task.SplitTrain}
	metrics := []metric{
		{"loss", "loss (train batches)", trainOnly, func(m train.StepMetrics) float64 { return m.Loss }, false},
		{"exact accuracy", "exact (%)", both, func(m train.StepMetrics) float64 { return pct(m.ExactAcc) }, true},
		{"token accuracy", "token (%)", both, func(m train.StepMetrics) float64 { return pct(m.TokenAcc) }, false},
		{"mean halting steps", "supervision steps", both, func(m train.StepMetrics) float64 { return m.HaltSteps }, false},
		{"learning rate", "lr", trainOnly, func(m train.StepMetrics) float64 { return m.LR }, false},
		{"throughput", "samples/s", trainOnly, func(m train.StepMetrics) float64 { return m.SamplesPerSec }, false},
	}
	fig := &Figure{Cols: 2}
	for _, mt := range metrics {
		p := newPanel(mt.title, "optimizer step", mt.unit)
		p.Legend.Left = true
		drawn := false
		for i, r := range runs {
			for _, s := range mt.splits {
				ser := r.split(s, mt.value)
				ser.Name = r.Name + " " + string(s)
				ok, err := addSeries(p, ser, style{color: i, dashed: s == task.SplitTest, points: s == task.SplitTest}, mt.legend)
				if err != nil {
					return nil, err
				}
				drawn = drawn || ok
			}
		}
		if !drawn {
			noData(p)
		}
		fig.Panels = append(fig.Panels, p)
	}
	return fig, nil
}

// StepCurve is the accuracy of one model after each supervision step (the
// curve of trm eval: index s is after s+1 steps), as fractions in [0, 1].
type StepCurve struct {
	Name     string
	ExactAcc []float64
	TokenAcc []float64
}

// StepCurves draws exact and token accuracy (%) against the number of
// supervision steps run, one curve per model.
func StepCurves(curves []StepCurve) (*Figure, error) {
	if len(curves) == 0 {
		return nil, errors.New("plots: no accuracy curves, want at least one")
	}
	exact := newPanel("exact accuracy per supervision step", "supervision steps run", "exact (%)")
	token := newPanel("token accuracy per supervision step", "supervision steps run", "token (%)")
	exact.Legend.Top, token.Legend.Top = false, false
	for i, c := range curves {
		if len(c.ExactAcc) == 0 {
			return nil, fmt.Errorf("plots: curve %q has no steps, want at least one", c.Name)
		}
		for _, pc := range []struct {
			p *plot.Plot
			v []float64
		}{{exact, c.ExactAcc}, {token, c.TokenAcc}} {
			s := Series{Name: c.Name}
			for j, v := range pc.v {
				s.X = append(s.X, float64(j+1))
				s.Y = append(s.Y, 100*v)
			}
			if _, err := addSeries(pc.p, s, style{color: i, points: true}, true); err != nil {
				return nil, err
			}
		}
	}
	for _, p := range []*plot.Plot{exact, token} {
		p.X.Tick.Marker = integerTicks{}
	}
	return &Figure{Panels: []*plot.Plot{exact, token}, Cols: 2}, nil
}

// integerTicks puts a labelled tick on every whole number of the axis
// (thinned to at most about 16 labels).
type integerTicks struct{}

// Ticks implements plot.Ticker.
func (integerTicks) Ticks(lo, hi float64) []plot.Tick {
	first, last := int(lo+0.999999), int(hi)
	every := max(1, (last-first+1+15)/16)
	var ts []plot.Tick
	for v := first; v <= last; v++ {
		label := ""
		if (v-first)%every == 0 {
			label = strconv.Itoa(v)
		}
		ts = append(ts, plot.Tick{Value: float64(v), Label: label})
	}
	return ts
}

// preciseTicks are plot.DefaultTicks labelled with up to 6 significant
// digits, so that close values (‖y‖ 48.61 and 48.63) get distinct labels.
type preciseTicks struct{}

// Ticks implements plot.Ticker.
func (preciseTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = strconv.FormatFloat(ts[i].Value, 'g', 6, 64)
		}
	}
	return ts
}

// TraceNorms draws a trace (trm trace --json, infer.Trace) in four panels:
// ‖y‖ and ‖z‖ after every supervision step; ‖Δz‖ of every latent update
// and ‖Δy‖ of every answer update, net call by net call, on a log scale
// (does the recursion settle?); cos(z, z_prev) of every latent update; and
// the halting probability sigmoid(q_halt) with the mean and minimum
// per-position confidence after every step.
func TraceNorms(tr *infer.Trace) (*Figure, error) {
	if tr == nil || len(tr.Steps) == 0 {
		return nil, errors.New("plots: trace has no steps, want at least one")
	}
	var yNorm, zNorm, halt, meanConf, minConf Series
	yNorm.Name, zNorm.Name = "‖y‖", "‖z‖"
	halt.Name, meanConf.Name, minConf.Name = "sigmoid(q_halt)", "mean confidence", "min confidence"
	var dz, dy, cos Series
	dz.Name, dy.Name, cos.Name = "‖Δz‖ (z update)", "‖Δy‖ (y update)", "cos(z, z_prev)"
	call := 0
	for _, st := range tr.Steps {
		x := float64(st.Step)
		yNorm.X, yNorm.Y = append(yNorm.X, x), append(yNorm.Y, st.YNorm)
		zNorm.X, zNorm.Y = append(zNorm.X, x), append(zNorm.Y, st.ZNorm)
		halt.X, halt.Y = append(halt.X, x), append(halt.Y, st.HaltProb)
		meanConf.X, meanConf.Y = append(meanConf.X, x), append(meanConf.Y, st.MeanConfidence)
		minConf.X, minConf.Y = append(minConf.X, x), append(minConf.Y, st.MinConfidence)
		for _, c := range st.Cycles {
			call++
			x := float64(call)
			if c.Inner == 0 { // y = net(y, z)
				if c.DeltaY > 0 {
					dy.X, dy.Y = append(dy.X, x), append(dy.Y, c.DeltaY)
				}
				continue
			}
			if c.DeltaZ > 0 {
				dz.X, dz.Y = append(dz.X, x), append(dz.Y, c.DeltaZ)
			}
			cos.X, cos.Y = append(cos.X, x), append(cos.Y, c.ZCos)
		}
	}
	title := "trace"
	if tr.Task != "" {
		title += " (" + tr.Task + ")"
	}
	norms := newPanel(title+": ‖y‖, ‖z‖ per step", "supervision step", "Frobenius norm")
	norms.X.Tick.Marker = integerTicks{}
	norms.Y.Tick.Marker = preciseTicks{}
	deltas := newPanel("change per net call", "net call (T·(n+1) per step)", "norm of the change")
	deltas.Y.Scale = plot.LogScale{}
	deltas.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	deltas.Legend.Top, deltas.Legend.Left = false, true // the changes fall to the right
	cosP := newPanel("cos(z, z_prev) per latent update", "net call", "cosine")
	cosP.Legend.Top = false
	haltP := newPanel("halting and confidence per step", "supervision step", "probability")
	haltP.X.Tick.Marker = integerTicks{}
	haltP.Legend.Top = false
	haltP.Y.Min, haltP.Y.Max = 0, 1
	for _, d := range []struct {
		p *plot.Plot
		s []Series
	}{
		{norms, []Series{yNorm, zNorm}},
		{deltas, []Series{dz, dy}},
		{cosP, []Series{cos}},
		{haltP, []Series{halt, meanConf, minConf}},
	} {
		drawn := false
		for i, s := range d.s {
			ok, err := addSeries(d.p, s, style{color: i, points: true}, true)
			if err != nil {
				return nil, err
			}
			drawn = drawn || ok
		}
		if !drawn {
			noData(d.p)
			if d.p == deltas { // a log axis needs positive data
				deltas.Y.Scale, deltas.Y.Tick.Marker = plot.LinearScale{}, plot.DefaultTicks{}
			}
		}
	}
	if tr.HaltStep > 0 {
		markHalt(haltP, float64(tr.HaltStep))
	}
	return &Figure{Panels: []*plot.Plot{norms, deltas, cosP, haltP}, Cols: 2}, nil
}

// markHalt draws a vertical line at the step where early halting stops.
func markHalt(p *plot.Plot, step float64) {
	l, err := plotter.NewLine(plotter.XYs{{X: step, Y: 0}, {X: step, Y: 1}})
	if err != nil {
		return // two finite points: cannot fail
	}
	l.Color = colorOf(6)
	l.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
	p.Add(l)
	p.Legend.Add("halts (q_halt > 0)", l)
}

// BarSeries is one set of bars of a bar chart, one value per label; NaN
// leaves that label without a bar of this series (a row the paper has no
// number for).
type BarSeries struct {
	Name   string
	Values []float64
}

// Bars draws a bar chart (an ablation table: held-out exact accuracy per
// setting, beside the paper's numbers): for each label one bar per series,
// side by side, each labelled with its value (formatted with valueFormat,
// e.g. "%.1f%%"). A chart of several series has a legend of their names.
func Bars(title, yLabel, valueFormat string, labels []string, series ...BarSeries) (*Figure, error) {
	if len(labels) == 0 || len(series) == 0 {
		return nil, errors.New("plots: no bars, want at least one label and one series")
	}
	p := newPanel(title, "", yLabel)
	group := min(40, 360/float64(len(labels))) // points per label
	width := vg.Points(group / float64(len(series)))
	for k, sr := range series {
		if len(sr.Values) != len(labels) {
			return nil, fmt.Errorf("plots: series %q has %d values for %d labels", sr.Name, len(sr.Values), len(labels))
		}
		vals := make(plotter.Values, len(labels))
		var lxy plotter.XYs
		var ltext []string
		for i, v := range sr.Values {
			switch {
			case math.IsNaN(v):
				continue // no bar
			case !isFinite(v):
				return nil, fmt.Errorf("plots: bar %q of %q has value %v, want a finite number or NaN (no bar)", labels[i], sr.Name, v)
			}
			vals[i] = v
			lxy = append(lxy, plotter.XY{X: float64(i), Y: v})
			ltext = append(ltext, fmt.Sprintf(valueFormat, v))
		}
		bc, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return nil, fmt.Errorf("plots: %w", err)
		}
		bc.Color = colorOf(k)
		bc.LineStyle.Width = 0
		offset := (float64(k) - float64(len(series)-1)/2) * float64(width)
		bc.Offset = vg.Length(offset)
		p.Add(bc)
		if len(series) > 1 {
			p.Legend.Add(sr.Name, bc)
		}
		if len(lxy) == 0 {
			continue
		}
		lab, err := plotter.NewLabels(plotter.XYLabels{XYs: lxy, Labels: ltext})
		if err != nil {
			return nil, fmt.Errorf("plots: %w", err)
		}
		for i := range lab.TextStyle {
			lab.TextStyle[i].Font.Size = vg.Points(max(5, 8-1.5*float64(len(series)-1)))
			lab.TextStyle[i].XAlign = draw.XCenter
		}
		lab.Offset = vg.Point{X: vg.Length(offset), Y: vg.Points(3)}
		p.Add(lab)
	}
	names := labels
	p.NominalX(names...)
	p.X.Tick.Label.Font.Size = vg.Points(8)
	if len(labels) > 5 {
		p.X.Tick.Label.Rotation = 0.5
		p.X.Tick.Label.XAlign = draw.XRight
		p.X.Tick.Label.YAlign = draw.YTop
	}
	p.Y.Min = 0
	p.Y.Max *= 1.1 // room for the value labels
	if len(series) > 1 {
		p.Legend.Top, p.Legend.Left = true, true
		p.Legend.XOffs = vg.Points(6)
		p.Y.Max *= 1.2 // room for the legend above the tallest bars
	}
	w := vg.Length(max(4.5, 0.7*float64(len(labels)))) * vg.Inch
	return &Figure{Panels: []*plot.Plot{p}, Width: w, Height: 3.5 * vg.Inch}, nil
}
