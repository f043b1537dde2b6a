package train_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/trm-go/trm/trm/train"
)

// Train runs deep-supervision training into a run folder; a second call
// with Resume continues it bit-identically, and ReadMetrics reads back what
// was logged.
func ExampleTrain() {
	dir, err := os.MkdirTemp("", "trm-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	run := filepath.Join(dir, "run")

	cfg := train.DefaultConfig() // the arith preset: sums of 2-digit numbers
	cfg.HiddenSize, cfg.BatchSize = 16, 8
	cfg.TrainSteps, cfg.LogInterval, cfg.EvalInterval, cfg.CheckpointInterval = 4, 2, 0, 0
	if _, err := train.Train(context.Background(), cfg, train.TrainOptions{Dir: run}); err != nil {
		panic(err)
	}
	cfg.TrainSteps = 6
	res, err := train.Train(context.Background(), cfg, train.TrainOptions{Dir: run, Resume: true})
	if err != nil {
		panic(err)
	}
	fmt.Println("steps:", res.Trainer.StepCount())

	logged, err := train.ReadMetrics(train.Run{Dir: run}.MetricsPath())
	if err != nil {
		panic(err)
	}
	for _, m := range logged {
		fmt.Println(m.Split, m.Step, m.Samples)
	}
	// Output:
	// steps: 6
	// train 2 16
	// train 4 32
	// train 6 48
}
