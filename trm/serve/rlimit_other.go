//go:build !(aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris)

package serve

// openFileLimit returns 0: this system has no RLIMIT_NOFILE to read.
func openFileLimit() uint64 { return 0 }
