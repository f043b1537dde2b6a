package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/checkpoints"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/safetensors"
)

// trmRunIn runs the command line with the given standard input and context
// and returns its exit code and outputs.
func trmRunIn(ctx context.Context, stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = runContext(ctx, env{strings.NewReader(stdin), &out, &errb}, args)
	return code, out.String(), errb.String()
}

// nanCheckpoint writes the shipped arith model with one NaN weight, behind
// trm.SaveCheckpoint's back (which refuses it), and returns its path.
func nanCheckpoint(t *testing.T) string {
	t.Helper()
	data, ok := checkpoints.Lookup("arith")
	require.True(t, ok)
	ck, err := trm.DecodeCheckpoint(data, "arith")
	require.NoError(t, err)
	ck.Tensors["inner.lm_head.weight"][17] = float32(math.NaN())
	f := &safetensors.File{
		Metadata: map[string]string{"format": trm.CheckpointFormat, "config": string(ck.Config.MarshalIndent()), "step": "1"},
		Tensors:  map[string]safetensors.Tensor{},
	}
	for _, s := range ck.Config.TensorSpecs() {
		f.Tensors[s.Name] = safetensors.FromFloat32(s.Shape, ck.Tensors[s.Name])
	}
	path := filepath.Join(t.TempDir(), "nan.safetensors")
	require.NoError(t, safetensors.Write(path, f))
	return path
}

// TestInferExitCodes: 0 when every input is answered; 2 for bad flags and
// for inputs the task refuses (the others still answered); 1 when the
// command cannot run (a checkpoint missing, corrupt or not finite).
func TestInferExitCodes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the shipped models")
	}
	dir := t.TempDir()
	data, _ := checkpoints.Lookup("arith")
	corrupt := filepath.Join(dir, "cut.safetensors")
	require.NoError(t, os.WriteFile(corrupt, data[:len(data)/2], 0o644))
	nan := nanCheckpoint(t)
	sudoku4 := filepath.Join(dir, "sudoku4.jsonl")
	code, _, errOut := trmRun("gen", "--task", "sudoku4", "--split", "test", "--n", "3", "--out", sudoku4)
	require.Equal(t, 0, code, errOut)
	notData := filepath.Join(dir, "not.jsonl")
	require.NoError(t, os.WriteFile(notData, []byte("hello\n"), 0o644))
	longLine := strings.Repeat("1", maxInputLine+1)

	const (
		ans37 = "3 + 7 = 10\t(steps 4, "
		ans55 = "5 + 5 = 10\t(steps 4, "
	)
	cases := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		out    []string // prefixes of the stdout lines, in order
		errOut []string // what stderr holds
	}{
		{"arguments", "", []string{"infer", "3 + 7", "5 + 5"}, 0, []string{ans37, ans55}, nil},
		{"standard input", "3 + 7\n\n  5 + 5  \n", []string{"infer"}, 0, []string{ans37, ans55}, nil},
		{"a bad argument", "", []string{"infer", "3 + 7", "3 +", "5 + 5"}, 2, []string{ans37, ans55}, []string{
			`trm infer: argument 2: arith: "3 +": an operand is missing, want "a + b"` + "\n",
			"trm infer: 1 of 3 inputs refused (reported above)\n",
		}},
		{"bad lines of standard input", "3 + 7\n\nthree plus seven\n5 + 5\n-1 + 1", []string{"infer"}, 2, []string{ans37, ans55}, []string{
			`trm infer: standard input line 3: arith: "three plus seven": want "a + b"`,
			`trm infer: standard input line 5: arith: "-1 + 1": operand "-1" is not a whole number`,
			"trm infer: 2 of 4 lines of standard input refused (reported above)\n",
		}},
		{"a line too long", "3 + 7\n" + longLine + "\n5 + 5\n", []string{"infer"}, 2, []string{ans37, ans55}, []string{
			"trm infer: standard input line 2: longer than 1048576 bytes (1 MiB); one input per line\n",
			"1 of 3 lines of standard input refused",
		}},
		{"a negative number taken for a flag", "", []string{"infer", "-3 + 7"}, 2, nil, []string{
			`trm infer: flag provided but not defined: -3 + 7 (an input starting with '-' is taken for a flag: put -- before the inputs, as in trm infer -- "-3 + 7")`,
		}},
		{"-- before a negative number", "", []string{"infer", "--", "-3 + 7", "3 + 7"}, 2, []string{ans37}, []string{
			`trm infer: argument 1: arith: "-3 + 7": operand "-3" is not a whole number (digits 0-9 only)`,
		}},
		{"-- before inputs", "", []string{"infer", "--json", "--", "3 + 7"}, 0, []string{`{"input":"3 + 7","answer":"10","steps":4,"confidence":`}, nil},
		{"a Sudoku without a solution", "", []string{"infer", "--task", "sudoku9",
			"..9.287..8.6..4..5..3.....46.........2.71345.........23.....5..9..4..8.7..125.3.."}, 2, nil, []string{
			"trm infer: argument 1: sudoku9: the puzzle has no solution (the exact solver found none)",
		}},
		{"an empty Sudoku: answered", "", []string{"infer", "--task", "sudoku6", strings.Repeat(".", 36)}, 0, []string{strings.Repeat(".", 36)}, nil},
		{"a missing checkpoint", "", []string{"infer", "--checkpoint", filepath.Join(dir, "none.safetensors"), "3 + 7"}, 1, nil, []string{"no such file"}},
		{"a corrupt checkpoint", "", []string{"infer", "--checkpoint", corrupt, "3 + 7"}, 1, nil, []string{`safetensors "` + corrupt + `"`}},
		{"a NaN weight", "", []string{"infer", "--checkpoint", nan, "3 + 7"}, 1, nil, []string{
			`trm infer: checkpoint "` + nan + `": tensor "inner.lm_head.weight" holds NaN at index 17, want finite weights`,
		}},
		{"eval: a NaN weight", "", []string{"eval", "--checkpoint", nan, "--n", "10"}, 1, nil, []string{`holds NaN at index 17`}},
		{"eval: a dataset of another task", "", []string{"eval", "--data", sudoku4}, 2, nil, []string{
			"trm eval: --data " + sudoku4 + ": dataset of task sudoku4", "does not fit task arith",
		}},
		{"eval: not a dataset", "", []string{"eval", "--data", notData}, 1, nil, []string{"trm eval: "}},
		{"eval: a missing dataset", "", []string{"eval", "--data", filepath.Join(dir, "none.jsonl")}, 1, nil, []string{"no such file"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := trmRunIn(t.Context(), c.stdin, c.args...)
			assert.Equal(t, c.code, code, "stderr: %s", errOut)
			var lines []string
			if out != "" {
				lines = strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			}
			if c.name == "an empty Sudoku: answered" {
				require.NotEmpty(t, lines)
				assert.Regexp(t, `^\(steps 6, confidence \d\.\d+, (valid|NOT valid)\)$`, lines[len(lines)-1])
				lines = lines[:1]
			}
			require.Len(t, lines, len(c.out), "stdout: %s", out)
			for i, want := range c.out {
				assert.True(t, strings.HasPrefix(lines[i], want), "line %d: %q, want it to start with %q", i+1, lines[i], want)
			}
			for _, want := range c.errOut {
				assert.Contains(t, errOut, want)
			}
			if c.code == 0 {
				assert.Empty(t, errOut)
			}
			assert.NotContains(t, errOut, "goroutine", "no panic")
			assert.NotContains(t, errOut, "token too long")
		})
	}
}

// TestInferValid: the answer says whether it is valid, in text and JSON.
func TestInferValid(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the shipped model")
	}
	code, out, errOut := trmRun("infer", "3 + 7", "48213 + 99999")
	require.Equal(t, 0, code, errOut)
	assert.Regexp(t, `^3 \+ 7 = 10\t\(steps 4, confidence 0\.\d{3}, valid\)\n48213 \+ 99999 = 148212\t\(steps 4, confidence 0\.\d{3}, valid\)\n$`, out)

	code, out, errOut = trmRun("infer", "--json", "3 + 7")
	require.Equal(t, 0, code, errOut)
	var r map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &r))
	assert.Equal(t, true, r["valid"])
	assert.Equal(t, "10", r["answer"])

	// A step too few: the shipped model's answer to a long carry chain is
	// wrong after one step, and says so.
	code, out, errOut = trmRun("infer", "--json", "--steps", "1", "99999 + 1")
	require.Equal(t, 0, code, errOut)
	var ir inferResult
	require.NoError(t, json.Unmarshal([]byte(out), &ir))
	require.NotNil(t, ir.Valid)
	assert.Equal(t, ir.Answer == "100000", *ir.Valid, "answer %s", ir.Answer)
}

// TestInferInterrupted: SIGINT or SIGTERM (a cancelled context) stops
// infer, between supervision steps, while it waits for standard input or
// in the middle of a batch, with exit code 130.
func TestInferInterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the shipped model")
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range []struct {
		stdin string
		args  []string
	}{
		{"", []string{"infer", "3 + 7"}},
		{"3 + 7\n", []string{"infer"}},
		{"", []string{"eval", "--n", "10"}},
	} {
		code, out, errOut := trmRunIn(cancelled, c.stdin, c.args...)
		assert.Equal(t, exitInterrupted, code, "%v: %s", c.args, errOut)
		assert.Empty(t, out)
		assert.Equal(t, "trm "+c.args[0]+": interrupted\n", errOut)
	}

	// A long run (the most steps allowed, many inputs), cancelled while it
	// runs.
	many := []string{"infer", "--steps", "1024", "--steps-beyond-nsup"}
	for range 500 {
		many = append(many, "3 + 7")
	}
	for _, args := range [][]string{
		many,
		{"eval", "--steps", "1024", "--steps-beyond-nsup", "--n", "100000"},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan int)
		var errb bytes.Buffer
		go func() { done <- runContext(ctx, env{strings.NewReader(""), io.Discard, &errb}, args) }()
		time.Sleep(200 * time.Millisecond)
		cancel()
		select {
		case code := <-done:
			assert.Equal(t, exitInterrupted, code, errb.String())
			assert.Equal(t, "trm "+args[0]+": interrupted\n", errb.String())
		case <-time.After(time.Minute):
			t.Fatalf("%v did not stop within a minute of its cancellation", args)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits until s holds want.
func waitFor(t *testing.T, s *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(s.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q within a minute; have %q", want, s.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestInferStreams: lines of standard input are answered as they arrive,
// before the input ends; a bad line is reported at once; a cancellation
// while infer waits for input stops it.
func TestInferStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the shipped model")
	}
	for _, interrupt := range []bool{false, true} {
		t.Run(fmt.Sprintf("interrupt=%v", interrupt), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			pr, pw := io.Pipe()
			defer pr.Close()
			var out, errb syncBuffer
			done := make(chan int)
			go func() { done <- runContext(ctx, env{pr, &out, &errb}, []string{"infer"}) }()

			_, err := io.WriteString(pw, "3 + 7\n")
			require.NoError(t, err)
			waitFor(t, &out, "3 + 7 = 10\t")
			_, err = io.WriteString(pw, "3 plus 7\n")
			require.NoError(t, err)
			waitFor(t, &errb, "trm infer: standard input line 2: ")
			_, err = io.WriteString(pw, "5 + 5\n")
			require.NoError(t, err)
			waitFor(t, &out, "5 + 5 = 10\t")
			if interrupt {
				cancel() // standard input still open
			} else {
				require.NoError(t, pw.Close())
			}
			select {
			case code := <-done:
				if interrupt {
					assert.Equal(t, exitInterrupted, code)
					assert.Contains(t, errb.String(), "trm infer: interrupted\n")
				} else {
					assert.Equal(t, exitUsage, code)
					assert.Contains(t, errb.String(), "trm infer: 1 of 3 lines of standard input refused")
				}
			case <-time.After(time.Minute):
				t.Fatal("infer did not end")
			}
			assert.Len(t, strings.Split(strings.TrimSpace(out.String()), "\n"), 2)
		})
	}
}

// TestInferBatches: the answers do not depend on how the inputs are
// batched, nor on whether they come as arguments or lines.
func TestInferBatches(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the shipped model")
	}
	var inputs []string
	for i := range 25 {
		inputs = append(inputs, fmt.Sprintf("%d + %d", i*3917%100000, i*7919%100000))
	}
	stdin := strings.Join(inputs, "\n") + "\n"
	code, want, errOut := trmRun(append([]string{"infer"}, inputs...)...)
	require.Equal(t, 0, code, errOut)
	require.Len(t, strings.Split(strings.TrimSpace(want), "\n"), len(inputs))
	for _, batch := range []string{"0", "1", "7", "64"} {
		code, out, errOut := trmRunIn(t.Context(), stdin, "infer", "--batch", batch)
		require.Equal(t, 0, code, errOut)
		assert.Equal(t, want, out, "--batch %s", batch)
		code, out, errOut = trmRun(append([]string{"infer", "--batch", batch}, inputs...)...)
		require.Equal(t, 0, code, errOut)
		assert.Equal(t, want, out, "--batch %s, arguments", batch)
	}
}

func TestReadLines(t *testing.T) {
	type line struct {
		n       int
		text    string
		tooLong bool
	}
	big := strings.Repeat("x", 200<<10) // beyond the reader's 64 KiB buffer
	for _, c := range []struct {
		name, in string
		max      int
		want     []line
	}{
		{"empty", "", 10, nil},
		{"one line", "3 + 7\n", 10, []line{{1, "3 + 7", false}}},
		{"no final line break", "a\nb", 10, []line{{1, "a", false}, {2, "b", false}}},
		{"blank lines count", "\n\na\n", 10, []line{{1, "", false}, {2, "", false}, {3, "a", false}}},
		{"CRLF", "a\r\nb\r\n", 10, []line{{1, "a", false}, {2, "b", false}}},
		{"exactly max", "0123456789\n0123456789\r\n0123456789", 10, []line{
			{1, "0123456789", false}, {2, "0123456789", false}, {3, "0123456789", false}}},
		{"one byte too many", "0123456789a\nok\n0123456789a", 10, []line{{1, "", true}, {2, "ok", false}, {3, "", true}}},
		{"far too long", big + "\nok\n", 10, []line{{1, "", true}, {2, "ok", false}}},
		{"long but allowed", big + "\nok\n", len(big), []line{{1, big, false}, {2, "ok", false}}},
		{"long, one byte too many", big + "y\nok", len(big), []line{{1, "", true}, {2, "ok", false}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []line
			err := readLines(strings.NewReader(c.in), c.max, func(n int, text string, tooLong bool) bool {
				got = append(got, line{n, text, tooLong})
				return true
			})
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}

	// Stopping early, and read errors.
	n := 0
	require.NoError(t, readLines(strings.NewReader("a\nb\nc\n"), 10, func(int, string, bool) bool { n++; return n < 2 }))
	assert.Equal(t, 2, n)
	err := readLines(io.MultiReader(strings.NewReader("a\n"), errReader{}), 10, func(int, string, bool) bool { return true })
	assert.ErrorIs(t, err, errBroken)
}

var errBroken = fmt.Errorf("broken pipe")

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errBroken }

// TestInferReadError: a read error of standard input is a failure (exit
// 1), after the lines read before it are answered.
func TestInferReadError(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the shipped model")
	}
	var out, errb bytes.Buffer
	code := runContext(t.Context(), env{io.MultiReader(strings.NewReader("3 + 7\n"), errReader{}), &out, &errb}, []string{"infer"})
	assert.Equal(t, exitFailure, code)
	assert.True(t, strings.HasPrefix(out.String(), "3 + 7 = 10\t"), out.String())
	assert.Equal(t, "trm infer: reading standard input: broken pipe\n", errb.String())
}

// TestInferHelp: the help says how to pass an input starting with '-' and
// what the exit codes mean.
func TestInferHelp(t *testing.T) {
	code, out, _ := trmRun("help", "infer")
	require.Equal(t, 0, code)
	for _, want := range []string{"[--] [input ...]", `trm
infer -- "-3 + 7"`, "1 MiB", `"valid"`, "Exit status: 0", "130 interrupted"} {
		assert.Contains(t, out, want)
	}
	code, out, _ = trmRun("help")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "Exit status: 0 success; 1 failure")
}
