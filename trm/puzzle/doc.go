// Package puzzle holds the reasoning puzzles TRM is trained and evaluated on,
// with no dependency on the model: Sudoku (4×4, 6×6, 9×9) and mazes.
//
// For Sudoku it provides an exact solver that counts solutions and rates a
// puzzle by the number of dead ends its search met, a seeded generator of
// puzzles with a unique solution, the Sudoku-Extreme CSV format
// (source,question,answer,rating), the augmentations of the official TRM
// dataset builder (digit permutation, transposition, band/row and
// stack/column permutations), the token encoding (pad 0, blank 1, digit d →
// d+1) and a verifier for predicted grids.
//
// For mazes it provides a seeded generator with the shortest path as the
// label, the Maze-Hard CSV format (characters "# SGo" → tokens 1..5, pad 0),
// the 8 dihedral augmentations and a verifier that accepts a predicted path
// only if it is an optimal path from S to G.
//
// Everything random takes an explicit *rand.Rand (math/rand/v2), so results
// are reproducible from a seed.
package puzzle
