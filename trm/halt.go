package trm

import "fmt"

// ShouldHalt is TRM's halting rule (spec §2): after its step-th supervision
// step a sample stops when its halting logit says so (qHalt > 0) or when it
// has had maxSteps steps. Training, evaluation and inference all use it;
// training adds random exploration on top (see train.Trainer).
func ShouldHalt(step, maxSteps int, qHalt float32) bool {
	return step >= maxSteps || qHalt > 0
}

// HaltMode selects when evaluation and inference stop a sample.
type HaltMode string

// The halting modes (spec §2).
const (
	// HaltFull always runs all supervision steps, ignoring the halting
	// head: what the official evaluation does and the published numbers use.
	HaltFull HaltMode = "full"
	// HaltEarly stops each sample by ShouldHalt: at the first step whose
	// q_halt > 0, at the last step at the latest. What a server wants.
	HaltEarly HaltMode = "early"
)

// ParseHaltMode accepts "full" or "early".
func ParseHaltMode(s string) (HaltMode, error) {
	switch HaltMode(s) {
	case HaltFull, HaltEarly:
		return HaltMode(s), nil
	}
	return "", fmt.Errorf("halt mode %q, want %q or %q", s, HaltFull, HaltEarly)
}

// Stops reports whether mode stops a sample after its step-th supervision
// step of at most maxSteps, given its halting logit qHalt.
func (mode HaltMode) Stops(step, maxSteps int, qHalt float32) bool {
	if mode == HaltEarly {
		return ShouldHalt(step, maxSteps, qHalt)
	}
	return step >= maxSteps
}
