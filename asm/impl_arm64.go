//go:build arm64 && gc && !purego

package asm

import "golang.org/x/sys/cpu"

// useNEON selects the NEON kernels. Advanced SIMD is part of every arm64
// CPU, but x/sys/cpu honours GODEBUG=cpu.asimd=off, which forces the generic
// code (useful to compare the two in one binary).
var useNEON = cpu.ARM64.HasASIMD

// Impl reports the active kernel implementation: "avx2+fma", "neon" or "generic".
func Impl() string {
	if useNEON {
		return "neon"
	}
	return "generic"
}
