//go:build !linux

package nn

// prefault does nothing where the OS offers no call to map pages ahead:
// the first writes fault them in.
func prefault(s []float32) {}

// newChunk returns storage for an arena chunk of n floats: memory from the
// Go heap, in the OS's usual pages (the huge-page advice of the Linux
// build has no counterpart here).
func newChunk(n int) []float32 { return make([]float32, n) }

// chunkLen returns the length of the chunk newChunk makes for n floats: n.
func chunkLen(n int) int { return n }
