package asm

// Transpose writes the transpose of the r×c matrix src (row-major, row
// stride lds) into dst (c×r, row stride ldd): dst[j*ldd+i] = src[i*lds+j]
// for i < r and j < c. Elements of dst between r and ldd in a row are not
// touched; dst must not overlap src.
//
// Full 8×8 (AVX2) or 4×4 (NEON) blocks go through register transposes;
// the ragged edges through the generic loop. It panics if r or c is
// negative, lds < c, ldd < r, or a slice is too short.
func Transpose(dst []float32, ldd int, src []float32, lds int, r, c int) {
	if r < 0 || c < 0 || lds < max(c, 1) || ldd < max(r, 1) {
		panic("asm: Transpose: bad dimensions")
	}
	if r == 0 || c == 0 {
		return
	}
	if len(src) < (r-1)*lds+c || len(dst) < (c-1)*ldd+r {
		panic("asm: Transpose: slice too short")
	}
	transpose(dst, ldd, src, lds, r, c)
}

// transposeBlocked transposes with full bs×bs blocks handed to block
// (which transposes a strip of bs rows, blocks·bs columns wide; nil for
// none) and the rest done by transposeGeneric.
func transposeBlocked(dst []float32, ldd int, src []float32, lds int, r, c, bs int, block func(dst []float32, ldd int, src []float32, lds int, blocks int)) {
	rb, cb := r/bs*bs, c/bs*bs
	if block != nil && cb > 0 {
		for i := 0; i < rb; i += bs {
			block(dst[i:], ldd, src[i*lds:], lds, cb/bs)
		}
	} else {
		rb, cb = 0, 0
	}
	if cb < c { // the columns right of the blocks, all rows
		transposeGeneric(dst[cb*ldd:], ldd, src[cb:], lds, r, c-cb)
	}
	if rb < r && cb > 0 { // the rows below the blocks, their columns
		transposeGeneric(dst[rb:], ldd, src[rb*lds:], lds, r-rb, cb)
	}
}
