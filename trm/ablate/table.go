package ablate

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/trm-go/trm/trm/task"
)

// formatOptions renders task options as " (blanks=40, size=9)", or "" when
// there are none.
func formatOptions(o task.Options) string {
	if len(o) == 0 {
		return ""
	}
	return " (" + o.String() + ")"
}

// showPaper reports whether the table gets the paper's column: its numbers
// are on Sudoku-Extreme, so only a Sudoku table shows them.
func (t *Table) showPaper() bool {
	if !strings.HasPrefix(t.Task, "sudoku") {
		return false
	}
	for _, r := range t.Rows {
		if !math.IsNaN(r.Paper) {
			return true
		}
	}
	return false
}

// WriteMarkdown writes the table as Markdown: a line stating the task, the
// budget and the evaluation, then one row per setting (the best exact
// accuracy in bold), then the settings not run yet.
func (t *Table) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Ablation on %s: %s × %d samples per setting; held-out exact and token accuracy on %d test examples with all N_sup supervision steps run (the official evaluation).\n\n",
		t.Task, t.Budget, t.BatchSize, t.EvalN)
	head := "| setting | T | n | N_sup | variant | layers | EMA | params | steps | train time | samples/s | exact | token | early exit: exact / mean steps | exact after step 1..N_sup |"
	sep := "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
	paper := t.showPaper()
	if paper {
		head += " paper (Sudoku-Extreme) |"
		sep += "---|"
	}
	b.WriteString(head + "\n" + sep + "\n")
	best := math.Inf(-1)
	for _, r := range t.Rows {
		best = math.Max(best, r.ExactAcc)
	}
	for _, r := range t.Rows {
		ema := "off"
		if r.EMARate > 0 {
			ema = strconv.FormatFloat(r.EMARate, 'g', -1, 64)
		}
		exact := pct(r.ExactAcc)
		if r.ExactAcc == best && len(t.Rows) > 1 {
			exact = "**" + exact + "**"
		}
		steps := make([]string, len(r.ExactPerStep))
		for i, v := range r.ExactPerStep {
			steps[i] = strconv.FormatFloat(100*v, 'f', 1, 64)
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %s | %d | %s | %s | %s | %s | %.0f | %s | %s | %s / %.2f | %s |",
			r.Setting, r.T, r.N, r.NSup, r.Variant, r.Layers, ema, thousands(r.Params), thousands(r.Steps),
			time.Duration(r.TrainSeconds*float64(time.Second)).Round(time.Second), r.SamplesPerSec,
			exact, pct(r.TokenAcc), pct(r.EarlyExactAcc), r.MeanHaltSteps, strings.Join(steps, ", "))
		if paper {
			if math.IsNaN(r.Paper) {
				b.WriteString(" — |")
			} else {
				fmt.Fprintf(&b, " %.1f%% |", r.Paper)
			}
		}
		b.WriteString("\n")
	}
	if len(t.Missing) > 0 {
		fmt.Fprintf(&b, "\nNot run yet: %s.\n", strings.Join(t.Missing, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func pct(v float64) string { return strconv.FormatFloat(100*v, 'f', 2, 64) + "%" }

// thousands renders n with thousands separators: 224,258.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// csvHeader are the columns of WriteCSV. Accuracies are fractions;
// exact_per_step is space-separated; paper_exact_pct is the paper's
// number in % (empty if none).
var csvHeader = []string{
	"setting", "T", "n", "N_sup", "variant", "layers", "hidden", "ema_rate", "params",
	"steps", "samples", "train_s", "samples_per_s",
	"exact_acc", "token_acc", "early_exact_acc", "mean_halt_steps", "exact_per_step", "eval_examples",
	"paper_exact_pct", "task", "budget",
}

// WriteCSV writes the table as CSV, a header and one record per row (the
// columns of csvHeader; the task and budget repeated on each).
func (t *Table) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	for _, r := range t.Rows {
		steps := make([]string, len(r.ExactPerStep))
		for i, v := range r.ExactPerStep {
			steps[i] = f(v)
		}
		paper := ""
		if !math.IsNaN(r.Paper) {
			paper = f(r.Paper)
		}
		rec := []string{
			r.Setting, strconv.Itoa(r.T), strconv.Itoa(r.N), strconv.Itoa(r.NSup), r.Variant,
			strconv.Itoa(r.Layers), strconv.Itoa(r.Hidden), f(r.EMARate), strconv.FormatInt(r.Params, 10),
			strconv.FormatInt(r.Steps, 10), strconv.FormatInt(r.Samples, 10), f(r.TrainSeconds), f(r.SamplesPerSec),
			f(r.ExactAcc), f(r.TokenAcc), f(r.EarlyExactAcc), f(r.MeanHaltSteps), strings.Join(steps, " "),
			strconv.Itoa(r.EvalExamples), paper, t.Task, t.Budget.String(),
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// ReadCSV reads the rows of a table written by WriteCSV. Columns are found
// by their header name, so extra or reordered columns are fine; "setting"
// and "exact_acc" are required. Errors name the record and the column.
func ReadCSV(r io.Reader) ([]Row, error) {
	cr := csv.NewReader(r)
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("ablation table: %w", err)
	}
	if len(recs) == 0 {
		return nil, errors.New("ablation table: empty, want a header line and rows")
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[strings.TrimSpace(h)] = i
	}
	for _, need := range []string{"setting", "exact_acc"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("ablation table: no %q column in the header %q, want the columns trm ablate writes", need, strings.Join(recs[0], ","))
		}
	}
	var rows []Row
	for n, rec := range recs[1:] {
		line := n + 2
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		var perr error
		num := func(name string) float64 {
			s := get(name)
			if s == "" {
				return math.NaN()
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil && perr == nil {
				perr = fmt.Errorf("ablation table line %d: %s %q, want a number", line, name, s)
			}
			return v
		}
		integer := func(name string) int64 {
			v := num(name)
			if math.IsNaN(v) {
				return 0
			}
			return int64(v)
		}
		row := Row{
			Setting: get("setting"), T: int(integer("T")), N: int(integer("n")), NSup: int(integer("N_sup")),
			Variant: get("variant"), Layers: int(integer("layers")), Hidden: int(integer("hidden")),
			EMARate: num("ema_rate"), Params: integer("params"), Steps: integer("steps"), Samples: integer("samples"),
			TrainSeconds: num("train_s"), SamplesPerSec: num("samples_per_s"),
			ExactAcc: num("exact_acc"), TokenAcc: num("token_acc"), EarlyExactAcc: num("early_exact_acc"),
			MeanHaltSteps: num("mean_halt_steps"), EvalExamples: int(integer("eval_examples")), Paper: num("paper_exact_pct"),
		}
		for f := range strings.FieldsSeq(get("exact_per_step")) {
			v, err := strconv.ParseFloat(f, 64)
			if err != nil && perr == nil {
				perr = fmt.Errorf("ablation table line %d: exact_per_step value %q, want a number", line, f)
			}
			row.ExactPerStep = append(row.ExactPerStep, v)
		}
		if perr != nil {
			return nil, perr
		}
		if row.Setting == "" || math.IsNaN(row.ExactAcc) {
			return nil, fmt.Errorf("ablation table line %d: empty setting or exact_acc, want both", line)
		}
		rows = append(rows, row)
	}
	return rows, nil
}
