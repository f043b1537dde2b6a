//go:build arm64 && gc && !purego

package asm

import "golang.org/x/sys/cpu"

// useNEON selects the NEON kernels. Advanced SIMD is part of every arm64
// CPU, but x/sys/cpu honours GODEBUG=cpu.asimd=off, which forces the generic
// code (useful to compare the two in one binary).
var useNEON = cpu.ARM64.HasASIMD

// useSIMD is useNEON under the name the shared dispatch (impl_simd.go)
// tests.
var useSIMD = useNEON

// simdImpl is what Impl reports when useSIMD is set.
const simdImpl = "neon"
