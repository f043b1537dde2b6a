package task

import (
	"fmt"
	"strings"
)

// The arithmetic task ("arith"): a + b for whole numbers of up to D digits
// (option "digits", 1..18, default 2; D = 1 gives the single-digit sums of
// the seed, 3 + 7 = 10).
//
// Encoding. L = 3D + 1 positions, every number written least significant
// digit first and zero-padded to a fixed width, so that a carry travels
// left to right along the sequence:
//
//	positions [0, D)       a's digits      (input; label ignored)
//	positions [D, 2D)      b's digits      (input; label ignored)
//	positions [2D, 3D+1)   the D+1 digits of a + b: input blank, label digit
//
// Tokens: 0 pad (reserved, never generated), 1 blank, 2..11 the digits 0..9
// (vocab 12). Example, D = 2, 48 + 75 = 123:
//
//	input  8 4 | 5 7 | _ _ _     → tokens 10 6 7 9 1 1 1
//	label  - - | - - | 3 2 1     → labels -100 -100 -100 -100 5 4 3
//
// Split. Whether a pair belongs to train or test depends only on the
// unordered pair {a, b} (a fixed hash puts 10% of pairs in test), never on
// the seed or on D: a test sum, and its commuted form, never appears in
// training under any seed. The seed only chooses which examples a split
// yields. Operand lengths are drawn uniformly in 1..D, then the operand
// uniformly among numbers of that length, so short sums are not drowned
// out by long ones.
const (
	arithPad   = 0
	arithBlank = 1
	arithDigit = 2 // token of digit 0
	arithVocab = 12

	defaultArithDigits = 2
	maxArithDigits     = 18
	arithTestPercent   = 10
)

func arithSeqLen(digits int) int { return 3*digits + 1 }

func init() {
	Register("arith", fmt.Sprintf("a + b for whole numbers of up to D digits (option digits=1..%d, default %d)",
		maxArithDigits, defaultArithDigits), func(opts Options) (Task, error) {
		if err := opts.CheckKnown("arith", "digits"); err != nil {
			return nil, err
		}
		d, err := opts.Int("arith", "digits", defaultArithDigits, 1, maxArithDigits)
		if err != nil {
			return nil, err
		}
		return NewArith(d), nil
	})
}

// Arith is the arithmetic task; see the encoding above. Create it with
// NewArith or New("arith", ...).
type Arith struct {
	digits int
	pow10  []uint64 // pow10[k] = 10^k, k ≤ digits
}

// NewArith returns the arithmetic task for numbers of up to digits digits.
// It panics unless 1 ≤ digits ≤ 18 (use NewTask to validate user input).
func NewArith(digits int) *Arith {
	if digits < 1 || digits > maxArithDigits {
		panic(fmt.Sprintf("task: NewArith(%d): digits must be in [1, %d]", digits, maxArithDigits))
	}
	p := make([]uint64, digits+1)
	p[0] = 1
	for k := 1; k <= digits; k++ {
		p[k] = p[k-1] * 10
	}
	return &Arith{digits: digits, pow10: p}
}

// Digits returns D, the maximum number of digits of an operand.
func (a *Arith) Digits() int { return a.digits }

// Name implements Task.
func (a *Arith) Name() string { return "arith" }

// Options implements Task.
func (a *Arith) Options() Options { return Options{"digits": fmt.Sprint(a.digits)} }

// VocabSize implements Task: pad, blank and ten digits.
func (a *Arith) VocabSize() int { return arithVocab }

// SeqLen implements Task: 3·digits + 1.
func (a *Arith) SeqLen() int { return arithSeqLen(a.digits) }

// NumPuzzleIDs implements Task: a single id.
func (a *Arith) NumPuzzleIDs() int { return 1 }

// Len implements Task: examples are generated without bound.
func (a *Arith) Len(Split) int { return 0 }

// ArithSplit reports which split of the arith task the sum x + y belongs
// to. Order does not matter, nor does the task's digit count.
func ArithSplit(x, y uint64) Split {
	lo, hi := min(x, y), max(x, y)
	if mix64(mix64(lo^0x5be0cd19137e2179)+hi)%100 < arithTestPercent {
		return SplitTest
	}
	return SplitTrain
}

// Example implements Task.
func (a *Arith) Example(split Split, seed uint64, i int64) (Example, error) {
	if _, err := ParseSplit(string(split)); err != nil {
		return Example{}, fmt.Errorf("arith: %w", err)
	}
	if i < 0 {
		return Example{}, fmt.Errorf("arith: example index %d, want ≥ 0", i)
	}
	r := ExampleRand(seed, split, i)
	// Rejection sampling: about 10 draws for test, 1.1 for train.
	for range 100000 {
		x, y := a.operand(r), a.operand(r)
		if ArithSplit(x, y) == split {
			return a.encodePair(x, y, true), nil
		}
	}
	return Example{}, fmt.Errorf("arith: split %s holds no sums of %d-digit numbers", split, a.digits)
}

// operand draws a length k in 1..D, then a number of exactly k digits (for
// k = 1 any of 0..9).
func (a *Arith) operand(r *Rand) uint64 {
	k := 1 + r.IntN(a.digits)
	if k == 1 {
		return uint64(r.IntN(10))
	}
	lo := a.pow10[k-1]
	return lo + r.Uint64N(a.pow10[k]-lo)
}

// encodePair builds the example for x + y (labels only when withLabel).
func (a *Arith) encodePair(x, y uint64, withLabel bool) Example {
	D := a.digits
	in := make([]int32, a.SeqLen())
	putDigits(in[0:D], x)
	putDigits(in[D:2*D], y)
	for i := 2 * D; i < len(in); i++ {
		in[i] = arithBlank
	}
	ex := Example{Input: in}
	if withLabel {
		lab := make([]int32, len(in))
		for i := range 2 * D {
			lab[i] = IgnoreLabel
		}
		putDigits(lab[2*D:], x+y)
		ex.Label = lab
	}
	return ex
}

// putDigits writes v least significant digit first, zero-padded to len(dst).
func putDigits(dst []int32, v uint64) {
	for i := range dst {
		dst[i] = arithDigit + int32(v%10)
		v /= 10
	}
}

// readDigits renders tokens written by putDigits as a decimal number
// without leading zeros; a non-digit token shows as '?'.
func readDigits(src []int32) string {
	var b strings.Builder
	for i := len(src) - 1; i >= 0; i-- {
		t := src[i]
		if t >= arithDigit && t < arithDigit+10 {
			b.WriteByte(byte('0' + t - arithDigit))
		} else {
			b.WriteByte('?')
		}
	}
	s := strings.TrimLeft(b.String(), "0")
	if s == "" {
		return "0"
	}
	return s
}

// Encode implements Task. It accepts "a + b" with optional spaces and an
// optional trailing "=", e.g. "3 + 7", "3+7", " 48213 + 99999 ". Given with
// its answer, "a + b = c", it returns a labelled example (for evaluating
// chosen sums); c must be the right sum.
func (a *Arith) Encode(text string) (Example, error) {
	s, answer, labelled := strings.Cut(strings.TrimSpace(text), "=")
	s, answer = strings.TrimSpace(s), strings.TrimSpace(answer)
	labelled = labelled && answer != ""
	left, right, ok := strings.Cut(s, "+")
	if !ok {
		return Example{}, fmt.Errorf("arith: %q: want \"a + b\" with whole numbers of at most %d digits", text, a.digits)
	}
	x, err := a.parseOperand(text, strings.TrimSpace(left))
	if err != nil {
		return Example{}, err
	}
	y, err := a.parseOperand(text, strings.TrimSpace(right))
	if err != nil {
		return Example{}, err
	}
	if labelled {
		if answer != fmt.Sprint(x+y) {
			return Example{}, fmt.Errorf("arith: %q: the answer %q is not the sum %d", text, answer, x+y)
		}
	}
	return a.encodePair(x, y, labelled), nil
}

func (a *Arith) parseOperand(text, s string) (uint64, error) {
	if s == "" {
		return 0, fmt.Errorf("arith: %q: an operand is missing, want \"a + b\"", text)
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("arith: %q: operand %q is not a whole number (digits 0-9 only)", text, s)
		}
	}
	sig := strings.TrimLeft(s, "0")
	if len(sig) > a.digits {
		return 0, fmt.Errorf("arith: %q: operand %s has %d digits, this task adds numbers of at most %d", text, s, len(sig), a.digits)
	}
	var v uint64
	for _, c := range sig {
		v = v*10 + uint64(c-'0')
	}
	return v, nil
}

// Format implements Task: "a + b".
func (a *Arith) Format(ex Example) string {
	D := a.digits
	if len(ex.Input) != a.SeqLen() {
		return "?"
	}
	return readDigits(ex.Input[0:D]) + " + " + readDigits(ex.Input[D:2*D])
}

// Decode implements Task: the sum read from the answer positions.
func (a *Arith) Decode(ex Example, pred []int32) (string, error) {
	if len(pred) != a.SeqLen() {
		return "", fmt.Errorf("arith: prediction has %d tokens, want %d", len(pred), a.SeqLen())
	}
	return readDigits(pred[2*a.digits:]), nil
}

// Answer implements Answerer: the sum's digits, as Decode.
func (a *Arith) Answer(ex Example, pred []int32) (string, error) { return a.Decode(ex, pred) }

// Verify implements Task: exact match of the answer digits.
func (a *Arith) Verify(ex Example, pred []int32) bool { return ExactMatch(ex.Label, pred) }

// CheckAnswer implements Checker: the answer positions of pred must hold
// the digits of a + b, the operands read from ex.Input (known is false
// when an operand position holds a token that is not a digit).
func (a *Arith) CheckAnswer(ex Example, pred []int32) (valid, known bool) {
	D := a.digits
	if len(ex.Input) != a.SeqLen() || len(pred) != a.SeqLen() {
		return false, false
	}
	x, okx := digitsValue(ex.Input[0:D])
	y, oky := digitsValue(ex.Input[D : 2*D])
	if !okx || !oky {
		return false, false
	}
	want := make([]int32, D+1)
	putDigits(want, x+y)
	for i, w := range want {
		if pred[2*D+i] != w {
			return false, true
		}
	}
	return true, true
}

// digitsValue reads tokens written by putDigits (least significant digit
// first) as a number; ok is false if a token is not a digit.
func digitsValue(src []int32) (v uint64, ok bool) {
	for i := len(src) - 1; i >= 0; i-- {
		t := src[i]
		if t < arithDigit || t >= arithDigit+10 {
			return 0, false
		}
		v = v*10 + uint64(t-arithDigit)
	}
	return v, true
}
