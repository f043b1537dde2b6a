package trm_test

import (
	"fmt"
	"log"

	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/puzzle"
)

// A 4×4 Sudoku: the puzzle as text, then a predicted grid decoded for
// people. A prediction that is not a solution says why.
func ExampleSudokuTask() {
	task, err := trm.NewTask("sudoku4", nil)
	if err != nil {
		log.Fatal(err)
	}
	ex, err := task.Encode("1... ..2. .3.. ...4")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(task.Format(ex), ex.Input)

	// Here the prediction comes from the exact solver; a model predicts
	// the same tokens: one per cell, digit d as d+1.
	g, err := puzzle.ParseGrid(task.Format(ex))
	if err != nil {
		log.Fatal(err)
	}
	sol, res, err := puzzle.Solve(g)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("unique solution:", res.Unique())
	answer, err := task.Decode(ex, sol.Tokens())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(answer)

	wrong := sol.Tokens()
	wrong[0], wrong[1] = wrong[1], wrong[0]
	answer, _ = task.Decode(ex, wrong)
	fmt.Print(answer)

	_, err = task.Encode("1... ..2. .3..")
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
func ExampleMazeTask() {
	task, err := trm.NewTask("maze", trm.TaskOptions{"size": "7"})
	if err != nil {
		log.Fatal(err)
	}
	ex, err := task.Encode(`
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
		answer, err := task.Decode(ex, pred.Tokens())
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(task.Verify(ex, pred.Tokens()))
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
