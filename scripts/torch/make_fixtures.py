"""Write tiny official-layout PyTorch checkpoints for the Go import tests.

Usage (from the repository root; needs Debian's python3-torch, torch 1.13, and python3-yaml):

    /usr/bin/python3 scripts/torch/make_fixtures.py           # (re)write trm/testdata/torch/
    /usr/bin/python3 scripts/torch/make_fixtures.py --check   # exit 1 if a file on disk differs

Each fixture is a folder like the official trainer's checkpoint folder:

    step_N            torch.save(model.state_dict()) of scripts/torch/official_layout.py's module,
                      the official key names and dtypes
    all_config.yaml   the official pretrain config (yaml.dump of its fields, keys sorted)
    expected.json.gz  inputs and, for every supervision step, logits [B, L, V] and q_halt [B] from
                      the independent float64 reference scripts/golden/trm_ref.py, run on the
                      exact values stored in step_N

The three fixtures cover both key prefixes, every storage dtype the importer accepts, both
variants, all three positional encodings' tensors and puzzle embeddings with one and three ids:

    attn_compiled   attention + RoPE, "_orig_mod.model.inner.", float32 weights, bfloat16
                    H_init/L_init, 1 layer, puzzle embedding of 1 id (P = 2), data path of a
                    Sudoku 4x4 set (the importer guesses the task sudoku4)
    mlp_plain       mlp_t + none, "model.inner.", bfloat16 weights and inits, float16 lm_head,
                    1 layer, puzzle embedding of 2 tokens + 1 pad (P = 3)
    attn_learned    attention + learned positions, "_orig_mod.model.inner.", float16 weights,
                    float32 inits (forward_dtype float32), 3 puzzle ids, puzzle_emb_len 0
                    (P = ceil(16/16) = 1), a data path that names no task (the tests pass the task)

torch.save output is deterministic here (fixed seeds; the archive has no timestamps), so the files
are byte-for-byte reproducible.
"""

import argparse
import math
import os
import sys

import torch
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "scripts", "golden"))
sys.path.insert(0, HERE)
import importlib.util  # noqa: E402

import trm_ref as ref  # noqa: E402
from official_layout import Arch, official_module  # noqa: E402

# The golden fixtures' writers (Tensor, to_json, gzip_bytes), from scripts/golden/make_fixtures.py.
_spec = importlib.util.spec_from_file_location("golden_fixtures", os.path.join(REPO, "scripts", "golden", "make_fixtures.py"))
_golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_golden)
Tensor, gzip_bytes, to_json = _golden.Tensor, _golden.gzip_bytes, _golden.to_json

OUT = os.path.join(REPO, "trm", "testdata", "torch")
MAX_FIXTURE_BYTES = 128 << 10

# Sudoku 4x4 puzzles (tokens: blank 1, digit d -> d+1), rows of the grid concatenated.
PUZZLES = [
    ".4..1..2..2.4..3",
    "...4..2.3..212..",
    "1..4.4....2.4..1",  # no solution: the model answers whatever it is given
]


def tokens_of(p: str):
    return [1 if c == "." else int(c) + 1 for c in p]


def pretrain_config(a: Arch, T: int, n: int, nsup: int, data_path: str, dtype: str) -> dict:
    """The fields pretrain.py dumps (PretrainConfig.model_dump()), for a tiny run."""
    return {
        "arch": {
            "name": "recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1",
            "loss": {"name": "losses@ACTLossHead", "loss_type": "stablemax_cross_entropy"},
            "halt_exploration_prob": 0.1, "halt_max_steps": nsup,
            "H_cycles": T, "L_cycles": n, "H_layers": 0, "L_layers": a.layers,
            "hidden_size": a.hidden, "num_heads": a.heads, "expansion": a.expansion,
            "puzzle_emb_ndim": a.puzzle_emb_ndim, "pos_encodings": a.pos, "forward_dtype": dtype,
            "mlp_t": a.mlp_t, "puzzle_emb_len": a.puzzle_emb_len, "no_ACT_continue": True,
        },
        "data_paths": [data_path], "data_paths_test": [], "evaluators": [],
        "global_batch_size": 768, "epochs": 50000, "lr": 1e-4, "lr_min_ratio": 1.0, "lr_warmup_steps": 2000,
        "weight_decay": 1.0, "beta1": 0.9, "beta2": 0.95, "puzzle_emb_lr": 1e-4, "puzzle_emb_weight_decay": 1.0,
        "project_name": "fixture", "run_name": "fixture", "load_checkpoint": None,
        "checkpoint_path": "checkpoints/fixture", "seed": 0, "checkpoint_every_eval": False,
        "eval_interval": 5000, "min_eval_interval": 0, "eval_save_outputs": [], "ema": True,
        "ema_rate": 0.999, "freeze_weights": False,
    }


def build(name, a: Arch, T, n, nsup, step, compiled, weight_dtype, lm_dtype, data_path, puzzle_ids, seed):
    cfg = ref.TRMConfig(variant="mlp" if a.mlp_t else "attn", hidden=a.hidden, heads=a.heads, expansion=a.expansion,
                        layers=a.layers, vocab=a.vocab, seq_len=a.seq_len, puzzle_emb_len=a.prefix_len,
                        puzzle_emb_ndim=a.puzzle_emb_ndim, num_puzzle_ids=a.num_puzzle_ids, pos=a.pos, T=T, n=n)
    gen = torch.Generator().manual_seed(seed)
    params = ref.official_init(cfg, gen)
    # Random q_head and puzzle embedding so that they matter (the official init is 0 / -5 / 0).
    params["inner.q_head.weight"] = ref.trunc_normal((2, a.hidden), 1 / math.sqrt(a.hidden), gen)
    params["inner.q_head.bias"] = torch.rand(2, generator=gen, dtype=torch.float64) * 2 - 1
    if a.puzzle_emb_ndim:
        params["inner.puzzle_emb.weights"] = ref.trunc_normal((a.num_puzzle_ids, a.puzzle_emb_ndim),
                                                              1 / math.sqrt(a.hidden), gen)

    module = official_module(a, compiled)
    sd = module.state_dict()
    prefix = "_orig_mod.model." if compiled else "model."
    stored = {}
    for key in sd:
        pname = key[len(prefix):]
        if pname in ("inner.H_init", "inner.L_init"):
            dtype = a.forward_dtype
        elif pname == "inner.lm_head.weight" and lm_dtype is not None:
            dtype = lm_dtype
        else:
            dtype = weight_dtype
        stored[key] = params[pname].to(dtype)
    assert set(k[len(prefix):] for k in stored) == set(params), (set(params) ^ set(k[len(prefix):] for k in stored))
    # Give the module the storage dtypes (as if trained or cast so), then load: the layout is
    # exactly the module's.
    with torch.no_grad():
        for key, t in list(module.named_parameters()) + list(module.named_buffers()):
            if key in stored:
                t.data = t.data.to(stored[key].dtype)
    module.load_state_dict(stored, strict=True)
    for key, v in module.state_dict().items():
        assert v.dtype == stored[key].dtype, (key, v.dtype, stored[key].dtype)

    # The trainer saves to a path (torch 1.x names the archive after the file): do the same.
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f"step_{step}")
    torch.save(module.state_dict(), tmp + ".tmp")
    data = open(tmp + ".tmp", "rb").read()
    os.remove(tmp + ".tmp")

    # Expected outputs from the float64 reference on the exact stored values.
    exact = {key[len(prefix):]: v.to(torch.float64) for key, v in stored.items()}
    toks = torch.tensor([tokens_of(p) for p in PUZZLES])
    pids = torch.tensor(puzzle_ids)
    with torch.no_grad():
        outs = ref.run_supervision(toks, pids, exact, cfg, nsup)
    expected = {
        "config": {"task": "sudoku4", "steps": nsup, "batch": len(PUZZLES)},
        "inputs": {"tokens": Tensor(toks, integer=True), "puzzle_ids": Tensor(pids, integer=True)},
        "outputs": {"steps": [{"logits": Tensor(o.logits), "q_halt": Tensor(o.q_halt)} for o in outs]},
    }
    yml = yaml.dump(pretrain_config(a, T, n, nsup, data_path,
                                    {torch.bfloat16: "bfloat16", torch.float32: "float32"}[a.forward_dtype]))
    return {
        os.path.join(folder, f"step_{step}"): data,
        os.path.join(folder, "all_config.yaml"): yml.encode(),
        os.path.join(folder, "expected.json.gz"): gzip_bytes(to_json(expected) + "\n"),
    }


FIXTURES = [
    lambda: build("attn_compiled", Arch(hidden=16, heads=2, expansion=4, layers=1, vocab=6, seq_len=16,
                                        puzzle_emb_ndim=16, puzzle_emb_len=2, num_puzzle_ids=1, pos="rope",
                                        mlp_t=False),
                  T=2, n=2, nsup=3, step=100, compiled=True, weight_dtype=torch.float32, lm_dtype=None,
                  data_path="data/sudoku4-tiny-aug-10", puzzle_ids=[0, 0, 0], seed=3001),
    lambda: build("mlp_plain", Arch(hidden=16, heads=2, expansion=4, layers=1, vocab=6, seq_len=16,
                                    puzzle_emb_ndim=32, puzzle_emb_len=3, num_puzzle_ids=1, pos="none", mlp_t=True),
                  T=2, n=2, nsup=3, step=7, compiled=False, weight_dtype=torch.bfloat16, lm_dtype=torch.float16,
                  data_path="data/sudoku-4x4-tiny", puzzle_ids=[0, 0, 0], seed=3002),
    lambda: build("attn_learned", Arch(hidden=16, heads=2, expansion=4, layers=2, vocab=6, seq_len=16,
                                       puzzle_emb_ndim=16, puzzle_emb_len=0, num_puzzle_ids=3, pos="learned",
                                       mlp_t=False, forward_dtype=torch.float32),
                  T=1, n=3, nsup=3, step=3, compiled=True, weight_dtype=torch.float16, lm_dtype=None,
                  data_path="data/arc-tiny", puzzle_ids=[2, 0, 1], seed=3003),
]


def commit_files(files: dict, check: bool) -> list:
    """Writes each fixture file whose bytes changed (atomically), or with check only compares;
    prints one line per file and returns the paths (relative to the repository) that differ."""
    stale = []
    for path, data in files.items():
        assert len(data) < MAX_FIXTURE_BYTES, (path, len(data))
        rel = os.path.relpath(path, REPO)
        old = open(path, "rb").read() if os.path.exists(path) else None
        if check:
            if old != data:
                stale.append(rel)
            status = "up to date" if old == data else "DIFFERS"
        else:
            if old != data:
                with open(path + ".tmp", "wb") as f:
                    f.write(data)
                os.replace(path + ".tmp", path)
            status = "unchanged" if old == data else "written"
        print(f"{rel}: {len(data):,} bytes, {status}")
    return stale


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="do not write; fail if a file on disk differs")
    args = parser.parse_args()
    torch.set_num_threads(1)
    stale = []
    for make in FIXTURES:
        stale += commit_files(make(), args.check)
    if stale:
        print("stale fixtures (regenerate with scripts/torch/make_fixtures.py):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
