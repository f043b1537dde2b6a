package trm_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/trm-go/trm/trm"
)

// ExampleImportTorch imports an official PyTorch checkpoint (a torch.save
// file with all_config.yaml beside it), runs it as a trm model, and
// exports it back for the official trainer.
func ExampleImportTorch() {
	ck, err := trm.ImportTorch("testdata/torch/attn_compiled/step_100", trm.ImportOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	c := ck.Config.ModelConfig
	fmt.Printf("step %d: task %s, %s, hidden %d, vocab %d, seq_len %d, %d parameters\n",
		ck.Step, c.Task, c.Variant, c.HiddenSize, c.VocabSize, c.SeqLen, c.ParamCount())

	if _, err := trm.ModelFromCheckpoint(ck); err != nil {
		fmt.Println(err)
		return
	}

	dir, err := os.MkdirTemp("", "export")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	file, cfgFile, err := trm.ExportTorch(ck, dir, "step_100", trm.ExportOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(filepath.Base(file), filepath.Base(cfgFile))
	// Output:
	// step 100: task sudoku4, attn, hidden 16, vocab 6, seq_len 16, 13538 parameters
	// step_100 all_config.yaml
}
