//go:build aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris

package serve

import "syscall"

// openFileLimit returns the process's limit on open file descriptors
// (RLIMIT_NOFILE, its soft value), or 0 when it cannot tell.
func openFileLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	return uint64(rl.Cur)
}
