package asm

// AdamATan2 applies one update of the official TRM optimizer (Adam without
// ε, its step through atan2) to the parameters w with first and second
// moments m and v and gradients g, all of one length:
//
//	m = b1·m + (1−b1)·g
//	v = b2·v + (1−b2)·g·g
//	w = w·decay − float32(stepSize·atan2(m, √(v·invBC2)))
//
// in float32, but for atan2 and its argument, which are float64 (Go's
// math.Atan2). The SIMD version (amd64 AVX2, four elements at a time)
// makes the generic loop's operations in the same order and gives its bits
// — where Go does not fuse multiply-adds itself (amd64 below GOAMD64=v3);
// elsewhere the two may differ in the last bit of an atan2.
func AdamATan2(w, m, v, g []float32, b1, b2, decay float32, stepSize, invBC2 float64) {
	checkLen("AdamATan2", len(w), m, v, g)
	adamATan2(w, m, v, g, b1, b2, decay, stepSize, invBC2)
}
