//go:build amd64 && gc && !purego

package asm

// transposeSIMD is transpose's SIMD version for the shared dispatch
// (impl_simd.go): it hands full 8×8 blocks to transpose8AVX2
// (vec_amd64.s).
func transposeSIMD(dst []float32, ldd int, src []float32, lds int, r, c int) {
	transposeBlocked(dst, ldd, src, lds, r, c, 8, transpose8AVX2)
}
