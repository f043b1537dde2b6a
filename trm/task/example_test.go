package task_test

import (
	"fmt"
	"log"

	"github.com/trm-go/trm/trm/puzzle"
	"github.com/trm-go/trm/trm/task"
)

// A 4×4 Sudoku: the puzzle as text, then a predicted grid decoded for
// people. A prediction that is not a solution says why.
func ExampleSudoku() {
	tk, err := task.New("sudoku4", nil)
	if err != nil {
		log.Fatal(err)
	}
	ex, err := tk.Encode("1... ..2. .3.. ...4")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tk.Format(ex), ex.Input)

	// Here the prediction comes from the exact solver; a model predicts
	// the same tokens: one per cell, digit d as d+1.
	g, err := puzzle.ParseGrid(tk.Format(ex))
	if err != nil {
		log.Fatal(err)
	}
	sol, res, err := puzzle.Solve(g)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("unique solution:", res.Unique())
	answer, err := tk.Decode(ex, sol.Tokens())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(answer)

	wrong := sol.Tokens()
	wrong[0], wrong[1] = wrong[1], wrong[0]
	answer, _ = tk.Decode(ex, wrong)
	fmt.Print(answer)

	_, err = tk.Encode("1... ..2. .3..")
	fmt.Println(err)
	// Output:
	// 1.....2..3.....4 [2 1 1 1 1 1 3 1 1 4 1 1 1 1 1 5]
	// unique solution: true
	// 1 2 | 4 3
	// 3 4 | 2 1
	// ----+----
	// 4 3 | 1 2
	// 2 1 | 3 4
	// 2 1 | 4 3
	// 3 4 | 2 1
	// ----+----
	// 4 3 | 1 2
	// 2 1 | 3 4
	// (not a solution: digit 2 repeated in column 1)
	// sudoku4: 12 cells; want the 16 cells of a 4x4 Sudoku row by row, digits 1-4 and '.' or '0' for a blank, on one line or in 4 lines
}

// A maze: any shortest path from S to G counts, not only the label's.
func ExampleMaze() {
	tk, err := task.New("maze", task.Options{"size": "7"})
	if err != nil {
		log.Fatal(err)
	}
	ex, err := tk.Encode(`
#######
#S    #
# ### #
#   # #
### # #
#    G#
#######`)
	if err != nil {
		log.Fatal(err)
	}
	for _, text := range []string{
		// Along the top, then down the right: 8 moves.
		"#######\n#Soooo#\n# ###o#\n#   #o#\n### #o#\n#    G#\n#######",
		// Down the left and through the middle: 8 moves too.
		"#######\n#S    #\n#o### #\n#ooo# #\n###o# #\n#  ooG#\n#######",
		// A step short.
		"#######\n#Sooo #\n# ###o#\n#   #o#\n### #o#\n#    G#\n#######",
	} {
		pred, err := puzzle.ParseMaze(text)
		if err != nil {
			log.Fatal(err)
		}
		answer, err := tk.Decode(ex, pred.Tokens())
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(tk.Verify(ex, pred.Tokens()))
		fmt.Print(answer)
	}
	// Output:
	// true
	// #######
	// #Soooo#
	// # ###o#
	// #   #o#
	// ### #o#
	// #    G#
	// #######
	// true
	// #######
	// #S    #
	// #o### #
	// #ooo# #
	// ###o# #
	// #  ooG#
	// #######
	// false
	// #######
	// #Sooo #
	// # ###o#
	// #   #o#
	// ### #o#
	// #    G#
	// #######
	// (not a solution: path does not join S to G (6 path cells))
}

func ExampleArith() {
	tk, err := task.New("arith", task.Options{"digits": "2"})
	if err != nil {
		log.Fatal(err)
	}
	ex, err := tk.Encode("48 + 75")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ex.Input)

	// A model's prediction for every position; only the last three matter.
	pred := []int32{0, 0, 0, 0, 5, 4, 3}
	answer, err := tk.Decode(ex, pred)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tk.Format(ex), "=", answer)

	_, err = tk.Encode("48 + 750")
	fmt.Println(err)
	// Output:
	// [10 6 7 9 1 1 1]
	// 48 + 75 = 123
	// arith: "48 + 750": operand 750 has 3 digits, this task adds numbers of at most 2
}

// Generated examples are a pure function of (split, seed, index), and the
// splits never share a sum.
func ExampleTask_Example() {
	tk := task.NewArith(1)
	for i := range int64(3) {
		ex, err := tk.Example(task.SplitTrain, 42, i)
		if err != nil {
			log.Fatal(err)
		}
		answer, _ := tk.Decode(ex, ex.Label)
		fmt.Println(tk.Format(ex), "=", answer)
	}
	// Output:
	// 4 + 3 = 7
	// 6 + 3 = 9
	// 8 + 5 = 13
}

// Save a model's tensors with its config, and load them back checked
// against the config.
