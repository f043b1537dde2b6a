package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot/vg"

	"github.com/trm-go/trm/trm/ablate"
	"github.com/trm-go/trm/trm/infer"
	"github.com/trm-go/trm/trm/plots"
)

// plotFlags are the flags of trm plot.
type plotFlags struct {
	out           string
	evals         listFlag
	trace         string
	ablation      string
	width, height float64
	runs          []string
}

func parsePlotFlags(e env, args []string) (*plotFlags, error) {
	f := &plotFlags{}
	fs := newFlagSet(e, "plot", "[flags] RUN [RUN...] | --eval FILE.json ... | --trace FILE.json | --ablation TABLE.csv",
		"Draws a PNG or SVG image (by --out's extension):\n"+
			"\n"+
			"  RUN...              training curves of run folders (their metrics.jsonl):\n"+
			"                      loss, exact and token accuracy, mean halting steps,\n"+
			"                      learning rate and samples/s over the optimizer steps,\n"+
			"                      the runs overlaid (train solid, test evaluations dashed)\n"+
			"  --eval FILE.json    exact and token accuracy after each supervision step,\n"+
			"                      from trm eval --json outputs (repeat to overlay models)\n"+
			"  --trace FILE.json   from trm trace --json: ‖y‖ and ‖z‖ per step, ‖Δz‖ and\n"+
			"                      ‖Δy‖ per net call (log scale), cos(z, z_prev), and the\n"+
			"                      halting probability and confidence per step\n"+
			"  --ablation FILE.csv held-out exact accuracy per setting of a trm ablate table,\n"+
			"                      beside the paper's numbers where the table has them\n"+
			"\n"+
			"Exit status: 0 written; 2 bad flags; 1 a file missing, unreadable or not\n"+
			"what it should be, or the image could not be written.")
	fs.StringVar(&f.out, "out", "plot.png", "image `file` to write: .png or .svg")
	fs.Var(&f.evals, "eval", "trm eval --json output `file` (repeatable: one curve each)")
	fs.StringVar(&f.trace, "trace", "", "trm trace --json output `file`")
	fs.StringVar(&f.ablation, "ablation", "", "trm ablate table.csv `file`")
	fs.Float64Var(&f.width, "width", 0, "image width in inches (0: by the number of panels)")
	fs.Float64Var(&f.height, "height", 0, "image height in inches (0: by the number of panels)")
	if err := parse(fs, args, true); err != nil {
		return nil, err
	}
	f.runs = fs.Args()
	if _, err := plots.FormatOf(f.out); err != nil {
		return nil, usagef("--out %s: the extension names the format, want .png or .svg", f.out)
	}
	modes := 0
	for _, on := range []bool{len(f.runs) > 0, len(f.evals) > 0, f.trace != "", f.ablation != ""} {
		if on {
			modes++
		}
	}
	switch {
	case modes == 0:
		return nil, usagef("nothing to plot: give run folders, --eval, --trace or --ablation")
	case modes > 1:
		return nil, usagef("run folders, --eval, --trace and --ablation exclude each other: one kind of plot per image")
	case !(f.width >= 0 && f.width <= 100) || !(f.height >= 0 && f.height <= 100):
		return nil, usagef("--width %v --height %v, want inches in [0, 100] (0: automatic)", f.width, f.height)
	}
	return f, nil
}

func runPlot(ctx context.Context, e env, args []string) error {
	f, err := parsePlotFlags(e, args)
	if err != nil {
		return err
	}
	var (
		fig  *plots.Figure
		what string
	)
	switch {
	case len(f.runs) > 0:
		runs := make([]plots.Run, len(f.runs))
		for i, dir := range f.runs {
			if runs[i], err = plots.LoadRun(dir); err != nil {
				return err
			}
		}
		fig, err = plots.TrainingCurves(runs)
		what = fmt.Sprintf("training curves of %d run(s)", len(runs))
	case len(f.evals) > 0:
		curves := make([]plots.StepCurve, len(f.evals))
		for i, path := range f.evals {
			if curves[i], err = readEvalCurve(path); err != nil {
				return err
			}
		}
		fig, err = plots.StepCurves(curves)
		what = fmt.Sprintf("accuracy per supervision step of %d model(s)", len(curves))
	case f.trace != "":
		var tr *infer.Trace
		if tr, err = readTrace(f.trace); err != nil {
			return err
		}
		fig, err = plots.TraceNorms(tr)
		what = fmt.Sprintf("trace of %d step(s)", len(tr.Steps))
	default:
		var rows []ablate.Row
		if rows, err = readAblation(f.ablation); err != nil {
			return err
		}
		title, labels, series := ablationBars(rows, trimExt(f.ablation))
		fig, err = plots.Bars(title, "exact (%)", "%.1f%%", labels, series...)
		what = fmt.Sprintf("ablation table of %d setting(s)", len(rows))
	}
	if err != nil {
		return err
	}
	if f.width > 0 {
		fig.Width = vg.Length(f.width) * vg.Inch
	}
	if f.height > 0 {
		fig.Height = vg.Length(f.height) * vg.Inch
	}
	if err := fig.Save(f.out); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s: %s\n", f.out, what)
	return nil
}

// trimExt returns the file name of path without folder and extension.
func trimExt(path string) string {
	base := filepath.Base(path)
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// readEvalCurve reads the output of trm eval --json; the curve is named
// after the file.
func readEvalCurve(path string) (plots.StepCurve, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return plots.StepCurve{}, fmt.Errorf("--eval: %w", err)
	}
	var s evalSummary
	if err := json.Unmarshal(data, &s); err != nil {
		return plots.StepCurve{}, fmt.Errorf("--eval %s: %w (want the output of trm eval --json)", path, err)
	}
	if len(s.Curve) == 0 {
		return plots.StepCurve{}, fmt.Errorf("--eval %s: no \"curve\" of per-step scores, want the output of trm eval --json", path)
	}
	c := plots.StepCurve{Name: trimExt(path)}
	for _, sc := range s.Curve {
		c.ExactAcc = append(c.ExactAcc, sc.ExactAcc)
		c.TokenAcc = append(c.TokenAcc, sc.TokenAcc)
	}
	return c, nil
}

// readTrace reads the output of trm trace --json.
func readTrace(path string) (*infer.Trace, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--trace: %w", err)
	}
	var tr infer.Trace
	if err := json.Unmarshal(data, &tr); err != nil {
		return nil, fmt.Errorf("--trace %s: %w (want the output of trm trace --json)", path, err)
	}
	if len(tr.Steps) == 0 {
		return nil, fmt.Errorf("--trace %s: no \"steps\", want the output of trm trace --json", path)
	}
	return &tr, nil
}

// readAblation reads the rows of a trm ablate table.csv.
func readAblation(path string) ([]ablate.Row, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--ablation: %w", err)
	}
	defer file.Close()
	rows, err := ablate.ReadCSV(file)
	if err != nil {
		return nil, fmt.Errorf("--ablation %s: %w", path, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("--ablation %s: no rows, want at least one setting", path)
	}
	return rows, nil
}

// ablationBars returns the bar chart of an ablation table: each setting's
// held-out exact accuracy and, where the table has it, the paper's number
// beside it. The title names the budget when every row trained the same
// number of steps, else name.
func ablationBars(rows []ablate.Row, name string) (title string, labels []string, series []plots.BarSeries) {
	run := plots.BarSeries{Name: "this run"}
	paper := plots.BarSeries{Name: "paper (Sudoku-Extreme)"}
	hasPaper := false
	for _, r := range rows {
		labels = append(labels, r.Setting)
		run.Values = append(run.Values, 100*r.ExactAcc)
		paper.Values = append(paper.Values, r.Paper)
		hasPaper = hasPaper || !math.IsNaN(r.Paper)
	}
	series = []plots.BarSeries{run}
	if hasPaper {
		series = append(series, paper)
	}
	title = "held-out exact accuracy per setting (" + name + ")"
	if steps := rows[0].Steps; steps > 0 && rows[0].Samples > 0 && rows[0].Samples%steps == 0 {
		same := true
		for _, r := range rows {
			same = same && r.Steps == steps && r.Samples == rows[0].Samples
		}
		if same {
			title = fmt.Sprintf("held-out exact accuracy per setting after %d steps × %d", steps, rows[0].Samples/steps)
		}
	}
	return title, labels, series
}
