//go:build windows || plan9 || js || wasip1

package atomicfile

// syncDir is a no-op where folders cannot be opened for syncing (Windows):
// there the rename itself is the durability point.
func syncDir(dir string) error { return nil }
