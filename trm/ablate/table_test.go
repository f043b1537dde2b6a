package ablate

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sampleTable() *Table {
	return &Table{
		Task: "sudoku9 (blanks=40)", Budget: Budget{Steps: 2000}, BatchSize: 64, EvalN: 1000,
		Rows: []Row{
			{Setting: "trm", T: 3, N: 6, NSup: 6, Variant: "mlp", Layers: 2, Hidden: 64, EMARate: 0.995, Params: 224258,
				Steps: 2000, Samples: 128000, TrainSeconds: 843.4, SamplesPerSec: 151.76,
				ExactAcc: 0.874, TokenAcc: 0.99123, EarlyExactAcc: 0.85, MeanHaltSteps: 1.5, ExactPerStep: []float64{0.5, 0.874},
				EvalExamples: 1000, Paper: 87.4},
			{Setting: "no-recursion", T: 1, N: 1, NSup: 1, Variant: "mlp", Layers: 2, Hidden: 64, EMARate: 0, Params: 224258,
				Steps: 2000, Samples: 128000, TrainSeconds: 300, SamplesPerSec: 426.7,
				ExactAcc: 0.4, TokenAcc: 0.95, EarlyExactAcc: 0.4, MeanHaltSteps: 1, ExactPerStep: []float64{0.4},
				EvalExamples: 1000, Paper: math.NaN()},
		},
		Missing: []string{"attn"},
	}
}

func TestWriteMarkdown(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, sampleTable().WriteMarkdown(&b))
	want := "Ablation on sudoku9 (blanks=40): 2000 optimizer steps × 64 samples per setting; held-out exact and token accuracy on 1000 test examples with all N_sup supervision steps run (the official evaluation).\n" +
		"\n" +
		"| setting | T | n | N_sup | variant | layers | EMA | params | steps | train time | samples/s | exact | token | early exit: exact / mean steps | exact after step 1..N_sup | paper (Sudoku-Extreme) |\n" +
		"|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n" +
		"| trm | 3 | 6 | 6 | mlp | 2 | 0.995 | 224,258 | 2,000 | 14m3s | 152 | **87.40%** | 99.12% | 85.00% / 1.50 | 50.0, 87.4 | 87.4% |\n" +
		"| no-recursion | 1 | 1 | 1 | mlp | 2 | off | 224,258 | 2,000 | 5m0s | 427 | 40.00% | 95.00% | 40.00% / 1.00 | 40.0 | — |\n" +
		"\n" +
		"Not run yet: attn.\n"
	assert.Equal(t, want, b.String())

	// No paper column off Sudoku: the paper's numbers are Sudoku-Extreme's.
	tab := sampleTable()
	tab.Task, tab.Budget = "maze", Budget{Time: 10 * time.Minute}
	b.Reset()
	require.NoError(t, tab.WriteMarkdown(&b))
	assert.NotContains(t, b.String(), "paper")
	assert.Contains(t, b.String(), "10m0s of training × 64 samples per setting")
}

func TestCSVRoundTrip(t *testing.T) {
	tab := sampleTable()
	var b bytes.Buffer
	require.NoError(t, tab.WriteCSV(&b))
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	require.Len(t, lines, 3)
	assert.Equal(t, strings.Join(csvHeader, ","), lines[0])
	assert.True(t, strings.HasPrefix(lines[1], "trm,3,6,6,mlp,2,64,0.995,224258,2000,128000,843.4,151.76,0.874,0.99123,0.85,1.5,0.5 0.874,1000,87.4,sudoku9 (blanks=40),2000 optimizer steps"), lines[1])

	rows, err := ReadCSV(&b)
	require.NoError(t, err)
	require.Len(t, rows, 2)
	assert.Equal(t, tab.Rows[0], rows[0])
	assert.Equal(t, "no-recursion", rows[1].Setting)
	assert.True(t, math.IsNaN(rows[1].Paper))
	assert.Equal(t, tab.Rows[1].ExactPerStep, rows[1].ExactPerStep)
}

func TestReadCSVErrors(t *testing.T) {
	for in, want := range map[string]string{
		"":                           "empty",
		"setting,token_acc\nx,0.5\n": `no "exact_acc" column`,
		"setting,exact_acc\nx,abc\n": `line 2: exact_acc "abc"`,
		"setting,exact_acc\n,0.5\n":  "line 2: empty setting",
		"setting,exact_acc\nx\n":     "wrong number of fields",
	} {
		_, err := ReadCSV(strings.NewReader(in))
		assert.ErrorContains(t, err, want, "%q", in)
	}
	rows, err := ReadCSV(strings.NewReader("exact_acc,setting,extra\n0.25,a,zzz\n"))
	require.NoError(t, err)
	assert.Equal(t, "a", rows[0].Setting)
	assert.Equal(t, 0.25, rows[0].ExactAcc)
}
