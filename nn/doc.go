// Package nn is a small reverse-mode automatic-differentiation layer over
// package tensor: a tape that records forward operations and replays them
// backward, the layers a Tiny Recursive Model is made of, losses,
// initialisers and optimizers.
package nn
