package infer_test

import (
	"fmt"

	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/infer"
)

// A Predictor answers text with a trained model: here the arith model
// shipped in the binary ("embedded:arith"; a file path loads a checkpoint
// file). It runs all N_sup supervision steps by default, as trm infer
// does.
func ExamplePredictor() {
	p, err := infer.LoadPredictor("embedded:arith")
	if err != nil {
		panic(err)
	}
	preds, err := p.Predict("3 + 7", "48213 + 99999", "99999 + 1")
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
	// 99999 + 1 = 100000 after 4 steps, confident: true
	// input 1 "3 plus 7": arith: "3 plus 7": want "a + b" with whole numbers of at most 5 digits
}

// Early halting stops each input at its first q_halt > 0: fewer steps,
// and on a long carry chain the shipped arith model stops one step too
// soon (the answer says whether it is valid).
func ExamplePredictor_early() {
	p, err := infer.LoadPredictor("embedded:arith")
	if err != nil {
		panic(err)
	}
	p.Halt = trm.HaltEarly
	preds, err := p.Predict("3 + 7", "99999 + 1")
	if err != nil {
		panic(err)
	}
	for _, r := range preds {
		fmt.Printf("%s = %s after %d steps, valid: %v\n", r.Input, r.Answer, r.Steps, *r.Valid)
	}
	// Output:
	// 3 + 7 = 10 after 1 steps, valid: true
	// 99999 + 1 = 0 after 1 steps, valid: false
}
