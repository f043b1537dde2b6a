package trm_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/train"
)

// A config starts from a preset; Validate names any bad field, and the
// helpers give the sizes the model is built from.
func ExampleConfig() {
	cfg, err := train.Preset("sudoku")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cfg.Variant, cfg.HiddenSize, cfg.SeqTotal(), cfg.Inter(cfg.HiddenSize), cfg.ParamCount())

	cfg.NumHeads = 7
	cfg.Variant = nn.VariantAttn
	cfg.PosEncodings = trm.PosRoPE
	fmt.Println(cfg.Validate())
	// Output:
	// mlp 512 97 1536 5028866
	// config: hidden_size 512 is not divisible by num_heads 7
}

// TensorSpecs lists the model's tensors: names as in the official state
// dict, PyTorch [out, in] shapes.
func ExampleConfig_TensorSpecs() {
	cfg := train.DefaultConfig() // arith: hidden 64, vocab 12
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
func ExampleSaveCheckpoint() {
	dir, err := os.MkdirTemp("", "trm-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.safetensors")

	cfg := train.DefaultConfig()
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
