package ablate_test

import (
	"context"
	"fmt"
	"os"

	"github.com/trm-go/trm/trm/ablate"
	"github.com/trm-go/trm/trm/train"
)

// Run trains each setting of a grid under one budget into its own run
// folder and tabulates the held-out scores; calling it again trains only
// what is not done.
func ExampleRun() {
	dir, err := os.MkdirTemp("", "trm-ablate")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	base := train.DefaultConfig() // the arith preset, made tiny
	base.HiddenSize, base.NumHeads, base.BatchSize = 16, 2, 8
	grid, err := ablate.ParseGrid("trm:T=2,n=2; no-recursion:T=1,n=1,nsup=1", base)
	if err != nil {
		panic(err)
	}
	tab, err := ablate.Run(context.Background(), ablate.Options{
		Base: base, Grid: grid, Budget: ablate.Budget{Steps: 4}, Dir: dir, EvalN: 16,
	})
	if err != nil {
		panic(err)
	}
	for _, r := range tab.Rows {
		fmt.Printf("%s: T=%d n=%d N_sup=%d, %d steps, scored on %d examples\n", r.Setting, r.T, r.N, r.NSup, r.Steps, r.EvalExamples)
	}
	// Output:
	// trm: T=2 n=2 N_sup=4, 4 steps, scored on 16 examples
	// no-recursion: T=1 n=1 N_sup=1, 4 steps, scored on 16 examples
}
