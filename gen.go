// Package trmroot is the root of the trm module: Tiny Recursive Models trained and
// served on a pure-Go SIMD numeric engine. The code lives in the packages
// asm, tensor, nn, trm and cmd/trm; this file only drives code generation.
//
// `go generate ./...` from this folder regenerates the amd64 assembly from
// the avo programs in asm/_asm (a module of its own, so avo never enters the
// dependency graph of programs that import trm).
package trmroot

//go:generate go run -C asm/_asm . -family gemm -out ../gemm_amd64.s -stubs ../gemm_stubs_amd64.go -pkg asm
//go:generate go run -C asm/_asm . -family vec -out ../vec_amd64.s -stubs ../vec_stubs_amd64.go -pkg asm
//go:generate go run -C asm/_asm . -family row -out ../row_amd64.s -stubs ../row_stubs_amd64.go -pkg asm
