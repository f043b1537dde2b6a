package nn

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// The optimizers registered by this package for the dense parameters.
const (
	// OptAdamATan2 is the official TRM optimizer: Adam without ε, the
	// update direction atan2(m̂, √v̂), decoupled weight decay.
	OptAdamATan2 = "adamatan2"
	// OptAdamW is AdamW with decoupled weight decay (what the paper names).
	OptAdamW = "adamw"
)

// OptimizerConfig holds the hyper-parameters an optimizer is built with.
// A factory uses the ones it needs and ignores the others.
type OptimizerConfig struct {
	// Beta1 and Beta2 are the moment decay rates (TRM: 0.9, 0.95).
	Beta1, Beta2 float64
	// Eps is the ε of the update's denominator (AdamW).
	Eps float64
	// WeightDecay is the decoupled weight decay.
	WeightDecay float64
}

// OptimizerFactory builds an optimizer over params. It must check the
// hyper-parameters it uses and return an error naming the bad one, and it
// must accept an empty params (CheckOptimizer builds one to validate a
// configuration).
type OptimizerFactory func(params []*Param, c OptimizerConfig) (Optimizer, error)

var (
	optMu       sync.RWMutex
	optRegistry = map[string]OptimizerFactory{}
)

// RegisterOptimizer makes an optimizer available by name to NewOptimizer,
// and so to training configs ("optimizer": name). It panics if the name is
// empty or taken (a programming error): call it from an init function.
func RegisterOptimizer(name string, f OptimizerFactory) {
	optMu.Lock()
	defer optMu.Unlock()
	if name == "" || f == nil {
		panic("nn: RegisterOptimizer with an empty name or a nil factory")
	}
	if _, dup := optRegistry[name]; dup {
		panic("nn: RegisterOptimizer called twice for " + strconv.Quote(name))
	}
	optRegistry[name] = f
}

// NewOptimizer builds the registered optimizer name over params.
func NewOptimizer(name string, params []*Param, c OptimizerConfig) (Optimizer, error) {
	optMu.RLock()
	f, ok := optRegistry[name]
	optMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("optimizer %q, want one of %s", name, strings.Join(OptimizerNames(), ", "))
	}
	return f(params, c)
}

// CheckOptimizer reports whether name is registered and accepts c.
func CheckOptimizer(name string, c OptimizerConfig) error {
	_, err := NewOptimizer(name, nil, c)
	return err
}

// OptimizerNames lists the registered optimizers, sorted.
func OptimizerNames() []string {
	optMu.RLock()
	defer optMu.RUnlock()
	names := make([]string, 0, len(optRegistry))
	for n := range optRegistry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// checkBetas checks Adam's decay rates: each in [0, 1).
func (c OptimizerConfig) checkBetas() error {
	for _, b := range []struct {
		name string
		v    float64
	}{{"beta1", c.Beta1}, {"beta2", c.Beta2}} {
		if !(b.v >= 0 && b.v < 1) {
			return fmt.Errorf("%s %v, want in [0, 1)", b.name, b.v)
		}
	}
	if !(c.WeightDecay >= 0) || math.IsInf(c.WeightDecay, 0) {
		return fmt.Errorf("weight_decay %v, want ≥ 0", c.WeightDecay)
	}
	return nil
}

func init() {
	RegisterOptimizer(OptAdamATan2, func(params []*Param, c OptimizerConfig) (Optimizer, error) {
		if err := c.checkBetas(); err != nil {
			return nil, err
		}
		return NewAdamATan2(params, c.Beta1, c.Beta2, c.WeightDecay), nil
	})
	RegisterOptimizer(OptAdamW, func(params []*Param, c OptimizerConfig) (Optimizer, error) {
		if err := c.checkBetas(); err != nil {
			return nil, err
		}
		if !(c.Eps > 0) || math.IsInf(c.Eps, 0) {
			return nil, fmt.Errorf("adam_eps %v, want > 0", c.Eps)
		}
		return NewAdamW(params, c.Beta1, c.Beta2, c.Eps, c.WeightDecay), nil
	})
}
