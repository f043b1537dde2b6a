package plots_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/trm-go/trm/trm/plots"
	"github.com/trm-go/trm/trm/train"
)

// TrainingCurves draws the metrics.jsonl of run folders; Save writes the
// image in the format its extension names.
func ExampleTrainingCurves() {
	dir, err := os.MkdirTemp("", "trm-plot")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	// A run folder with a few logged steps (trm train writes these).
	run := filepath.Join(dir, "my-run")
	if err := os.MkdirAll(run, 0o755); err != nil {
		panic(err)
	}
	log, err := train.NewMetricsLogger(train.MetricsOptions{Path: train.Run{Dir: run}.MetricsPath()})
	if err != nil {
		panic(err)
	}
	for step := int64(50); step <= 200; step += 50 {
		log.Log(train.StepMetrics{Step: step, Split: "train", Loss: 100 / float64(step), ExactAcc: float64(step) / 250, LR: 1e-3, Samples: 64 * step})
	}
	log.Log(train.StepMetrics{Step: 200, Split: "test", ExactAcc: 0.7})
	if err := log.Close(); err != nil {
		panic(err)
	}

	r, err := plots.LoadRun(run)
	if err != nil {
		panic(err)
	}
	fig, err := plots.TrainingCurves([]plots.Run{r})
	if err != nil {
		panic(err)
	}
	for _, name := range []string{"curves.png", "curves.svg"} {
		if err := fig.Save(filepath.Join(dir, name)); err != nil {
			panic(err)
		}
	}
	fmt.Println(r.Name, len(r.Metrics), "records,", len(fig.Panels), "panels")
	// Output:
	// my-run 5 records, 6 panels
}
