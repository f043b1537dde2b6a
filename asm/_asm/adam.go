package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// splatD returns a 32-byte read-only vector holding the float64 v in all
// four lanes.
func splatD(name string, v float64) Mem { return splatBits64(name, math.Float64bits(v)) }

// splatBits64 returns a 32-byte read-only vector holding bits in all four
// 64-bit lanes.
func splatBits64(name string, bits uint64) Mem {
	if m, ok := consts[name]; ok {
		return m
	}
	m := GLOBL(name, RODATA|NOPTR)
	for i := 0; i < 4; i++ {
		DATA(8*i, U64(bits))
	}
	consts[name] = m
	return m
}

// The constants of Go's math.atan (Cephes): xatan's rational function and
// satan's range reduction, with the same float64 values as in package math
// (the untyped constant expressions Pi/2, Pi/4 and 0.5·Morebits rounded once).
const (
	atanP0       = -8.750608600031904122785e-01
	atanP1       = -1.615753718733365076637e+01
	atanP2       = -7.500855792314704667340e+01
	atanP3       = -1.228866684490136173410e+02
	atanP4       = -6.485021904942025371773e+01
	atanQ0       = +2.485846490142306297962e+01
	atanQ1       = +1.650270098316988542046e+02
	atanQ2       = +4.328810604912902668951e+02
	atanQ3       = +4.853903996359136964868e+02
	atanQ4       = +1.945506571482613964425e+02
	atanMorebits = 6.123233995736765886130e-17 // pi/2 = PIO2 + Morebits
	atanTan3pio8 = 2.41421356237309504880      // tan(3*pi/8)
)

// genAdamATan2 emits adamATan2AVX2, four elements per iteration (the
// caller does the n mod 4 rest with the generic loop): the float32 moment
// updates, then atan2(m, √(v·invBC2)) in float64 with the operations of Go's
// math.Atan2 in the same order (no fused multiply-adds, as Go compiles it
// for amd64 below GOAMD64=v3): y/x, satan's three ranges as one division
// num/den with blended operands, xatan's rational function, the sign, and
// math.atan2's special cases blended over the result in the reverse order
// of its switch (so the first case that holds wins). x ≥ +0 always (a
// square root), so its quadrant cases do not arise.
func genAdamATan2() {
	TEXT("adamATan2AVX2", NOSPLIT, "func(w, m, v, g []float32, b1, c1, b2, c2, decay float32, stepSize, invBC2 float64)")
	Pragma("noescape")
	Doc("adamATan2AVX2 applies adamATan2Generic's update to the first len(w) &^ 3 elements;",
		"c1 = 1−b1 and c2 = 1−b2 (float32); len(m), len(v), len(g) >= len(w).")
	n := length("w")
	p := ptrs("w", "m", "v", "g")
	// The scalars are broadcast from the argument frame where they are
	// used, each iteration: held in registers across the loop they would
	// leave too few of the sixteen for the atan2.
	arg := func(name string) Mem {
		b, err := Param(name).Resolve()
		if err != nil {
			panic(err)
		}
		return b.Addr
	}
	bcast := func(name string) VecVirtual {
		r := XMM()
		VBROADCASTSS(arg(name), r)
		return r
	}
	bcastD := func(name string) VecVirtual {
		r := YMM()
		VBROADCASTSD(arg(name), r)
		return r
	}

	SHRQ(Imm(2), n)
	Label("adam_loop")
	CMPQ(n, Imm(0))
	JE(LabelRef("adam_done"))

	// m = b1·m + c1·g; v = b2·v + (c2·g)·g (float32, each product rounded).
	gv, mv, vv, t := XMM(), XMM(), XMM(), XMM()
	VMOVUPS(Mem{Base: p[3]}, gv)
	VMULPS(Mem{Base: p[1]}, bcast("b1"), mv)
	VMULPS(gv, bcast("c1"), t)
	VADDPS(t, mv, mv)
	VMOVUPS(mv, Mem{Base: p[1]})
	VMULPS(Mem{Base: p[2]}, bcast("b2"), vv)
	VMULPS(gv, bcast("c2"), t)
	VMULPS(gv, t, t)
	VADDPS(t, vv, vv)
	VMOVUPS(vv, Mem{Base: p[2]})

	// y = float64(m); x = √(float64(v)·invBC2).
	y, x := YMM(), YMM()
	VCVTPS2PD(mv, y)
	VCVTPS2PD(vv, x)
	VMULPD(bcastD("invBC2"), x, x)
	VSQRTPD(x, x)

	// t = y/x; a = |t|; satan(a) over its three ranges.
	signMask := splatBits64("d_sign", 1<<63)
	sign := YMM()
	VMOVUPD(signMask, sign)
	tq, a := YMM(), YMM()
	VDIVPD(x, y, tq)
	VANDNPD(tq, sign, a) // a = tq &^ sign
	one := splatD("d_one", 1)
	lowM, highM := YMM(), YMM()
	VCMPPD(Imm(2), splatD("d_066", 0.66), a, lowM)                  // a <= 0.66 (LE_OS)
	VCMPPD(Imm(0x1e), splatD("d_tan3pio8", atanTan3pio8), a, highM) // a > Tan3pio8 (GT_OQ)
	// Middle range: num = a−1, den = a+1; low: a/1; high: 1/a.
	num, den := YMM(), YMM()
	VSUBPD(one, a, num)
	VADDPD(one, a, den)
	VBLENDVPD(lowM, a, num, num)
	VBLENDVPD(lowM, one, den, den)
	VBLENDVPD(highM, one, num, num)
	VBLENDVPD(highM, a, den, den)
	at := YMM()
	VDIVPD(den, num, at)

	// xatan(at): z = at²; z = z·P(z) / Q(z); r = at·z + at.
	z, pz, qz := YMM(), YMM(), YMM()
	VMULPD(at, at, z)
	VMULPD(splatD("d_p0", atanP0), z, pz)
	for i, c := range []float64{atanP1, atanP2, atanP3} {
		VADDPD(splatD([]string{"d_p1", "d_p2", "d_p3"}[i], c), pz, pz)
		VMULPD(z, pz, pz)
	}
	VADDPD(splatD("d_p4", atanP4), pz, pz)
	VADDPD(splatD("d_q0", atanQ0), z, qz)
	for i, c := range []float64{atanQ1, atanQ2, atanQ3} {
		VMULPD(z, qz, qz)
		VADDPD(splatD([]string{"d_q1", "d_q2", "d_q3"}[i], c), qz, qz)
	}
	VMULPD(z, qz, qz)
	VADDPD(splatD("d_q4", atanQ4), qz, qz)
	VMULPD(pz, z, z)
	VDIVPD(qz, z, z)
	r := YMM()
	VMULPD(z, at, r)
	VADDPD(at, r, r)

	// Middle: (Pi/4 + r) + Morebits/2; high: (Pi/2 − r) + Morebits.
	mid, high := YMM(), YMM()
	VADDPD(splatD("d_pi4", math.Pi/4), r, mid)
	VADDPD(splatD("d_more2", 0.5*atanMorebits), mid, mid)
	pi2 := YMM()
	VMOVUPD(splatD("d_pi2", math.Pi/2), pi2)
	VSUBPD(r, pi2, high)
	VADDPD(splatD("d_more", atanMorebits), high, high)
	VBLENDVPD(lowM, r, mid, mid)
	VBLENDVPD(highM, high, mid, mid)
	// atan(t) = sign(t)·satan(|t|).
	ts := YMM()
	VANDPD(signMask, tq, ts)
	VXORPD(ts, mid, mid)

	// Special cases, lowest precedence first.
	ys := YMM() // y's sign bit
	VANDPD(signMask, y, ys)
	copysign := func(name string, c float64) VecVirtual {
		out := YMM()
		VORPD(splatD(name, c), ys, out)
		return out
	}
	absY, inf, mask := YMM(), YMM(), YMM()
	VANDNPD(y, sign, absY)
	VMOVUPD(splatBits64("d_inf", 0x7ff0000000000000), inf)
	// y = ±Inf: ±Pi/2.
	yInf := YMM()
	VCMPPD(Imm(0), inf, absY, yInf) // EQ_OQ
	VBLENDVPD(yInf, copysign("d_pi2", math.Pi/2), mid, mid)
	// x = +Inf: ±Pi/4 when y is infinite, else ±0.
	VCMPPD(Imm(0), inf, x, mask)
	q4 := copysign("d_pi4", math.Pi/4)
	VBLENDVPD(yInf, q4, ys, q4) // ys is ±0
	VBLENDVPD(mask, q4, mid, mid)
	// x = 0: ±Pi/2.
	zero := YMM()
	VXORPD(zero, zero, zero)
	VCMPPD(Imm(0), zero, x, mask)
	VBLENDVPD(mask, copysign("d_pi2", math.Pi/2), mid, mid)
	// y = ±0: y.
	VCMPPD(Imm(0), zero, y, mask)
	VBLENDVPD(mask, y, mid, mid)
	// NaN in y or x: math.NaN()'s bits.
	VCMPPD(Imm(3), x, y, mask) // UNORD_Q
	VBLENDVPD(mask, splatBits64("d_nan", 0x7ff8000000000001), mid, mid)

	// w = w·decay − float32(stepSize·u).
	VMULPD(bcastD("stepSize"), mid, mid)
	step, wv := XMM(), XMM()
	VCVTPD2PSY(mid, step)
	VMULPS(Mem{Base: p[0]}, bcast("decay"), wv)
	VSUBPS(step, wv, wv)
	VMOVUPS(wv, Mem{Base: p[0]})

	for _, q := range p {
		ADDQ(Imm(16), q)
	}
	DECQ(n)
	JMP(LabelRef("adam_loop"))
	Label("adam_done")
	VZEROUPPER()
	RET()
}
