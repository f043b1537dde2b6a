package main

import (
	"context"
	"encoding/json"
	"fmt"
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
			"  --ablation FILE.csv held-out exact accuracy per setting of a trm ablate table\n"+
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
		var bars []plots.Bar
		if bars, err = readAblation(f.ablation); err != nil {
			return err
		}
		fig, err = plots.Bars("held-out exact accuracy per setting ("+trimExt(f.ablation)+")", "exact (%)", "%.1f%%", bars)
		what = fmt.Sprintf("ablation table of %d setting(s)", len(bars))
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

// readAblation reads a trm ablate table.csv as bars of exact accuracy (%).
func readAblation(path string) ([]plots.Bar, error) {
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
	bars := make([]plots.Bar, len(rows))
	for i, r := range rows {
		bars[i] = plots.Bar{Label: r.Setting, Value: 100 * r.ExactAcc}
	}
	return bars, nil
}
