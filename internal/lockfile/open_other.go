//go:build !unix

package lockfile

// openFlags: nothing to add here.
const openFlags = 0
