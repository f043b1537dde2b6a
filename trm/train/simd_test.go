//go:build !purego

package train_test

// purego reports a build without assembly kernels, where the slowest
// training tests are skipped (the SIMD build runs them).
const purego = false
