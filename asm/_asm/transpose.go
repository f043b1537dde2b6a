package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// genTranspose emits transpose8AVX2: a strip of 8 rows of src, blocks·8
// columns wide, transposed into the first 8 columns of blocks·8 rows of dst:
// dst[j*ldd+i] = src[i*lds+j] for i < 8, j < 8·blocks.
//
// For each 8×8 block and each half h (columns 4h..4h+3), register i (0..3)
// holds row i's 4 values in its low 128 bits and row i+4's in its high 128
// bits; a 4×4 transpose within each 128-bit lane (unpack, then shuffle, as
// in packB16TAVX2) then yields column 4h+p of the block — rows 0..3 low,
// 4..7 high — which is row 4h+p of the dst block: one 32-byte store.
func genTranspose() {
	TEXT("transpose8AVX2", NOSPLIT, "func(dst []float32, ldd int, src []float32, lds int, blocks int)")
	Pragma("noescape")
	Doc("transpose8AVX2 transposes a strip of 8 rows of src (row stride lds), blocks·8",
		"columns wide, into the first 8 columns of blocks·8 rows of dst (row stride ldd).",
		"blocks > 0.")
	d := Load(Param("dst").Base(), GP64())
	ldd := Load(Param("ldd"), GP64())
	s := Load(Param("src").Base(), GP64())
	lds := Load(Param("lds"), GP64())
	blocks := Load(Param("blocks"), GP64())
	SHLQ(U8(2), ldd)
	SHLQ(U8(2), lds)
	// Rows 0, 1, 2, 4 of 8 are base + {0,1,2,4}·ld, rows 3, 5, 6, 7 are
	// base3 + {0,2,3,4}·ld with base3 = base + 3·ld (as in packB16TAVX2).
	lds3, ldd3 := GP64(), GP64()
	LEAQ(Mem{Base: lds, Index: lds, Scale: 2}, lds3)
	LEAQ(Mem{Base: ldd, Index: ldd, Scale: 2}, ldd3)
	s3, d3 := GP64(), GP64()
	LEAQ(Mem{Base: s, Index: lds3, Scale: 1}, s3)
	LEAQ(Mem{Base: d, Index: ldd3, Scale: 1}, d3)
	row := func(base, base3, ld, ld3 Register, i int) Mem {
		switch i {
		case 0:
			return Mem{Base: base}
		case 1, 2, 4:
			return Mem{Base: base, Index: ld, Scale: uint8(i)}
		case 3:
			return Mem{Base: base3}
		case 5:
			return Mem{Base: base3, Index: ld, Scale: 2}
		case 6:
			return Mem{Base: base3, Index: ld3, Scale: 1}
		default: // 7
			return Mem{Base: base3, Index: ld, Scale: 4}
		}
	}

	Label("block")
	for h := 0; h < 2; h++ {
		Commentf("columns %d..%d of the block: rows %d..%d of dst", 4*h, 4*h+3, 4*h, 4*h+3)
		y := make([]VecVirtual, 4)
		for i := range y {
			y[i] = YMM()
			VMOVUPS(row(s, s3, lds, lds3, i).Offset(16*h), y[i].AsX())
			VINSERTF128(U8(1), row(s, s3, lds, lds3, i+4).Offset(16*h), y[i], y[i])
		}
		t0, t1, t2, t3 := YMM(), YMM(), YMM(), YMM()
		VUNPCKLPS(y[1], y[0], t0)
		VUNPCKHPS(y[1], y[0], t1)
		VUNPCKLPS(y[3], y[2], t2)
		VUNPCKHPS(y[3], y[2], t3)
		c := []VecVirtual{YMM(), YMM(), YMM(), YMM()}
		VSHUFPS(U8(0x44), t2, t0, c[0])
		VSHUFPS(U8(0xee), t2, t0, c[1])
		VSHUFPS(U8(0x44), t3, t1, c[2])
		VSHUFPS(U8(0xee), t3, t1, c[3])
		for p := range c {
			VMOVUPS(c[p], row(d, d3, ldd, ldd3, 4*h+p))
		}
	}
	Comment("next block: 8 columns right in src, 8 rows down in dst")
	ADDQ(U32(32), s)
	ADDQ(U32(32), s3)
	LEAQ(Mem{Base: d, Index: ldd, Scale: 8}, d)
	LEAQ(Mem{Base: d3, Index: ldd, Scale: 8}, d3)
	DECQ(blocks)
	JNZ(LabelRef("block"))
	VZEROUPPER()
	RET()
}
