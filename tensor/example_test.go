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

// A loop over like units of work (here one product each; in TRM, one
// application of the network), each run on the Team a Tuner picks: all of
// Workers(), unless fewer have been running the units faster (another
// process holding a core, say). The numbers are the same on every Team.
func ExampleTuner() {
	const n = 256
	a, b, c := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	for i := range a {
		a[i], b[i] = 1, 0.5
	}
	var u tensor.Tuner
	for range 50 {
		team := u.Begin(n * n) // the unit's size: units of one size are compared
		team.Gemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n)
		u.End()
	}
	fmt.Println(c[0], c[n*n-1])
	// Output:
	// 128 128
}
