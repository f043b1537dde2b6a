"""Generate the golden fixtures the Go tests compare against.

Usage (from the repository root; needs PyTorch, run with /usr/bin/python3 here):

    /usr/bin/python3 scripts/golden/make_fixtures.py          # check, then (re)write the 5 files
    /usr/bin/python3 scripts/golden/make_fixtures.py --check  # check, and fail if a file on disk differs

Writes nn/testdata/golden_block_{attn,mlp}.json.gz and trm/testdata/golden_trm_{attn,mlp,mlp_sep}.json.gz.
Before writing, it asserts: the official parameter counts (5,028,866 and 6,828,034), the
vectorised ops against slow loop versions, torch.autograd.gradcheck of each fixture's loss,
the argmax margins that make the halting target robust to float32, a float32 rerun staying
within 5e-5 of the fixture, and the file sizes.
Output is byte-for-byte reproducible (seeded, single-threaded float64, gzip mtime 0).
See README.md for the format and the semantics.
"""

import argparse
import gzip
import io
import json
import math
import os
import sys
from typing import Dict, List, Tuple

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import trm_ref as ref  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

# Logit gap (absolute) that every argmax decision of the halting target must clear, so that a
# float32 forward pass reaches the same target as this float64 one.
ARGMAX_MARGIN = 0.02
MAX_FILE_BYTES = 1 << 20
# A float32 run of this same reference must stay this close to the float64 fixture (max |diff| /
# max |value| per tensor), leaving headroom under the Go tests' 1e-4 (outputs) / 1e-3 (grads).
F32_TOL = 5e-5


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------


def f32(t: torch.Tensor) -> torch.Tensor:
    """Round to float32 and back: fixture values are float32, the computation is float64."""
    return t.to(torch.float32).to(torch.float64)


def rand_labels(gen: torch.Generator, shape, vocab: int, ignore_prob: float) -> torch.Tensor:
    labels = torch.randint(0, vocab, shape, generator=gen)
    drop = torch.rand(shape, generator=gen, dtype=torch.float64) < ignore_prob
    return torch.where(drop, torch.full_like(labels, ref.IGNORE_LABEL), labels)


def halt_margins_ok(logits: torch.Tensor, labels: torch.Tensor, target: torch.Tensor) -> bool:
    """True if every halting-target decision holds with ARGMAX_MARGIN to spare.

    target 1: at every labelled position the top logit beats the runner-up by the margin.
    target 0: some labelled position has its label's logit below the maximum by the margin.
    """
    for b in range(labels.shape[0]):
        mask = labels[b] != ref.IGNORE_LABEL
        lg = logits[b][mask]
        lab = labels[b][mask]
        if lab.numel() == 0:
            return False  # keep the fixtures away from the all-ignored edge case
        top2 = lg.topk(2, dim=-1).values
        if target[b] == 1:
            if not bool((top2[:, 0] - top2[:, 1] > ARGMAX_MARGIN).all()):
                return False
        else:
            gap = top2[:, 0] - lg.gather(-1, lab[:, None]).squeeze(-1)
            if not bool((gap > ARGMAX_MARGIN).any()):
                return False
    return True


def fmt_f32(v) -> str:
    """Shortest decimal that round-trips the float32 value (numpy's float32 repr)."""
    s = repr(np.float32(v))
    assert math.isfinite(float(s)), s
    return s


class Tensor:
    """A tensor entry of the fixture: {"shape": [...], "data": [...]} (row-major)."""

    def __init__(self, t: torch.Tensor, integer: bool = False):
        self.shape = list(t.shape)
        if integer:
            self.data = [str(int(v)) for v in t.reshape(-1).tolist()]
        else:
            self.data = [fmt_f32(v) for v in t.detach().to(torch.float32).reshape(-1).numpy()]


def to_json(obj, indent: int = 0) -> str:
    """Deterministic JSON: dict keys in insertion order, one top-level entry per line."""
    pad = "\n" + " " * (indent + 1)
    if isinstance(obj, Tensor):
        return '{"shape":[' + ",".join(str(s) for s in obj.shape) + '],"data":[' + ",".join(obj.data) + "]}"
    if isinstance(obj, dict):
        items = [json.dumps(k) + ":" + to_json(v, indent + 1) for k, v in obj.items()]
        return "{" + pad + ("," + pad).join(items) + "\n" + " " * indent + "}"
    if isinstance(obj, list):
        return "[" + ",".join(to_json(v, indent + 1) for v in obj) + "]"
    return json.dumps(obj)


def gzip_bytes(text: str) -> bytes:
    buf = io.BytesIO()
    # mtime=0 and no file name in the header: identical bytes on every run.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(text.encode("ascii"))
    return buf.getvalue()


def gradcheck_params(fn, params: Dict[str, torch.Tensor], names: List[Tuple[str, int]]):
    """torch.autograd.gradcheck of fn(params) w.r.t. the first `rows` rows of each named tensor."""
    parts = []
    for name, rows in names:
        parts.append(params[name][:rows].detach().clone().requires_grad_(True))

    def wrapped(*subs):
        p = dict(params)
        for (name, rows), sub in zip(names, subs):
            full = params[name].detach()
            p[name] = torch.cat([sub, full[rows:]], dim=0)
        return fn(p)

    assert torch.autograd.gradcheck(wrapped, tuple(parts), eps=1e-6, atol=1e-8, rtol=1e-5), names


def float32_replay(what: str, want, got):
    """The same computation in float32 must stay within F32_TOL of the float64 fixture.

    Error measure per tensor: max |got - want| / max |want| (what the Go tests should use too:
    element-wise relative errors are meaningless for entries near zero).
    """
    worst = {}
    for kind, w, g in (("outputs", want[0], got[0]), ("grads", want[1], got[1])):
        for name in w:
            err = ((g[name].to(torch.float64) - w[name]).abs().max() / w[name].abs().max()).item()
            assert err < F32_TOL, f"{what}: float32 replay of {kind} {name} is off by {err:.2e}"
            if err > worst.get(kind, (0.0, ""))[0]:
                worst[kind] = (err, name)
    print(f"{what}: float32 replay within " + ", ".join(
        f"{e:.1e} ({kind}, worst {name})" for kind, (e, name) in worst.items()))


# ---------------------------------------------------------------------------
# Independent checks of the reference itself
# ---------------------------------------------------------------------------


def check_param_counts():
    """The official parameter counts of spec section 4 (sum of model.parameters())."""
    common = dict(hidden=512, heads=8, expansion=4, layers=2, vocab=11, seq_len=81, puzzle_emb_len=16,
                  puzzle_emb_ndim=512, num_puzzle_ids=1, T=3, n=6)
    mlp = ref.TRMConfig(variant="mlp", pos="none", **common)
    att = ref.TRMConfig(variant="attn", pos="rope", **common)
    assert ref.swiglu_intermediate(512, 4) == 1536
    assert ref.swiglu_intermediate(97, 4) == 512
    got_mlp, got_att = ref.official_param_count(mlp), ref.official_param_count(att)
    assert got_mlp == 5_028_866, got_mlp
    assert got_att == 6_828_034, got_att
    # A learned position table would add (81+16)*512 = 49,664, so the published attention
    # count is the rope (or none) configuration.
    learned = ref.TRMConfig(variant="attn", pos="learned", **common)
    assert ref.official_param_count(learned) == 6_828_034 + 97 * 512
    # The puzzle embedding (trained by SignSGD) and H_init/L_init are buffers, outside the count.
    shapes = ref.trm_param_shapes(mlp)
    assert shapes["inner.puzzle_emb.weights"] == (1, 512)
    print(f"param counts: mlp_t sudoku {got_mlp:,}, attention sudoku {got_att:,} (match the paper)")


def check_ops_against_loops():
    """The vectorised attention / mlp_t / RoPE against plain loops written from the formulas."""
    gen = torch.Generator().manual_seed(7)
    B, S, D, H = 2, 5, 8, 2
    hd = D // H
    h = torch.randn(B, S, D, generator=gen, dtype=torch.float64)
    qkv_w = torch.randn(3 * D, D, generator=gen, dtype=torch.float64)
    o_w = torch.randn(D, D, generator=gen, dtype=torch.float64)
    cos, sin = ref.rope_tables(S, hd, 10000.0)
    fast = ref.attention(h, qkv_w, o_w, H, (cos, sin))

    slow = torch.zeros(B, S, D, dtype=torch.float64)
    for b in range(B):
        concat = torch.zeros(S, D, dtype=torch.float64)
        for head in range(H):
            def proj(kind, pos):
                rows = qkv_w[(kind * H + head) * hd:(kind * H + head + 1) * hd]
                return rows @ h[b, pos]

            def rot(vec, pos):
                out = torch.zeros(hd, dtype=torch.float64)
                for i in range(hd // 2):
                    ang = pos * 10000.0 ** (-2.0 * i / hd)
                    c, s = math.cos(ang), math.sin(ang)
                    out[i] = vec[i] * c - vec[i + hd // 2] * s
                    out[i + hd // 2] = vec[i + hd // 2] * c + vec[i] * s
                return out

            for p in range(S):
                q = rot(proj(0, p), p)
                scores = torch.stack([q @ rot(proj(1, j), j) for j in range(S)]) / math.sqrt(hd)
                w = torch.exp(scores - scores.max())
                w = w / w.sum()
                concat[p, head * hd:(head + 1) * hd] = sum(w[j] * proj(2, j) for j in range(S))
        slow[b] = concat @ o_w.t()
    assert torch.allclose(fast, slow, rtol=1e-10, atol=1e-10)

    # mlp_t block: mixing over positions for each hidden feature, RMSNorm across positions.
    cfg = ref.NetConfig("mlp", D, H, 4, 1, S, "none")
    params = {name: torch.randn(shape, generator=gen, dtype=torch.float64) / math.sqrt(shape[1])
              for name, shape in ref.net_param_shapes(cfg).items()}
    fast = ref.block(h, params, "layers.0.", cfg, None)
    gu_t, dn_t = params["layers.0.mlp_t.gate_up_proj.weight"], params["layers.0.mlp_t.down_proj.weight"]
    gu, dn = params["layers.0.mlp.gate_up_proj.weight"], params["layers.0.mlp.down_proj.weight"]
    it, inn = dn_t.shape[1], dn.shape[1]
    slow = torch.zeros(B, S, D, dtype=torch.float64)
    for b in range(B):
        mid = torch.zeros(S, D, dtype=torch.float64)
        for d in range(D):
            col = h[b, :, d]  # the sequence of feature d
            g = torch.einsum("is,s->i", gu_t[:it], col)
            u = torch.einsum("is,s->i", gu_t[it:], col)
            r = col + dn_t @ (g * torch.sigmoid(g) * u)
            mid[:, d] = r / torch.sqrt((r * r).mean() + 1e-5)
        for p in range(S):
            row = mid[p]
            g, u = gu[:inn] @ row, gu[inn:] @ row
            r = row + dn @ (g * torch.sigmoid(g) * u)
            slow[b, p] = r / torch.sqrt((r * r).mean() + 1e-5)
    assert torch.allclose(fast, slow, rtol=1e-10, atol=1e-10)

    # Stablemax: direct formula.
    v = torch.tensor([[-2.0, -0.5, 0.0, 1.5]], dtype=torch.float64)
    s = torch.tensor([1 / 3, 1 / 1.5, 1.0, 2.5], dtype=torch.float64)
    assert torch.allclose(ref.stablemax_log_probs(v)[0], torch.log(s / s.sum()))
    print("ops: attention/RoPE, mlp_t block and stablemax match loop implementations")


# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------


def block_fixture(variant: str, seed: int) -> dict:
    """A 2-block network alone, with lm_head, q_head and the TRM loss on top."""
    B, S, D, V = 3, 6, 16, 6
    cfg = ref.NetConfig(variant=variant, hidden=D, heads=2, expansion=4, layers=2, seq=S,
                        pos="rope" if variant == "attn" else "none")
    gen = torch.Generator().manual_seed(seed)
    params: Dict[str, torch.Tensor] = {}
    for name, shape in ref.net_param_shapes(cfg).items():
        params[name] = f32(ref.trunc_normal(shape, 1 / math.sqrt(shape[1]), gen))
    params["lm_head.weight"] = f32(ref.trunc_normal((V, D), 1 / math.sqrt(D), gen))
    params["q_head.weight"] = f32(ref.trunc_normal((2, D), 1 / math.sqrt(D), gen))
    params["q_head.bias"] = f32(torch.rand(2, generator=gen, dtype=torch.float64) * 2 - 1)
    h = f32(torch.randn(B, S, D, generator=gen, dtype=torch.float64))
    inject = f32(torch.randn(B, S, D, generator=gen, dtype=torch.float64))

    def forward(p, h_, inj_):
        out = ref.net(h_, inj_, p, cfg)
        logits = ref.linear(out, p["lm_head.weight"])
        q_halt = ref.linear(out[:, 0], p["q_head.weight"], p["q_head.bias"])[:, 0]
        return out, logits, q_halt

    with torch.no_grad():
        _, logits, _ = forward(params, h, inject)
    # Sample 1 is labelled with its own predictions (halting target 1), the others randomly;
    # draw again until every argmax decision has a safe margin.
    for _ in range(100):
        labels = rand_labels(gen, (B, S), V, 0.25)
        labels[1] = torch.where(labels[1] == ref.IGNORE_LABEL, labels[1], logits[1].argmax(-1))
        target = ref.trm_loss(logits, labels, torch.zeros(B, dtype=torch.float64)).halt_target
        if target.tolist() == [0.0, 1.0, 0.0] and halt_margins_ok(logits, labels, target) \
                and bool((labels == ref.IGNORE_LABEL).any(-1).all()):
            break
    else:
        raise AssertionError(f"block {variant}: no labels with safe argmax margins; change the seed")

    def run(dtype):
        p = {k: v.detach().clone().to(dtype).requires_grad_(True) for k, v in params.items()}
        h_g, inj_g = (t.detach().clone().to(dtype).requires_grad_(True) for t in (h, inject))
        out, logits, q_halt = forward(p, h_g, inj_g)
        lo = ref.trm_loss(logits, labels, q_halt)
        lo.loss.backward()
        assert lo.halt_target.tolist() == [0.0, 1.0, 0.0], (dtype, lo.halt_target)
        outputs = {"out": out, "logits": logits, "q_halt": q_halt, "loss": lo.loss}
        grads = {**{k: v.grad for k, v in p.items()}, "h": h_g.grad, "inject": inj_g.grad}
        return {k: v.detach() for k, v in outputs.items()}, grads

    outputs, grads = run(torch.float64)
    float32_replay(f"block {variant}", (outputs, grads), run(torch.float32))

    # Finite-difference check of the loss (float64) on a few tensors.
    def loss_of(pp):
        hh = pp.pop("__h")
        ii = pp.pop("__inject")
        _, lg, qh = forward(pp, hh, ii)
        return ref.trm_loss(lg, labels, qh).loss

    mixer = "layers.1.self_attn.qkv_proj.weight" if variant == "attn" else "layers.1.mlp_t.gate_up_proj.weight"
    gradcheck_params(loss_of, {**params, "__h": h, "__inject": inject},
                     [("__h", 1), ("__inject", 1), ("q_head.bias", 2), ("q_head.weight", 2), ("lm_head.weight", 6),
                      (mixer, 8), ("layers.0.mlp.down_proj.weight", 4)])

    config = {"variant": variant, "hidden": D, "heads": cfg.heads, "expansion": cfg.expansion, "layers": cfg.layers,
              "batch": B, "seq": S, "vocab": V, "rms_eps": cfg.rms_eps, "rope_theta": cfg.rope_theta, "pos": cfg.pos}
    return {
        "config": config,
        "params": {k: Tensor(v) for k, v in params.items()},
        "inputs": {"h": Tensor(h), "inject": Tensor(inject), "labels": Tensor(labels, integer=True)},
        "outputs": {k: Tensor(v) for k, v in outputs.items()},
        "grads": {k: Tensor(v) for k, v in grads.items()},
    }


def trm_fixture(variant: str, seed: int, separate: bool = False) -> dict:
    """The full model with a puzzle-embedding prefix, 2 supervision steps; with separate, the
    answer update has its own network (inner.H_level), the paper's ablation."""
    B, steps = 3, 2
    if variant == "attn":
        # One prefix token of puzzle embedding, padded with one zero token: P = 2.
        cfg = ref.TRMConfig(variant="attn", hidden=16, heads=2, expansion=4, layers=2, vocab=6, seq_len=6,
                            puzzle_emb_len=2, puzzle_emb_ndim=16, num_puzzle_ids=3, pos="rope", T=2, n=2)
    else:
        # Two prefix tokens of puzzle embedding, padded with one zero token: P = 3. Learned
        # positions (a [P+L, D] table and the 0.707106781 factor), so all three encodings are
        # covered by the fixtures: rope (attn files), none (block mlp), learned (here).
        cfg = ref.TRMConfig(variant="mlp", hidden=16, heads=2, expansion=4, layers=2, vocab=6, seq_len=6,
                            puzzle_emb_len=3, puzzle_emb_ndim=32, num_puzzle_ids=3, pos="learned", T=2, n=2,
                            separate=separate)
    D = cfg.hidden
    gen = torch.Generator().manual_seed(seed)
    params = ref.official_init(cfg, gen)
    # Replace the zero / -5 inits of q_head and puzzle_emb so that they matter in the test.
    params["inner.q_head.weight"] = ref.trunc_normal((2, D), 1 / math.sqrt(D), gen)
    params["inner.q_head.bias"] = torch.rand(2, generator=gen, dtype=torch.float64) * 2 - 1
    params["inner.puzzle_emb.weights"] = ref.trunc_normal((cfg.num_puzzle_ids, cfg.puzzle_emb_ndim),
                                                          1 / math.sqrt(D), gen)
    params = {k: f32(v) for k, v in params.items()}
    tokens = torch.randint(0, cfg.vocab, (B, cfg.seq_len), generator=gen)
    puzzle_ids = torch.tensor([2, 0, 2])  # id 2 twice (gradients add up), id 1 unused (zero gradient)

    with torch.no_grad():
        first = ref.run_supervision(tokens, puzzle_ids, params, cfg, 1)[0]
    for _ in range(100):
        labels = rand_labels(gen, (B, cfg.seq_len), cfg.vocab, 0.25)
        labels[1] = torch.where(labels[1] == ref.IGNORE_LABEL, labels[1], first.logits[1].argmax(-1))
        target = ref.trm_loss(first.logits, labels, first.q_halt).halt_target
        if target.tolist() == [0.0, 1.0, 0.0] and halt_margins_ok(first.logits, labels, target) \
                and bool((labels == ref.IGNORE_LABEL).any(-1).all()):
            break
    else:
        raise AssertionError(f"trm {variant}: no labels with safe argmax margins; change the seed")

    trained = [k for k in params if k not in ref.UNTRAINED]

    def run(dtype):
        p = {k: v.detach().clone().to(dtype).requires_grad_(k in trained) for k, v in params.items()}
        outs = ref.run_supervision(tokens, puzzle_ids, p, cfg, steps)
        losses = [ref.trm_loss(o.logits, labels, o.q_halt) for o in outs]
        losses[0].loss.backward()
        assert losses[0].halt_target.tolist() == [0.0, 1.0, 0.0], (dtype, losses[0].halt_target)
        outputs = {}
        for i, (o, lo) in enumerate(zip(outs, losses)):
            outputs.update({f"step{i}.logits": o.logits, f"step{i}.q_halt": o.q_halt, f"step{i}.y": o.y,
                            f"step{i}.z": o.z, f"step{i}.loss": lo.loss})
        return {k: v.detach() for k, v in outputs.items()}, {k: p[k].grad for k in trained}

    outputs, grads = run(torch.float64)
    float32_replay(f"trm {variant}", (outputs, grads), run(torch.float32))
    assert not bool(grads["inner.puzzle_emb.weights"][1].any()), "unused puzzle id must get no gradient"
    assert bool(grads["inner.puzzle_emb.weights"][2].abs().sum() > 0)

    def loss_of(pp):
        # No-gradient cycles with the unperturbed parameters: the truncated gradient is then the
        # exact derivative. The fixture's own forward above used one parameter set throughout.
        y0, z0 = ref.initial_state(B, params, cfg)
        o = ref.supervision_step(y0, z0, tokens, puzzle_ids, pp, cfg, frozen=params)
        return ref.trm_loss(o.logits, labels, o.q_halt).loss

    pre = "inner.L_level.layers."
    mixer = pre + ("0.self_attn.o_proj.weight" if variant == "attn" else "0.mlp_t.down_proj.weight")
    gradcheck_params(loss_of, params,
                     [("inner.q_head.weight", 2), ("inner.q_head.bias", 2), ("inner.puzzle_emb.weights", 3),
                      ("inner.embed_tokens.embedding_weight", 6), ("inner.lm_head.weight", 2), (mixer, 2),
                      *([("inner.embed_pos.embedding_weight", 3)] if cfg.pos == "learned" else []),
                      (pre + "1.mlp.gate_up_proj.weight", 2),
                      *([("inner.H_level.layers.0.mlp_t.down_proj.weight", 2),
                         ("inner.H_level.layers.1.mlp.gate_up_proj.weight", 2)] if separate else [])])

    config = {"variant": variant, "hidden": D, "heads": cfg.heads, "expansion": cfg.expansion, "layers": cfg.layers,
              "T": cfg.T, "n": cfg.n, "vocab": cfg.vocab, "seq_len": cfg.seq_len,
              "puzzle_emb_len": cfg.puzzle_emb_len, "puzzle_emb_ndim": cfg.puzzle_emb_ndim,
              "num_puzzle_ids": cfg.num_puzzle_ids, "pos": cfg.pos, "batch": B, "steps": steps,
              "rms_eps": cfg.rms_eps, "rope_theta": cfg.rope_theta}
    if separate:
        config["separate_nets"] = True  # only when set: the other fixtures stay byte-identical
    return {
        "config": config,
        "params": {k: Tensor(v) for k, v in params.items()},
        "inputs": {"tokens": Tensor(tokens, integer=True), "puzzle_ids": Tensor(puzzle_ids, integer=True),
                   "labels": Tensor(labels, integer=True)},
        "outputs": {
            "steps": [{k: Tensor(outputs[f"step{i}.{k}"]) for k in ("logits", "q_halt", "y", "z", "loss")}
                      for i in range(steps)],
            "loss": Tensor(outputs["step0.loss"]),
        },
        "grads": {k: Tensor(g) for k, g in grads.items()},
    }


FIXTURES = [
    ("nn/testdata/golden_block_attn.json.gz", lambda: block_fixture("attn", 1001)),
    ("nn/testdata/golden_block_mlp.json.gz", lambda: block_fixture("mlp", 1002)),
    ("trm/testdata/golden_trm_attn.json.gz", lambda: trm_fixture("attn", 2001)),
    ("trm/testdata/golden_trm_mlp.json.gz", lambda: trm_fixture("mlp", 2002)),
    ("trm/testdata/golden_trm_mlp_sep.json.gz", lambda: trm_fixture("mlp", 2003, separate=True)),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="do not write; fail if a file on disk differs")
    args = parser.parse_args()

    torch.set_num_threads(1)  # one summation order: reproducible bytes
    torch.use_deterministic_algorithms(True)
    check_param_counts()
    check_ops_against_loops()

    stale = []
    for rel, build in FIXTURES:
        data = gzip_bytes(to_json(build()) + "\n")
        assert len(data) < MAX_FILE_BYTES, (rel, len(data))
        path = os.path.join(REPO, rel)
        old = open(path, "rb").read() if os.path.exists(path) else None
        if args.check:
            status = "up to date" if old == data else "DIFFERS"
            if old != data:
                stale.append(rel)
        else:
            if old != data:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                tmp = path + ".tmp"
                with open(tmp, "wb") as f:
                    f.write(data)
                os.replace(tmp, path)
            status = "unchanged" if old == data else "written"
        print(f"{rel}: {len(data):,} bytes, {status}")
    if stale:
        print("stale fixtures (regenerate with scripts/golden/make_fixtures.py):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
