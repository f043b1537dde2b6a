//go:build arm64 && gc && !purego

#include "textflag.h"

// Vector floating-point instructions the Go assembler does not know,
// encoded by hand (Arm ARM, "Advanced SIMD three same" and "across lanes"
// classes; Q=1, sz=0 selects 4×float32). The arguments are register numbers
// in the order of the Arm syntax: OP Vd, Vn, Vm.

// FADD Vd.4S, Vn.4S, Vm.4S: 0 1 0 01110 0 0 1 Rm 110101 Rn Rd
#define FADD4S(d, n, m) WORD $(0x4E20D400 | ((m)<<16) | ((n)<<5) | (d))
// FMUL Vd.4S, Vn.4S, Vm.4S: 0 1 1 01110 0 0 1 Rm 110111 Rn Rd
#define FMUL4S(d, n, m) WORD $(0x6E20DC00 | ((m)<<16) | ((n)<<5) | (d))
// FMAX Vd.4S, Vn.4S, Vm.4S: 0 1 0 01110 0 0 1 Rm 111101 Rn Rd
#define FMAX4S(d, n, m) WORD $(0x4E20F400 | ((m)<<16) | ((n)<<5) | (d))
// FADDP Vd.4S, Vn.4S, Vm.4S: 0 1 1 01110 0 0 1 Rm 110101 Rn Rd
#define FADDP4S(d, n, m) WORD $(0x6E20D400 | ((m)<<16) | ((n)<<5) | (d))
// FADDP Sd, Vn.2S (scalar pairwise): 01 1 11110 0 0 11000 01101 10 Rn Rd
#define FADDPS(d, n) WORD $(0x7E30D800 | ((n)<<5) | (d))
// FMAXV Sd, Vn.4S: 0 1 1 01110 0 0 11000 01111 10 Rn Rd
#define FMAXV4S(d, n) WORD $(0x6E30F800 | ((n)<<5) | (d))

// HSUM8 reduces the eight accumulators V0-V7 to the scalar F0 (= V0.S[0]).
#define HSUM8 \
	FADD4S(0, 0, 1)  /* fadd v0.4s, v0.4s, v1.4s */ \
	FADD4S(2, 2, 3)  /* fadd v2.4s, v2.4s, v3.4s */ \
	FADD4S(4, 4, 5)  /* fadd v4.4s, v4.4s, v5.4s */ \
	FADD4S(6, 6, 7)  /* fadd v6.4s, v6.4s, v7.4s */ \
	FADD4S(0, 0, 2)  /* fadd v0.4s, v0.4s, v2.4s */ \
	FADD4S(4, 4, 6)  /* fadd v4.4s, v4.4s, v6.4s */ \
	FADD4S(0, 0, 4)  /* fadd v0.4s, v0.4s, v4.4s */ \
	FADDP4S(0, 0, 0) /* faddp v0.4s, v0.4s, v0.4s */ \
	FADDPS(0, 0)     /* faddp s0, v0.2s */

#define ZERO8 \
	VEOR	V0.B16, V0.B16, V0.B16 \
	VEOR	V1.B16, V1.B16, V1.B16 \
	VEOR	V2.B16, V2.B16, V2.B16 \
	VEOR	V3.B16, V3.B16, V3.B16 \
	VEOR	V4.B16, V4.B16, V4.B16 \
	VEOR	V5.B16, V5.B16, V5.B16 \
	VEOR	V6.B16, V6.B16, V6.B16 \
	VEOR	V7.B16, V7.B16, V7.B16

// func dotNEON(x, y []float32) float32
// Eight independent accumulators hide the FMLA latency; the products are
// fused (one rounding per term), also in the scalar tail.
TEXT ·dotNEON(SB), NOSPLIT, $0-52
	MOVD	x_base+0(FP), R0
	MOVD	x_len+8(FP), R2
	MOVD	y_base+24(FP), R1
	ZERO8
	CMP	$32, R2
	BLT	dot4

dot32:
	VLD1.P	64(R0), [V16.S4, V17.S4, V18.S4, V19.S4]
	VLD1.P	64(R1), [V20.S4, V21.S4, V22.S4, V23.S4]
	VLD1.P	64(R0), [V24.S4, V25.S4, V26.S4, V27.S4]
	VLD1.P	64(R1), [V28.S4, V29.S4, V30.S4, V31.S4]
	VFMLA	V16.S4, V20.S4, V0.S4
	VFMLA	V17.S4, V21.S4, V1.S4
	VFMLA	V18.S4, V22.S4, V2.S4
	VFMLA	V19.S4, V23.S4, V3.S4
	VFMLA	V24.S4, V28.S4, V4.S4
	VFMLA	V25.S4, V29.S4, V5.S4
	VFMLA	V26.S4, V30.S4, V6.S4
	VFMLA	V27.S4, V31.S4, V7.S4
	SUB	$32, R2, R2
	CMP	$32, R2
	BGE	dot32

dot4:
	CMP	$4, R2
	BLT	dotsum

dot4loop:
	VLD1.P	16(R0), [V16.S4]
	VLD1.P	16(R1), [V20.S4]
	VFMLA	V16.S4, V20.S4, V0.S4
	SUB	$4, R2, R2
	CMP	$4, R2
	BGE	dot4loop

dotsum:
	HSUM8
	CBZ	R2, dotdone

dot1:
	FMOVS.P	4(R0), F16
	FMOVS.P	4(R1), F17
	FMADDS	F17, F0, F16, F0 // s0 += s16·s17
	SUB	$1, R2, R2
	CBNZ	R2, dot1

dotdone:
	FMOVS	F0, ret+48(FP)
	RET

// func axpyNEON(alpha float32, x, y []float32)
TEXT ·axpyNEON(SB), NOSPLIT, $0-56
	FMOVS	alpha+0(FP), F31
	VDUP	V31.S[0], V31.S4
	MOVD	x_base+8(FP), R0
	MOVD	x_len+16(FP), R2
	MOVD	y_base+32(FP), R1
	CMP	$16, R2
	BLT	axpy4

axpy16:
	VLD1.P	64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1	(R1), [V4.S4, V5.S4, V6.S4, V7.S4]
	VFMLA	V31.S4, V0.S4, V4.S4
	VFMLA	V31.S4, V1.S4, V5.S4
	VFMLA	V31.S4, V2.S4, V6.S4
	VFMLA	V31.S4, V3.S4, V7.S4
	VST1.P	[V4.S4, V5.S4, V6.S4, V7.S4], 64(R1)
	SUB	$16, R2, R2
	CMP	$16, R2
	BGE	axpy16

axpy4:
	CMP	$4, R2
	BLT	axpy1

axpy4loop:
	VLD1.P	16(R0), [V0.S4]
	VLD1	(R1), [V4.S4]
	VFMLA	V31.S4, V0.S4, V4.S4
	VST1.P	[V4.S4], 16(R1)
	SUB	$4, R2, R2
	CMP	$4, R2
	BGE	axpy4loop

axpy1:
	CBZ	R2, axpydone

axpy1loop:
	FMOVS.P	4(R0), F0
	FMOVS	(R1), F4
	FMADDS	F31, F4, F0, F4 // s4 += s0·alpha
	FMOVS.P	F4, 4(R1)
	SUB	$1, R2, R2
	CBNZ	R2, axpy1loop

axpydone:
	RET

// func scaleNEON(dst []float32, alpha float32, x []float32)
TEXT ·scaleNEON(SB), NOSPLIT, $0-56
	MOVD	dst_base+0(FP), R1
	MOVD	dst_len+8(FP), R2
	FMOVS	alpha+24(FP), F31
	VDUP	V31.S[0], V31.S4
	MOVD	x_base+32(FP), R0
	CMP	$16, R2
	BLT	scale4

scale16:
	VLD1.P	64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	FMUL4S(0, 0, 31) // fmul v0.4s, v0.4s, v31.4s
	FMUL4S(1, 1, 31) // fmul v1.4s, v1.4s, v31.4s
	FMUL4S(2, 2, 31) // fmul v2.4s, v2.4s, v31.4s
	FMUL4S(3, 3, 31) // fmul v3.4s, v3.4s, v31.4s
	VST1.P	[V0.S4, V1.S4, V2.S4, V3.S4], 64(R1)
	SUB	$16, R2, R2
	CMP	$16, R2
	BGE	scale16

scale4:
	CMP	$4, R2
	BLT	scale1

scale4loop:
	VLD1.P	16(R0), [V0.S4]
	FMUL4S(0, 0, 31) // fmul v0.4s, v0.4s, v31.4s
	VST1.P	[V0.S4], 16(R1)
	SUB	$4, R2, R2
	CMP	$4, R2
	BGE	scale4loop

scale1:
	CBZ	R2, scaledone

scale1loop:
	FMOVS.P	4(R0), F0
	FMULS	F31, F0, F0
	FMOVS.P	F0, 4(R1)
	SUB	$1, R2, R2
	CBNZ	R2, scale1loop

scaledone:
	RET

// BINARY defines the body of an element-wise kernel dst = x OP y, where
// OP4 is the vector instruction macro (FADD4S or FMUL4S) and OP1 its scalar
// form (FADDS or FMULS). R3 = dst, R0 = x, R1 = y, R2 = length. Loads of a
// group come before its store, so dst may alias x or y.
#define BINARY(OP4, OP1) \
	CMP	$16, R2                                       \
	BLT	four                                          \
sixteen:                                              \
	VLD1.P	64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]          \
	VLD1.P	64(R1), [V4.S4, V5.S4, V6.S4, V7.S4]          \
	OP4(0, 0, 4)                                      \
	OP4(1, 1, 5)                                      \
	OP4(2, 2, 6)                                      \
	OP4(3, 3, 7)                                      \
	VST1.P	[V0.S4, V1.S4, V2.S4, V3.S4], 64(R3)          \
	SUB	$16, R2, R2                                   \
	CMP	$16, R2                                       \
	BGE	sixteen                                       \
four:                                                 \
	CMP	$4, R2                                        \
	BLT	one                                           \
fourloop:                                             \
	VLD1.P	16(R0), [V0.S4]                               \
	VLD1.P	16(R1), [V4.S4]                               \
	OP4(0, 0, 4)                                      \
	VST1.P	[V0.S4], 16(R3)                               \
	SUB	$4, R2, R2                                    \
	CMP	$4, R2                                        \
	BGE	fourloop                                      \
one:                                                  \
	CBZ	R2, done                                      \
oneloop:                                              \
	FMOVS.P	4(R0), F0                                     \
	FMOVS.P	4(R1), F4                                     \
	OP1	F4, F0, F0                                    \
	FMOVS.P	F0, 4(R3)                                     \
	SUB	$1, R2, R2                                    \
	CBNZ	R2, oneloop                                   \
done:                                                 \
	RET

// func addNEON(dst, x, y []float32)
TEXT ·addNEON(SB), NOSPLIT, $0-72
	MOVD	dst_base+0(FP), R3
	MOVD	dst_len+8(FP), R2
	MOVD	x_base+24(FP), R0
	MOVD	y_base+48(FP), R1
	BINARY(FADD4S, FADDS)

// func mulNEON(dst, x, y []float32)
TEXT ·mulNEON(SB), NOSPLIT, $0-72
	MOVD	dst_base+0(FP), R3
	MOVD	dst_len+8(FP), R2
	MOVD	x_base+24(FP), R0
	MOVD	y_base+48(FP), R1
	BINARY(FMUL4S, FMULS)

// func sumNEON(x []float32) float32
TEXT ·sumNEON(SB), NOSPLIT, $0-28
	MOVD	x_base+0(FP), R0
	MOVD	x_len+8(FP), R2
	ZERO8
	CMP	$32, R2
	BLT	sum4

sum32:
	VLD1.P	64(R0), [V16.S4, V17.S4, V18.S4, V19.S4]
	VLD1.P	64(R0), [V20.S4, V21.S4, V22.S4, V23.S4]
	FADD4S(0, 0, 16) // fadd v0.4s, v0.4s, v16.4s
	FADD4S(1, 1, 17) // fadd v1.4s, v1.4s, v17.4s
	FADD4S(2, 2, 18) // fadd v2.4s, v2.4s, v18.4s
	FADD4S(3, 3, 19) // fadd v3.4s, v3.4s, v19.4s
	FADD4S(4, 4, 20) // fadd v4.4s, v4.4s, v20.4s
	FADD4S(5, 5, 21) // fadd v5.4s, v5.4s, v21.4s
	FADD4S(6, 6, 22) // fadd v6.4s, v6.4s, v22.4s
	FADD4S(7, 7, 23) // fadd v7.4s, v7.4s, v23.4s
	SUB	$32, R2, R2
	CMP	$32, R2
	BGE	sum32

sum4:
	CMP	$4, R2
	BLT	sumsum

sum4loop:
	VLD1.P	16(R0), [V16.S4]
	FADD4S(0, 0, 16) // fadd v0.4s, v0.4s, v16.4s
	SUB	$4, R2, R2
	CMP	$4, R2
	BGE	sum4loop

sumsum:
	HSUM8
	CBZ	R2, sumdone

sum1:
	FMOVS.P	4(R0), F16
	FADDS	F16, F0, F0
	SUB	$1, R2, R2
	CBNZ	R2, sum1

sumdone:
	FMOVS	F0, ret+24(FP)
	RET

// func maxNEON(x []float32) float32
TEXT ·maxNEON(SB), NOSPLIT, $0-28
	MOVD	x_base+0(FP), R0
	MOVD	x_len+8(FP), R2
	MOVW	$0xff800000, R3 // -Inf
	VDUP	R3, V0.S4
	VMOV	V0.B16, V1.B16
	VMOV	V0.B16, V2.B16
	VMOV	V0.B16, V3.B16
	CMP	$16, R2
	BLT	max4

max16:
	VLD1.P	64(R0), [V16.S4, V17.S4, V18.S4, V19.S4]
	FMAX4S(0, 0, 16) // fmax v0.4s, v0.4s, v16.4s
	FMAX4S(1, 1, 17) // fmax v1.4s, v1.4s, v17.4s
	FMAX4S(2, 2, 18) // fmax v2.4s, v2.4s, v18.4s
	FMAX4S(3, 3, 19) // fmax v3.4s, v3.4s, v19.4s
	SUB	$16, R2, R2
	CMP	$16, R2
	BGE	max16

max4:
	CMP	$4, R2
	BLT	maxreduce

max4loop:
	VLD1.P	16(R0), [V16.S4]
	FMAX4S(0, 0, 16) // fmax v0.4s, v0.4s, v16.4s
	SUB	$4, R2, R2
	CMP	$4, R2
	BGE	max4loop

maxreduce:
	FMAX4S(0, 0, 1) // fmax v0.4s, v0.4s, v1.4s
	FMAX4S(2, 2, 3) // fmax v2.4s, v2.4s, v3.4s
	FMAX4S(0, 0, 2) // fmax v0.4s, v0.4s, v2.4s
	FMAXV4S(0, 0)   // fmaxv s0, v0.4s
	CBZ	R2, maxdone

max1:
	FMOVS.P	4(R0), F16
	FMAXS	F16, F0, F0
	SUB	$1, R2, R2
	CBNZ	R2, max1

maxdone:
	FMOVS	F0, ret+24(FP)
	RET
