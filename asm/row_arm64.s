//go:build arm64 && gc && !purego

#include "textflag.h"

// Vector floating-point instructions the Go assembler does not know,
// encoded by hand (Arm ARM, Advanced SIMD "three same" and "two-register
// miscellaneous" classes; Q=1, sz=0 selects 4×float32). The arguments are
// register numbers in the order of the Arm syntax: OP Vd, Vn(, Vm).

// FADD Vd.4S, Vn.4S, Vm.4S: 0 1 0 01110 0 0 1 Rm 110101 Rn Rd
#define FADD4S(d, n, m) WORD $(0x4E20D400 | ((m)<<16) | ((n)<<5) | (d))
// FSUB Vd.4S, Vn.4S, Vm.4S: 0 1 0 01110 1 0 1 Rm 110101 Rn Rd
#define FSUB4S(d, n, m) WORD $(0x4EA0D400 | ((m)<<16) | ((n)<<5) | (d))
// FMUL Vd.4S, Vn.4S, Vm.4S: 0 1 1 01110 0 0 1 Rm 110111 Rn Rd
#define FMUL4S(d, n, m) WORD $(0x6E20DC00 | ((m)<<16) | ((n)<<5) | (d))
// FDIV Vd.4S, Vn.4S, Vm.4S: 0 1 1 01110 0 0 1 Rm 111111 Rn Rd
#define FDIV4S(d, n, m) WORD $(0x6E20FC00 | ((m)<<16) | ((n)<<5) | (d))
// FMAX Vd.4S, Vn.4S, Vm.4S: 0 1 0 01110 0 0 1 Rm 111101 Rn Rd
#define FMAX4S(d, n, m) WORD $(0x4E20F400 | ((m)<<16) | ((n)<<5) | (d))
// FCMGT Vd.4S, Vn.4S, Vm.4S: 0 1 1 01110 1 0 1 Rm 111001 Rn Rd
#define FCMGT4S(d, n, m) WORD $(0x6EA0E400 | ((m)<<16) | ((n)<<5) | (d))
// FCMGE Vd.4S, Vn.4S, Vm.4S: 0 1 1 01110 0 0 1 Rm 111001 Rn Rd
#define FCMGE4S(d, n, m) WORD $(0x6E20E400 | ((m)<<16) | ((n)<<5) | (d))
// FCMEQ Vd.4S, Vn.4S, Vm.4S: 0 1 0 01110 0 0 1 Rm 111001 Rn Rd
#define FCMEQ4S(d, n, m) WORD $(0x4E20E400 | ((m)<<16) | ((n)<<5) | (d))
// FADDP Vd.4S, Vn.4S, Vm.4S: 0 1 1 01110 0 0 1 Rm 110101 Rn Rd
#define FADDP4S(d, n, m) WORD $(0x6E20D400 | ((m)<<16) | ((n)<<5) | (d))
// FADDP Sd, Vn.2S (scalar pairwise): 01 1 11110 0 0 11000 01101 10 Rn Rd
#define FADDPS(d, n) WORD $(0x7E30D800 | ((n)<<5) | (d))
// FMAXV Sd, Vn.4S: 0 1 1 01110 0 0 11000 01111 10 Rn Rd
#define FMAXV4S(d, n) WORD $(0x6E30F800 | ((n)<<5) | (d))
// FRINTM Vd.4S, Vn.4S (round toward -Inf): 0 1 0 01110 0 0 10000 11001 10 Rn Rd
#define FRINTM4S(d, n) WORD $(0x4E219800 | ((n)<<5) | (d))
// FCVTZS Vd.4S, Vn.4S (to int32, toward zero): 0 1 0 01110 1 0 10000 11011 10 Rn Rd
#define FCVTZS4S(d, n) WORD $(0x4EA1B800 | ((n)<<5) | (d))
// FNEG Vd.4S, Vn.4S: 0 1 1 01110 1 0 10000 01111 10 Rn Rd
#define FNEG4S(d, n) WORD $(0x6EA0F800 | ((n)<<5) | (d))

// Constants of the exp kernel, the float32 values of the constants in
// row_generic.go, broadcast to all lanes:
//
//	V16 expHi   V17 expLo   V18 log2e   V19 0.5 (also expC2)
//	V20 ln2Hi   V21 ln2Lo   V22 expC7   V23 expC6   V24 expC5
//	V25 expC4   V26 expC3   V27 1.0     V29 +Inf
#define EXPCONST \
	MOVW	$0x42b17217, R10 \
	VDUP	R10, V16.S4      \
	MOVW	$0xc2aeac4f, R10 \
	VDUP	R10, V17.S4      \
	MOVW	$0x3fb8aa3b, R10 \
	VDUP	R10, V18.S4      \
	MOVW	$0x3f000000, R10 \
	VDUP	R10, V19.S4      \
	MOVW	$0x3f318000, R10 \
	VDUP	R10, V20.S4      \
	MOVW	$0xb95e8083, R10 \
	VDUP	R10, V21.S4      \
	MOVW	$0x394ee4b2, R10 \
	VDUP	R10, V22.S4      \
	MOVW	$0x3ab5f350, R10 \
	VDUP	R10, V23.S4      \
	MOVW	$0x3c088908, R10 \
	VDUP	R10, V24.S4      \
	MOVW	$0x3d2aaaa7, R10 \
	VDUP	R10, V25.S4      \
	MOVW	$0x3e2aaaaa, R10 \
	VDUP	R10, V26.S4      \
	MOVW	$0x3f800000, R10 \
	VDUP	R10, V27.S4      \
	MOVW	$0x7f800000, R10 \
	VDUP	R10, V29.S4

// EXP4 computes V1 = e^V0 in four lanes with the algorithm of exp1
// (row_generic.go), rounding where it rounds, using V2-V5 as scratch and
// leaving V0 intact:
//
//	k = floor(x·log2e + 0.5)          V2 (one FMLA, FRINTM)
//	r = x − k·ln2Hi − k·ln2Lo         V3 (two FMLS)
//	p = c2 + r(c3 + … + r(c6 + r·c7)) V4/V1 alternating (MOV + FMLA)
//	p = (p·r)·r + r + 1               FMUL, FMLA, FADD
//	y = p·2^k                         int32(k) << 23 added to the bits of p
//	y = +Inf where x > expHi, 0 where x < expLo, x where x is NaN.
#define EXP4 \
	VMOV	V19.B16, V2.B16          \
	VFMLA	V18.S4, V0.S4, V2.S4     \
	FRINTM4S(2, 2)                   /* frintm v2.4s, v2.4s */ \
	VMOV	V0.B16, V3.B16           \
	VFMLS	V20.S4, V2.S4, V3.S4     \
	VFMLS	V21.S4, V2.S4, V3.S4     \
	FCVTZS4S(2, 2)                   /* fcvtzs v2.4s, v2.4s */ \
	VSHL	$23, V2.S4, V2.S4        \
	VMOV	V23.B16, V4.B16          \
	VFMLA	V22.S4, V3.S4, V4.S4     \
	VMOV	V24.B16, V1.B16          \
	VFMLA	V4.S4, V3.S4, V1.S4      \
	VMOV	V25.B16, V4.B16          \
	VFMLA	V1.S4, V3.S4, V4.S4      \
	VMOV	V26.B16, V1.B16          \
	VFMLA	V4.S4, V3.S4, V1.S4      \
	VMOV	V19.B16, V4.B16          \
	VFMLA	V1.S4, V3.S4, V4.S4      \
	FMUL4S(4, 4, 3)                  /* fmul v4.4s, v4.4s, v3.4s */ \
	VMOV	V3.B16, V1.B16           \
	VFMLA	V4.S4, V3.S4, V1.S4      \
	FADD4S(1, 1, 27)                 /* fadd v1.4s, v1.4s, v27.4s */ \
	VADD	V2.S4, V1.S4, V1.S4      \
	FCMGT4S(5, 0, 16)                /* fcmgt v5.4s, v0.4s, v16.4s */ \
	VBIT	V5.B16, V29.B16, V1.B16  \
	FCMGE4S(5, 0, 17)                /* fcmge v5.4s, v0.4s, v17.4s */ \
	VAND	V5.B16, V1.B16, V1.B16   \
	FCMEQ4S(5, 0, 0)                 /* fcmeq v5.4s, v0.4s, v0.4s */ \
	VBIF	V5.B16, V0.B16, V1.B16

// SIGMOID4 computes V1 = σ(V6) = 1/(1 + e^−V6); V0, V2-V5 are scratch.
#define SIGMOID4 \
	FNEG4S(0, 6)                     /* fneg v0.4s, v6.4s */ \
	EXP4                             \
	FADD4S(1, 1, 27)                 /* fadd v1.4s, v1.4s, v27.4s */ \
	FDIV4S(1, 27, 1)                 /* fdiv v1.4s, v27.4s, v1.4s */

// Every row kernel below handles four elements per step. The last len%4
// elements go one at a time through the same vector code: FMOVS loads one
// float into lane 0 (clearing the other lanes) and stores lane 0 back, so
// the tail gets exactly the same arithmetic as the body.

// func expNEON(dst, x []float32)
TEXT ·expNEON(SB), NOSPLIT, $0-48
	MOVD	dst_base+0(FP), R1
	MOVD	dst_len+8(FP), R2
	MOVD	x_base+24(FP), R0
	EXPCONST
	LSR	$2, R2, R3
	AND	$3, R2, R2
	CBZ	R3, tail

loop:
	VLD1.P	16(R0), [V0.S4]
	EXP4
	VST1.P	[V1.S4], 16(R1)
	SUB	$1, R3, R3
	CBNZ	R3, loop

tail:
	CBZ	R2, done

tailloop:
	FMOVS.P	4(R0), F0
	EXP4
	FMOVS.P	F1, 4(R1)
	SUB	$1, R2, R2
	CBNZ	R2, tailloop

done:
	RET

// func siluNEON(dst, x []float32)
// dst = x·σ(x).
TEXT ·siluNEON(SB), NOSPLIT, $0-48
	MOVD	dst_base+0(FP), R1
	MOVD	dst_len+8(FP), R2
	MOVD	x_base+24(FP), R0
	EXPCONST
	LSR	$2, R2, R3
	AND	$3, R2, R2
	CBZ	R3, tail

loop:
	VLD1.P	16(R0), [V6.S4]
	SIGMOID4
	FMUL4S(1, 6, 1) // fmul v1.4s, v6.4s, v1.4s
	VST1.P	[V1.S4], 16(R1)
	SUB	$1, R3, R3
	CBNZ	R3, loop

tail:
	CBZ	R2, done

tailloop:
	FMOVS.P	4(R0), F6
	SIGMOID4
	FMUL4S(1, 6, 1) // fmul v1.4s, v6.4s, v1.4s
	FMOVS.P	F1, 4(R1)
	SUB	$1, R2, R2
	CBNZ	R2, tailloop

done:
	RET

// SILUGRAD4 computes V1 = s·(1 + x·(1 − s)) from s = V1 and x = V6, with
// V2 as scratch; every step rounds on its own, as siluGrad1 does.
#define SILUGRAD4 \
	FSUB4S(2, 27, 1)                 /* fsub v2.4s, v27.4s, v1.4s */ \
	FMUL4S(2, 6, 2)                  /* fmul v2.4s, v6.4s, v2.4s */ \
	FADD4S(2, 27, 2)                 /* fadd v2.4s, v27.4s, v2.4s */ \
	FMUL4S(1, 1, 2)                  /* fmul v1.4s, v1.4s, v2.4s */

// func siluGradNEON(dst, x []float32)
// dst = σ(x)·(1 + x·(1 − σ(x))).
TEXT ·siluGradNEON(SB), NOSPLIT, $0-48
	MOVD	dst_base+0(FP), R1
	MOVD	dst_len+8(FP), R2
	MOVD	x_base+24(FP), R0
	EXPCONST
	LSR	$2, R2, R3
	AND	$3, R2, R2
	CBZ	R3, tail

loop:
	VLD1.P	16(R0), [V6.S4]
	SIGMOID4
	SILUGRAD4
	VST1.P	[V1.S4], 16(R1)
	SUB	$1, R3, R3
	CBNZ	R3, loop

tail:
	CBZ	R2, done

tailloop:
	FMOVS.P	4(R0), F6
	SIGMOID4
	SILUGRAD4
	FMOVS.P	F1, 4(R1)
	SUB	$1, R2, R2
	CBNZ	R2, tailloop

done:
	RET

// func swigluNEON(dst, gate, up []float32)
// dst = gate·σ(gate)·up. Both inputs are loaded before the store, so dst
// may alias either.
TEXT ·swigluNEON(SB), NOSPLIT, $0-72
	MOVD	dst_base+0(FP), R1
	MOVD	dst_len+8(FP), R2
	MOVD	gate_base+24(FP), R0
	MOVD	up_base+48(FP), R4
	EXPCONST
	LSR	$2, R2, R3
	AND	$3, R2, R2
	CBZ	R3, tail

loop:
	VLD1.P	16(R0), [V6.S4]
	VLD1.P	16(R4), [V7.S4]
	SIGMOID4
	FMUL4S(1, 6, 1) // fmul v1.4s, v6.4s, v1.4s
	FMUL4S(1, 1, 7) // fmul v1.4s, v1.4s, v7.4s
	VST1.P	[V1.S4], 16(R1)
	SUB	$1, R3, R3
	CBNZ	R3, loop

tail:
	CBZ	R2, done

tailloop:
	FMOVS.P	4(R0), F6
	FMOVS.P	4(R4), F7
	SIGMOID4
	FMUL4S(1, 6, 1) // fmul v1.4s, v6.4s, v1.4s
	FMUL4S(1, 1, 7) // fmul v1.4s, v1.4s, v7.4s
	FMOVS.P	F1, 4(R1)
	SUB	$1, R2, R2
	CBNZ	R2, tailloop

done:
	RET

// SWIGLUGRAD4: from dy = V8, gate = V6, up = V7 and s = σ(gate) in V1,
// computes dup = dy·(gate·s) into V9 and dgate = (dy·up)·silu'(gate) into
// V10, in the order of swigluGradGeneric; V1 and V2 are clobbered.
#define SWIGLUGRAD4 \
	FMUL4S(9, 6, 1)                  /* fmul v9.4s, v6.4s, v1.4s */ \
	FMUL4S(9, 8, 9)                  /* fmul v9.4s, v8.4s, v9.4s */ \
	FMUL4S(10, 8, 7)                 /* fmul v10.4s, v8.4s, v7.4s */ \
	SILUGRAD4                        \
	FMUL4S(10, 10, 1)                /* fmul v10.4s, v10.4s, v1.4s */

// func swigluGradNEON(dgate, dup, dy, gate, up []float32)
// All inputs of a step are loaded before its stores, so dgate and dup may
// alias dy.
TEXT ·swigluGradNEON(SB), NOSPLIT, $0-120
	MOVD	dgate_base+0(FP), R0
	MOVD	dgate_len+8(FP), R5
	MOVD	dup_base+24(FP), R1
	MOVD	dy_base+48(FP), R2
	MOVD	gate_base+72(FP), R3
	MOVD	up_base+96(FP), R4
	EXPCONST
	LSR	$2, R5, R6
	AND	$3, R5, R5
	CBZ	R6, tail

loop:
	VLD1.P	16(R2), [V8.S4]
	VLD1.P	16(R3), [V6.S4]
	VLD1.P	16(R4), [V7.S4]
	SIGMOID4
	SWIGLUGRAD4
	VST1.P	[V10.S4], 16(R0)
	VST1.P	[V9.S4], 16(R1)
	SUB	$1, R6, R6
	CBNZ	R6, loop

tail:
	CBZ	R5, done

tailloop:
	FMOVS.P	4(R2), F8
	FMOVS.P	4(R3), F6
	FMOVS.P	4(R4), F7
	SIGMOID4
	SWIGLUGRAD4
	FMOVS.P	F10, 4(R0)
	FMOVS.P	F9, 4(R1)
	SUB	$1, R5, R5
	CBNZ	R5, tailloop

done:
	RET

// func rmsnormNEON(dst, x []float32, eps float32) float32
// ss = Σ x² (four fused accumulators), r = 1/sqrt(ss/n + eps) with the
// square root and the reciprocal in float64 as in the generic code, then
// dst = x·r. len(x) >= 1 (checked in Go).
TEXT ·rmsnormNEON(SB), NOSPLIT, $0-60
	MOVD	dst_base+0(FP), R1
	MOVD	dst_len+8(FP), R2
	MOVD	x_base+24(FP), R0
	VEOR	V0.B16, V0.B16, V0.B16
	VEOR	V1.B16, V1.B16, V1.B16
	VEOR	V2.B16, V2.B16, V2.B16
	VEOR	V3.B16, V3.B16, V3.B16
	MOVD	R0, R4
	MOVD	R2, R5
	CMP	$16, R5
	BLT	ss4

ss16:
	VLD1.P	64(R4), [V4.S4, V5.S4, V6.S4, V7.S4]
	VFMLA	V4.S4, V4.S4, V0.S4
	VFMLA	V5.S4, V5.S4, V1.S4
	VFMLA	V6.S4, V6.S4, V2.S4
	VFMLA	V7.S4, V7.S4, V3.S4
	SUB	$16, R5, R5
	CMP	$16, R5
	BGE	ss16

ss4:
	CMP	$4, R5
	BLT	ssreduce

ss4loop:
	VLD1.P	16(R4), [V4.S4]
	VFMLA	V4.S4, V4.S4, V0.S4
	SUB	$4, R5, R5
	CMP	$4, R5
	BGE	ss4loop

ssreduce:
	FADD4S(0, 0, 1)  // fadd v0.4s, v0.4s, v1.4s
	FADD4S(2, 2, 3)  // fadd v2.4s, v2.4s, v3.4s
	FADD4S(0, 0, 2)  // fadd v0.4s, v0.4s, v2.4s
	FADDP4S(0, 0, 0) // faddp v0.4s, v0.4s, v0.4s
	FADDPS(0, 0)     // faddp s0, v0.2s
	CBZ	R5, factor

ss1:
	FMOVS.P	4(R4), F4
	FMADDS	F4, F0, F4, F0 // s0 += s4·s4
	SUB	$1, R5, R5
	CBNZ	R5, ss1

factor:
	SCVTFS	R2, F1 // float32(n)
	FDIVS	F1, F0, F0
	FMOVS	eps+48(FP), F1
	FADDS	F1, F0, F0
	FCVTSD	F0, F0
	FSQRTD	F0, F0
	FMOVD	$1.0, F1
	FDIVD	F0, F1, F0
	FCVTDS	F0, F0
	FMOVS	F0, ret+56(FP)
	VDUP	V0.S[0], V31.S4

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
	CBZ	R2, done

scale1loop:
	FMOVS.P	4(R0), F0
	FMULS	F31, F0, F0
	FMOVS.P	F0, 4(R1)
	SUB	$1, R2, R2
	CBNZ	R2, scale1loop

done:
	RET

// func softmaxNEON(dst, x []float32)
// Three passes: m = max x; dst = e^(x−m) with s = Σ dst; dst *= 1/s.
// len(x) >= 1 (checked in Go).
TEXT ·softmaxNEON(SB), NOSPLIT, $0-48
	MOVD	dst_base+0(FP), R1
	MOVD	dst_len+8(FP), R2
	MOVD	x_base+24(FP), R0

	// Pass 1: the maximum, into V30 (all lanes).
	MOVD	R0, R4
	MOVD	R2, R5
	MOVW	$0xff800000, R10 // -Inf
	VDUP	R10, V8.S4
	VMOV	V8.B16, V9.B16
	CMP	$8, R5
	BLT	max4

max8:
	VLD1.P	32(R4), [V0.S4, V1.S4]
	FMAX4S(8, 8, 0) // fmax v8.4s, v8.4s, v0.4s
	FMAX4S(9, 9, 1) // fmax v9.4s, v9.4s, v1.4s
	SUB	$8, R5, R5
	CMP	$8, R5
	BGE	max8

max4:
	CMP	$4, R5
	BLT	maxreduce
	VLD1.P	16(R4), [V0.S4]
	FMAX4S(8, 8, 0) // fmax v8.4s, v8.4s, v0.4s
	SUB	$4, R5, R5

maxreduce:
	FMAX4S(8, 8, 9) // fmax v8.4s, v8.4s, v9.4s
	FMAXV4S(8, 8)   // fmaxv s8, v8.4s
	CBZ	R5, maxdone

max1:
	FMOVS.P	4(R4), F0
	FMAXS	F0, F8, F8
	SUB	$1, R5, R5
	CBNZ	R5, max1

maxdone:
	VDUP	V8.S[0], V30.S4

	// Pass 2: dst = e^(x−m); the sum goes to V31 (body) and F7 (tail).
	EXPCONST
	VEOR	V31.B16, V31.B16, V31.B16
	VEOR	V7.B16, V7.B16, V7.B16
	MOVD	R0, R4
	MOVD	R1, R6
	LSR	$2, R2, R3
	AND	$3, R2, R5
	CBZ	R3, exptail

exploop:
	VLD1.P	16(R4), [V6.S4]
	FSUB4S(0, 6, 30)   // fsub v0.4s, v6.4s, v30.4s
	EXP4
	FADD4S(31, 31, 1) // fadd v31.4s, v31.4s, v1.4s
	VST1.P	[V1.S4], 16(R6)
	SUB	$1, R3, R3
	CBNZ	R3, exploop

exptail:
	CBZ	R5, expdone

exptailloop:
	FMOVS.P	4(R4), F6
	FSUB4S(0, 6, 30) // fsub v0.4s, v6.4s, v30.4s
	EXP4
	FADDS	F1, F7, F7
	FMOVS.P	F1, 4(R6)
	SUB	$1, R5, R5
	CBNZ	R5, exptailloop

expdone:
	FADDP4S(31, 31, 31) // faddp v31.4s, v31.4s, v31.4s
	FADDPS(31, 31)      // faddp s31, v31.2s
	FADDS	F7, F31, F31
	FMOVS	$1.0, F0
	FDIVS	F31, F0, F0
	VDUP	V0.S[0], V31.S4

	// Pass 3: dst *= 1/s.
	CMP	$16, R2
	BLT	norm4

norm16:
	VLD1	(R1), [V0.S4, V1.S4, V2.S4, V3.S4]
	FMUL4S(0, 0, 31) // fmul v0.4s, v0.4s, v31.4s
	FMUL4S(1, 1, 31) // fmul v1.4s, v1.4s, v31.4s
	FMUL4S(2, 2, 31) // fmul v2.4s, v2.4s, v31.4s
	FMUL4S(3, 3, 31) // fmul v3.4s, v3.4s, v31.4s
	VST1.P	[V0.S4, V1.S4, V2.S4, V3.S4], 64(R1)
	SUB	$16, R2, R2
	CMP	$16, R2
	BGE	norm16

norm4:
	CMP	$4, R2
	BLT	norm1

norm4loop:
	VLD1	(R1), [V0.S4]
	FMUL4S(0, 0, 31) // fmul v0.4s, v0.4s, v31.4s
	VST1.P	[V0.S4], 16(R1)
	SUB	$4, R2, R2
	CMP	$4, R2
	BGE	norm4loop

norm1:
	CBZ	R2, done

norm1loop:
	FMOVS	(R1), F0
	FMULS	F31, F0, F0
	FMOVS.P	F0, 4(R1)
	SUB	$1, R2, R2
	CBNZ	R2, norm1loop

done:
	RET
