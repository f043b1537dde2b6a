//go:build unix

package lockfile

import "syscall"

// openFlags keeps Acquire from waiting on a FIFO put where the lock file
// should be (it is then refused as not regular).
const openFlags = syscall.O_NONBLOCK
