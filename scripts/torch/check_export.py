"""Check that `trm export --format torch` output loads in PyTorch as the official trainer loads it.

Usage (needs Debian's python3-torch, torch 1.13, and python3-yaml):

    go run ./cmd/trm export --format torch CKPT --out DIR
    /usr/bin/python3 scripts/torch/check_export.py DIR/step_N [--expected trm/testdata/torch/X/expected.json.gz]

It does what the official pretrain.py does with load_checkpoint=DIR/step_N: torch.load the file and
load_state_dict(strict=True) into the model, here a module with the official parameter names, nesting
and dtypes (scripts/torch/official_layout.py) built from DIR/all_config.yaml (its arch section, plus
the vocabulary, sequence length and puzzle ids of its trm section, which the official trainer takes
from its dataset). Strict loading fails on any missing or unexpected key; the script also requires
every loaded tensor to have the module's shape and dtype (float32, H_init/L_init in forward_dtype).
With --expected (a fixture's reference outputs) it runs the independent reference
scripts/golden/trm_ref.py on the loaded tensors and compares logits and q_halt of every supervision
step (max abs difference <= 1e-4). Exit status 0 when everything holds.
"""

import argparse
import gzip
import json
import os
import sys

import torch
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "golden"))
import trm_ref as ref  # noqa: E402
from official_layout import arch_from_yaml, official_module  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("--config", help="all_config.yaml (default: beside the checkpoint)")
    ap.add_argument("--expected", help="expected.json.gz of a fixture: compare the reference outputs")
    args = ap.parse_args()

    cfg_path = args.config or os.path.join(os.path.dirname(args.checkpoint), "all_config.yaml")
    cfg = yaml.safe_load(open(cfg_path))
    info = cfg["trm"]
    arch = arch_from_yaml(cfg, info["vocab_size"], info["seq_len"], info["num_puzzle_identifiers"])

    sd = torch.load(args.checkpoint, map_location="cpu")
    compiled = next(iter(sd)).startswith("_orig_mod.")
    module = official_module(arch, compiled)
    # The official model's dtypes: float32 parameters and puzzle embedding, H_init/L_init in forward_dtype.
    want = {k: (tuple(v.shape), v.dtype) for k, v in module.state_dict().items()}
    result = module.load_state_dict(sd, strict=True)
    print(f"torch {torch.__version__}: torch.load({args.checkpoint!r}): {type(sd).__name__} of {len(sd)} tensors")
    print(f"load_state_dict(strict=True) into the official layout ({'compiled: _orig_mod.model.' if compiled else 'model.'}): {result}")
    bad = [k for k, v in sd.items() if (tuple(v.shape), v.dtype) != want[k]]
    for k in bad:
        print(f"  MISMATCH {k}: file {tuple(sd[k].shape)} {sd[k].dtype}, official {want[k]}")
    if bad:
        return 1
    dtypes = sorted({str(v.dtype) for v in sd.values()})
    params = sum(v.numel() for k, v in sd.items() if not k.endswith(("H_init", "L_init", "puzzle_emb.weights")))
    print(f"every tensor has the official shape and dtype ({', '.join(dtypes)}); {params:,} parameters "
          f"(the official count: model.parameters())")

    if args.expected:
        exp = json.load(gzip.open(args.expected))
        prefix = "_orig_mod.model." if compiled else "model."
        params64 = {k[len(prefix):]: v.to(torch.float64) for k, v in sd.items()}
        c = ref.TRMConfig(variant="mlp" if arch.mlp_t else "attn", hidden=arch.hidden, heads=arch.heads,
                          expansion=arch.expansion, layers=arch.layers, vocab=arch.vocab, seq_len=arch.seq_len,
                          puzzle_emb_len=arch.prefix_len, puzzle_emb_ndim=arch.puzzle_emb_ndim,
                          num_puzzle_ids=arch.num_puzzle_ids, pos=arch.pos,
                          T=cfg["arch"]["H_cycles"], n=cfg["arch"]["L_cycles"])
        tok = torch.tensor(exp["inputs"]["tokens"]["data"]).view(exp["inputs"]["tokens"]["shape"])
        pid = torch.tensor(exp["inputs"]["puzzle_ids"]["data"])
        with torch.no_grad():
            outs = ref.run_supervision(tok, pid, params64, c, len(exp["outputs"]["steps"]))
        worst = 0.0
        for o, e in zip(outs, exp["outputs"]["steps"]):
            for got, key in ((o.logits, "logits"), (o.q_halt, "q_halt")):
                w = torch.tensor(e[key]["data"], dtype=torch.float64).view(e[key]["shape"])
                worst = max(worst, (got - w).abs().max().item())
        print(f"reference forward on the loaded tensors, {len(outs)} supervision steps: "
              f"max |logits, q_halt - expected| = {worst:.2e}")
        if worst > 1e-4:
            return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
