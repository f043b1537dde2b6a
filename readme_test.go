package trmroot_test

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// The README's commands and code are tested here, so that a new user who
// follows it literally gets what it shows:
//
//   - TestREADMEGoBlocks: every ```go block compiles (go vet, go build) and
//     prints what its // Output: comment says;
//   - TestREADMEBuild: the build line builds a static binary (no ELF
//     interpreter, no shared libraries) even where cgo is on by default,
//     and that binary prints what every "$ go run ./cmd/trm ..." example
//     shows.
//
// Both run go build, so they skip under -short and where no go command is
// on PATH. .ci/run also runs the build line on a clean clone and points
// TestREADMEBuild at that binary (TRM_BINARY).

// block is a fenced code block of README.md.
type block struct {
	lang  string
	line  int // of its first line of code, 1-based
	lines []string
}

// readmeBlocks returns the fenced code blocks of README.md.
func readmeBlocks(t *testing.T) []block {
	t.Helper()
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var (
		blocks []block
		cur    *block
	)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(l, "```"):
			cur = &block{lang: strings.TrimSpace(strings.TrimPrefix(l, "```")), line: n + 1}
		case cur != nil && strings.TrimSpace(l) == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.lines = append(cur.lines, l)
		}
	}
	if cur != nil {
		t.Fatalf("README.md: the code block of line %d is not closed", cur.line-1)
	}
	return blocks
}

// goCommand returns the go command, skipping the test under -short or where
// there is none.
func goCommand(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: builds README's Go code and binary with the go command")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command on PATH: %v", err)
	}
	return gobin
}

// runCmd runs a command with a time limit and returns its combined output.
func runCmd(t *testing.T, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// packageClause finds a Go file's package clause.
var packageClause = regexp.MustCompile(`(?m)^package \w+`)

// snippetImports are the packages a snippet (a ```go block without a
// package clause) may use without importing them: the test imports those
// it names.
var snippetImports = map[string]string{
	"context":     "context",
	"fmt":         "fmt",
	"log":         "log",
	"os":          "os",
	"checkpoints": "github.com/trm-go/trm/checkpoints",
	"trm":         "github.com/trm-go/trm/trm",
	"infer":       "github.com/trm-go/trm/trm/infer",
	"task":        "github.com/trm-go/trm/trm/task",
	"train":       "github.com/trm-go/trm/trm/train",
}

// goSource returns the Go file of a ```go block: the block itself when it
// has a package clause, otherwise a main package whose main function is the
// block, importing the packages of snippetImports that it names.
func goSource(code string) string {
	if packageClause.MatchString(code) {
		return code
	}
	var b strings.Builder
	b.WriteString("package main\n\nimport (\n")
	names := make([]string, 0, len(snippetImports))
	for name := range snippetImports {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if regexp.MustCompile(`\b` + name + `\.`).MatchString(code) {
			fmt.Fprintf(&b, "\t%q\n", snippetImports[name])
		}
	}
	b.WriteString(")\n\nfunc main() {\n")
	b.WriteString(code)
	b.WriteString("\n}\n")
	return b.String()
}

// wantOutput returns the lines of a block's // Output: comment (as in a
// Go Example), and whether it has one.
func wantOutput(lines []string) ([]string, bool) {
	for i, l := range lines {
		if strings.TrimSpace(l) != "// Output:" {
			continue
		}
		var want []string
		for _, w := range lines[i+1:] {
			w = strings.TrimSpace(w)
			rest, ok := strings.CutPrefix(w, "//")
			if !ok {
				break
			}
			want = append(want, strings.TrimSpace(rest))
		}
		return want, true
	}
	return nil, false
}

// TestREADMEGoBlocks: each ```go block of README.md is built (go vet, then
// go build) as a main package inside this module, and run when it has an
// // Output: comment, whose lines it must print.
func TestREADMEGoBlocks(t *testing.T) {
	gobin := goCommand(t)
	var gos []block
	for _, b := range readmeBlocks(t) {
		if b.lang == "go" {
			gos = append(gos, b)
		}
	}
	if len(gos) == 0 {
		t.Fatal("README.md has no ```go block: the library example is gone")
	}
	for _, b := range gos {
		t.Run(fmt.Sprintf("line%d", b.line), func(t *testing.T) {
			// A folder inside the module (the go tool's ./... skips names
			// starting with a dot), so the block builds against this checkout.
			dir, err := os.MkdirTemp(".", ".readme-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			src := goSource(strings.Join(b.lines, "\n"))
			if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			pkg := "./" + filepath.ToSlash(dir)
			env := os.Environ()
			if out, err := runCmd(t, env, gobin, "vet", pkg); err != nil {
				t.Fatalf("README.md line %d: the ```go block does not pass go vet (%v):\n%s\nthe program built:\n%s", b.line, err, out, src)
			}
			exe := filepath.Join(t.TempDir(), "readme-example")
			if out, err := runCmd(t, env, gobin, "build", "-o", exe, pkg); err != nil {
				t.Fatalf("README.md line %d: the ```go block does not build (%v):\n%s", b.line, err, out)
			}
			want, ok := wantOutput(b.lines)
			if !ok {
				return
			}
			out, err := runCmd(t, env, exe)
			if err != nil {
				t.Fatalf("README.md line %d: the program failed (%v):\n%s", b.line, err, out)
			}
			got := strings.Split(strings.TrimRight(out, "\n"), "\n")
			for i := range got {
				got[i] = strings.TrimSpace(got[i])
			}
			if !slices.Equal(got, want) {
				t.Errorf("README.md line %d: the program prints\n%s\nwhere its // Output: comment says\n%s", b.line, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// buildLinePrefix starts the build line README gives (in a code block).
const buildLinePrefix = "CGO_ENABLED=0 go build "

// readmeBuildLine returns README's build line: the environment it sets and
// the go command's arguments.
func readmeBuildLine(t *testing.T) (env, args []string) {
	t.Helper()
	for _, b := range readmeBlocks(t) {
		for _, l := range b.lines {
			l, _, _ = strings.Cut(l, "#")
			if !strings.HasPrefix(l, buildLinePrefix) {
				continue
			}
			f := strings.Fields(l)
			for len(f) > 0 && strings.Contains(f[0], "=") {
				env, f = append(env, f[0]), f[1:]
			}
			return env, f[1:] // after "go"
		}
	}
	t.Fatalf("README.md has no build line starting %q in a code block", buildLinePrefix)
	return nil, nil
}

// TestREADMEBuild: README's build line, run in an environment where cgo is
// whatever Go's default is here (on, where a C compiler is installed),
// gives bin/trm, a static binary, and that binary prints what each
// "$ go run ./cmd/trm ..." example of README shows. TRM_BINARY names a
// binary built already (by .ci/run on a clean clone) to check instead.
func TestREADMEBuild(t *testing.T) {
	exe := os.Getenv("TRM_BINARY")
	if exe == "" {
		gobin := goCommand(t)
		lineEnv, args := readmeBuildLine(t)
		i := slices.Index(args, "-o")
		if i < 0 || i+1 >= len(args) || args[i+1] != "bin/trm" {
			t.Fatalf("README's build line %v does not write bin/trm (-o bin/trm): the binary must not land in the trm/ package folder", args)
		}
		exe = filepath.Join(t.TempDir(), "bin", "trm")
		if runtime.GOOS == "windows" {
			exe += ".exe"
		}
		args[i+1] = exe
		// The user's environment, with cgo as Go sets it by default:
		// only the build line's own settings.
		env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "CGO_ENABLED=") })
		env = append(env, lineEnv...)
		if out, err := runCmd(t, env, gobin, args...); err != nil {
			t.Fatalf("README's build line failed (%v):\n%s", err, out)
		}
	} else if !filepath.IsAbs(exe) {
		t.Fatalf("TRM_BINARY=%s: want an absolute path", exe)
	}
	if err := checkStatic(exe); err != nil {
		t.Error(err)
	}

	env := os.Environ()
	out, err := runCmd(t, env, exe, "version")
	if err != nil || !strings.HasPrefix(out, "trm ") || !strings.Contains(out, "kernels:") {
		t.Errorf("%s version (%v):\n%s", exe, err, out)
	}
	examples := 0
	for _, b := range readmeBlocks(t) {
		for i := 0; i < len(b.lines); i++ {
			cmdline, ok := strings.CutPrefix(b.lines[i], "$ go run ./cmd/trm ")
			if !ok {
				continue
			}
			var want []string
			for i+1 < len(b.lines) && !strings.HasPrefix(b.lines[i+1], "$ ") {
				i++
				want = append(want, b.lines[i])
			}
			args, err := shellWords(cmdline)
			if err != nil {
				t.Fatalf("README.md line %d: %v", b.line+i, err)
			}
			examples++
			out, err := runCmd(t, env, exe, args...)
			if err != nil {
				t.Errorf("README.md: trm %s failed (%v):\n%s", cmdline, err, out)
				continue
			}
			if got := strings.Split(strings.TrimRight(out, "\n"), "\n"); !slices.Equal(got, want) {
				t.Errorf("README.md: trm %s prints\n%s\nwhere README shows\n%s", cmdline, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		}
	}
	if examples == 0 {
		t.Error(`README.md has no "$ go run ./cmd/trm ..." example with its output`)
	}
}

// checkStatic returns an error when the ELF file at path asks for a dynamic
// loader (PT_INTERP) or shared libraries (DT_NEEDED). A file that is not
// ELF (a Mach-O or PE binary) is not checked: static linking is an ELF
// matter here.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	var fe *elf.FormatError
	if errors.As(err, &fe) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked (it has an ELF interpreter, PT_INTERP): README's build line must give a static binary (CGO_ENABLED=0)", path)
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		return fmt.Errorf("%s: reading its dynamic section: %w", path, err)
	}
	if len(libs) > 0 {
		return fmt.Errorf("%s needs the shared libraries %v: README's build line must give a static binary (CGO_ENABLED=0)", path, libs)
	}
	return nil
}

// shellWords splits a README command line as a POSIX shell would for the
// plain words and "double-quoted" or 'single-quoted' strings README uses.
func shellWords(s string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		in    bool
		quote rune
	)
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unclosed quote in %q", s)
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}
