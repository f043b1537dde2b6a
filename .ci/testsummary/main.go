// Command testsummary reads `go test -json` from standard input and prints
// what plain `go test` prints (one ok/FAIL line per package, the output of
// failing tests, build errors), then every skipped test with the reason it
// gave, which plain `go test` hides unless -v. It exits 1 when a test or a
// build failed. .ci/run pipes its main test run through it:
//
//	go test -json ./... | go run ./.ci/testsummary
//
// It lives under .ci, which the go tool's ./... leaves out, so it is no part
// of the module's packages.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// event is one line of go test -json (cmd/test2json).
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string // of build-output and build-fail
}

// skip is a skipped test and its reason.
type skip struct{ pkg, test, reason string }

func main() {
	failed, err := summarize(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}

// summarize copies the summary of the events in r to w and reports whether
// anything failed.
func summarize(r io.Reader, w io.Writer) (failed bool, err error) {
	type key struct{ pkg, test string }
	output := map[key][]string{}
	var skips []skip
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil {
			// go test writes some errors (a package that does not load)
			// as plain text.
			fmt.Fprintln(w, string(line))
			continue
		}
		k := key{e.Package, e.Test}
		switch e.Action {
		case "build-output":
			fmt.Fprint(w, e.Output)
		case "build-fail":
			failed = true
		case "output":
			if e.Test == "" {
				if e.Output != "PASS\n" {
					fmt.Fprint(w, e.Output) // ok, FAIL, "no test files", panics outside a test
				}
				continue
			}
			output[k] = append(output[k], e.Output)
		case "fail":
			failed = true
			if e.Test != "" {
				fmt.Fprint(w, strings.Join(output[k], ""))
			}
			delete(output, k)
		case "skip":
			if e.Test != "" {
				skips = append(skips, skip{e.Package, e.Test, reason(output[k])})
			}
			delete(output, k)
		case "pass":
			delete(output, k)
		}
	}
	if err := sc.Err(); err != nil {
		return failed, err
	}
	fmt.Fprintf(w, "\nskipped tests (%d):\n", len(skips))
	for _, s := range skips {
		fmt.Fprintf(w, "  %s %s: %s\n", s.pkg, s.test, s.reason)
	}
	return failed, nil
}

// reason returns what a skipped test logged (t.Skip's message and any
// t.Log before it) on one line, without the === and --- lines.
func reason(lines []string) string {
	var parts []string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- ") {
			continue
		}
		parts = append(parts, l)
	}
	if len(parts) == 0 {
		return "(no reason given)"
	}
	return strings.Join(parts, " / ")
}
