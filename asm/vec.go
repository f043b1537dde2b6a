package asm

func checkLen(name string, n int, xs ...[]float32) {
	for _, x := range xs {
		if len(x) != n {
			panic("asm: " + name + ": slices of different lengths")
		}
	}
}

// Dot returns Σ x[i]·y[i]. x and y must have the same length.
func Dot(x, y []float32) float32 {
	checkLen("Dot", len(x), y)
	return dot(x, y)
}

// Axpy computes y[i] += alpha·x[i]. x and y must have the same length.
func Axpy(alpha float32, x, y []float32) {
	checkLen("Axpy", len(x), y)
	axpy(alpha, x, y)
}

// Scale computes dst[i] = alpha·x[i]. dst may be x.
func Scale(dst []float32, alpha float32, x []float32) {
	checkLen("Scale", len(dst), x)
	scale(dst, alpha, x)
}

// Add computes dst[i] = x[i] + y[i]. dst may alias x or y.
func Add(dst, x, y []float32) {
	checkLen("Add", len(dst), x, y)
	add(dst, x, y)
}

// Mul computes dst[i] = x[i]·y[i]. dst may alias x or y.
func Mul(dst, x, y []float32) {
	checkLen("Mul", len(dst), x, y)
	mul(dst, x, y)
}

// Sum returns Σ x[i] (0 for an empty slice).
func Sum(x []float32) float32 { return sum(x) }

// Max returns the largest element of x, or -Inf for an empty slice.
// NaNs are not propagated reliably; callers must not pass them.
func Max(x []float32) float32 { return max32(x) }
