//go:build arm64 && gc && !purego

#include "textflag.h"

// The Go assembler has no vector FADD; it is encoded by hand.
// FADD Vd.4S, Vn.4S, Vm.4S: 0 1 0 01110 0 0 1 Rm 110101 Rn Rd.
#define FADD4S(d, n, m) WORD $(0x4E20D400 | ((m)<<16) | ((n)<<5) | (d))

// KSTEP does one rank-1 update of the 6×16 tile: it loads the next 16
// values of the B panel (R1) into V24-V27 and the next 6 values of the A
// panel (R0), one at a time, broadcast to all four lanes of V28-V31, then
// accumulates Vacc[4i+j] += a[i]·b[4j:4j+4] for rows i = 0..5 and vectors
// j = 0..3. Both pointers advance.
//
// Register map: V0-V23 accumulators (row i in V4i..V4i+3), V24-V27 the B
// row, V28-V31 the A broadcasts (rotated so that a load never waits for the
// FMLAs of the previous row to issue).
#define KSTEP \
	VLD1.P	64(R1), [V24.S4, V25.S4, V26.S4, V27.S4] \
	VLD1R.P	4(R0), [V28.S4]                          \
	VLD1R.P	4(R0), [V29.S4]                          \
	VFMLA	V28.S4, V24.S4, V0.S4                    \
	VFMLA	V28.S4, V25.S4, V1.S4                    \
	VFMLA	V28.S4, V26.S4, V2.S4                    \
	VFMLA	V28.S4, V27.S4, V3.S4                    \
	VLD1R.P	4(R0), [V30.S4]                          \
	VFMLA	V29.S4, V24.S4, V4.S4                    \
	VFMLA	V29.S4, V25.S4, V5.S4                    \
	VFMLA	V29.S4, V26.S4, V6.S4                    \
	VFMLA	V29.S4, V27.S4, V7.S4                    \
	VLD1R.P	4(R0), [V31.S4]                          \
	VFMLA	V30.S4, V24.S4, V8.S4                    \
	VFMLA	V30.S4, V25.S4, V9.S4                    \
	VFMLA	V30.S4, V26.S4, V10.S4                   \
	VFMLA	V30.S4, V27.S4, V11.S4                   \
	VLD1R.P	4(R0), [V28.S4]                          \
	VFMLA	V31.S4, V24.S4, V12.S4                   \
	VFMLA	V31.S4, V25.S4, V13.S4                   \
	VFMLA	V31.S4, V26.S4, V14.S4                   \
	VFMLA	V31.S4, V27.S4, V15.S4                   \
	VLD1R.P	4(R0), [V29.S4]                          \
	VFMLA	V28.S4, V24.S4, V16.S4                   \
	VFMLA	V28.S4, V25.S4, V17.S4                   \
	VFMLA	V28.S4, V26.S4, V18.S4                   \
	VFMLA	V28.S4, V27.S4, V19.S4                   \
	VFMLA	V29.S4, V24.S4, V20.S4                   \
	VFMLA	V29.S4, V25.S4, V21.S4                   \
	VFMLA	V29.S4, V26.S4, V22.S4                   \
	VFMLA	V29.S4, V27.S4, V23.S4

// CROW adds accumulators Va..Vd to the 16 floats of C at R5 and advances R5
// by one row (R4 bytes).
#define CROW(a, b, c, d) \
	VLD1	(R5), [V24.S4, V25.S4, V26.S4, V27.S4] \
	FADD4S(24, 24, a)                              \
	FADD4S(25, 25, b)                              \
	FADD4S(26, 26, c)                              \
	FADD4S(27, 27, d)                              \
	VST1	[V24.S4, V25.S4, V26.S4, V27.S4], (R5) \
	ADD	R4, R5, R5

// func kernelNEON(k int, ap, bp, c []float32, ldc int)
//
// C[0:6][0:16] += Ap·Bp over k packed steps (k >= 1, lengths checked in Go).
TEXT ·kernelNEON(SB), NOSPLIT, $0-88
	MOVD	k+0(FP), R3
	MOVD	ap_base+8(FP), R0
	MOVD	bp_base+32(FP), R1
	MOVD	c_base+56(FP), R2
	MOVD	ldc+80(FP), R4
	LSL	$2, R4, R4 // row stride in bytes

	VEOR	V0.B16, V0.B16, V0.B16
	VEOR	V1.B16, V1.B16, V1.B16
	VEOR	V2.B16, V2.B16, V2.B16
	VEOR	V3.B16, V3.B16, V3.B16
	VEOR	V4.B16, V4.B16, V4.B16
	VEOR	V5.B16, V5.B16, V5.B16
	VEOR	V6.B16, V6.B16, V6.B16
	VEOR	V7.B16, V7.B16, V7.B16
	VEOR	V8.B16, V8.B16, V8.B16
	VEOR	V9.B16, V9.B16, V9.B16
	VEOR	V10.B16, V10.B16, V10.B16
	VEOR	V11.B16, V11.B16, V11.B16
	VEOR	V12.B16, V12.B16, V12.B16
	VEOR	V13.B16, V13.B16, V13.B16
	VEOR	V14.B16, V14.B16, V14.B16
	VEOR	V15.B16, V15.B16, V15.B16
	VEOR	V16.B16, V16.B16, V16.B16
	VEOR	V17.B16, V17.B16, V17.B16
	VEOR	V18.B16, V18.B16, V18.B16
	VEOR	V19.B16, V19.B16, V19.B16
	VEOR	V20.B16, V20.B16, V20.B16
	VEOR	V21.B16, V21.B16, V21.B16
	VEOR	V22.B16, V22.B16, V22.B16
	VEOR	V23.B16, V23.B16, V23.B16

	// Four k steps per iteration, then one at a time.
	CMP	$4, R3
	BLT	tail

loop4:
	KSTEP
	KSTEP
	KSTEP
	KSTEP
	SUB	$4, R3, R3
	CMP	$4, R3
	BGE	loop4

tail:
	CBZ	R3, store

loop1:
	KSTEP
	SUB	$1, R3, R3
	CBNZ	R3, loop1

store:
	MOVD	R2, R5
	CROW(0, 1, 2, 3)
	CROW(4, 5, 6, 7)
	CROW(8, 9, 10, 11)
	CROW(12, 13, 14, 15)
	CROW(16, 17, 18, 19)
	CROW(20, 21, 22, 23)
	RET
