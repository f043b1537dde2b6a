package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/trm-go/trm/internal/atomicfile"
	"github.com/trm-go/trm/trm/task"
)

// StepMetrics is what a training run logs at a step: one JSON line of
// <run>/metrics.jsonl, and one progress update. NaN and ±Inf (a diverged
// loss) are written as null and read back as NaN.
type StepMetrics struct {
	// Step is the optimizer step.
	Step int64 `json:"step"`
	// Split is "train" for training batches, "test" for an evaluation.
	Split string `json:"split"`
	// Loss is the mean batch loss (CE + halt_loss_weight·BCE).
	Loss float64 `json:"loss"`
	// TokenAcc and ExactAcc are the token and whole-answer accuracies.
	TokenAcc float64 `json:"token_acc"`
	ExactAcc float64 `json:"exact_acc"`
	// HaltSteps is the mean number of supervision steps to halt.
	HaltSteps float64 `json:"mean_halt_steps"`
	// LR is the learning rate of the step.
	LR float64 `json:"lr"`
	// Samples is the cumulative number of samples trained on.
	Samples int64 `json:"samples"`
	// SamplesPerSec is the throughput since the previous logged step;
	// the logger fills it from Samples when left 0.
	SamplesPerSec float64 `json:"samples_per_sec"`
	// Elapsed is the wall time since the logger started, in seconds; the
	// logger fills it.
	Elapsed float64 `json:"elapsed_s"`
	// Extra holds any further named values (e.g. "halt_loss").
	Extra map[string]float64 `json:"extra,omitempty"`
}

// floatFields lists the float fields of StepMetrics in JSON order.
func (m *StepMetrics) floatFields() []struct {
	name string
	v    *float64
} {
	return []struct {
		name string
		v    *float64
	}{
		{"loss", &m.Loss}, {"token_acc", &m.TokenAcc}, {"exact_acc", &m.ExactAcc},
		{"mean_halt_steps", &m.HaltSteps}, {"lr", &m.LR}, {"samples_per_sec", &m.SamplesPerSec},
		{"elapsed_s", &m.Elapsed},
	}
}

func appendFloat(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// MarshalJSON writes the fields in a fixed order, non-finite floats as null.
func (m StepMetrics) MarshalJSON() ([]byte, error) {
	b := []byte(`{"step":`)
	b = strconv.AppendInt(b, m.Step, 10)
	b = append(b, `,"split":`...)
	b = strconv.AppendQuote(b, m.Split)
	for _, f := range m.floatFields() {
		b = append(b, ',', '"')
		b = append(b, f.name...)
		b = append(b, '"', ':')
		b = appendFloat(b, *f.v)
	}
	b = append(b, `,"samples":`...)
	b = strconv.AppendInt(b, m.Samples, 10)
	if len(m.Extra) > 0 {
		keys := make([]string, 0, len(m.Extra))
		for k := range m.Extra {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, `,"extra":{`...)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendQuote(b, k)
			b = append(b, ':')
			b = appendFloat(b, m.Extra[k])
		}
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads what MarshalJSON writes (null floats become NaN).
func (m *StepMetrics) UnmarshalJSON(data []byte) error {
	var raw struct {
		Step    int64               `json:"step"`
		Split   string              `json:"split"`
		Samples int64               `json:"samples"`
		Extra   map[string]*float64 `json:"extra"`

		Loss          *float64 `json:"loss"`
		TokenAcc      *float64 `json:"token_acc"`
		ExactAcc      *float64 `json:"exact_acc"`
		HaltSteps     *float64 `json:"mean_halt_steps"`
		LR            *float64 `json:"lr"`
		SamplesPerSec *float64 `json:"samples_per_sec"`
		Elapsed       *float64 `json:"elapsed_s"`
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(&raw); err != nil {
		return err
	}
	val := func(p *float64) float64 {
		if p == nil {
			return math.NaN()
		}
		return *p
	}
	*m = StepMetrics{
		Step: raw.Step, Split: raw.Split, Samples: raw.Samples,
		Loss: val(raw.Loss), TokenAcc: val(raw.TokenAcc), ExactAcc: val(raw.ExactAcc),
		HaltSteps: val(raw.HaltSteps), LR: val(raw.LR), SamplesPerSec: val(raw.SamplesPerSec), Elapsed: val(raw.Elapsed),
	}
	if raw.Extra != nil {
		m.Extra = make(map[string]float64, len(raw.Extra))
		for k, v := range raw.Extra {
			m.Extra[k] = val(v)
		}
	}
	return nil
}

// MetricsOptions configures a MetricsLogger.
type MetricsOptions struct {
	// Path is the metrics.jsonl file lines are appended to (created if
	// needed; a resumed run continues it). "" writes no file.
	Path string
	// Out receives the human-readable progress (usually os.Stderr); nil
	// prints nothing.
	Out io.Writer
	// Progress draws a one-line progress bar with an ETA on Out, redrawn
	// in place; set it when Out is a terminal. Otherwise
	// each logged step is a log/slog line.
	Progress bool
	// TotalSteps is the step the run ends at (for the bar and the ETA);
	// StartStep the step it starts from (non-zero when resuming).
	TotalSteps, StartStep int64
	// Elapsed is the wall time earlier segments of a resumed run took:
	// elapsed_s counts from the run's start, not this segment's.
	Elapsed time.Duration
	// Now is the clock; nil means time.Now (tests pass a fake one).
	Now func() time.Time
}

// MetricsLogger records a run's progress: a JSON line per logged step in
// metrics.jsonl, plus a progress bar on a terminal or log lines otherwise.
// It is safe for concurrent use.
type MetricsLogger struct {
	mu          sync.Mutex
	opts        MetricsOptions
	file        *os.File
	log         *slog.Logger
	start       time.Time // the run's start (earlier segments included)
	segStart    time.Time // this segment's start, for the ETA
	lastTime    time.Time
	lastSamples int64
	barShown    bool
}

// NewMetricsLogger opens the metrics file (if any) for appending.
func NewMetricsLogger(opts MetricsOptions) (*MetricsLogger, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	l := &MetricsLogger{opts: opts}
	l.segStart = opts.Now()
	l.start = l.segStart.Add(-opts.Elapsed)
	l.lastTime = l.segStart
	if opts.Path != "" {
		f, err := os.OpenFile(opts.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
		l.file = f
	}
	if opts.Out != nil && !opts.Progress {
		l.log = slog.New(slog.NewTextHandler(opts.Out, nil))
	}
	return l, nil
}

// Log records m: fills Elapsed and, when 0, SamplesPerSec; appends the JSON
// line; updates the progress display. It returns the metrics as recorded.
// Only a failure to write the metrics file is an error.
func (l *MetricsLogger) Log(m StepMetrics) (StepMetrics, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.opts.Now()
	m.Elapsed = now.Sub(l.start).Seconds()
	if m.Split == "" {
		m.Split = string(task.SplitTrain)
	}
	if m.Split == string(task.SplitTrain) {
		if m.SamplesPerSec == 0 {
			if dt := now.Sub(l.lastTime).Seconds(); dt > 0 && m.Samples >= l.lastSamples {
				m.SamplesPerSec = float64(m.Samples-l.lastSamples) / dt
			}
		}
		l.lastTime, l.lastSamples = now, m.Samples
	}
	if l.file != nil {
		line, _ := m.MarshalJSON()
		if _, err := l.file.Write(append(line, '\n')); err != nil {
			return m, fmt.Errorf("metrics: %w", err)
		}
	}
	switch {
	case l.opts.Out == nil:
	case l.opts.Progress && m.Split == string(task.SplitTrain):
		fmt.Fprint(l.opts.Out, "\r"+l.bar(m)+"\x1b[K")
		l.barShown = true
	case l.opts.Progress:
		l.printAboveBar(l.summary(m))
	default:
		l.log.Info(m.Split, l.attrs(m)...)
	}
	return m, nil
}

// Printf writes a message line to the output without garbling the bar.
func (l *MetricsLogger) Printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	msg := fmt.Sprintf(format, args...)
	switch {
	case l.opts.Out == nil:
	case l.opts.Progress:
		l.printAboveBar(msg)
	default:
		l.log.Info(msg)
	}
}

func (l *MetricsLogger) printAboveBar(line string) {
	if l.barShown {
		fmt.Fprint(l.opts.Out, "\r\x1b[K")
		l.barShown = false
	}
	fmt.Fprintln(l.opts.Out, line)
}

// Close ends the progress line and closes the metrics file.
func (l *MetricsLogger) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.barShown {
		fmt.Fprintln(l.opts.Out)
		l.barShown = false
	}
	if l.file == nil {
		return nil
	}
	err := l.file.Sync()
	if cerr := l.file.Close(); err == nil {
		err = cerr
	}
	l.file = nil
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}

func (l *MetricsLogger) attrs(m StepMetrics) []any {
	a := []any{"step", m.Step}
	if l.opts.TotalSteps > 0 {
		a = append(a, "of", l.opts.TotalSteps)
	}
	if m.Split == string(task.SplitTrain) {
		a = append(a, "loss", round4(m.Loss))
	}
	a = append(a, "token_acc", round4(m.TokenAcc), "exact_acc", round4(m.ExactAcc), "halt_steps", round4(m.HaltSteps))
	if m.Split == string(task.SplitTrain) {
		a = append(a, "lr", m.LR, "samples_per_sec", math.Round(m.SamplesPerSec))
		if eta, ok := l.eta(m); ok {
			a = append(a, "eta", eta.String())
		}
	}
	return a
}

func (l *MetricsLogger) summary(m StepMetrics) string {
	loss := ""
	if m.Split == string(task.SplitTrain) {
		loss = fmt.Sprintf(" loss %.4f,", m.Loss)
	}
	return fmt.Sprintf("%s step %d:%s token %.2f%%, exact %.2f%%, halt steps %.2f",
		m.Split, m.Step, loss, 100*m.TokenAcc, 100*m.ExactAcc, m.HaltSteps)
}

// bar renders "step 450/1000 [=====>    ]  45% loss 0.1234 tok 98.1% exact
// 90.0% halt 3.2 1234/s ETA 2m51s".
func (l *MetricsLogger) bar(m StepMetrics) string {
	var b strings.Builder
	total := l.opts.TotalSteps
	if total > 0 {
		const width = 24
		frac := math.Min(math.Max(float64(m.Step)/float64(total), 0), 1)
		fill := int(frac * width)
		bar := strings.Repeat("=", fill)
		if fill < width {
			bar += ">" + strings.Repeat(" ", width-fill-1)
		}
		fmt.Fprintf(&b, "step %d/%d [%s] %3.0f%%", m.Step, total, bar, 100*frac)
	} else {
		fmt.Fprintf(&b, "step %d", m.Step)
	}
	fmt.Fprintf(&b, " loss %.4f tok %.1f%% exact %.1f%% halt %.1f %.0f/s",
		m.Loss, 100*m.TokenAcc, 100*m.ExactAcc, m.HaltSteps, m.SamplesPerSec)
	if eta, ok := l.eta(m); ok {
		fmt.Fprintf(&b, " ETA %s", eta)
	}
	return b.String()
}

// eta extrapolates the time left from the pace since this segment started.
func (l *MetricsLogger) eta(m StepMetrics) (time.Duration, bool) {
	done := m.Step - l.opts.StartStep
	left := l.opts.TotalSteps - m.Step
	spent := m.Elapsed - l.opts.Elapsed.Seconds()
	if l.opts.TotalSteps <= 0 || done <= 0 || left < 0 || spent <= 0 {
		return 0, false
	}
	sec := spent / float64(done) * float64(left)
	return time.Duration(sec * float64(time.Second)).Round(time.Second), true
}

func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }

// ReadMetrics reads a metrics.jsonl file; errors give the line number.
func ReadMetrics(path string) ([]StepMetrics, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	defer f.Close()
	var out []StepMetrics
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var m StepMetrics
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("metrics %q line %d: %w", path, line, err)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("metrics %q: %w", path, err)
	}
	return out, nil
}

// TruncateMetrics drops from a metrics.jsonl file every line after the
// given step, and a torn last line, so that a run resumed from that step
// logs its later steps once: lines are kept while their step is ≤ step.
// It rewrites the file atomically, and only when something is dropped. A
// missing file is not an error.
func TruncateMetrics(path string, step int64) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	keep := 0
	for rest := data; len(rest) > 0; {
		line, tail, complete := bytes.Cut(rest, []byte{'\n'})
		var m StepMetrics
		if !complete || json.Unmarshal(line, &m) != nil || m.Step > step {
			break
		}
		keep = len(data) - len(tail)
		rest = tail
	}
	if keep == len(data) {
		return nil
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := w.Write(data[:keep])
		return err
	})
}
