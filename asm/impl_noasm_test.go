//go:build (!amd64 && !arm64) || purego || !gc

package asm

// wantImpl is the implementation a build without assembly must use.
func wantImpl() string { return "generic" }

// rowAVX2 is nil: there are no AVX2 row kernels here.
var rowAVX2 *rowKernels
