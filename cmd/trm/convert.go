package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/trm-go/trm/checkpoints"
	"github.com/trm-go/trm/trm"
	"github.com/trm-go/trm/trm/infer"
	"github.com/trm-go/trm/trm/torchfile"
)

// parseWithArgs parses flags and positional arguments in any order
// (trm import SRC --out FILE), returning the positional ones.
func parseWithArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parse(fs, args, true); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// importFlags are the flags of trm import.
type importFlags struct {
	src, out, config string
	task             taskFlags
}

func parseImportFlags(e env, args []string) (*importFlags, error) {
	f := &importFlags{}
	fs := newFlagSet(e, "import", "SRC --out FILE [flags]",
		"Imports an official PyTorch TRM checkpoint (a torch.save file such as\n"+
			"step_16275, keys _orig_mod.model.inner.* or model.inner.*; float32, bfloat16\n"+
			"and float16 tensors) and writes it as a trm checkpoint (safetensors). The\n"+
			"architecture comes from the all_config.yaml beside SRC (or --config); the\n"+
			"vocabulary, sequence length and puzzle ids from the tensor shapes; the task\n"+
			"from --task, or from the config's data_paths (Sudoku-Extreme, Maze-Hard).\n"+
			"infer, eval and serve also take SRC directly as --checkpoint.\n"+
			"\n"+
			"Exit status: 0 imported; 2 bad flags, or a checkpoint that does not fit the\n"+
			"task; 1 failure (SRC or its config missing, unreadable, corrupt, or not an\n"+
			"official TRM checkpoint: the error names the tensor or field).")
	fs.StringVar(&f.out, "out", "", "write the trm checkpoint to `file` (.safetensors)")
	fs.StringVar(&f.config, "config", "", "the official all_config.yaml `file` (default: the one beside SRC)")
	f.task.register(fs, "")
	pos, err := parseWithArgs(fs, args)
	if err != nil {
		return nil, err
	}
	switch {
	case len(pos) != 1:
		return nil, usagef("want one checkpoint to import, got %d arguments", len(pos))
	case f.out == "":
		return nil, usagef("--out is required: the trm checkpoint to write")
	}
	f.src = pos[0]
	return f, nil
}

// importOptions are the import options the task flags give.
func importOptions(tf *taskFlags, config string) (trm.ImportOptions, error) {
	opts := trm.ImportOptions{ConfigPath: config}
	if tf.given() {
		o, err := tf.options()
		if err != nil {
			return opts, err
		}
		opts.Task, opts.TaskOptions = tf.name, o
	}
	return opts, nil
}

func runImport(_ context.Context, e env, args []string) error {
	f, err := parseImportFlags(e, args)
	if err != nil {
		return err
	}
	opts, err := importOptions(&f.task, f.config)
	if err != nil {
		return err
	}
	ck, err := trm.ImportTorch(f.src, opts)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(f.out), 0o755); err != nil {
		return fmt.Errorf("--out %s: %w", f.out, err)
	}
	if err := trm.SaveCheckpoint(f.out, ck); err != nil {
		return err
	}
	c := ck.Config.ModelConfig
	task := c.Task
	if task == "" {
		task = "none (pass --task to answer text with it)"
	}
	fmt.Fprintf(e.stdout, "imported %s (step %d): %s, %s positions, hidden %d, T=%d n=%d N_sup=%d, vocab %d, seq_len %d, %d puzzle ids, %d parameters; task %s\nwrote %s\n",
		f.src, ck.Step, c.Variant, c.PosEncodings, c.HiddenSize, c.HCycles, c.LCycles, c.HaltMaxSteps,
		c.VocabSize, c.SeqLen, c.NumPuzzleIdentifiers, c.ParamCount(), task, f.out)
	return nil
}

// exportFlags are the flags of trm export.
type exportFlags struct {
	src, out, format, name, prefix, initDType string
	dataPaths                                 listFlag
}

func parseExportFlags(e env, args []string) (*exportFlags, error) {
	f := &exportFlags{}
	fs := newFlagSet(e, "export", "--format torch CKPT --out DIR [flags]",
		"Exports a trm checkpoint (a file, or embedded:TASK for a shipped model) for\n"+
			"the official PyTorch trainer: DIR/<name>, a torch.save file of the state dict\n"+
			"with the official key names and dtypes, and DIR/all_config.yaml. The official\n"+
			"pretrain.py loads it with load_checkpoint=DIR/<name> (a strict\n"+
			"load_state_dict) when run with the arch overrides this command prints.\n"+
			"\n"+
			"Exit status: 0 exported; 2 bad flags; 1 failure (CKPT missing or corrupt,\n"+
			"DIR not writable).")
	fs.StringVar(&f.format, "format", "torch", "output format: torch (the only one)")
	fs.StringVar(&f.out, "out", "", "output `folder` (created if missing)")
	fs.StringVar(&f.name, "name", "", "file name in the folder (default: step_<the checkpoint's step>)")
	fs.StringVar(&f.prefix, "prefix", "compiled", "key prefix: compiled (_orig_mod.model., the official default) or plain (model., for DISABLE_COMPILE=1)")
	fs.StringVar(&f.initDType, "init-dtype", "", "dtype of H_init/L_init and forward_dtype: bfloat16 (official) or float32 (default: the imported one, else bfloat16)")
	fs.Var(&f.dataPaths, "data-path", "official dataset `folder` to record as data_paths (repeatable)")
	pos, err := parseWithArgs(fs, args)
	if err != nil {
		return nil, err
	}
	switch {
	case f.format != "torch":
		return nil, usagef("--format %q, want torch", f.format)
	case len(pos) != 1:
		return nil, usagef("want one checkpoint to export, got %d arguments", len(pos))
	case f.out == "":
		return nil, usagef("--out is required: the folder to write")
	case f.prefix != "compiled" && f.prefix != "plain":
		return nil, usagef("--prefix %q, want compiled or plain", f.prefix)
	case f.initDType != "" && f.initDType != "bfloat16" && f.initDType != "float32":
		return nil, usagef("--init-dtype %q, want bfloat16 or float32", f.initDType)
	}
	f.src = pos[0]
	return f, nil
}

func runExport(_ context.Context, e env, args []string) error {
	f, err := parseExportFlags(e, args)
	if err != nil {
		return err
	}
	ck, err := infer.LoadCheckpoint(f.src)
	if errors.Is(err, checkpoints.ErrNotShipped) {
		return usageError{err.Error()}
	}
	if err != nil {
		return err
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return fmt.Errorf("--out %s: %w", f.out, err)
	}
	name := f.name
	if name == "" {
		name = fmt.Sprintf("step_%d", ck.Step)
	}
	opts := trm.ExportOptions{Prefix: trm.PrefixCompiled, InitDType: f.initDType, DataPaths: f.dataPaths}
	if f.prefix == "plain" {
		opts.Prefix = trm.PrefixPlain
	}
	file, cfgFile, err := trm.ExportTorch(ck, f.out, name, opts)
	if err != nil {
		return err
	}
	c := ck.Config.ModelConfig
	fmt.Fprintf(e.stdout, "wrote %s and %s (%d tensors, %d parameters)\n", file, cfgFile, len(ck.Tensors), c.ParamCount())
	if c.PuzzleEmbNdim == 0 {
		// pretrain.py's load_checkpoint reads model.puzzle_emb.weights.shape
		// before loading: a model without one fails there.
		fmt.Fprintf(e.stderr, "trm export: warning: the model has no puzzle embedding (puzzle_emb_ndim 0); the official pretrain.py load_checkpoint needs one (it reads model.puzzle_emb first): train with --puzzle_emb_ndim N to continue a model there\n")
	}
	fmt.Fprintf(e.stdout, "official trainer: a dataset with vocab_size %d, seq_len %d and %d puzzle ids, and\n  %s load_checkpoint=%s\n",
		c.VocabSize, c.SeqLen, c.NumPuzzleIdentifiers, strings.Join(trm.OfficialOverrides(c), " "), file)
	return nil
}

// isTorchFile reports whether path starts like a torch.save zip archive.
func isTorchFile(path string) bool {
	fh, err := os.Open(path)
	if err != nil {
		return false
	}
	defer fh.Close()
	head := make([]byte, 4)
	if _, err := io.ReadFull(fh, head); err != nil {
		return false
	}
	return torchfile.IsTorchZip(head)
}

// loadTorchPredictor imports an official checkpoint with the task flags
// naming its task (what RoPE models need: nothing in their tensors fixes
// the sequence length).
func loadTorchPredictor(path string, tf *taskFlags) (*infer.Predictor, error) {
	opts, err := importOptions(tf, "")
	if err != nil {
		return nil, err
	}
	ck, err := trm.ImportTorch(path, opts)
	if err != nil {
		return nil, err
	}
	if ck.Config.Task == "" {
		return nil, usagef("checkpoint %q: its all_config.yaml names no dataset of a task trm knows; pass --task NAME", path)
	}
	m, err := trm.ModelFromCheckpoint(ck)
	if err != nil {
		return nil, err
	}
	return infer.NewPredictor(m)
}
