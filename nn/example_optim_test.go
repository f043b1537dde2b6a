package nn_test

import (
	"fmt"

	"github.com/trm-go/trm/nn"
)

// sgd is plain stochastic gradient descent with decoupled weight decay: the
// smallest optimizer there is.
type sgd struct {
	params []*nn.Param
	wd     float64
	step   int
}

func (o *sgd) Step(lr float64) {
	for _, p := range o.params {
		for i, g := range p.Grad.Data {
			p.Value.Data[i] = p.Value.Data[i]*float32(1-lr*o.wd) - float32(lr)*g
		}
	}
	o.step++
}

func (o *sgd) State() *nn.State { return &nn.State{Step: o.step, Tensors: map[string][]float32{}} }

func (o *sgd) SetState(s *nn.State) error {
	if len(s.Tensors) != 0 {
		return fmt.Errorf("sgd: state has %d tensors, want none", len(s.Tensors))
	}
	o.step = s.Step
	return nil
}

// Adding an optimizer is one RegisterOptimizer call (in an init function):
// training configs can then name it ("optimizer": "sgd") and the trainer
// builds it over the dense parameters with the config's hyper-parameters.
func ExampleRegisterOptimizer() {
	nn.RegisterOptimizer("sgd", "plain SGD with decoupled weight decay", func(params []*nn.Param, c nn.OptimizerConfig) (nn.Optimizer, error) {
		if c.WeightDecay < 0 {
			return nil, fmt.Errorf("weight_decay %v, want ≥ 0", c.WeightDecay)
		}
		return &sgd{params: params, wd: c.WeightDecay}, nil
	})

	w := nn.NewParam("w", 2)
	copy(w.Value.Data, []float32{1, -1})
	opt, err := nn.NewOptimizer("sgd", []*nn.Param{w}, nn.OptimizerConfig{})
	if err != nil {
		panic(err)
	}
	tape := nn.NewTape()
	loss := tape.Sum(tape.Mul(&w.Node, &w.Node)) // Σ w², gradient 2w
	nn.ZeroGrads([]*nn.Param{w})
	tape.Backward(loss)
	opt.Step(0.25)
	fmt.Println(w.Value.Data)

	_, err = nn.NewOptimizer("adam", nil, nn.OptimizerConfig{})
	fmt.Println(err)
	fmt.Println(nn.CheckOptimizer("sgd", nn.OptimizerConfig{WeightDecay: -1}))
	// Output:
	// [0.5 -0.5]
	// unknown optimizer "adam", want one of adamatan2, adamw, sgd
	// weight_decay -1, want ≥ 0
}
