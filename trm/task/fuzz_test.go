package task_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/trm/task"
)

// The fuzz targets run their seeds as ordinary tests; `go test -fuzz` digs
// further. Grid parsing and the CSV formats are fuzzed in package puzzle;
// these targets fuzz what a task does with user text (Encode, the input
// of `trm infer` and of a Predictor) and a dataset file (ReadDataset).

// fuzzTasks returns every registered task with its default options, plus
// a few non-default sizes (the smallest maze, the widest sums).
func fuzzTasks(tb testing.TB) []task.Task {
	tb.Helper()
	var ts []task.Task
	add := func(name string, opts task.Options) {
		t, err := task.New(name, opts)
		require.NoError(tb, err, "%s %v", name, opts)
		ts = append(ts, t)
	}
	for _, name := range task.Names() {
		if name == "arc" { // reads data: the committed tasks
			add(name, task.Options{"eval": "../../testdata/arc/evaluation", "aug": "2"})
			continue
		}
		add(name, nil)
	}
	add("maze", task.Options{"size": "7"})
	add("arith", task.Options{"digits": "18"})
	return ts
}

// FuzzEncode feeds arbitrary text to every task's Encode. It must never
// panic; what it accepts must fit the task (CheckExample), render with
// Format as text that encodes to the same input (the round trip of
// `trm infer`), and decode (Decode, Verify) without panicking.
func FuzzEncode(f *testing.F) {
	tasks := fuzzTasks(f)
	// Real inputs: each task's own examples, in the text form Format gives
	// and as the answer Decode writes (a laid-out grid; a maze with its
	// path, which Encode refuses).
	for _, tk := range tasks {
		for i := range int64(2) {
			ex, err := tk.Example(task.SplitTest, 1, i)
			require.NoError(f, err, tk.Name())
			f.Add(tk.Format(ex))
			_, err = tk.Encode(tk.Format(ex))
			require.NoError(f, err, "%s: a seed that encodes", tk.Name())
			ans, err := tk.Decode(ex, ex.Label)
			require.NoError(f, err, tk.Name())
			f.Add(ans)
		}
	}
	for _, s := range []string{
		"", "3 + 7", "3+7=", " 48213 + 99999 ", "48 + 75 = 123", "48 + 75 = 124", "0007 + 0",
		"999999999999999999 + 999999999999999999", "1 + + 2", "+", "=", "1 + 2 = = 3", "-1 + 2", "１ + 2",
		"1...34....2....3", "1.2.\n..3.\n....\n...4", "12|..\n--+--\n..|34\n....\n....", "11..............",
		"0000000000000000", "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79",
		"#######\n#S    #\n# ### #\n#   # #\n### # #\n#G    #\n#######",
		"#######\r\n#S    #\r\n#######\r\n#     #\r\n#######\r\n#G    #\r\n#######\r\n",
		"#######\n#S   G#\n#######\n#######\n#######\n#######\n#######",
		"#######\n#S   o#\n#G#####\n#######\n#######\n#######\n#######",
		"\n#######\n#SG   #\n#######\n#######\n#######\n#######\n#######\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, tk := range tasks {
			ex, err := tk.Encode(text)
			if err != nil {
				continue
			}
			require.NoError(t, task.CheckExample(tk, ex), "%s accepted %q", tk.Name(), text)
			formatted := tk.Format(ex)
			back, err := tk.Encode(formatted)
			require.NoError(t, err, "%s: Format of %q gave %q, which Encode refuses", tk.Name(), text, formatted)
			require.True(t, slices.Equal(ex.Input, back.Input), "%s: %q → %q encodes to another input", tk.Name(), text, formatted)
			require.Equal(t, ex.PuzzleID, back.PuzzleID)
			_, err = tk.Decode(ex, ex.Input)
			require.NoError(t, err, "%s: Decode of the input", tk.Name())
			tk.Verify(ex, ex.Input)
			if ex.Label != nil {
				_, err = tk.Decode(ex, ex.Label)
				require.NoError(t, err, "%s: Decode of the label", tk.Name())
				require.True(t, tk.Verify(ex, ex.Label), "%s: the label of %q does not verify", tk.Name(), text)
			}
		}
	})
}
