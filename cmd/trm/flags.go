package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"

	"github.com/trm-go/trm/tensor"
	"github.com/trm-go/trm/trm/task"
)

// newFlagSet returns a flag set for command name whose errors and -h
// output go to e.stderr, with usage text: the synopsis line and what the
// command does.
func newFlagSet(e env, name, synopsis, about string) *flag.FlagSet {
	fs := flag.NewFlagSet("trm "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: trm %s %s\n\n%s\n\nFlags:\n", name, synopsis, about)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args into fs. -h prints the usage and gives errHelp (exit
// 0); a bad flag gives a usageError (exit 2). Positional arguments are
// refused unless allowArgs.
func parse(fs *flag.FlagSet, args []string, allowArgs bool) error {
	// The flag package would print the error and the whole usage; print
	// the usage only for -h, and let the caller report errors in one line.
	out := fs.Output()
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(out)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.Usage()
			return errHelp
		}
		return usageError{err.Error()}
	}
	if !allowArgs && fs.NArg() > 0 {
		return usagef("unexpected argument %q (flags go before any argument)", fs.Arg(0))
	}
	return nil
}

// isSet reports whether the flag was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// runtimeFlags are the flags of every command that computes: threads,
// profiles and machine-readable output.
type runtimeFlags struct {
	threads    int
	tune       bool
	cpuProfile string
	memProfile string
	json       bool
}

// maxThreads bounds --threads. It is the most goroutines one numeric kernel
// call can use (tensor.SetWorkers clamps to 1024): more would only raise
// GOMAXPROCS, and with it the runtime's per-P garbage-collector workers and
// OS threads, without any kernel using them. (--threads 100000 made the Go
// runtime exceed its 10000-thread limit and die.) Values above the CPU count
// are allowed, but only make the kernels slower.
const maxThreads = 1024

func (r *runtimeFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&r.threads, "threads", 0, fmt.Sprintf("worker threads for the numeric kernels, at most %d (0: all CPUs, GOMAXPROCS)", maxThreads))
	fs.BoolVar(&r.tune, "tune", true, "run each network application on as many of the threads as have run it fastest lately: fewer when another process holds a core (false: always all of them; the results are the same)")
	fs.StringVar(&r.cpuProfile, "cpuprofile", "", "write a CPU profile to `file` (go tool pprof)")
	fs.StringVar(&r.memProfile, "memprofile", "", "write a heap profile to `file` at exit")
	fs.BoolVar(&r.json, "json", false, "print results as JSON")
}

func (r *runtimeFlags) validate() error {
	switch {
	case r.threads < 0:
		return usagef("--threads %d, want ≥ 0 (0: all CPUs)", r.threads)
	case r.threads > maxThreads:
		return usagef("--threads %d, want ≤ %d (this machine has %d CPUs)", r.threads, maxThreads, runtime.NumCPU())
	}
	return nil
}

// start applies --threads and starts the CPU profile. The returned stop
// function ends the profile, writes the heap profile and restores the
// thread settings; call it once the work is done.
func (r *runtimeFlags) start() (stop func() error, err error) {
	prevProcs := runtime.GOMAXPROCS(0)
	if r.threads > 0 {
		runtime.GOMAXPROCS(r.threads)
		tensor.SetWorkers(r.threads)
	}
	prevTune := tensor.SetTuning(r.tune)
	restore := func() {
		tensor.SetTuning(prevTune)
		if r.threads > 0 {
			runtime.GOMAXPROCS(prevProcs)
			tensor.SetWorkers(0)
		}
	}
	var cpuFile *os.File
	if r.cpuProfile != "" {
		cpuFile, err = os.Create(r.cpuProfile)
		if err != nil {
			restore()
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		if err := pprof.StartCPUProfile(cpuFile); err != nil {
			cpuFile.Close()
			restore()
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
	}
	return func() error {
		defer restore()
		var errs []error
		if cpuFile != nil {
			pprof.StopCPUProfile()
			if err := cpuFile.Close(); err != nil {
				errs = append(errs, fmt.Errorf("cpu profile: %w", err))
			}
		}
		if r.memProfile != "" {
			if err := writeHeapProfile(r.memProfile); err != nil {
				errs = append(errs, fmt.Errorf("heap profile: %w", err))
			}
		}
		return errors.Join(errs...)
	}, nil
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC() // up-to-date statistics
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// withRuntime runs body between start and stop of the runtime flags,
// reporting the first error.
func (r *runtimeFlags) withRuntime(body func() error) error {
	stop, err := r.start()
	if err != nil {
		return err
	}
	err = body()
	if serr := stop(); err == nil {
		err = serr
	}
	return err
}

// taskFlags select a task and its options: --task, --digits (the arith
// option, for convenience) and repeatable --opt key=value.
type taskFlags struct {
	name   string
	digits int
	opts   listFlag
	fs     *flag.FlagSet
}

func (t *taskFlags) register(fs *flag.FlagSet, defaultTask string) {
	t.fs = fs
	fs.StringVar(&t.name, "task", defaultTask, "task `name` (registered: "+strings.Join(task.Names(), ", ")+")")
	fs.IntVar(&t.digits, "digits", 0, "arith: maximum digits of an operand (the task option digits)")
	fs.Var(&t.opts, "opt", "task option `key=value` (repeatable)")
}

// given reports whether any task flag was set on the command line.
func (t *taskFlags) given() bool {
	return isSet(t.fs, "task") || isSet(t.fs, "digits") || len(t.opts) > 0
}

// options returns the task options from --opt and --digits.
func (t *taskFlags) options() (task.Options, error) {
	o, err := task.ParseOptions(t.opts)
	if err != nil {
		return nil, usagef("--opt: %v", err)
	}
	if isSet(t.fs, "digits") {
		if v, ok := o["digits"]; ok && v != strconv.Itoa(t.digits) {
			return nil, usagef("--digits %d and --opt digits=%s disagree", t.digits, v)
		}
		o["digits"] = strconv.Itoa(t.digits)
	}
	return o, nil
}

// task builds the selected task; a bad name or option is a usage error.
func (t *taskFlags) task() (task.Task, error) {
	o, err := t.options()
	if err != nil {
		return nil, err
	}
	tk, err := task.New(t.name, o)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	return tk, nil
}

// formatOptions renders task options as " (digits=5, size=9)", or "" when
// there are none.
func formatOptions(o task.Options) string {
	if len(o) == 0 {
		return ""
	}
	return " (" + o.String() + ")"
}

// writeJSON writes v as one line of JSON.
func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// isTerminal reports whether w is a terminal (a character device), the
// condition for drawing a progress bar.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
