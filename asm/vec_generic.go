package asm

import "math"

func dotGeneric(x, y []float32) float32 {
	var s float32
	for i, v := range x {
		s += float32(v * y[i])
	}
	return s
}

func axpyGeneric(alpha float32, x, y []float32) {
	for i, v := range x {
		y[i] += float32(alpha * v)
	}
}

func scaleGeneric(dst []float32, alpha float32, x []float32) {
	for i, v := range x {
		dst[i] = alpha * v
	}
}

func addGeneric(dst, x, y []float32) {
	for i, v := range x {
		dst[i] = v + y[i]
	}
}

func mulGeneric(dst, x, y []float32) {
	for i, v := range x {
		dst[i] = v * y[i]
	}
}

func sumGeneric(x []float32) float32 {
	var s float32
	for _, v := range x {
		s += v
	}
	return s
}

func maxGeneric(x []float32) float32 {
	m := float32(math.Inf(-1))
	for _, v := range x {
		if v > m {
			m = v
		}
	}
	return m
}
