//go:build !linux

package tensor

// threadCPU returns -1: the thread's CPU time is not read on this system,
// and the contention guard looks at the helpers' pace alone.
func threadCPU() int64 { return -1 }
