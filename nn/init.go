package nn

import (
	"math"
	"math/rand/v2"
)

// truncNormalStd is the standard deviation of a standard normal truncated to
// [−2, 2]: the factor TruncNormal divides by so that its samples have
// exactly the requested standard deviation.
var truncNormalStd = func() float64 {
	const lo, hi = -2.0, 2.0
	z := (math.Erf(hi/math.Sqrt2) - math.Erf(lo/math.Sqrt2)) / 2
	c := 1 / math.Sqrt(2*math.Pi)
	pdfLo, pdfHi := c*math.Exp(-lo*lo/2), c*math.Exp(-hi*hi/2)
	v := 1 - (hi*pdfHi-lo*pdfLo)/z - ((pdfLo-pdfHi)/z)*((pdfLo-pdfHi)/z)
	return math.Sqrt(v)
}()

// TruncNormal fills dst with samples of a normal distribution truncated at
// ±2 of its own standard deviation and rescaled so that the standard
// deviation of the samples is exactly std (the official TRM initialiser:
// samples lie within ±2·std/0.8796). std = 0 fills zeros. All randomness
// comes from rng.
func TruncNormal(dst []float32, std float64, rng *rand.Rand) {
	if std == 0 {
		clear(dst)
		return
	}
	comp := std / truncNormalStd
	a, b := math.Erf(-2/math.Sqrt2), math.Erf(2/math.Sqrt2)
	for i := range dst {
		u := a + (b-a)*rng.Float64()
		x := math.Erfinv(u) * math.Sqrt2
		x = math.Max(-2, math.Min(2, x))
		dst[i] = float32(x * comp)
	}
}

// LeCunNormal fills a weight of shape [out, in] with TruncNormal samples of
// standard deviation 1/√in (fan-in), the init of TRM's linear layers.
func LeCunNormal(w *Param, rng *rand.Rand) {
	in := w.Value.Cols()
	TruncNormal(w.Value.Data, 1/math.Sqrt(float64(in)), rng)
}
