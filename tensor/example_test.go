package tensor_test

import (
	"fmt"

	"github.com/trm-go/trm/tensor"
)

// Gemm on row-major slices: C = A·Bᵀ with A 2×3 and B 2×3 (so op(B) = Bᵀ
// is 3×2), then C += 2·A·Bᵀ by passing beta = 1.
func ExampleGemm() {
	a := []float32{
		1, 2, 3,
		4, 5, 6,
	}
	b := []float32{
		1, 0, 1,
		0, 1, 0,
	}
	c := make([]float32, 2*2)
	tensor.Gemm(false, true, 2, 2, 3, 1, a, 3, b, 3, 0, c, 2)
	fmt.Println(c)
	tensor.Gemm(false, true, 2, 2, 3, 2, a, 3, b, 3, 1, c, 2)
	fmt.Println(c)
	// Output:
	// [4 2 10 5]
	// [12 6 30 15]
}
