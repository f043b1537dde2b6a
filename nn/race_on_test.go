//go:build race

package nn

// raceEnabled reports a -race build, whose instrumentation allocates, so
// allocation counts are meaningless.
const raceEnabled = true
