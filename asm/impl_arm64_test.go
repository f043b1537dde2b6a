//go:build arm64 && gc && !purego

package asm

import "golang.org/x/sys/cpu"

// wantImpl is the implementation the CPU features (as x/sys/cpu reports
// them, after GODEBUG) call for.
func wantImpl() string {
	if cpu.ARM64.HasASIMD {
		return "neon"
	}
	return "generic"
}

// rowAVX2 is nil: there are no AVX2 row kernels here.
var rowAVX2 *rowKernels
