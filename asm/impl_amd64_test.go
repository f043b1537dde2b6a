//go:build amd64 && gc && !purego

package asm

import "golang.org/x/sys/cpu"

// wantImpl is the implementation the CPU features (as x/sys/cpu reports
// them, after GODEBUG) call for.
func wantImpl() string {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		return "avx2+fma"
	}
	return "generic"
}
