// Command trm trains, evaluates and serves Tiny Recursive Models.
//
// Usage:
//
//	trm <command> [flags]
//
// Commands:
//
//	version   print the build: module version, Go, platform, kernels, threads
//	gen       write a generated dataset (JSON lines) for a task
//	train     train a model into a run folder
//	eval      score a checkpoint on a task's test split or a dataset file
//	infer     answer inputs ("3 + 7") with a checkpoint
//	plot      draw training curves, per-step accuracy, trace norms or an ablation table as PNG or SVG
//	ablate    train a grid of recursion settings under one budget and tabulate held-out accuracy
//	trace     show a model's answer, halting and latent state after every step of one input
//	serve     serve models over HTTP: native JSON, KServe v2, Prometheus metrics
//	loadtest  load a trm serve server on this machine and check its answers
//	import    convert an official PyTorch checkpoint into a trm checkpoint
//	export    write a trm checkpoint for the official PyTorch trainer
//	help      print this help, or a command's flags (trm help gen)
//
// Exit codes:
//
//	0    success
//	1    failure: the command could not do what was asked (a file missing,
//	     unreadable or corrupt, a checkpoint whose weights are not finite,
//	     an I/O error, a training run that diverged)
//	2    a bad request: a bad command line (unknown command or flag, a bad
//	     flag value, a checkpoint or dataset that does not fit the task
//	     flags or the model's task) or input text that the task refuses
//	     (an argument or a line of standard input of trm infer; the other
//	     inputs are still answered)
//	130  interrupted by SIGINT or SIGTERM (commands stop after the current
//	     step; trm train saves its state first)
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/trm-go/trm/trm/task"
)

// env is what a command may touch of the outside world.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// command is one subcommand: its name, a one-line summary and its body,
// which parses its own flags from args.
type command struct {
	name, summary string
	run           func(ctx context.Context, e env, args []string) error
}

// commands lists the subcommands in help order. It is filled in init to
// break the initialisation cycle with the help command.
var commands []command

func init() {
	commands = []command{
		{"version", "print the build: module version, Go, platform, kernels, threads", runVersion},
		{"gen", "write a generated dataset (JSON lines) for a task", runGen},
		{"train", "train a model into a run folder", runTrain},
		{"eval", "score a checkpoint on a task's test split or a dataset file", runEval},
		{"infer", "answer inputs such as \"3 + 7\" with a checkpoint", runInfer},
		{"plot", "draw training curves, per-step accuracy, trace norms or an ablation table as PNG or SVG", runPlot},
		{"ablate", "train a grid of recursion settings under one budget and tabulate held-out accuracy", runAblate},
		{"trace", "show a model's answer, halting and latent state after every step of one input", runTrace},
		{"serve", "serve models over HTTP: native JSON, KServe v2, Prometheus metrics", runServe},
		{"loadtest", "load a trm serve server on this machine and check its answers", runLoadtest},
		{"import", "convert an official PyTorch checkpoint into a trm checkpoint", runImport},
		{"export", "write a trm checkpoint for the official PyTorch trainer", runExport},
		{"help", "print this help, or a command's flags (trm help gen)", runHelp},
	}
}

// Exit codes (see the package documentation).
const (
	exitOK      = 0
	exitFailure = 1
	// exitUsage is a bad command line or bad input.
	exitUsage = 2
	// exitInterrupted is the exit code of a command stopped by SIGINT or
	// SIGTERM (128 + SIGINT, as shells report it).
	exitInterrupted = 130
)

// usageError is a bad command line: exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// inputError is input that the task refuses, each input already reported
// on its own line: exit code 2, without the usage hint of a usageError.
type inputError struct{ msg string }

func (e inputError) Error() string { return e.msg }

// usagef returns a usageError.
func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// errHelp reports that help was asked for and printed: exit code 0.
var errHelp = errors.New("help requested")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runContext(ctx, env{os.Stdin, os.Stdout, os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}

// run executes the command line args (without the program name) and
// returns the exit code; the tests call it directly.
func run(args []string, stdout, stderr io.Writer) int {
	return runContext(context.Background(), env{strings.NewReader(""), stdout, stderr}, args)
}

func runContext(ctx context.Context, e env, args []string) (code int) {
	// A panic is a bug, but the user still gets a message and exit code 1
	// rather than a stack dump.
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(e.stderr, "trm: internal error: %v\n", r)
			code = exitFailure
		}
	}()
	if len(args) == 0 {
		printUsage(e.stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		printUsage(e.stdout)
		return exitOK
	}
	cmd, ok := findCommand(name)
	if !ok {
		fmt.Fprintf(e.stderr, "trm: unknown command %q\n\n", name)
		printUsage(e.stderr)
		return exitUsage
	}
	err := cmd.run(ctx, e, args[1:])
	var ue usageError
	var ie inputError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errHelp):
		return exitOK
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		fmt.Fprintf(e.stderr, "trm %s: interrupted\n", name)
		return exitInterrupted
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "%s\nRun 'trm help %s' for usage.\n", errorLine(name, err), name)
		return exitUsage
	case errors.As(err, &ie):
		fmt.Fprintf(e.stderr, "%s\n", errorLine(name, err))
		return exitUsage
	default:
		fmt.Fprintf(e.stderr, "%s\n", errorLine(name, err))
		return exitFailure
	}
}

// errorLine returns the line that reports a command's error: "trm NAME: "
// and the message, with the command said once (a library error that starts
// with the command's name, as trm.ImportTorch's "import: ..." does, loses
// that prefix) and on one line (line breaks inside the message become
// "; ", so a multi-line message from a library still reads as one line).
func errorLine(name string, err error) string {
	msg := err.Error()
	for {
		rest, ok := strings.CutPrefix(msg, name+": ")
		if !ok {
			break
		}
		msg = rest
	}
	lines := strings.FieldsFunc(msg, func(r rune) bool { return r == '\n' || r == '\r' })
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	msg = strings.Join(slices.DeleteFunc(lines, func(l string) bool { return l == "" }), "; ")
	if rest, ok := strings.CutPrefix(msg, name+" "); ok && strings.HasPrefix(rest, `"`) {
		return "trm " + msg // import "x": ... reads trm import "x": ...
	}
	return "trm " + name + ": " + msg
}

func findCommand(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func printUsage(w io.Writer) {
	fmt.Fprintf(w, "trm trains and runs Tiny Recursive Models (arXiv 2510.04871).\n\n")
	fmt.Fprintf(w, "Usage:\n\n  trm <command> [flags]\n\nCommands:\n\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s  %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nTasks (--task):\n\n")
	for _, name := range task.Names() {
		fmt.Fprintf(w, "  %-8s  %s\n", name, task.Doc(name))
	}
	fmt.Fprintf(w, "\nExit status: 0 success; 1 failure (a file missing, unreadable or corrupt, an\n"+
		"I/O error); 2 bad flags or bad input (text a task refuses, a file that does\n"+
		"not fit the task); 130 interrupted (SIGINT, SIGTERM).\n")
	fmt.Fprintf(w, "\nRun 'trm help <command>' for a command's flags.\n")
}

// runHelp prints the overview or a command's flags.
func runHelp(ctx context.Context, e env, args []string) error {
	switch len(args) {
	case 0:
		printUsage(e.stdout)
		return nil
	case 1:
		cmd, ok := findCommand(args[0])
		if !ok || cmd.name == "help" {
			return usagef("unknown command %q", args[0])
		}
		// Every command prints its flags to stdout on -h.
		err := cmd.run(ctx, env{e.stdin, e.stdout, e.stdout}, []string{"-h"})
		if err != nil && !errors.Is(err, errHelp) {
			return err
		}
		return nil
	default:
		return usagef("want at most one command name, got %q", args)
	}
}
