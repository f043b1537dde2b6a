package asm_test

import (
	"fmt"

	"github.com/trm-go/trm/asm"
)

// The row ops work on whole float32 slices; which kernels run depends on
// the CPU (asm.Impl, asm.RowImpl), not the result's meaning.
func ExampleSwiGLU() {
	gate := []float32{0, 1, -1, 2}
	up := []float32{1, 1, 1, 0.5}
	dst := make([]float32, len(gate))
	asm.SwiGLU(dst, gate, up) // silu(gate)·up
	for _, v := range dst {
		fmt.Printf("%.4f ", v)
	}
	fmt.Println()
	// Output:
	// 0.0000 0.7311 -0.2689 0.8808
}

// Transpose moves a row-major r×c matrix into a c×r one; the strides may be
// wider than the rows.
func ExampleTranspose() {
	src := []float32{
		1, 2, 3,
		4, 5, 6,
	}
	dst := make([]float32, 3*2)
	asm.Transpose(dst, 2, src, 3, 2, 3)
	fmt.Println(dst)
	// Output:
	// [1 4 2 5 3 6]
}
