//go:build !unix

package readfile

// openFlags: nothing to add here.
const openFlags = 0
