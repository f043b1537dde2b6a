package infer_test

import (
	"fmt"

	"github.com/trm-go/trm/trm/infer"
	"github.com/trm-go/trm/trm/task"
)

// ExampleARCVoter votes on predictions for the committed ARC evaluation
// tasks as the official evaluator does: here every augmented copy of each
// test input is "answered" with its label, so every task passes. With a
// model, infer.EvaluateARC produces the predictions and runs the vote.
func ExampleARCVoter() {
	a, err := task.NewArc(task.Options{"eval": "../../testdata/arc/evaluation", "aug": "8"})
	if err != nil {
		fmt.Println(err)
		return
	}
	v := infer.NewARCVoter(a)
	for i := range a.Len(task.SplitTest) {
		ex := a.BuiltExample(task.SplitTest, i)
		pred := make([]int32, len(ex.Label))
		for j, l := range ex.Label {
			if l != task.IgnoreLabel {
				pred[j] = l
			}
		}
		if err := v.Add(ex.PuzzleID, ex.Input, pred, 2.0); err != nil {
			fmt.Println(err)
			return
		}
	}
	r := v.Result(1, 2)
	fmt.Printf("%d tasks, %d predictions: pass@1 %.2f, pass@2 %.2f\n", r.Tasks, r.Predictions, r.PassAt[1], r.PassAt[2])
	fmt.Println("00576224 attempt 1:", r.Submission["00576224"][0].Attempt1)
	// Output:
	// 4 tasks, 45 predictions: pass@1 1.00, pass@2 1.00
	// 00576224 attempt 1: 323232/787878/232323/878787/323232/787878
}
