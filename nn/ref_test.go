package nn

import "math"

// Plain float64 reference implementations of every op, written
// independently of the tape code. The gradient tests differentiate them by
// central finite differences and compare with the tape's backward pass.

func refLinear(x, w, b []float64, m, in, out int) []float64 {
	y := make([]float64, m*out)
	for i := range m {
		for o := range out {
			s := 0.0
			if b != nil {
				s = b[o]
			}
			for k := range in {
				s += x[i*in+k] * w[o*in+k]
			}
			y[i*out+o] = s
		}
	}
	return y
}

func refAdd(a, b []float64) []float64 {
	y := make([]float64, len(a))
	for i := range a {
		y[i] = a[i] + b[i%len(b)]
	}
	return y
}

func refMul(a, b []float64) []float64 {
	y := make([]float64, len(a))
	for i := range a {
		y[i] = a[i] * b[i]
	}
	return y
}

func refScale(a []float64, s float64) []float64 {
	y := make([]float64, len(a))
	for i := range a {
		y[i] = a[i] * s
	}
	return y
}

func refRMSNorm(x []float64, cols int, eps float64) []float64 {
	y := make([]float64, len(x))
	for r := 0; r < len(x); r += cols {
		ss := 0.0
		for _, v := range x[r : r+cols] {
			ss += v * v
		}
		f := 1 / math.Sqrt(ss/float64(cols)+eps)
		for j := range cols {
			y[r+j] = x[r+j] * f
		}
	}
	return y
}

func refSiLU1(v float64) float64 { return v / (1 + math.Exp(-v)) }

func refSiLU(x []float64) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = refSiLU1(v)
	}
	return y
}

func refSwiGLU(x []float64, cols int) []float64 {
	inter := cols / 2
	rows := len(x) / cols
	y := make([]float64, rows*inter)
	for r := range rows {
		for j := range inter {
			y[r*inter+j] = refSiLU1(x[r*cols+j]) * x[r*cols+inter+j]
		}
	}
	return y
}

func refTranspose(x []float64, rows, cols int) []float64 {
	y := make([]float64, len(x))
	for b := 0; b < len(x); b += rows * cols {
		for i := range rows {
			for j := range cols {
				y[b+j*rows+i] = x[b+i*cols+j]
			}
		}
	}
	return y
}

// refRotate applies rotate-half RoPE with angles pos·θ^(−2i/hd) computed
// from scratch in float64.
func refRotate(x []float64, pos int, theta float64) []float64 {
	hd := len(x)
	half := hd / 2
	y := make([]float64, hd)
	for i := range half {
		a := float64(pos) * math.Pow(theta, -float64(2*i)/float64(hd))
		c, s := math.Cos(a), math.Sin(a)
		y[i] = x[i]*c - x[half+i]*s
		y[half+i] = x[half+i]*c + x[i]*s
	}
	return y
}

// refAttention: qkv [B, S, 3D] → [B, S, D]; theta 0 means no RoPE.
func refAttention(qkv []float64, bsz, seq, d, heads int, theta float64) []float64 {
	hd := d / heads
	y := make([]float64, bsz*seq*d)
	vec := func(b, s, part, h int) []float64 {
		off := (b*seq+s)*3*d + part*d + h*hd
		return qkv[off : off+hd]
	}
	for b := range bsz {
		for h := range heads {
			q := make([][]float64, seq)
			k := make([][]float64, seq)
			for s := range seq {
				q[s], k[s] = vec(b, s, 0, h), vec(b, s, 1, h)
				if theta != 0 {
					q[s], k[s] = refRotate(q[s], s, theta), refRotate(k[s], s, theta)
				}
			}
			for i := range seq {
				sc := make([]float64, seq)
				m := math.Inf(-1)
				for j := range seq {
					dot := 0.0
					for e := range hd {
						dot += q[i][e] * k[j][e]
					}
					sc[j] = dot / math.Sqrt(float64(hd))
					m = math.Max(m, sc[j])
				}
				tot := 0.0
				for j := range sc {
					sc[j] = math.Exp(sc[j] - m)
					tot += sc[j]
				}
				for j := range seq {
					v := vec(b, j, 2, h)
					for e := range hd {
						y[(b*seq+i)*d+h*hd+e] += sc[j] / tot * v[e]
					}
				}
			}
		}
	}
	return y
}

func refStablemax(v float64) float64 {
	if v < 0 {
		return 1 / (1 - v)
	}
	return v + 1
}

// refCE: logits [B, S, V] → per-sequence mean over labelled positions.
func refCE(x []float64, labels []int32, bsz, seq, voc int, stable bool) []float64 {
	y := make([]float64, bsz)
	for b := range bsz {
		n := 0
		for s := range seq {
			l := labels[b*seq+s]
			if l == IgnoreLabel {
				continue
			}
			n++
			row := x[(b*seq+s)*voc : (b*seq+s+1)*voc]
			tot := 0.0
			for _, v := range row {
				if stable {
					tot += refStablemax(v)
				} else {
					tot += math.Exp(v)
				}
			}
			if stable {
				y[b] -= math.Log(refStablemax(row[l]) / tot)
			} else {
				y[b] -= row[l] - math.Log(tot)
			}
		}
		if n > 0 {
			y[b] /= float64(n)
		}
	}
	return y
}

func refBCE(x, t []float64) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		p := 1 / (1 + math.Exp(-v))
		y[i] = -(t[i]*math.Log(p) + (1-t[i])*math.Log(1-p))
	}
	return y
}

// refSwiGLUMLP: down(swiglu(gate_up(x))) over rows of x [m, in].
func refSwiGLUMLP(x, gu, down []float64, m, in, inter int) []float64 {
	h := refSwiGLU(refLinear(x, gu, nil, m, in, 2*inter), 2*inter)
	return refLinear(h, down, nil, m, inter, in)
}

// refBlock applies one TRM block to h [B, S, D] with weights named as in
// Block.Params order (attn: qkv, o, gate_up, down; mlp: t_gate_up, t_down,
// gate_up, down).
func refBlock(h []float64, w [][]float64, bsz, seq, d, heads int, variant Variant, theta, expansion float64) []float64 {
	inter := InterSize(expansion, d)
	if variant == VariantAttn {
		qkv := refLinear(h, w[0], nil, bsz*seq, d, 3*d)
		a := refLinear(refAttention(qkv, bsz, seq, d, heads, theta), w[1], nil, bsz*seq, d, d)
		h = refRMSNorm(refAdd(h, a), d, RMSEps)
	} else {
		interT := InterSize(expansion, seq)
		ht := refTranspose(h, seq, d)
		ht = refRMSNorm(refAdd(ht, refSwiGLUMLP(ht, w[0], w[1], bsz*d, seq, interT)), seq, RMSEps)
		h = refTranspose(ht, d, seq)
	}
	return refRMSNorm(refAdd(h, refSwiGLUMLP(h, w[2], w[3], bsz*seq, d, inter)), d, RMSEps)
}
