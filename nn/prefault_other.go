//go:build !linux

package nn

// prefault does nothing where the OS offers no call to map pages ahead:
// the first writes fault them in.
func prefault(s []float32) {}
