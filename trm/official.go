package trm

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/trm-go/trm/internal/atomicfile"
	"github.com/trm-go/trm/internal/readfile"
	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/trm/safetensors"
	"github.com/trm-go/trm/trm/task"
	"github.com/trm-go/trm/trm/torchfile"
)

// Official checkpoints (github.com/SamsungSAILMontreal/TinyRecursiveModels,
// pretrain.py) are torch.save files of the state dict of the model wrapped
// in its loss head and, unless DISABLE_COMPILE is set, torch.compile: the
// keys are PrefixCompiled + this package's tensor names ("inner.H_init",
// ...), or PrefixPlain + them. Beside them, all_config.yaml holds the
// pretrain config (arch: the architecture).
const (
	// PrefixCompiled is the key prefix of a checkpoint of a compiled model
	// (the official default).
	PrefixCompiled = "_orig_mod.model."
	// PrefixPlain is the key prefix with DISABLE_COMPILE=1.
	PrefixPlain = "model."
	// OfficialConfigName is the config file the official trainer writes
	// beside its checkpoints.
	OfficialConfigName = "all_config.yaml"
	// OfficialArch is the arch.name of the TRM in the official configs.
	OfficialArch = "recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1"
)

// Meta keys an imported checkpoint records, and an export reads.
const (
	// MetaSource is "torch" for an imported checkpoint.
	MetaSource = "source"
	// MetaForwardDType is the official arch.forward_dtype (the dtype of
	// H_init and L_init in the official model).
	MetaForwardDType = "forward_dtype"
	// MetaDataPaths is the official data_paths, comma-separated.
	MetaDataPaths = "data_paths"
)

// ImportOptions say what an official checkpoint does not: where its config
// is and which task the model answers.
type ImportOptions struct {
	// ConfigPath is the official all_config.yaml; "" means the one in the
	// checkpoint's folder.
	ConfigPath string
	// Task names the registered task of the model (task.New), with
	// TaskOptions. "" means the task the config's trm section names (an
	// export of this package), or the one its data_paths point to: a
	// Sudoku dataset (sudoku4/6/9 by vocabulary size) or a maze dataset
	// (maze, of the size in the path, e.g. maze-30x30-hard-1k).
	Task        string
	TaskOptions task.Options
}

// ImportTorch reads an official PyTorch checkpoint (a torch.save file of
// the state dict, keys prefixed PrefixCompiled or PrefixPlain or not at
// all) and the all_config.yaml beside it (or opts.ConfigPath), and returns
// it as a checkpoint of this package. The file is read into memory of its
// own as LoadCheckpoint reads it (a regular file, no larger than the memory
// available); float32 tensors are used in place, bfloat16 and float16 ones
// converted exactly. The config is read only if it is a regular file of at
// most 64 KiB.
//
// The config's arch gives the architecture; the vocabulary, the sequence
// length (mlp_t blocks and learned positions fix it; with RoPE the task
// does) and the number of puzzle ids come from the tensor shapes, and must
// agree with the task. Every mismatch is refused with an error naming the
// tensor or config field and what was expected: an unknown or missing
// tensor, a shape the config does not give, a dtype other than float32,
// bfloat16 or float16, a value that is not finite, a field out of range,
// an architecture other than the TRM.
func ImportTorch(path string, opts ImportOptions) (*Checkpoint, error) {
	data, err := readCheckpointFile(path)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	return importTorch(data, path, opts, true)
}

// importTorch is ImportTorch over the file's bytes; alias says whether the
// checkpoint may use data's float32 tensors in place (data is private to
// it).
func importTorch(data []byte, path string, opts ImportOptions, alias bool) (*Checkpoint, error) {
	cfgPath := opts.ConfigPath
	if cfgPath == "" {
		cfgPath = filepath.Join(filepath.Dir(path), OfficialConfigName)
	}
	// Its size and type are checked before it is read: a link to
	// /dev/zero or a FIFO is refused, not read without end.
	yml, err := readfile.Read(cfgPath, maxConfigSize)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && opts.ConfigPath == "" {
			return nil, fmt.Errorf("import %q: no %s beside it (the official trainer writes it into the checkpoint folder; give its path with the config option): %w",
				path, OfficialConfigName, err)
		}
		return nil, fmt.Errorf("import %q: %w", path, err)
	}
	return decodeTorch(data, path, yml, cfgPath, opts, alias)
}

// DecodeTorch is ImportTorch over a checkpoint and its all_config.yaml held
// in memory; name and cfgName label the errors. The checkpoint's tensors
// do not share memory with data.
func DecodeTorch(data []byte, name string, yml []byte, cfgName string, opts ImportOptions) (*Checkpoint, error) {
	return decodeTorch(data, name, yml, cfgName, opts, false)
}

func decodeTorch(data []byte, name string, yml []byte, cfgName string, opts ImportOptions, alias bool) (*Checkpoint, error) {
	sd, err := torchfile.Decode(data, name)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	oc, err := parseOfficialConfig(yml)
	if err != nil {
		return nil, fmt.Errorf("import: config %q: %w", cfgName, err)
	}
	ck, err := officialCheckpoint(sd, oc, opts, alias)
	if err != nil {
		return nil, fmt.Errorf("import %q (config %q): %w", name, cfgName, err)
	}
	if m := regexp.MustCompile(`^step_(\d+)$`).FindStringSubmatch(filepath.Base(name)); m != nil {
		ck.Step, _ = strconv.ParseInt(m[1], 10, 64)
	}
	return ck, nil
}

// officialConfig is the part of the official all_config.yaml (pretrain.py's
// PretrainConfig, dumped) that this package reads. Pointers tell a missing
// field from a zero one.
type officialConfig struct {
	Arch struct {
		Name string `yaml:"name"`
		Loss struct {
			Name     string `yaml:"name"`
			LossType string `yaml:"loss_type"`
		} `yaml:"loss"`
		HaltExplorationProb *float64 `yaml:"halt_exploration_prob"`
		HaltMaxSteps        *int     `yaml:"halt_max_steps"`
		HCycles             *int     `yaml:"H_cycles"`
		LCycles             *int     `yaml:"L_cycles"`
		HLayers             *int     `yaml:"H_layers"`
		LLayers             *int     `yaml:"L_layers"`
		HiddenSize          *int     `yaml:"hidden_size"`
		NumHeads            *int     `yaml:"num_heads"`
		Expansion           *float64 `yaml:"expansion"`
		PuzzleEmbNdim       any      `yaml:"puzzle_emb_ndim"` // an int, or "${.hidden_size}" in an unresolved arch file
		PosEncodings        *string  `yaml:"pos_encodings"`
		ForwardDType        string   `yaml:"forward_dtype"`
		MLPT                *bool    `yaml:"mlp_t"`
		PuzzleEmbLen        *int     `yaml:"puzzle_emb_len"`
		NoACTContinue       *bool    `yaml:"no_ACT_continue"`
		RMSNormEps          *float64 `yaml:"rms_norm_eps"`
		RopeTheta           *float64 `yaml:"rope_theta"`
	} `yaml:"arch"`
	DataPaths            []string `yaml:"data_paths"`
	GlobalBatchSize      *int     `yaml:"global_batch_size"`
	LR                   *float64 `yaml:"lr"`
	LRWarmupSteps        *int     `yaml:"lr_warmup_steps"`
	WeightDecay          *float64 `yaml:"weight_decay"`
	Beta1                *float64 `yaml:"beta1"`
	Beta2                *float64 `yaml:"beta2"`
	PuzzleEmbLR          *float64 `yaml:"puzzle_emb_lr"`
	PuzzleEmbWeightDecay *float64 `yaml:"puzzle_emb_weight_decay"`
	Seed                 *int64   `yaml:"seed"`
	EMA                  *bool    `yaml:"ema"`
	EMARate              *float64 `yaml:"ema_rate"`
	// Trm is what an export of this package adds: the task and the sizes
	// the official trainer takes from its dataset.
	Trm *exportInfo `yaml:"trm"`
}

// exportInfo is the trm section of an exported all_config.yaml (the
// official trainer ignores unknown top-level keys).
type exportInfo struct {
	Task                 string            `yaml:"task"`
	TaskOptions          map[string]string `yaml:"task_options,omitempty"`
	VocabSize            int               `yaml:"vocab_size"`
	SeqLen               int               `yaml:"seq_len"`
	NumPuzzleIdentifiers int               `yaml:"num_puzzle_identifiers"`
}

// maxConfigSize bounds all_config.yaml. The official one is about 1 KB;
// parsing YAML allocates up to about 100 times its size (a flow list of
// small numbers), so 64 KiB keeps that under 10 MB.
const maxConfigSize = 64 << 10

func parseOfficialConfig(yml []byte) (*officialConfig, error) {
	if len(yml) > maxConfigSize {
		return nil, fmt.Errorf("%d bytes, want at most %d", len(yml), maxConfigSize)
	}
	// Parsed to nodes first: a type error then names the field by its line.
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(yml))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty, want the official pretrain config with an arch section")
		}
		return nil, &yamlError{"not a valid YAML config: " + yamlLine(err.Error()), err}
	}
	var oc officialConfig
	if err := root.Decode(&oc); err != nil {
		return nil, configTypeError(&root, err)
	}
	a := &oc.Arch
	if a.Name != "" && a.Name != OfficialArch {
		return nil, fmt.Errorf("arch.name %q: only the TRM (%s) can be imported", a.Name, OfficialArch)
	}
	var missing []string
	for _, f := range []struct {
		name string
		ok   bool
	}{
		{"hidden_size", a.HiddenSize != nil}, {"H_cycles", a.HCycles != nil}, {"L_cycles", a.LCycles != nil},
		{"L_layers", a.LLayers != nil}, {"expansion", a.Expansion != nil}, {"halt_max_steps", a.HaltMaxSteps != nil},
		{"pos_encodings", a.PosEncodings != nil}, {"num_heads", a.NumHeads != nil},
	} {
		if !f.ok {
			missing = append(missing, "arch."+f.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("missing %s (the official arch config has them)", strings.Join(missing, ", "))
	}
	return &oc, nil
}

// puzzleEmbNdim reads arch.puzzle_emb_ndim: an int, absent (0), or the
// unresolved "${.hidden_size}" of config/arch/trm.yaml.
func (oc *officialConfig) puzzleEmbNdim() (int, error) {
	switch v := oc.Arch.PuzzleEmbNdim.(type) {
	case nil:
		return 0, nil
	case int:
		return v, nil
	case string:
		if strings.ReplaceAll(v, " ", "") == "${.hidden_size}" {
			return *oc.Arch.HiddenSize, nil
		}
	}
	return 0, fmt.Errorf("arch.puzzle_emb_ndim %s, want a whole number", describeYAML(oc.Arch.PuzzleEmbNdim))
}

// yamlError is a YAML decoding error in one line; it wraps the decoder's.
type yamlError struct {
	msg string
	err error
}

func (e *yamlError) Error() string { return e.msg }
func (e *yamlError) Unwrap() error { return e.err }

var yamlTypeErrorRe = regexp.MustCompile("^line ([0-9]+): cannot unmarshal (!![a-z]+)(?: `(.*)`)? into (.+)$")

// configTypeError describes the first value of the config that does not
// have its field's type in one line, naming the field by its path
// ("arch.hidden_size"): the decoder's message is one line per value and
// names the Go type, for the arch section a whole struct.
func configTypeError(root *yaml.Node, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) || len(te.Errors) == 0 {
		return &yamlError{"not a valid config: " + yamlLine(err.Error()), err}
	}
	msg := yamlLine(te.Errors[0])
	if m := yamlTypeErrorRe.FindStringSubmatch(te.Errors[0]); m != nil {
		line, _ := strconv.Atoi(m[1])
		got := yamlKinds[m[2]]
		if got == "" {
			got = "a " + m[2] + " value"
		}
		if m[3] != "" {
			got += " " + strconv.Quote(m[3])
		}
		where := "line " + m[1]
		if path := yamlPathAt(root, reflect.TypeFor[officialConfig](), line, m[2], m[4]); path != "" {
			where = path + " (line " + m[1] + ")"
		}
		msg = fmt.Sprintf("%s is %s, want %s", where, got, wantOfGoType(m[4]))
	}
	if n := len(te.Errors) - 1; n > 0 {
		msg += fmt.Sprintf(" (and %d more wrongly typed values)", n)
	}
	return &yamlError{msg, err}
}

// yamlKinds names the YAML tags of the decoder's type errors.
var yamlKinds = map[string]string{
	"!!str": "a string", "!!int": "a whole number", "!!float": "a number", "!!bool": "a bool",
	"!!seq": "a list", "!!map": "a mapping", "!!null": "null", "!!binary": "binary data", "!!timestamp": "a timestamp",
}

// wantOfGoType says what a field of the Go type t (as the decoder prints
// it) wants.
func wantOfGoType(t string) string {
	t = strings.TrimLeft(t, "*")
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["), strings.HasPrefix(t, "struct"), strings.Contains(t, "."):
		return "a mapping"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "a whole number"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case t == "bool":
		return "true or false"
	case t == "string":
		return "a string"
	}
	return "a " + yamlLine(t)
}

// yamlPathAt returns the path (arch.hidden_size, data_paths[1]) of the
// value on line with tag that goes into a Go value of type goType as the
// decoder prints it, or the first on line with tag (several values can
// share a line); "" if none. t is the Go type n decodes into (nil where
// unknown).
func yamlPathAt(n *yaml.Node, t reflect.Type, line int, tag, goType string) string {
	var first, typed string
	var walk func(n *yaml.Node, t reflect.Type, path string)
	walk = func(n *yaml.Node, t reflect.Type, path string) {
		for t != nil && t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if path != "" && n.Line == line && n.ShortTag() == tag {
			if first == "" {
				first = path
			}
			if typed == "" && t != nil && t.String() == goType {
				typed = path
			}
		}
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, t, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				key := n.Content[i].Value
				var ct reflect.Type
				if t != nil {
					switch t.Kind() {
					case reflect.Struct:
						for f := range t.Fields() {
							if strings.Split(f.Tag.Get("yaml"), ",")[0] == key {
								ct = f.Type
							}
						}
					case reflect.Map:
						ct = t.Elem()
					}
				}
				sub := yamlClip(key, 64)
				if path != "" {
					sub = path + "." + sub
				}
				walk(n.Content[i+1], ct, sub)
			}
		case yaml.SequenceNode:
			var ct reflect.Type
			if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
				ct = t.Elem()
			}
			for i, c := range n.Content {
				walk(c, ct, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
	walk(n, t, "")
	if typed != "" {
		return typed
	}
	return first
}

// describeYAML names a decoded YAML value in a bounded number of bytes.
func describeYAML(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(yamlClip(x, 64))
	case []any:
		return fmt.Sprintf("a list of %d items", len(x))
	case map[string]any:
		return fmt.Sprintf("a mapping of %d keys", len(x))
	case map[any]any:
		return fmt.Sprintf("a mapping of %d keys", len(x))
	}
	return yamlLine(fmt.Sprint(v))
}

// yamlClip cuts s to at most n bytes (at a rune boundary), marking the cut.
func yamlClip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for k := n; k > 0 && k > n-utf8.UTFMax; k-- {
		if utf8.RuneStart(s[k]) {
			return s[:k] + "…"
		}
	}
	return s[:n] + "…"
}

// yamlLine makes s one line of at most 200 bytes.
func yamlLine(s string) string { return yamlClip(strings.Join(strings.Fields(s), " "), 200) }

// officialName strips the official prefixes off a state-dict key.
func officialName(key string) string {
	k := strings.TrimPrefix(key, "_orig_mod.")
	return strings.TrimPrefix(k, PrefixPlain)
}

// officialCheckpoint builds the checkpoint of an official state dict.
func officialCheckpoint(sd *torchfile.StateDict, oc *officialConfig, opts ImportOptions, alias bool) (*Checkpoint, error) {
	// Tensors by this package's names.
	tensors := make(map[string]safetensors.Tensor, len(sd.Names))
	fileKey := make(map[string]string, len(sd.Names))
	for _, key := range sd.Names {
		name := officialName(key)
		if prev, dup := fileKey[name]; dup {
			return nil, fmt.Errorf("tensors %q and %q are the same tensor %q", prev, key, name)
		}
		fileKey[name] = key
		tensors[name] = sd.Tensors[key]
	}
	label := func(name string) string {
		if k := fileKey[name]; k != name {
			return fmt.Sprintf("%q (%q in the file)", name, k)
		}
		return strconv.Quote(name)
	}
	shapeOf := func(name string) ([]int, bool) {
		t, ok := tensors[name]
		return t.Shape, ok
	}
	need2D := func(name string) ([]int, error) {
		s, ok := shapeOf(name)
		if !ok {
			return nil, fmt.Errorf("tensor %q is missing (the %s of every TRM)", name, fileKeyHint(name))
		}
		if len(s) != 2 {
			return nil, fmt.Errorf("tensor %s has shape %v, want 2 dimensions", label(name), s)
		}
		return s, nil
	}

	a := &oc.Arch
	var c ModelConfig
	c.HiddenSize = *a.HiddenSize
	c.NumHeads = *a.NumHeads
	c.Expansion = *a.Expansion
	c.LLayers = *a.LLayers
	c.LCycles = *a.LCycles
	c.HCycles = *a.HCycles
	c.HaltMaxSteps = *a.HaltMaxSteps
	c.RMSNormEps, c.RopeTheta = 1e-5, 10000
	if a.RMSNormEps != nil {
		c.RMSNormEps = *a.RMSNormEps
	}
	if a.RopeTheta != nil {
		c.RopeTheta = *a.RopeTheta
	}
	c.Variant = nn.VariantAttn
	if a.MLPT != nil && *a.MLPT {
		c.Variant = nn.VariantMLP
	}
	c.PosEncodings = PosEncoding(*a.PosEncodings)
	if c.Variant == nn.VariantMLP && c.PosEncodings == PosRoPE {
		// The official mlp_t blocks ignore the RoPE table: no tensors, no effect.
		c.PosEncodings = PosNone
	}
	ndim, err := oc.puzzleEmbNdim()
	if err != nil {
		return nil, err
	}
	c.PuzzleEmbNdim = ndim
	c.PuzzleEmbLen = 16 // the official default
	if a.PuzzleEmbLen != nil {
		c.PuzzleEmbLen = *a.PuzzleEmbLen
	}
	if ndim == 0 {
		c.PuzzleEmbLen = 0 // no prefix without a puzzle embedding
	}

	// Sizes from the shapes.
	emb, err := need2D(nameTokenEmb)
	if err != nil {
		return nil, err
	}
	c.VocabSize = emb[0]
	if emb[1] != c.HiddenSize {
		return nil, fmt.Errorf("tensor %s has shape %v: hidden size %d, but arch.hidden_size is %d", label(nameTokenEmb), emb, emb[1], c.HiddenSize)
	}
	if s, ok := shapeOf(namePuzzleEmb); ok {
		if ndim == 0 {
			return nil, fmt.Errorf("tensor %s has shape %v, but arch.puzzle_emb_ndim is 0 (no puzzle embedding)", label(namePuzzleEmb), s)
		}
		if len(s) != 2 || s[1] != ndim {
			return nil, fmt.Errorf("tensor %s has shape %v, arch.puzzle_emb_ndim %d wants [num_puzzle_identifiers %d]", label(namePuzzleEmb), s, ndim, ndim)
		}
		c.NumPuzzleIdentifiers = s[0]
	} else if ndim > 0 {
		return nil, fmt.Errorf("tensor %q is missing, arch.puzzle_emb_ndim %d wants [num_puzzle_identifiers %d]", namePuzzleEmb, ndim, ndim)
	}
	P := c.PrefixLen()
	seqFrom := ""
	setSeq := func(S int, from string) error {
		if S < P+1 {
			return fmt.Errorf("%s gives L+P = %d, too short for the puzzle prefix P = %d plus one input position", from, S, P)
		}
		if seqFrom != "" && c.SeqLen != S-P {
			return fmt.Errorf("%s gives seq_len %d, but %s gives %d", from, S-P, seqFrom, c.SeqLen)
		}
		c.SeqLen, seqFrom = S-P, from
		return nil
	}
	if c.Variant == nn.VariantMLP {
		name := netPrefix + "layers.0.mlp_t.gate_up_proj.weight"
		s, err := need2D(name)
		if err != nil {
			return nil, err
		}
		if err := setSeq(s[1], fmt.Sprintf("tensor %s (shape %v)", label(name), s)); err != nil {
			return nil, err
		}
	}
	if c.PosEncodings == PosLearned {
		s, err := need2D(namePosEmb)
		if err != nil {
			return nil, err
		}
		if err := setSeq(s[0], fmt.Sprintf("tensor %s (shape %v)", label(namePosEmb), s)); err != nil {
			return nil, err
		}
	}

	// The task.
	t, err := officialTask(oc, opts, c.VocabSize, c.SeqLen)
	if err != nil {
		return nil, err
	}
	if t != nil {
		c.Task, c.TaskOptions = t.Name(), t.Options()
		if seqFrom == "" {
			c.SeqLen, seqFrom = t.SeqLen(), "task "+t.Name()
		}
		if c.NumPuzzleIdentifiers == 0 {
			c.NumPuzzleIdentifiers = t.NumPuzzleIDs()
		}
	}
	if oc.Trm != nil && seqFrom == "" {
		c.SeqLen, seqFrom = oc.Trm.SeqLen, "trm.seq_len"
	}
	if seqFrom == "" {
		return nil, errors.New("seq_len: neither the tensors (attention with " + string(c.PosEncodings) +
			" positions has no tensor of that length) nor a task give it; name the task (--task)")
	}
	if c.NumPuzzleIdentifiers == 0 {
		c.NumPuzzleIdentifiers = 1
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("the config from the arch section and the shapes is not valid: %w", err)
	}
	if t != nil {
		if err := c.CheckTask(t); err != nil {
			return nil, fmt.Errorf("the model does not fit task %s: %w", t.Name(), err)
		}
	}

	// Every tensor against the specs.
	var errs []error
	ck := &Checkpoint{
		Config:  Config{ModelConfig: c, TrainConfig: oc.trainConfig()},
		Tensors: make(map[string][]float32, len(tensors)),
		Meta:    map[string]string{MetaSource: "torch"},
	}
	if a.ForwardDType != "" {
		ck.Meta[MetaForwardDType] = a.ForwardDType
	}
	if len(oc.DataPaths) > 0 {
		ck.Meta[MetaDataPaths] = strings.Join(oc.DataPaths, ",")
	}
	specs := c.TensorSpecs()
	for _, s := range specs {
		tt, ok := tensors[s.Name]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("tensor %q is missing, config wants shape %v", s.Name, s.Shape))
		case !slices.Equal(tt.Shape, s.Shape):
			errs = append(errs, fmt.Errorf("tensor %s has shape %v, config wants %v", label(s.Name), tt.Shape, s.Shape))
		default:
			v, err := toFloat32(tt, alias)
			if err != nil {
				errs = append(errs, fmt.Errorf("tensor %s: %w", label(s.Name), err))
				continue
			}
			if err := checkFinite(s.Name, v); err != nil {
				errs = append(errs, err)
				continue
			}
			ck.Tensors[s.Name] = v
		}
	}
	for _, e := range extraNames(specs, tensors) {
		errs = append(errs, e)
	}
	if err := joinLine(errs); err != nil {
		return nil, err
	}
	ck.checked = true
	return ck, nil
}

// joinLine joins errs (nil if none) into one error of one line: the first
// few messages, then how many more; errors.Is and errors.As see them all.
func joinLine(errs []error) error {
	const shown = 3
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	msgs := make([]string, 0, shown+1)
	for _, e := range errs[:min(shown, len(errs))] {
		msgs = append(msgs, e.Error())
	}
	if n := len(errs) - shown; n > 0 {
		msgs = append(msgs, fmt.Sprintf("and %d more", n))
	}
	return &joinedError{strings.Join(msgs, "; "), errs}
}

type joinedError struct {
	msg  string
	errs []error
}

func (e *joinedError) Error() string   { return e.msg }
func (e *joinedError) Unwrap() []error { return e.errs }

// fileKeyHint says what a tensor is, for a "missing" error.
func fileKeyHint(name string) string {
	switch name {
	case nameTokenEmb:
		return "token embedding"
	case namePosEmb:
		return "learned position table"
	}
	return "block weight"
}

// toFloat32 decodes a float32, bfloat16 or float16 tensor (exactly; F32 in
// place when alias allows and the bytes are aligned).
func toFloat32(t safetensors.Tensor, alias bool) ([]float32, error) {
	switch t.DType {
	case safetensors.F32:
		if alias {
			if v, ok := float32View(t.Data); ok {
				return v, nil
			}
		}
		return t.Float32s()
	case safetensors.BF16, safetensors.F16:
		out := make([]float32, len(t.Data)/2)
		for i := range out {
			h := uint16(t.Data[2*i]) | uint16(t.Data[2*i+1])<<8
			if t.DType == safetensors.BF16 {
				out[i] = math.Float32frombits(uint32(h) << 16)
			} else {
				out[i] = halfToFloat32(h)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("dtype %s is not supported, want float32, bfloat16 or float16", t.DType)
}

// halfToFloat32 converts an IEEE 754 binary16 value exactly.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf, NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
	case frac == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal: frac · 2^-24.
	v := float32(frac) * (1.0 / (1 << 24))
	if sign != 0 {
		v = -v
	}
	return v
}

// float32ToBF16 rounds to the nearest bfloat16, ties to even (finite v).
func float32ToBF16(v float32) uint16 {
	b := math.Float32bits(v)
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// officialTask returns the task of the model: the one asked for, the one an
// export recorded, or one its data paths point to; nil when none is known.
func officialTask(oc *officialConfig, opts ImportOptions, vocab, seqLen int) (task.Task, error) {
	name, topts := opts.Task, opts.TaskOptions
	if name == "" && oc.Trm != nil && oc.Trm.Task != "" {
		name, topts = oc.Trm.Task, task.Options(oc.Trm.TaskOptions)
	}
	if name == "" {
		name, topts = guessTask(oc.DataPaths, vocab, seqLen)
	}
	if name == "" {
		return nil, nil
	}
	t, err := task.New(name, topts)
	if err != nil {
		return nil, fmt.Errorf("task: %w", err)
	}
	return t, nil
}

var mazeSizeRe = regexp.MustCompile(`(\d+)x(\d+)`)

// guessTask names the task of an official dataset path: Sudoku by the
// vocabulary (N+2 tokens for N×N), mazes with the size in the path (the
// official builder writes maze-30x30-hard-1k). "" when it cannot tell.
func guessTask(paths []string, vocab, seqLen int) (string, task.Options) {
	for _, p := range paths {
		lp := strings.ToLower(p)
		switch {
		case strings.Contains(lp, "sudoku"):
			for _, n := range []int{4, 6, 9} {
				if vocab == n+2 {
					return "sudoku" + strconv.Itoa(n), nil
				}
			}
		case strings.Contains(lp, "maze"):
			size := 30
			if m := mazeSizeRe.FindStringSubmatch(lp); m != nil && m[1] == m[2] {
				size, _ = strconv.Atoi(m[1])
			} else if seqLen > 0 {
				if r := int(math.Sqrt(float64(seqLen))); r*r == seqLen {
					size = r
				}
			}
			return "maze", task.Options{"size": strconv.Itoa(size)}
		}
	}
	return "", nil
}

// trainConfig is the recipe the config records, as far as this package has
// the same fields (a record; an imported model is not trained further
// from it).
func (oc *officialConfig) trainConfig() TrainConfig {
	tc := TrainConfig{Optimizer: nn.OptAdamATan2, HaltLossWeight: 0.5}
	setF := func(dst *float64, v *float64) {
		if v != nil {
			*dst = *v
		}
	}
	setI := func(dst *int, v *int) {
		if v != nil {
			*dst = *v
		}
	}
	setF(&tc.HaltExplorationProb, oc.Arch.HaltExplorationProb)
	setF(&tc.LR, oc.LR)
	setI(&tc.LRWarmupSteps, oc.LRWarmupSteps)
	setF(&tc.WeightDecay, oc.WeightDecay)
	setF(&tc.Beta1, oc.Beta1)
	setF(&tc.Beta2, oc.Beta2)
	setF(&tc.PuzzleEmbLR, oc.PuzzleEmbLR)
	setF(&tc.PuzzleEmbWeightDecay, oc.PuzzleEmbWeightDecay)
	setI(&tc.BatchSize, oc.GlobalBatchSize)
	if oc.Seed != nil && *oc.Seed >= 0 {
		tc.Seed = uint64(*oc.Seed)
	}
	if oc.EMA != nil && *oc.EMA {
		setF(&tc.EMARate, oc.EMARate)
	}
	if oc.Arch.NoACTContinue != nil {
		tc.ACTContinue = !*oc.Arch.NoACTContinue
	}
	return tc
}

// ExportOptions choose how ExportTorch writes a checkpoint.
type ExportOptions struct {
	// Prefix is put before every tensor name: PrefixCompiled (the
	// default: what the official trainer, which compiles the model unless
	// DISABLE_COMPILE is set, loads) or PrefixPlain.
	Prefix string
	// InitDType is the dtype of inner.H_init and inner.L_init, and the
	// forward_dtype of the config: "bfloat16" (the official default: those
	// buffers are bf16 in the official model, and the values are rounded to
	// the nearest bfloat16) or "float32" (exact). "" means the
	// forward_dtype the checkpoint was imported with, else bfloat16. Every
	// other tensor is float32.
	InitDType string
	// DataPaths are written as data_paths (default: those the checkpoint
	// was imported with, if any).
	DataPaths []string
}

// ExportTorch writes ck as an official checkpoint: dir/name, a torch.save
// file of its state dict with the official key names and dtypes, and
// dir/all_config.yaml, the official pretrain config of its architecture
// and recipe plus a trm section (task, vocabulary, sequence length,
// puzzle ids) that ImportTorch reads back. The official pretrain.py loads
// the file with load_checkpoint=dir/name and a strict load_state_dict, run
// with the arch overrides OfficialOverrides lists. It returns the paths
// written.
func ExportTorch(ck *Checkpoint, dir, name string, opts ExportOptions) (file, cfgFile string, err error) {
	if err := ck.Check(); err != nil {
		return "", "", fmt.Errorf("export: %w", err)
	}
	if ck.Config.SeparateNets {
		return "", "", errors.New("export: the model has separate networks for y and z (separate_nets), which the official TRM cannot load: it has one network, inner.L_level")
	}
	if name == "" || name != filepath.Base(name) || name == OfficialConfigName {
		return "", "", fmt.Errorf("export: file name %q, want a plain name such as step_%d", name, ck.Step)
	}
	prefix := opts.Prefix
	if prefix == "" {
		prefix = PrefixCompiled
	}
	if prefix != PrefixCompiled && prefix != PrefixPlain {
		return "", "", fmt.Errorf("export: prefix %q, want %q or %q", prefix, PrefixCompiled, PrefixPlain)
	}
	initDType := opts.InitDType
	if initDType == "" {
		initDType = "bfloat16"
		if ck.Meta[MetaForwardDType] == "float32" {
			initDType = "float32" // imported from a float32 run: keep it
		}
	}
	if initDType != "bfloat16" && initDType != "float32" {
		return "", "", fmt.Errorf("export: init dtype %q, want bfloat16 or float32", initDType)
	}
	sd := &torchfile.StateDict{Tensors: map[string]safetensors.Tensor{}}
	for _, s := range ck.Config.TensorSpecs() {
		key := prefix + s.Name
		v := ck.Tensors[s.Name]
		t := safetensors.FromFloat32(s.Shape, v)
		if (s.Name == nameYInit || s.Name == nameZInit) && initDType == "bfloat16" {
			b := make([]byte, 2*len(v))
			for i, x := range v {
				h := float32ToBF16(x)
				b[2*i], b[2*i+1] = byte(h), byte(h>>8)
			}
			t = safetensors.Tensor{DType: safetensors.BF16, Shape: slices.Clone(s.Shape), Data: b}
		}
		sd.Names = append(sd.Names, key)
		sd.Tensors[key] = t
	}
	yml, err := officialYAML(ck, initDType, opts.DataPaths)
	if err != nil {
		return "", "", fmt.Errorf("export: %w", err)
	}
	file = filepath.Join(dir, name)
	cfgFile = filepath.Join(dir, OfficialConfigName)
	if err := torchfile.Write(file, sd); err != nil {
		return "", "", fmt.Errorf("export: %w", err)
	}
	if err := atomicfile.Write(cfgFile, func(w io.Writer) error { _, err := w.Write(yml); return err }); err != nil {
		return "", "", fmt.Errorf("export: %w", err)
	}
	return file, cfgFile, nil
}

// officialYAML returns the all_config.yaml of ck: the official
// PretrainConfig fields (keys sorted, as pretrain.py's yaml.dump writes
// them) and the trm section.
func officialYAML(ck *Checkpoint, initDType string, dataPaths []string) ([]byte, error) {
	c, tc := ck.Config.ModelConfig, ck.Config.TrainConfig
	if dataPaths == nil {
		if dp := ck.Meta[MetaDataPaths]; dp != "" {
			dataPaths = strings.Split(dp, ",")
		} else {
			dataPaths = []string{}
		}
	}
	arch := map[string]any{
		"name":                  OfficialArch,
		"loss":                  map[string]any{"name": "losses@ACTLossHead", "loss_type": "stablemax_cross_entropy"},
		"halt_exploration_prob": tc.HaltExplorationProb,
		"halt_max_steps":        c.HaltMaxSteps,
		"H_cycles":              c.HCycles,
		"L_cycles":              c.LCycles,
		"H_layers":              0,
		"L_layers":              c.LLayers,
		"hidden_size":           c.HiddenSize,
		"num_heads":             max(c.NumHeads, 1),
		"expansion":             c.Expansion,
		"puzzle_emb_ndim":       c.PuzzleEmbNdim,
		"puzzle_emb_len":        c.PuzzleEmbLen,
		"pos_encodings":         string(c.PosEncodings),
		"forward_dtype":         initDType,
		"mlp_t":                 c.Variant == nn.VariantMLP,
		"no_ACT_continue":       !tc.ACTContinue,
		"rms_norm_eps":          c.RMSNormEps,
		"rope_theta":            c.RopeTheta,
	}
	doc := map[string]any{
		"arch":                    arch,
		"data_paths":              dataPaths,
		"data_paths_test":         []string{},
		"evaluators":              []any{},
		"global_batch_size":       tc.BatchSize,
		"lr":                      tc.LR,
		"lr_min_ratio":            1.0,
		"lr_warmup_steps":         tc.LRWarmupSteps,
		"weight_decay":            tc.WeightDecay,
		"beta1":                   tc.Beta1,
		"beta2":                   tc.Beta2,
		"puzzle_emb_lr":           tc.PuzzleEmbLR,
		"puzzle_emb_weight_decay": tc.PuzzleEmbWeightDecay,
		"seed":                    tc.Seed,
		"ema":                     tc.EMARate > 0,
		"ema_rate":                tc.EMARate,
		"trm": exportInfo{
			Task: c.Task, TaskOptions: c.TaskOptions, VocabSize: c.VocabSize, SeqLen: c.SeqLen,
			NumPuzzleIdentifiers: c.NumPuzzleIdentifiers,
		},
	}
	var buf bytes.Buffer
	buf.WriteString("# Written by trm export. The official pretrain.py takes the architecture from its\n" +
		"# command line: run it with the arch overrides below and load_checkpoint=<this folder>/<file>.\n" +
		"#   " + strings.Join(OfficialOverrides(c), " ") + "\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// OfficialOverrides returns the command-line overrides of the official
// pretrain.py (hydra syntax) that build the architecture of c:
// arch.hidden_size=..., arch.mlp_t=..., and so on. The vocabulary, the
// sequence length and the number of puzzle ids come from the official
// dataset, which must match c.
func OfficialOverrides(c ModelConfig) []string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	return []string{
		"arch=trm",
		"arch.hidden_size=" + strconv.Itoa(c.HiddenSize),
		"arch.num_heads=" + strconv.Itoa(max(c.NumHeads, 1)),
		"arch.expansion=" + f(c.Expansion),
		"arch.L_layers=" + strconv.Itoa(c.LLayers),
		"arch.H_cycles=" + strconv.Itoa(c.HCycles),
		"arch.L_cycles=" + strconv.Itoa(c.LCycles),
		"arch.halt_max_steps=" + strconv.Itoa(c.HaltMaxSteps),
		"arch.mlp_t=" + strconv.FormatBool(c.Variant == nn.VariantMLP),
		"arch.pos_encodings=" + string(c.PosEncodings),
		"arch.puzzle_emb_ndim=" + strconv.Itoa(c.PuzzleEmbNdim),
		"arch.puzzle_emb_len=" + strconv.Itoa(c.PuzzleEmbLen),
	}
}
