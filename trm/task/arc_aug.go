package task

import (
	"crypto/sha256"
	"fmt"
)

// ARC augmentations and the canvas encoding (the official builder's
// facts; see the Arc doc comment).

// ARC token ids: 0 pad, 1 the end-of-grid marker, colour c is c + 2.
const (
	ARCPad      = 0
	ARCEnd      = 1
	ARCColour0  = 2
	ARCVocab    = 12
	arcSeqLen   = ARCMaxSize * ARCMaxSize
	arcIDSep    = "|||"
	arcNumTrans = 8
)

// ARCDihedralInverse[t] is the dihedral transform that undoes transform t.
var ARCDihedralInverse = [arcNumTrans]int{0, 3, 2, 1, 4, 5, 6, 7}

// ARCDihedral applies dihedral transform t (0..7) to g: 0 identity, 1 a
// quarter turn anticlockwise (numpy rot90), 2 a half turn, 3 three quarter
// turns, 4 a left-right mirror, 5 an up-down mirror, 6 the transpose, 7 the
// anti-transpose (mirror of 1), as the official builder numbers them.
func ARCDihedral(g ARCGrid, t int) ARCGrid {
	H, W := g.H, g.W
	oh, ow := H, W
	if t == 1 || t == 3 || t == 6 || t == 7 {
		oh, ow = W, H
	}
	out := ARCGrid{H: oh, W: ow, Cells: make([]uint8, len(g.Cells))}
	for i := range oh {
		for j := range ow {
			var r, c int
			switch t {
			case 0:
				r, c = i, j
			case 1:
				r, c = j, W-1-i
			case 2:
				r, c = H-1-i, W-1-j
			case 3:
				r, c = H-1-j, i
			case 4:
				r, c = i, W-1-j
			case 5:
				r, c = H-1-i, j
			case 6:
				r, c = j, i
			case 7:
				r, c = H-1-j, W-1-i
			default:
				panic(fmt.Sprintf("task: dihedral transform %d, want 0..7", t))
			}
			out.Cells[i*ow+j] = g.Cells[r*W+c]
		}
	}
	return out
}

// ARCAug is one augmentation of an ARC puzzle: colours mapped by Map
// (Map[0] = 0; 1..9 permuted), then dihedral transform Trans.
type ARCAug struct {
	Trans int
	Map   [10]uint8
}

// ARCIdentity is the augmentation that changes nothing.
var ARCIdentity = ARCAug{Map: [10]uint8{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}}

// Apply returns g augmented: colours mapped, then transformed.
func (a ARCAug) Apply(g ARCGrid) ARCGrid {
	m := ARCGrid{H: g.H, W: g.W, Cells: make([]uint8, len(g.Cells))}
	for i, c := range g.Cells {
		m.Cells[i] = a.Map[c]
	}
	return ARCDihedral(m, a.Trans)
}

// Invert returns g with the augmentation undone: the inverse transform,
// then the inverse colour map.
func (a ARCAug) Invert(g ARCGrid) ARCGrid {
	var inv [10]uint8
	for c, m := range a.Map {
		inv[m] = uint8(c)
	}
	out := ARCDihedral(g, ARCDihedralInverse[a.Trans])
	for i, c := range out.Cells {
		out.Cells[i] = inv[c]
	}
	return out
}

// Name returns the official name of the augmented puzzle of task id:
// "<id>|||t<trans>|||<the 10 digits of Map>", or id for the identity
// puzzle (the un-augmented original).
func (a ARCAug) Name(id string) string {
	b := []byte(fmt.Sprintf("%s%st%d%s", id, arcIDSep, a.Trans, arcIDSep))
	for _, m := range a.Map {
		b = append(b, '0'+m)
	}
	return string(b)
}

// ARCEncode writes grid g into dst (900 tokens) as the official builder
// does: g's colours + 2 in a 30×30 canvas at row padR, column padC, the
// end-of-grid marker on the row below the grid (under its columns) and in
// the column right of it (beside its rows) where they fit, 0 elsewhere.
// It panics if the grid does not fit (a programming error: the callers
// choose padR, padC from the grid sizes).
func ARCEncode(dst []int32, g ARCGrid, padR, padC int) {
	if len(dst) != arcSeqLen || padR < 0 || padC < 0 || padR+g.H > ARCMaxSize || padC+g.W > ARCMaxSize {
		panic(fmt.Sprintf("task: ARCEncode of a %d×%d grid at (%d, %d) into %d tokens", g.H, g.W, padR, padC, len(dst)))
	}
	clear(dst)
	for r := range g.H {
		for c := range g.W {
			dst[(padR+r)*ARCMaxSize+padC+c] = int32(g.At(r, c)) + ARCColour0
		}
	}
	if er := padR + g.H; er < ARCMaxSize {
		for c := padC; c < padC+g.W; c++ {
			dst[er*ARCMaxSize+c] = ARCEnd
		}
	}
	if ec := padC + g.W; ec < ARCMaxSize {
		for r := padR; r < padR+g.H; r++ {
			dst[r*ARCMaxSize+ec] = ARCEnd
		}
	}
}

// ARCCrop reads a grid back from 900 tokens as the official evaluator
// does: the largest-area rectangle at the top-left corner holding colour
// tokens only, found row by row with a width that only shrinks (each row
// is read up to its first non-colour token or the previous width). A
// sequence whose first token is not a colour gives the empty grid (0×0).
func ARCCrop(seq []int32) ARCGrid {
	best, bh, bw := 0, 0, 0
	nc := ARCMaxSize
	for r := 1; r <= ARCMaxSize && r*ARCMaxSize <= len(seq); r++ {
		for c := 1; c <= nc; c++ {
			if x := seq[(r-1)*ARCMaxSize+c-1]; x < ARCColour0 || x >= ARCVocab {
				nc = c - 1
				break
			}
		}
		if r*nc > best {
			best, bh, bw = r*nc, r, nc
		}
	}
	g := ARCGrid{H: bh, W: bw, Cells: make([]uint8, 0, bh*bw)}
	for r := range bh {
		for c := range bw {
			g.Cells = append(g.Cells, uint8(seq[r*ARCMaxSize+c]-ARCColour0))
		}
	}
	return g
}

// arcGridHash is the official grid hash: SHA-256 of the two sides (one
// byte each) and the cells row by row.
func arcGridHash(g ARCGrid) [32]byte {
	h := sha256.New()
	h.Write([]byte{byte(g.H), byte(g.W)})
	h.Write(g.Cells)
	var s [32]byte
	h.Sum(s[:0])
	return s
}

// npRandom is numpy's legacy global generator (np.random.seed(s), then
// randint, shuffle and permutation): MT19937 seeded with init_genrand and
// masked rejection sampling. The official ARC builder draws every
// augmentation and translation from it, so this port rebuilds its dataset
// exactly.
type npRandom struct {
	mt  [624]uint32
	pos int
}

func newNPRandom(seed uint32) *npRandom {
	r := &npRandom{pos: 624}
	r.mt[0] = seed
	for i := 1; i < 624; i++ {
		r.mt[i] = 1812433253*(r.mt[i-1]^(r.mt[i-1]>>30)) + uint32(i)
	}
	return r
}

func (r *npRandom) uint32() uint32 {
	if r.pos >= 624 {
		const upper, lower = 0x80000000, 0x7fffffff
		for i := range 624 {
			y := r.mt[i]&upper | r.mt[(i+1)%624]&lower
			v := r.mt[(i+397)%624] ^ y>>1
			if y&1 != 0 {
				v ^= 0x9908b0df
			}
			r.mt[i] = v
		}
		r.pos = 0
	}
	y := r.mt[r.pos]
	r.pos++
	y ^= y >> 11
	y ^= y << 7 & 0x9d2c5680
	y ^= y << 15 & 0xefc60000
	y ^= y >> 18
	return y
}

// interval returns a uniform integer in [0, max] by masked rejection
// (numpy's random_interval and bounded masked uint32); max 0 draws nothing.
func (r *npRandom) interval(max uint32) uint32 {
	if max == 0 {
		return 0
	}
	mask := max
	for s := uint(1); s <= 16; s <<= 1 {
		mask |= mask >> s
	}
	for {
		if v := r.uint32() & mask; v <= max {
			return v
		}
	}
}

// randint is np.random.randint(0, n) for n ≥ 1.
func (r *npRandom) randint(n int) int { return int(r.interval(uint32(n - 1))) }

// shuffle is np.random.shuffle of n elements through swap.
func (r *npRandom) shuffle(n int, swap func(i, j int)) {
	for i := n - 1; i > 0; i-- {
		swap(i, int(r.interval(uint32(i))))
	}
}
