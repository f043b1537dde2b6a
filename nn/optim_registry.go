package nn

import (
	"fmt"
	"math"

	"github.com/trm-go/trm/internal/registry"
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

var optimizers = registry.New[OptimizerFactory]("optimizer")

// RegisterOptimizer makes an optimizer available by name to NewOptimizer,
// and so to training configs ("optimizer": name); doc is a one-line
// description. It panics if the name is empty or taken or f is nil (a
// programming error): call it from an init function.
func RegisterOptimizer(name, doc string, f OptimizerFactory) {
	if f == nil {
		panic("nn: RegisterOptimizer with a nil factory")
	}
	optimizers.Register(name, doc, f)
}

// NewOptimizer builds the registered optimizer name over params.
func NewOptimizer(name string, params []*Param, c OptimizerConfig) (Optimizer, error) {
	f, err := optimizers.Lookup(name)
	if err != nil {
		return nil, err
	}
	return f(params, c)
}

// CheckOptimizer reports whether name is registered and accepts c.
func CheckOptimizer(name string, c OptimizerConfig) error {
	_, err := NewOptimizer(name, nil, c)
	return err
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
	RegisterOptimizer(OptAdamATan2, "the official optimizer: Adam without ε, update atan2(m̂, √v̂)", func(params []*Param, c OptimizerConfig) (Optimizer, error) {
		if err := c.checkBetas(); err != nil {
			return nil, err
		}
		return NewAdamATan2(params, c.Beta1, c.Beta2, c.WeightDecay), nil
	})
	RegisterOptimizer(OptAdamW, "AdamW, decoupled weight decay (what the paper names)", func(params []*Param, c OptimizerConfig) (Optimizer, error) {
		if err := c.checkBetas(); err != nil {
			return nil, err
		}
		if !(c.Eps > 0) || math.IsInf(c.Eps, 0) {
			return nil, fmt.Errorf("adam_eps %v, want > 0", c.Eps)
		}
		return NewAdamW(params, c.Beta1, c.Beta2, c.Eps, c.WeightDecay), nil
	})
}
