package task

import "fmt"

// Score accumulates evaluation results: token accuracy over labelled
// positions and exact (whole-answer) accuracy.
type Score struct {
	Examples, Solved   int
	Tokens, TokensGood int
}

// Add scores one prediction for ex (exactness by t.Verify).
func (s *Score) Add(t Task, ex Example, pred []int32) {
	s.Examples++
	if t.Verify(ex, pred) {
		s.Solved++
	}
	for i, l := range ex.Label {
		if l == IgnoreLabel {
			continue
		}
		s.Tokens++
		if i < len(pred) && pred[i] == l {
			s.TokensGood++
		}
	}
}

// Merge adds the counts of o to s.
func (s *Score) Merge(o Score) {
	s.Examples += o.Examples
	s.Solved += o.Solved
	s.Tokens += o.Tokens
	s.TokensGood += o.TokensGood
}

// ExactAcc returns the fraction of examples solved (0 when empty).
func (s Score) ExactAcc() float64 { return ratio(s.Solved, s.Examples) }

// TokenAcc returns the fraction of labelled tokens predicted right.
func (s Score) TokenAcc() float64 { return ratio(s.TokensGood, s.Tokens) }

// String renders the score as "exact 97.50% (195/200), token 99.10%".
func (s Score) String() string {
	return fmt.Sprintf("exact %.2f%% (%d/%d), token %.2f%%", 100*s.ExactAcc(), s.Solved, s.Examples, 100*s.TokenAcc())
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
