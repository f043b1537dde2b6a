//go:build unix

package readfile

import "syscall"

// openFlags makes the open of a FIFO return at once (Read then refuses
// it) instead of waiting for a writer; it changes nothing for a regular
// file.
const openFlags = syscall.O_NONBLOCK
