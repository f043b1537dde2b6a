//go:build amd64 && gc && !purego

package asm

// transpose hands full 8×8 blocks to transpose8AVX2 (vec_amd64.s).
func transpose(dst []float32, ldd int, src []float32, lds int, r, c int) {
	if !useAVX2 {
		transposeGeneric(dst, ldd, src, lds, r, c)
		return
	}
	transposeBlocked(dst, ldd, src, lds, r, c, 8, transpose8AVX2)
}
