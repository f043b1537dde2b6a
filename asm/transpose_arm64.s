//go:build arm64 && gc && !purego

#include "textflag.h"

// func transpose4NEON(dst []float32, ldd int, src []float32, lds int, blocks int)
//
// One 4×4 block per iteration: the four source rows (R2, R5, R6, R7) are
// loaded, transposed in registers in two rounds of TRN1/TRN2 — 32-bit
// elements of row pairs, then 64-bit halves of the results — and the four
// columns stored as four rows of dst (R0, R8, R9, R10), which then move
// 4 rows down.
TEXT ·transpose4NEON(SB), NOSPLIT, $0-72
	MOVD	dst_base+0(FP), R0
	MOVD	ldd+24(FP), R1
	MOVD	src_base+32(FP), R2
	MOVD	lds+56(FP), R3
	MOVD	blocks+64(FP), R4
	LSL	$2, R1              // ldd in bytes
	LSL	$2, R3              // lds in bytes
	ADD	R3, R2, R5          // source row 1
	ADD	R3, R5, R6          // source row 2
	ADD	R3, R6, R7          // source row 3
	ADD	R1, R0, R8          // dst row 1
	ADD	R1, R8, R9          // dst row 2
	ADD	R1, R9, R10         // dst row 3
	LSL	$2, R1, R11         // 4 dst rows, in bytes

block:
	VLD1.P	16(R2), [V0.S4]     // a0 a1 a2 a3
	VLD1.P	16(R5), [V1.S4]     // b0 b1 b2 b3
	VLD1.P	16(R6), [V2.S4]     // c0 c1 c2 c3
	VLD1.P	16(R7), [V3.S4]     // d0 d1 d2 d3
	VTRN1	V1.S4, V0.S4, V4.S4 // a0 b0 a2 b2
	VTRN2	V1.S4, V0.S4, V5.S4 // a1 b1 a3 b3
	VTRN1	V3.S4, V2.S4, V6.S4 // c0 d0 c2 d2
	VTRN2	V3.S4, V2.S4, V7.S4 // c1 d1 c3 d3
	VTRN1	V6.D2, V4.D2, V16.D2 // a0 b0 c0 d0: column 0
	VTRN1	V7.D2, V5.D2, V17.D2 // column 1
	VTRN2	V6.D2, V4.D2, V18.D2 // a2 b2 c2 d2: column 2
	VTRN2	V7.D2, V5.D2, V19.D2 // column 3
	VST1	[V16.S4], (R0)
	VST1	[V17.S4], (R8)
	VST1	[V18.S4], (R9)
	VST1	[V19.S4], (R10)
	ADD	R11, R0
	ADD	R11, R8
	ADD	R11, R9
	ADD	R11, R10
	SUBS	$1, R4
	BNE	block
	RET
