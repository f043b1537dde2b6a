// Package trmroot is the root of the trm module: Tiny Recursive Models trained and
// served on a pure-Go SIMD numeric engine. The code lives in the packages
// asm, tensor, nn, trm and cmd/trm; this file only drives code generation.
//
// `go generate ./...` from this folder regenerates the amd64 assembly from
// the avo programs in asm/_asm (a module of its own, so avo never enters the
// dependency graph of programs that import trm).
package trmroot

//go:generate sh -c "cd asm/_asm && go run . -out ../kernels_amd64.s -stubs ../kernels_amd64_stubs.go -pkg asm"
