//go:build !race

package tensor

// gemmRaceEnabled reports whether the race detector is on (its
// instrumentation allocates, so allocation counts are meaningless).
const gemmRaceEnabled = false
