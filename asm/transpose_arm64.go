//go:build arm64 && gc && !purego

package asm

// transposeSIMD is transpose's SIMD version for the shared dispatch
// (impl_simd.go): it hands full 4×4 blocks to transpose4NEON
// (transpose_arm64.s).
func transposeSIMD(dst []float32, ldd int, src []float32, lds int, r, c int) {
	transposeBlocked(dst, ldd, src, lds, r, c, 4, transpose4NEON)
}

// transpose4NEON transposes a strip of 4 rows of src (row stride lds),
// blocks·4 columns wide, into the first 4 columns of blocks·4 rows of dst
// (row stride ldd). blocks > 0.
//
//go:noescape
func transpose4NEON(dst []float32, ldd int, src []float32, lds int, blocks int)
