package asm

import "math"

// adamATan2Generic is AdamATan2's reference loop; it walks len(w).
func adamATan2Generic(w, m, v, g []float32, b1, b2, decay float32, stepSize, invBC2 float64) {
	c1, c2 := 1-b1, 1-b2
	for i := range w {
		gi := g[i]
		m[i] = b1*m[i] + c1*gi
		v[i] = b2*v[i] + c2*gi*gi
		u := math.Atan2(float64(m[i]), math.Sqrt(float64(v[i])*invBC2))
		w[i] = w[i]*decay - float32(stepSize*u)
	}
}
