"""Write a tiny official-format ARC checkpoint and the PyTorch reference's per-augmentation predictions.

Usage (from the repository root; needs Debian's python3-torch (torch 1.13), python3-numpy and python3-yaml):

    /usr/bin/python3 scripts/torch/make_arc_fixture.py           # (re)write trm/testdata/torch/arc_tiny/
    /usr/bin/python3 scripts/torch/make_arc_fixture.py --check   # exit 1 if a file on disk differs

The dataset is the official ARC builder's (re-implemented by scripts/arc/golden.py, numpy's generator)
over the committed evaluation tasks testdata/arc/arc-agi_evaluation_challenges.json as the test set,
AUG augmentations per task, seed SEED: the Go task

    arc eval=testdata/arc/arc-agi_evaluation_challenges.json aug=2 seed=42

builds the same examples and puzzle identifiers (TestARCGolden checks the builder). Its test split (every
test input of the 4 tasks, in the original and each augmentation: 15 examples) is what the fixture answers.

The model is the official ARC architecture (config/arch/trm.yaml: attention, RoPE, puzzle_emb_ndim =
hidden_size, puzzle_emb_len 16) at a tiny size: hidden 16, 2 heads, expansion 4, L_layers 2, H_cycles 2,
L_cycles 2, halt_max_steps 3, with seeded random weights (the official init, shaped so that the answers
echo the input grids with changes instead of one token everywhere, and a random q_head and puzzle
embedding so that they matter: see build), one puzzle-embedding row per identifier of the dataset. Files:

    step_518          torch.save of the state dict as the official trainer writes it: keys
                      "_orig_mod.model.inner.*", float32 weights and puzzle embedding, bfloat16 H_init/L_init
    all_config.yaml   the official pretrain config of the run (yaml.dump, keys sorted)
    expected.json.gz  the dataset (options, identifiers); per test example its puzzle id and the SHA-256
                      of its input tokens; for every supervision step the argmax predictions over the 900
                      positions (one character per token, "0".."9", "a", "b"), q_halt and a sample of the
                      logits (LOGIT_EXAMPLES examples at LOGIT_POSITIONS), from the independent float64
                      reference scripts/golden/trm_ref.py on the stored values; the positions whose two
                      best logits are within TIE_MARGIN (where float32 may pick the other; none at present);
                      and the official voting (golden.vote) over the last step's answers: pass@k and, per
                      task and test input, the ranked candidates (grid SHA-256, votes, mean sigmoid(q_halt)).

The Go test is trm/infer/official_arc_test.go. Output is byte-for-byte reproducible (seeded,
single-threaded float64, torch.save without timestamps, gzip mtime 0).
"""

import argparse
import hashlib
import importlib.util
import math
import os
import sys

import numpy as np
import torch
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "scripts", "golden"))
sys.path.insert(0, HERE)

import make_fixtures as mf  # noqa: E402  (the official-layout fixtures: config and writers)
import trm_ref as ref  # noqa: E402
from official_layout import Arch, official_module  # noqa: E402

_spec = importlib.util.spec_from_file_location("arc_golden", os.path.join(REPO, "scripts", "arc", "golden.py"))
arc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(arc)

OUT = os.path.join(REPO, "trm", "testdata", "torch", "arc_tiny")

# The dataset: the Go task options are eval=<the evaluation challenges file> aug=AUG seed=SEED.
SUBSETS, TEST_SET, AUG, SEED = ["evaluation"], "evaluation", 2, 42
HIDDEN, HEADS, EXPANSION, LAYERS, PUZZLE_EMB_LEN = 16, 2, 4, 2, 16
T, N, NSUP, STEP, WEIGHT_SEED = 2, 2, 3, 518, 4001
# Positions whose two best float64 logits are closer than this are listed: a float32 run may pick the
# other one there (the Go test allows a different argmax only at such positions).
TIE_MARGIN = 1e-4
CHUNK = 3  # examples per reference batch (the float64 attention scores of 916 positions are large)
TOKENS = "0123456789ab"
OUT_PROJ_SCALE = 0.3
# The logits the fixture keeps (every step): of the first LOGIT_EXAMPLES test examples (the original
# and two augmentations of one task) at these canvas positions (the grids' corner, inside and far
# outside them).
LOGIT_EXAMPLES = 3
LOGIT_POSITIONS = [0, 1, 30, 31, 62, 155, 899]


def arc_pretrain_config(nsup: int, num_ids: int):
    """The official ARC run's config (config/cfg_pretrain.yaml with arch=trm), at the fixture's size."""
    a = Arch(hidden=HIDDEN, heads=HEADS, expansion=EXPANSION, layers=LAYERS, vocab=12, seq_len=900,
             puzzle_emb_ndim=HIDDEN, puzzle_emb_len=PUZZLE_EMB_LEN, num_puzzle_ids=num_ids, pos="rope", mlp_t=False)
    cfg = mf.pretrain_config(a, T, N, nsup, f"data/arc-tiny-eval-aug-{AUG}", "bfloat16")
    cfg.update({
        "data_paths_test": [], "evaluators": [{"name": "arc@ARC"}], "epochs": 100000, "eval_interval": 10000,
        "weight_decay": 0.1, "puzzle_emb_lr": 1e-2, "puzzle_emb_weight_decay": 0.1,
        "project_name": "arc-tiny", "run_name": "arc-tiny", "checkpoint_path": "checkpoints/arc-tiny",
    })
    return a, cfg


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def build():
    # The dataset, as the official builder makes it.
    data, test_tasks = arc.build(SUBSETS, TEST_SET, AUG, SEED)
    identifiers = data["identifiers"]
    exs = arc.test_examples(SUBSETS, AUG, SEED)  # (puzzle id, input [900], label [900]) of the test split
    a, pcfg = arc_pretrain_config(NSUP, len(identifiers))
    cfg = ref.TRMConfig(variant="attn", hidden=a.hidden, heads=a.heads, expansion=a.expansion, layers=a.layers,
                        vocab=a.vocab, seq_len=a.seq_len, puzzle_emb_len=a.prefix_len, puzzle_emb_ndim=a.puzzle_emb_ndim,
                        num_puzzle_ids=a.num_puzzle_ids, pos=a.pos, T=T, n=N)

    # Seeded random weights: the official init, then shaped so that the answers are worth comparing.
    # With the init as it is, the 900 positions (mostly pad) collapse to one predicted token; here the
    # blocks' output projections are scaled down (the residual stream keeps the input), the token
    # embedding has std 1 and lm_head gets the embedding added (answers echo the input grid, with
    # changes, as many ARC answers do: the crops are grids and the votes mean something), and
    # q_head and the puzzle embedding are random (the official init is 0 / -5 / 0).
    gen = torch.Generator().manual_seed(WEIGHT_SEED)
    params = ref.official_init(cfg, gen)
    params["inner.q_head.weight"] = ref.trunc_normal((2, a.hidden), 1 / math.sqrt(a.hidden), gen)
    params["inner.q_head.bias"] = torch.rand(2, generator=gen, dtype=torch.float64) * 2 - 1
    params["inner.puzzle_emb.weights"] = ref.trunc_normal((a.num_puzzle_ids, a.puzzle_emb_ndim), 2.0, gen)
    params["inner.embed_tokens.embedding_weight"] *= math.sqrt(a.hidden)
    params["inner.lm_head.weight"] = params["inner.lm_head.weight"] + params["inner.embed_tokens.embedding_weight"]
    for name in params:
        if name.endswith(("o_proj.weight", "down_proj.weight")):
            params[name] = params[name] * OUT_PROJ_SCALE

    # The official layout and dtypes: float32, H_init/L_init in the forward dtype (bfloat16).
    module = official_module(a, compiled=True)
    prefix = "_orig_mod.model."
    stored = {}
    for key in module.state_dict():
        pname = key[len(prefix):]
        stored[key] = params[pname].to(a.forward_dtype if pname in ("inner.H_init", "inner.L_init") else torch.float32)
    assert set(k[len(prefix):] for k in stored) == set(params)
    module.load_state_dict(stored, strict=True)
    for key, v in module.state_dict().items():
        assert v.dtype == stored[key].dtype, (key, v.dtype, stored[key].dtype)
    os.makedirs(OUT, exist_ok=True)
    tmp = os.path.join(OUT, f"step_{STEP}")
    torch.save(module.state_dict(), tmp + ".tmp")
    ckpt = open(tmp + ".tmp", "rb").read()
    os.remove(tmp + ".tmp")

    # The reference on the exact stored values.
    exact = {key[len(prefix):]: v.to(torch.float64) for key, v in stored.items()}
    pids = torch.tensor([p for p, _, _ in exs])
    toks = torch.tensor(np.stack([si for _, si, _ in exs]).astype(np.int64))
    steps = [{"logits": [], "q_halt": []} for _ in range(NSUP)]
    with torch.no_grad():
        for lo in range(0, len(exs), CHUNK):
            outs = ref.run_supervision(toks[lo:lo + CHUNK], pids[lo:lo + CHUNK], exact, cfg, NSUP)
            for s, o in enumerate(outs):
                steps[s]["logits"].append(o.logits)
                steps[s]["q_halt"].append(o.q_halt)
    preds, qhalt, ties, sample = [], [], [], []
    for s, st in enumerate(steps):
        logits = torch.cat(st["logits"])  # [B, 900, 12]
        sample.append(logits[:LOGIT_EXAMPLES, LOGIT_POSITIONS])
        top2 = logits.topk(2, dim=-1).values
        margin = top2[..., 0] - top2[..., 1]
        for b, p in (margin < TIE_MARGIN).nonzero().tolist():
            ties.append([s + 1, b, p, float(margin[b, p])])
        p = logits.argmax(dim=-1)
        preds.append(["".join(TOKENS[v] for v in row) for row in p.tolist()])
        qhalt.append(torch.cat(st["q_halt"]))
        st["preds"], st["margin"] = p, margin

    # The fixture must tell puzzle ids and steps apart: another puzzle id changes q_halt (read at the
    # first prefix position, the puzzle embedding's), and the steps answer differently.
    with torch.no_grad():
        other = ref.run_supervision(toks[:1], pids[1:2], exact, cfg, 1)[0]
    assert abs(float(other.q_halt[0] - qhalt[0][0])) > 0.01, "the puzzle embedding hardly matters"
    assert preds[0] != preds[-1], "every step answers the same"
    # A float32 run of the same reference picks the same argmax wherever the float64 margin is clear.
    with torch.no_grad():
        f32 = {k: v.to(torch.float32) for k, v in exact.items()}
        o32 = ref.run_supervision(toks[:CHUNK], pids[:CHUNK], f32, cfg, NSUP)
    for s, o in enumerate(o32):
        diff = (o.logits.argmax(-1) != steps[s]["preds"][:CHUNK]) & (steps[s]["margin"][:CHUNK] >= TIE_MARGIN)
        assert not diff.any(), f"step {s + 1}: float32 flips an argmax with a clear float64 margin"
        assert (o.q_halt.double() - qhalt[s][:CHUNK]).abs().max() < 1e-5

    # The official voting over the last step's answers.
    scores, sub = arc.vote(identifiers, test_tasks,
                           [(int(pids[i]), exs[i][1], steps[-1]["preds"][i].numpy(), float(qhalt[-1][i]))
                            for i in range(len(exs))], ks=(1, 2))
    ranking = {name: [[[h, v, round(c, 7)] for h, v, c in att["ranking"]] for att in atts] for name, atts in sub.items()}

    expected = {
        "dataset": {"task": "arc", "subsets": SUBSETS, "test_set": TEST_SET, "aug": AUG, "seed": SEED,
                    "num_puzzle_identifiers": len(identifiers), "identifiers": identifiers},
        "examples": {"puzzle_ids": pids.tolist(),
                     "input_sha256": [sha(np.asarray(si, dtype=np.uint8).tobytes()) for _, si, _ in exs]},
        "logit_examples": LOGIT_EXAMPLES,
        "logit_positions": LOGIT_POSITIONS,
        "steps": [{"preds": preds[s], "q_halt": mf.Tensor(qhalt[s]), "logits": mf.Tensor(sample[s])}
                  for s in range(NSUP)],
        "tie_margin": TIE_MARGIN,
        "ties": ties,
        "votes": {"scores": scores, "ranking": ranking},
    }
    yml = yaml.dump(pcfg)
    return {
        os.path.join(OUT, f"step_{STEP}"): ckpt,
        os.path.join(OUT, "all_config.yaml"): yml.encode(),
        os.path.join(OUT, "expected.json.gz"): mf.gzip_bytes(mf.to_json(expected) + "\n"),
    }, ties


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="do not write; fail if a file on disk differs")
    args = parser.parse_args()
    torch.set_num_threads(1)
    files, ties = build()
    print(f"argmax near-ties (< {TIE_MARGIN}): {len(ties)}")
    stale = mf.commit_files(files, args.check)
    if stale:
        print("stale fixtures (regenerate with scripts/torch/make_arc_fixture.py):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
