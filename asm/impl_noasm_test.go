//go:build (!amd64 && !arm64) || purego || !gc

package asm

// wantImpl is the implementation a build without assembly must use.
func wantImpl() string { return "generic" }
