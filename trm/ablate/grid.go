// Package ablate runs an ablation grid: one task, one base config, several
// recursion settings (T and n, N_sup, EMA, attention or MLP-mixer, depth),
// each trained under the same budget (optimizer steps or wall time) into a
// run folder of its own, then scored on held-out examples with every
// supervision step run (the official evaluation). The results are a Table,
// written as Markdown and CSV.
//
// A grid is resumable: each setting trains with train.Train into
// <dir>/<setting>, a stopped setting resumes from its last save, and a
// setting whose result.json is there (and whose config and budget match)
// is not trained again.
//
// Not covered: the paper's separate networks for y and z.
package ablate

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/trm-go/trm/nn"
	"github.com/trm-go/trm/trm"
)

// Setting is one row of an ablation grid: a name (also its folder under the
// grid's directory) and the config fields it changes from the base config.
type Setting struct {
	// Name names the row and its run folder: letters, digits, '.', '_'
	// and '-'.
	Name string
	// Fields are config fields (JSON names, e.g. "H_cycles") and their
	// values as JSON (e.g. "3", "\"attn\""), applied over the base config
	// in order.
	Fields []Field
	// Paper is the published Sudoku-Extreme test accuracy (%) of the
	// paper's matching ablation row (arXiv 2510.04871, Table 1), or NaN.
	Paper float64
}

// Field is one config field a Setting sets: its JSON name and a JSON
// value.
type Field struct {
	Name  string
	Value json.RawMessage
}

// DefaultGrid is the grid of the paper's Table 1 rows (and depth sweep)
// that this trainer supports, plus the same network without recursion:
//
//	trm           T=3, n=6, MLP-mixer: the paper's TRM-MLP (87.4%)
//	no-ema        the same without EMA (79.9%)
//	attn          the same with self-attention and RoPE (74.7%)
//	T2n2          T=2, n=2 (73.7%)
//	T1n2          T=1, n=2 (63.2%)
//	T2n4          T=2, n=4 (81.9%)
//	T4n8          T=4, n=8 (84.2%)
//	layers4       4 layers, T=3, n=3 (the paper's "4 layers", 79.5%)
//	separate      T=3, n=6 with separate networks for y and z (82.4%)
//	1step-grad    T=3, n=6 with HRM's 1-step gradient (56.5%)
//	no-recursion  T=1, n=1, N_sup=1: one pass of the network
//
// N_sup and everything else come from the base config.
const DefaultGrid = "trm:T=3,n=6,variant=mlp,paper=87.4; " +
	"no-ema:T=3,n=6,variant=mlp,ema=off,paper=79.9; " +
	"attn:T=3,n=6,variant=attn,paper=74.7; " +
	"T2n2:T=2,n=2,variant=mlp,paper=73.7; " +
	"T1n2:T=1,n=2,variant=mlp,paper=63.2; " +
	"T2n4:T=2,n=4,variant=mlp,paper=81.9; " +
	"T4n8:T=4,n=8,variant=mlp,paper=84.2; " +
	"layers4:T=3,n=3,layers=4,variant=mlp,paper=79.5; " +
	"separate:T=3,n=6,variant=mlp,nets=separate,paper=82.4; " +
	"1step-grad:T=3,n=6,variant=mlp,grad=1step,paper=56.5; " +
	"no-recursion:T=1,n=1,nsup=1,variant=mlp"

// GridSyntax documents the grid spec that ParseGrid reads.
const GridSyntax = `A grid is settings separated by ';'. A setting is [NAME:]KEY=VALUE,...
(NAME defaults to the assignments, e.g. "T=2,n=2" is named T2-n2) or a
bare NAME for the base config unchanged. Keys:
  T        H_cycles, recursions per supervision step
  n        L_cycles, latent updates per recursion
  nsup     halt_max_steps, N_sup (also N_sup)
  layers   L_layers
  hidden   hidden_size
  heads    num_heads
  variant  attn or mlp (attn also sets pos_encodings=rope, mlp none,
           unless pos is given)
  pos      pos_encodings: rope, learned or none
  ema      on (the base rate, or 0.999 if the base has none), off, or a rate
  grad     full (through the whole last cycle, n+1 net calls) or 1step
           (HRM's 1-step gradient: the last latent and answer updates)
  nets     shared (one network updates z and y) or separate (y has its
           own network: separate_nets)
  paper    the paper's accuracy (%) to print beside the row
  any other config field by its JSON name (lr=3e-4, seed=1, ...); the
           task, its sizes and train_steps (the budget) cannot be changed.`

var nameRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// shorthand maps the grid's short keys to config fields.
var shorthand = map[string]string{
	"T": "H_cycles", "n": "L_cycles", "nsup": "halt_max_steps", "N_sup": "halt_max_steps",
	"layers": "L_layers", "hidden": "hidden_size", "heads": "num_heads", "pos": "pos_encodings",
}

// switches are the grid's keys for boolean config fields: the value
// that sets the field and the one that clears it.
var switches = map[string]struct{ field, off, on, want string }{
	"grad": {"one_step_grad", "full", "1step", "full (the whole last cycle) or 1step (HRM's 1-step gradient)"},
	"nets": {"separate_nets", "shared", "separate", "shared (one network for z and y) or separate (one each)"},
}

// fixedFields are config fields a setting may not change: the task and
// its sizes belong to the grid, train_steps to the budget.
var fixedFields = map[string]bool{
	"task": true, "task_options": true, "vocab_size": true, "seq_len": true,
	"num_puzzle_identifiers": true, "train_steps": true,
}

// ParseGrid reads a grid spec (see GridSyntax) against the base config,
// which "ema=on" needs. Errors name the setting and what was expected.
func ParseGrid(spec string, base trm.Config) ([]Setting, error) {
	var out []Setting
	seen := map[string]bool{}
	for part := range strings.SplitSeq(spec, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		s, err := parseSetting(part, base)
		if err != nil {
			return nil, fmt.Errorf("grid setting %q: %w", part, err)
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("grid setting %q: name %q given twice, want each name once", part, s.Name)
		}
		seen[s.Name] = true
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("grid %q has no settings, want at least one (e.g. %q)", spec, "T2n2:T=2,n=2")
	}
	return out, nil
}

func parseSetting(part string, base trm.Config) (Setting, error) {
	s := Setting{Paper: math.NaN()}
	name, body, hasName := strings.Cut(part, ":")
	if !hasName {
		if !strings.Contains(part, "=") {
			name, body = part, "" // a bare name: the base config
		} else {
			name, body = "", part
		}
	}
	name = strings.TrimSpace(name)
	var auto []string
	pos, variant := "", ""
	for kv := range strings.SplitSeq(body, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return s, fmt.Errorf("%q is not KEY=VALUE", kv)
		}
		auto = append(auto, k+v)
		switch k {
		case "paper":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f > 100 {
				return s, fmt.Errorf("paper=%s, want a percentage in [0, 100]", v)
			}
			s.Paper = f
			continue
		case "grad", "nets":
			c := switches[k]
			switch v {
			case c.off, c.on:
				s.Fields = append(s.Fields, Field{c.field, json.RawMessage(strconv.FormatBool(v == c.on))})
			default:
				return s, fmt.Errorf("%s=%s, want %s", k, v, c.want)
			}
			continue
		case "ema":
			rate := 0.0
			switch v {
			case "off":
			case "on":
				rate = base.EMARate
				if rate <= 0 {
					rate = 0.999
				}
			default:
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					return s, fmt.Errorf("ema=%s, want on, off or a rate in [0, 1)", v)
				}
				rate = f
			}
			s.Fields = append(s.Fields, Field{"ema_rate", json.RawMessage(strconv.FormatFloat(rate, 'g', -1, 64))})
			continue
		case "variant":
			if v != string(nn.VariantAttn) && v != string(nn.VariantMLP) {
				return s, fmt.Errorf("variant=%s, want %s or %s", v, nn.VariantAttn, nn.VariantMLP)
			}
			variant = v
		case "pos", "pos_encodings":
			pos = v
		}
		field := k
		if f, ok := shorthand[k]; ok {
			field = f
		}
		if fixedFields[field] {
			return s, fmt.Errorf("%s cannot be changed by a setting (the grid's task and budget fix it)", field)
		}
		s.Fields = append(s.Fields, Field{field, jsonValue(v)})
	}
	if variant != "" && pos == "" {
		p := trm.PosNone
		if variant == string(nn.VariantAttn) {
			p = trm.PosRoPE
		}
		s.Fields = append(s.Fields, Field{"pos_encodings", jsonValue(string(p))})
	}
	if name == "" {
		name = strings.Join(auto, "-")
		if name == "" {
			return s, fmt.Errorf("empty setting, want NAME or KEY=VALUE,...")
		}
	}
	if !nameRE.MatchString(name) {
		return s, fmt.Errorf("name %q, want letters, digits, '.', '_' and '-' only (it names a folder)", name)
	}
	s.Name = name
	return s, nil
}

// jsonValue returns v as JSON: a number or boolean as is, anything else
// as a string.
func jsonValue(v string) json.RawMessage {
	if v == "true" || v == "false" {
		return json.RawMessage(v)
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return json.RawMessage(v)
	}
	b, _ := json.Marshal(v)
	return b
}

// Apply returns the base config with the setting's fields set. The result
// is validated.
func (s Setting) Apply(base trm.Config) (trm.Config, error) {
	cfg := base
	if len(s.Fields) > 0 {
		obj := make(map[string]json.RawMessage, len(s.Fields))
		for _, f := range s.Fields {
			obj[f.Name] = f.Value
		}
		data, err := json.Marshal(obj)
		if err != nil {
			return trm.Config{}, fmt.Errorf("setting %s: %w", s.Name, err)
		}
		if cfg, err = trm.DecodeConfig(data, base); err != nil {
			return trm.Config{}, fmt.Errorf("setting %s: %w", s.Name, err)
		}
	}
	if err := cfg.Validate(); err != nil {
		return trm.Config{}, fmt.Errorf("setting %s: %w", s.Name, err)
	}
	return cfg, nil
}
