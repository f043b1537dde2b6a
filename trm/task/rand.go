package task

// Rand is a small deterministic random number generator (SplitMix64) for
// task generators. Unlike math/rand its sequence is fixed by this code, so
// generated datasets are the same on every machine and Go release.
type Rand struct{ state uint64 }

// NewRand returns a generator seeded by the given words; different word
// lists give independent streams.
func NewRand(words ...uint64) *Rand {
	var s uint64 = 0x6a09e667f3bcc909
	for _, w := range words {
		s = mix64(s ^ mix64(w+0x9e3779b97f4a7c15))
	}
	return &Rand{state: s}
}

// ExampleRand returns the generator for example i of split under seed: the
// source of randomness Task.Example implementations should use.
func ExampleRand(seed uint64, split Split, i int64) *Rand {
	var salt uint64
	for _, c := range []byte(split) {
		salt = salt*131 + uint64(c)
	}
	return NewRand(seed, salt, uint64(i))
}

// Uint64 returns 64 random bits.
func (r *Rand) Uint64() uint64 {
	r.state += 0x9e3779b97f4a7c15
	return mix64(r.state)
}

// IntN returns a uniform integer in [0, n). It panics if n ≤ 0.
func (r *Rand) IntN(n int) int {
	if n <= 0 {
		panic("task: Rand.IntN with n ≤ 0")
	}
	return int(r.Uint64N(uint64(n)))
}

// Uint64N returns a uniform integer in [0, n). It panics if n is 0.
func (r *Rand) Uint64N(n uint64) uint64 {
	if n == 0 {
		panic("task: Rand.Uint64N with n = 0")
	}
	// Rejection sampling: drop the bottom 2^64 mod n values so every
	// residue is equally likely.
	limit := -n % n
	for {
		if v := r.Uint64(); v >= limit {
			return v % n
		}
	}
}

// Float64 returns a uniform float64 in [0, 1).
func (r *Rand) Float64() float64 { return float64(r.Uint64()>>11) / (1 << 53) }

// Perm returns a uniform random permutation of [0, n).
func (r *Rand) Perm(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	r.Shuffle(n, func(i, j int) { p[i], p[j] = p[j], p[i] })
	return p
}

// Shuffle permutes n elements uniformly (Fisher–Yates) through swap.
func (r *Rand) Shuffle(n int, swap func(i, j int)) {
	for i := n - 1; i > 0; i-- {
		swap(i, r.IntN(i+1))
	}
}

// mix64 is the SplitMix64 finaliser: a bijective 64-bit hash.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// State returns the generator's state: RandFromState(r.State()) continues
// r's sequence exactly (a trainer saves it to resume bit-identically).
func (r *Rand) State() uint64 { return r.state }

// RandFromState returns a generator continuing from a State.
func RandFromState(s uint64) *Rand { return &Rand{state: s} }
