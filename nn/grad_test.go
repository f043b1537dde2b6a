package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trm-go/trm/tensor"
)

// gradCase is one op (or composition) to check: tape builds it on the tape
// from input nodes, ref computes the same output in float64.
type gradCase struct {
	name   string
	shapes [][]int
	tape   func(t *Tape, in []*Node) *Node
	ref    func(in [][]float64) []float64
	// fill, when set, draws input i's values (default: standard normal).
	fill func(i int, rng *rand.Rand, x []float32)
	// grads, when set, returns the gradient of input i in place of the
	// input node's Grad (for layers whose weights are Params).
	grads func(i int, in *Node) []float32
	// sample, when > 0, limits the finite-difference check to that many
	// random elements per input (for the costly layer compositions).
	sample int
}

func toF64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

func randF32(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// relErr returns max|got − want| / max(max|want|, floor).
func relErr(got []float32, want []float64, floor float64) float64 {
	scale, diff := floor, 0.0
	for i, w := range want {
		scale = math.Max(scale, math.Abs(w))
		d := math.Abs(float64(got[i]) - w)
		if d > diff || d != d {
			diff = d
		}
	}
	return diff / scale
}

// checkGradCase runs the op forward on the tape, compares the value with the
// float64 reference, takes the gradient of Σ out ⊙ w for a random w and
// compares it with central finite differences of the reference.
//
// With twice, the op is applied twice to the same inputs and the results
// summed, so that each input's gradient is first written, then accumulated:
// both paths of every backward function run.
func checkGradCase(t *testing.T, rng *rand.Rand, c gradCase, twice bool) {
	t.Helper()
	if twice {
		tape, ref := c.tape, c.ref
		c.tape = func(t *Tape, in []*Node) *Node { return t.Add(tape(t, in), tape(t, in)) }
		c.ref = func(in [][]float64) []float64 { return refScale(ref(in), 2) }
	}
	ins := make([][]float32, len(c.shapes))
	tp := NewTape()
	nodes := make([]*Node, len(c.shapes))
	for i, sh := range c.shapes {
		ins[i] = make([]float32, tensor.Size(sh))
		if c.fill != nil {
			c.fill(i, rng, ins[i])
		} else {
			copy(ins[i], randF32(rng, len(ins[i])))
		}
		nodes[i] = tp.Var(tensor.FromSlice(ins[i], sh...))
	}
	out := c.tape(tp, nodes)
	in64 := make([][]float64, len(ins))
	for i := range ins {
		in64[i] = toF64(ins[i])
	}
	want := c.ref(in64)
	require.Len(t, out.Value.Data, len(want), "%s: output size", c.name)
	require.LessOrEqual(t, relErr(out.Value.Data, want, 1e-3), 1e-4, "%s: forward value", c.name)

	w := randF32(rng, len(want))
	loss := tp.Sum(tp.Mul(out, tp.Const(tensor.FromSlice(w, out.Shape()...))))
	tp.Backward(loss)

	refLoss := func() float64 {
		y := c.ref(in64)
		s := 0.0
		for i, v := range y {
			s += v * float64(w[i])
		}
		return s
	}
	const h = 1e-5
	for i := range ins {
		fd := make([]float64, len(ins[i]))
		g := nodes[i].Grad.Data
		if c.grads != nil {
			g = c.grads(i, nodes[i])
		}
		if g == nil {
			g = make([]float32, len(fd)) // no gradient reached the input
		}
		idx := make([]int, len(fd))
		for j := range idx {
			idx[j] = j
		}
		if c.sample > 0 && c.sample < len(idx) {
			rng.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
			idx = idx[:c.sample]
			g2, fd2 := make([]float32, len(idx)), make([]float64, len(idx))
			for k, j := range idx {
				g2[k] = g[j]
				fd2[k] = numDeriv(in64[i], j, h, refLoss)
			}
			require.LessOrEqual(t, relErr(g2, fd2, 1e-6), 1e-3, "%s: gradient of input %d (shape %v, %d sampled)", c.name, i, c.shapes[i], len(idx))
			continue
		}
		for j := range fd {
			x0 := in64[i][j]
			in64[i][j] = x0 + h
			lp := refLoss()
			in64[i][j] = x0 - h
			lm := refLoss()
			in64[i][j] = x0
			fd[j] = (lp - lm) / (2 * h)
		}
		require.LessOrEqual(t, relErr(g, fd, 1e-6), 1e-3, "%s: gradient of input %d (shape %v)", c.name, i, c.shapes[i])
	}
}

// numDeriv returns the central difference of f with respect to x[j].
func numDeriv(x []float64, j int, h float64, f func() float64) float64 {
	x0 := x[j]
	x[j] = x0 + h
	lp := f()
	x[j] = x0 - h
	lm := f()
	x[j] = x0
	return (lp - lm) / (2 * h)
}

// randDim returns a size in [lo, hi].
func randDim(rng *rand.Rand, lo, hi int) int { return lo + rng.IntN(hi-lo+1) }

// TestGradients checks every op's backward pass against central finite
// differences of a float64 reference, on 3 random shape sets (1 with -short,
// which CI uses under qemu).
func TestGradients(t *testing.T) {
	trials := 3
	if testing.Short() {
		trials = 1
	}
	testGradients(t, trials)
}

// TestGradientsParallelParts reruns the gradient checks with the row ops
// split into tiny parts on 3 workers, so that every part boundary case of
// the parallel paths runs.
func TestGradientsParallelParts(t *testing.T) {
	prevMin, prevW := parMinWork, tensor.Workers()
	parMinWork = 5
	tensor.SetWorkers(3)
	defer func() { parMinWork = prevMin; tensor.SetWorkers(prevW) }()
	testGradients(t, 1)
	TestGoldenBlocks(t)
}

func testGradients(t *testing.T, trials int) {
	rng := rand.New(rand.NewPCG(7, 11))
	for trial := range trials {
		b, s := randDim(rng, 1, 3), randDim(rng, 2, 7)
		in, out := randDim(rng, 1, 9), randDim(rng, 1, 9)
		v := randDim(rng, 2, 7)
		heads, hd := randDim(rng, 1, 3), 2*randDim(rng, 1, 3)
		d := heads * hd
		ids := make([]int32, b*s)
		for i := range ids {
			ids[i] = int32(rng.IntN(v))
		}
		labels := make([]int32, b*s)
		for i := range labels {
			labels[i] = int32(rng.IntN(v))
			if rng.IntN(4) == 0 {
				labels[i] = IgnoreLabel
			}
		}
		targets := make([]float32, b)
		for i := range targets {
			targets[i] = float32(rng.IntN(2))
		}
		rope := NewRoPE(hd, s+rng.IntN(3), 10000)
		expansion := 1 + rng.Float64()
		interD := InterSize(expansion, d)
		interS := InterSize(expansion, s)

		cases := []gradCase{
			{name: "Linear", shapes: [][]int{{b, s, in}, {out, in}},
				tape: func(t *Tape, x []*Node) *Node { return t.Linear(x[0], x[1], nil) },
				ref:  func(x [][]float64) []float64 { return refLinear(x[0], x[1], nil, b*s, in, out) }},
			{name: "LinearBias", shapes: [][]int{{b * s, in}, {out, in}, {out}},
				tape: func(t *Tape, x []*Node) *Node { return t.Linear(x[0], x[1], x[2]) },
				ref:  func(x [][]float64) []float64 { return refLinear(x[0], x[1], x[2], b*s, in, out) }},
			{name: "Add", shapes: [][]int{{b, s, in}, {b, s, in}},
				tape: func(t *Tape, x []*Node) *Node { return t.Add(x[0], x[1]) },
				ref:  func(x [][]float64) []float64 { return refAdd(x[0], x[1]) }},
			{name: "AddBroadcast", shapes: [][]int{{b, s, in}, {s, in}},
				tape: func(t *Tape, x []*Node) *Node { return t.Add(x[0], x[1]) },
				ref:  func(x [][]float64) []float64 { return refAdd(x[0], x[1]) }},
			{name: "AddSelf", shapes: [][]int{{b, in}},
				tape: func(t *Tape, x []*Node) *Node { return t.Add(x[0], x[0]) },
				ref:  func(x [][]float64) []float64 { return refAdd(x[0], x[0]) }},
			{name: "Mul", shapes: [][]int{{b, s, in}, {b, s, in}},
				tape: func(t *Tape, x []*Node) *Node { return t.Mul(x[0], x[1]) },
				ref:  func(x [][]float64) []float64 { return refMul(x[0], x[1]) }},
			{name: "Scale", shapes: [][]int{{b, s, in}},
				tape: func(t *Tape, x []*Node) *Node { return t.Scale(x[0], -1.75) },
				ref:  func(x [][]float64) []float64 { return refScale(x[0], -1.75) }},
			{name: "Embedding", shapes: [][]int{{v, in}},
				tape: func(t *Tape, x []*Node) *Node { return t.Embedding(x[0], ids, 2.5) },
				ref: func(x [][]float64) []float64 {
					y := make([]float64, 0, len(ids)*in)
					for _, id := range ids {
						y = append(y, refScale(x[0][int(id)*in:(int(id)+1)*in], 2.5)...)
					}
					return y
				}},
			{name: "RMSNorm", shapes: [][]int{{b, s, in}},
				tape: func(t *Tape, x []*Node) *Node { return t.RMSNorm(x[0], RMSEps) },
				ref:  func(x [][]float64) []float64 { return refRMSNorm(x[0], in, RMSEps) }},
			{name: "AddRMSNorm", shapes: [][]int{{b, s, in}, {b, s, in}},
				tape: func(t *Tape, x []*Node) *Node { return t.AddRMSNorm(x[0], x[1], RMSEps) },
				ref:  func(x [][]float64) []float64 { return refRMSNorm(refAdd(x[0], x[1]), in, RMSEps) }},
			{name: "SiLU", shapes: [][]int{{b, s, in}},
				tape: func(t *Tape, x []*Node) *Node { return t.SiLU(x[0]) },
				ref:  func(x [][]float64) []float64 { return refSiLU(x[0]) }},
			{name: "SwiGLU", shapes: [][]int{{b, s, 2 * in}},
				tape: func(t *Tape, x []*Node) *Node { return t.SwiGLU(x[0]) },
				ref:  func(x [][]float64) []float64 { return refSwiGLU(x[0], 2*in) }},
			{name: "MixLinear", shapes: [][]int{{b, s, in}, {out, s}},
				tape: func(t *Tape, x []*Node) *Node { return t.MixLinear(x[0], x[1]) },
				ref: func(x [][]float64) []float64 {
					y := refLinear(refTranspose(x[0], s, in), x[1], nil, b*in, s, out)
					return refTranspose(y, in, out)
				}},
			{name: "SwiGLURows", shapes: [][]int{{b, 2 * s, in}},
				tape: func(t *Tape, x []*Node) *Node { return t.SwiGLURows(x[0]) },
				ref: func(x [][]float64) []float64 {
					return refTranspose(refSwiGLU(refTranspose(x[0], 2*s, in), 2*s), in, s)
				}},
			{name: "SwiGLULinear", shapes: [][]int{{b, s, 2 * in}, {out, in}, {out}},
				tape: func(t *Tape, x []*Node) *Node { return t.SwiGLULinear(x[0], x[1], x[2]) },
				ref: func(x [][]float64) []float64 {
					return refLinear(refSwiGLU(x[0], 2*in), x[1], x[2], b*s, in, out)
				}},
			{name: "SwiGLURowsMixLinear", shapes: [][]int{{b, 2 * s, in}, {out, s}},
				tape: func(t *Tape, x []*Node) *Node { return t.SwiGLURowsMixLinear(x[0], x[1]) },
				ref: func(x [][]float64) []float64 {
					h := refTranspose(refSwiGLU(refTranspose(x[0], 2*s, in), 2*s), in, s) // [b, s, in]
					y := refLinear(refTranspose(h, s, in), x[1], nil, b*in, s, out)
					return refTranspose(y, in, out)
				}},
			{name: "AddRMSNormCols", shapes: [][]int{{b, s, in}, {b, s, in}},
				tape: func(t *Tape, x []*Node) *Node { return t.AddRMSNormCols(x[0], x[1], RMSEps) },
				ref: func(x [][]float64) []float64 {
					sum := refTranspose(refAdd(x[0], x[1]), s, in)
					return refTranspose(refRMSNorm(sum, s, RMSEps), in, s)
				}},
			{name: "Transpose", shapes: [][]int{{b, s, in}},
				tape: func(t *Tape, x []*Node) *Node { return t.Transpose(x[0]) },
				ref:  func(x [][]float64) []float64 { return refTranspose(x[0], s, in) }},
			{name: "Reshape", shapes: [][]int{{b, s, in}},
				tape: func(t *Tape, x []*Node) *Node { return t.SiLU(t.Reshape(x[0], -1, in*s)) },
				ref:  func(x [][]float64) []float64 { return refSiLU(x[0]) }},
			{name: "Slice", shapes: [][]int{{b, s + 2, in}},
				tape: func(t *Tape, x []*Node) *Node { return t.Slice(x[0], 1, 1, s+1) },
				ref: func(x [][]float64) []float64 {
					var y []float64
					for i := range b {
						y = append(y, x[0][(i*(s+2)+1)*in:(i*(s+2)+s+1)*in]...)
					}
					return y
				}},
			{name: "Concat", shapes: [][]int{{b, 2, in}, {b, s, in}},
				tape: func(t *Tape, x []*Node) *Node { return t.Concat(1, x[0], x[1]) },
				ref: func(x [][]float64) []float64 {
					var y []float64
					for i := range b {
						y = append(y, x[0][i*2*in:(i+1)*2*in]...)
						y = append(y, x[1][i*s*in:(i+1)*s*in]...)
					}
					return y
				}},
			{name: "RoPE", shapes: [][]int{{b, s, heads, hd}},
				tape: func(t *Tape, x []*Node) *Node { return t.RoPE(x[0], rope) },
				ref: func(x [][]float64) []float64 {
					y := make([]float64, 0, len(x[0]))
					for i := 0; i < len(x[0]); i += hd {
						y = append(y, refRotate(x[0][i:i+hd], (i/(hd*heads))%s, 10000)...)
					}
					return y
				}},
			{name: "Attention", shapes: [][]int{{b, s, 3 * d}},
				tape: func(t *Tape, x []*Node) *Node { return t.Attention(x[0], heads, nil) },
				ref:  func(x [][]float64) []float64 { return refAttention(x[0], b, s, d, heads, 0) }},
			{name: "AttentionRoPE", shapes: [][]int{{b, s, 3 * d}},
				tape: func(t *Tape, x []*Node) *Node { return t.Attention(x[0], heads, rope) },
				ref:  func(x [][]float64) []float64 { return refAttention(x[0], b, s, d, heads, 10000) }},
			{name: "Sum", shapes: [][]int{{b, s, in}},
				tape: func(t *Tape, x []*Node) *Node { return t.Sum(x[0]) },
				ref: func(x [][]float64) []float64 {
					s := 0.0
					for _, v := range x[0] {
						s += v
					}
					return []float64{s}
				}},
			{name: "Mean", shapes: [][]int{{b, s, in}},
				tape: func(t *Tape, x []*Node) *Node { return t.Mean(x[0]) },
				ref: func(x [][]float64) []float64 {
					s := 0.0
					for _, v := range x[0] {
						s += v
					}
					return []float64{s / float64(len(x[0]))}
				}},
			{name: "StablemaxCE", shapes: [][]int{{b, s, v}},
				tape: func(t *Tape, x []*Node) *Node { return t.StablemaxCE(x[0], labels) },
				ref:  func(x [][]float64) []float64 { return refCE(x[0], labels, b, s, v, true) }},
			{name: "SoftmaxCE", shapes: [][]int{{b, s, v}},
				tape: func(t *Tape, x []*Node) *Node { return t.SoftmaxCE(x[0], labels) },
				ref:  func(x [][]float64) []float64 { return refCE(x[0], labels, b, s, v, false) }},
			{name: "BCEWithLogits", shapes: [][]int{{b}},
				tape: func(t *Tape, x []*Node) *Node { return t.BCEWithLogits(x[0], targets) },
				ref:  func(x [][]float64) []float64 { return refBCE(x[0], toF64(targets)) }},
			{name: "SwiGLUMLP", shapes: [][]int{{b, s, d}, {2 * interD, d}, {d, interD}},
				tape: func(t *Tape, x []*Node) *Node {
					return t.Linear(t.SwiGLU(t.Linear(x[0], x[1], nil)), x[2], nil)
				},
				ref:    func(x [][]float64) []float64 { return refSwiGLUMLP(x[0], x[1], x[2], b*s, d, interD) },
				sample: 48},
			{name: "BlockAttn", shapes: [][]int{{b, s, d}, {3 * d, d}, {d, d}, {2 * interD, d}, {d, interD}},
				tape:  blockCase(BlockConfig{Variant: VariantAttn, Hidden: d, Heads: heads, Expansion: expansion, Seq: s}, rope),
				grads: blockGrads,
				ref: func(x [][]float64) []float64 {
					return refBlock(x[0], x[1:], b, s, d, heads, VariantAttn, 10000, expansion)
				},
				fill: scaledFill(), sample: 24},
			{name: "BlockMLP", shapes: [][]int{{b, s, d}, {2 * interS, s}, {s, interS}, {2 * interD, d}, {d, interD}},
				tape:  blockCase(BlockConfig{Variant: VariantMLP, Hidden: d, Expansion: expansion, Seq: s}, nil),
				grads: blockGrads,
				ref: func(x [][]float64) []float64 {
					return refBlock(x[0], x[1:], b, s, d, heads, VariantMLP, 0, expansion)
				},
				fill: scaledFill(), sample: 24},
			{name: "BlockMLPColumns", shapes: [][]int{{b, s, d}, {2 * interS, s}, {s, interS}, {2 * interD, d}, {d, interD}},
				tape: func(t *Tape, x []*Node) *Node {
					// The sequence MLP on h as it lies at every size.
					prev := mixerColumnsMin
					mixerColumnsMin = 0
					defer func() { mixerColumnsMin = prev }()
					return blockCase(BlockConfig{Variant: VariantMLP, Hidden: d, Expansion: expansion, Seq: s}, nil)(t, x)
				},
				grads: blockGrads,
				ref: func(x [][]float64) []float64 {
					return refBlock(x[0], x[1:], b, s, d, heads, VariantMLP, 0, expansion)
				},
				fill: scaledFill(), sample: 24},
		}
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s/%d", c.name, trial), func(t *testing.T) {
				checkGradCase(t, rng, c, false)
			})
			if c.grads == nil {
				t.Run(fmt.Sprintf("%s/%d/twice", c.name, trial), func(t *testing.T) {
					checkGradCase(t, rng, c, true)
				})
			}
		}
	}
}

// scaledFill draws the block test's weights with LeCun-like scales so that
// activations stay in a well-conditioned range.
func scaledFill() func(int, *rand.Rand, []float32) {
	return func(i int, rng *rand.Rand, x []float32) {
		for j := range x {
			x[j] = float32(rng.NormFloat64())
		}
		if i > 0 {
			s := float32(1 / math.Sqrt(float64(len(x))) * 4)
			for j := range x {
				x[j] *= s
			}
		}
	}
}

// testBlock is the block under test in blockCase (tests run sequentially).
var testBlock *Block

// blockCase returns a tape function that builds a Block with cfg, loads its
// parameters from inputs 1.. (in Params order) and applies it to input 0.
func blockCase(cfg BlockConfig, rope *RoPE) func(t *Tape, x []*Node) *Node {
	return func(t *Tape, x []*Node) *Node {
		b, err := NewBlock("layers.0", cfg, rope, nil)
		if err != nil {
			panic(err)
		}
		for i, p := range b.Params() {
			copy(p.Value.Data, x[i+1].Value.Data)
		}
		testBlock = b
		return b.Forward(t, x[0])
	}
}

func blockGrads(i int, in *Node) []float32 {
	if i == 0 {
		return in.Grad.Data
	}
	return testBlock.Params()[i-1].Grad.Data
}
