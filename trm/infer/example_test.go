package infer_test

import (
	"fmt"

	"github.com/trm-go/trm/checkpoints"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/infer"
)

// A Predictor answers text with a trained model: here the arith model
// shipped in the binary (infer.LoadPredictor reads a checkpoint file).
func ExamplePredictor() {
	data, _ := checkpoints.Lookup("arith")
	p, err := infer.DecodePredictor(data, "arith")
	if err != nil {
		panic(err)
	}
	p.Halt = trm.HaltFull // all N_sup steps; HaltEarly stops at q_halt > 0
	preds, err := p.Predict("3 + 7", "48213 + 99999")
	if err != nil {
		panic(err)
	}
	for _, r := range preds {
		fmt.Printf("%s = %s after %d steps, confident: %v\n", r.Input, r.Answer, r.Steps, r.Confidence > 0.9)
	}
	_, err = p.Predict("3 plus 7")
	fmt.Println(err)
	// Output:
	// 3 + 7 = 10 after 4 steps, confident: true
	// 48213 + 99999 = 148212 after 4 steps, confident: true
	// input 1 "3 plus 7": arith: "3 plus 7": want "a + b" with whole numbers of at most 5 digits
}
