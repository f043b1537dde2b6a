package trm_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/trm-go/trm/trm"
)

// A config starts from a preset; Validate names any bad field, and the
// helpers give the sizes the model is built from.
func ExampleConfig() {
	cfg, err := trm.Preset("sudoku")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cfg.Variant, cfg.HiddenSize, cfg.SeqTotal(), cfg.Inter(cfg.HiddenSize), cfg.ParamCount())

	cfg.NumHeads = 7
	cfg.Variant = trm.VariantAttn
	cfg.PosEncodings = trm.PosRoPE
	fmt.Println(cfg.Validate())
	// Output:
	// mlp 512 97 1536 5028866
	// config: hidden_size 512 is not divisible by num_heads 7
}

// TensorSpecs lists the model's tensors: names as in the official state
// dict, PyTorch [out, in] shapes.
func ExampleConfig_TensorSpecs() {
	cfg := trm.DefaultConfig() // arith: hidden 64, vocab 12
	for _, s := range cfg.TensorSpecs()[:6] {
		fmt.Println(s.Name, s.Shape, s.Kind)
	}
	// Output:
	// inner.H_init [64] fixed
	// inner.L_init [64] fixed
	// inner.embed_tokens.embedding_weight [12 64] dense
	// inner.lm_head.weight [12 64] dense
	// inner.q_head.weight [2 64] dense
	// inner.q_head.bias [2] dense
}

// The arithmetic task: text to tokens and back. Numbers are written least
// significant digit first; the answer positions start blank (token 1).
func ExampleArith() {
	task, err := trm.NewTask("arith", trm.TaskOptions{"digits": "2"})
	if err != nil {
		log.Fatal(err)
	}
	ex, err := task.Encode("48 + 75")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ex.Input)

	// A model's prediction for every position; only the last three matter.
	pred := []int32{0, 0, 0, 0, 5, 4, 3}
	answer, err := task.Decode(ex, pred)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(task.Format(ex), "=", answer)

	_, err = task.Encode("48 + 750")
	fmt.Println(err)
	// Output:
	// [10 6 7 9 1 1 1]
	// 48 + 75 = 123
	// arith: "48 + 750": operand 750 has 3 digits, this task adds numbers of at most 2
}

// Generated examples are a pure function of (split, seed, index), and the
// splits never share a sum.
func ExampleTask_Example() {
	task := trm.NewArith(1)
	for i := range int64(3) {
		ex, err := task.Example(trm.SplitTrain, 42, i)
		if err != nil {
			log.Fatal(err)
		}
		answer, _ := task.Decode(ex, ex.Label)
		fmt.Println(task.Format(ex), "=", answer)
	}
	// Output:
	// 4 + 3 = 7
	// 6 + 3 = 9
	// 8 + 5 = 13
}

// Save a model's tensors with its config, and load them back checked
// against the config.
func ExampleSaveCheckpoint() {
	dir, err := os.MkdirTemp("", "trm-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.safetensors")

	cfg := trm.DefaultConfig()
	ck := &trm.Checkpoint{Config: cfg, Step: 100, Tensors: map[string][]float32{}}
	for _, s := range cfg.TensorSpecs() {
		ck.Tensors[s.Name] = make([]float32, s.Size()) // the model's values
	}
	if err := trm.SaveCheckpoint(path, ck); err != nil {
		log.Fatal(err)
	}

	back, err := trm.LoadCheckpoint(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(back.Step, back.Config.Task, len(back.Tensors), back.Config.ParamCount())
	// Output:
	// 100 arith 14 132738
}
