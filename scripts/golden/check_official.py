"""Optional: check the golden fixtures against the OFFICIAL TRM code, run in float64.

    git clone https://github.com/SamsungSAILMontreal/TinyRecursiveModels /tmp/trm-official
    /usr/bin/python3 scripts/golden/check_official.py --official /tmp/trm-official

Loads every fixture written by make_fixtures.py, puts its parameters into the official
modules (models/recursive_reasoning/trm.py, models/layers.py, models/losses.py,
models/sparse_embedding.py), runs them and compares outputs, loss and gradients. Nothing of
the official code is copied here; it is imported from the given checkout. To run it with
torch 1.13 and without its extra dependencies, a few shims are installed first:
  - einops.rearrange for the two patterns layers.py uses (both swap axes 1 and 2, made contiguous);
  - pydantic.BaseModel (keyword arguments become attributes, class defaults stay);
  - torch.nn.Buffer (returns the tensor; buffers become plain attributes, assigned here);
  - torch.optim.optimizer.ParamsT (a type alias only), and a bare @torch.no_grad decorator;
  - F.scaled_dot_product_attention (softmax(q k^T / sqrt(d)) v, non-causal, as called there).
And, for a float64 comparison, the `torch` seen by layers.py and trm.py maps torch.float32 to
float64: the official code computes RMSNorm and the RoPE table in float32 on purpose; the
semantics are unchanged. With float32 left in place the differences are ~1e-6 instead of ~1e-12.
"""

import argparse
import gzip
import json
import math
import os
import sys
import types

import torch
import torch.nn.functional as F

TOL = 7e-8  # max |official - fixture| / max |fixture|; fixture values are float32-rounded (2^-24 ~ 6e-8)


def install_shims():
    einops = types.ModuleType("einops")

    def rearrange(t, pattern):
        assert pattern in ("B S H D -> B H S D", "B H S D -> B S H D"), pattern
        return t.transpose(1, 2).contiguous()  # values as einops gives; contiguous for the .view after it

    einops.rearrange = rearrange
    sys.modules["einops"] = einops

    pydantic = types.ModuleType("pydantic")

    class BaseModel:
        def __init__(self, **kwargs):
            for k, v in kwargs.items():
                setattr(self, k, v)

    pydantic.BaseModel = BaseModel
    sys.modules["pydantic"] = pydantic

    if not hasattr(torch.nn, "Buffer"):
        torch.nn.Buffer = lambda t, persistent=True: t
    import torch.optim.optimizer as optimizer
    if not hasattr(optimizer, "ParamsT"):
        optimizer.ParamsT = object
    try:
        torch.no_grad(lambda: None)
    except TypeError:  # torch < 2: no bare @torch.no_grad decorator
        plain = torch.no_grad

        class NoGrad(plain):
            def __new__(cls, func=None):
                return plain()(func) if func is not None else super().__new__(cls)

            def __init__(self, func=None):
                super().__init__()

        torch.no_grad = NoGrad
    if not hasattr(F, "scaled_dot_product_attention"):
        def sdpa(query, key, value, is_causal=False):
            assert not is_causal
            scores = query @ key.transpose(-1, -2) / math.sqrt(query.shape[-1])
            return torch.softmax(scores, dim=-1) @ value

        F.scaled_dot_product_attention = sdpa


class Float64Torch:
    """`torch`, except that torch.float32 is float64."""

    def __getattr__(self, name):
        return torch.float64 if name == "float32" else getattr(torch, name)


def load(path):
    with gzip.open(path, "rb") as f:
        return json.loads(f.read())


def tensor(entry, dtype=torch.float64):
    """A fixture tensor; floats are parsed as float32 (what they denote), then widened."""
    if dtype.is_floating_point:
        return torch.tensor(entry["data"], dtype=torch.float32).to(dtype).reshape(entry["shape"])
    return torch.tensor(entry["data"], dtype=dtype).reshape(entry["shape"])


def compare(what, got, want):
    got, want = got.detach().to(torch.float64), want.to(torch.float64)
    assert got.shape == want.shape, (what, got.shape, want.shape)
    err = ((got - want).abs().max() / want.abs().max().clamp(min=1e-30)).item()
    assert err < TOL, f"{what}: relative error {err:.3e}"
    return err


def assign(root, name, value):
    """Set the parameter or (shimmed) buffer `name` of module `root` to `value`."""
    *path, last = name.split(".")
    obj = root
    for part in path:
        obj = getattr(obj, part)
    cur = getattr(obj, last)
    if isinstance(cur, torch.nn.Parameter):
        with torch.no_grad():
            cur.copy_(value.to(cur.dtype))
    else:  # a shimmed buffer (plain attribute)
        setattr(obj, last, value.to(torch.float64).clone())


def check_block(path, trm_mod, losses_mod, layers_mod):
    fx = load(path)
    c = fx["config"]
    cfg = trm_mod.TinyRecursiveReasoningModel_ACTV1Config(
        batch_size=c["batch"], seq_len=c["seq"], puzzle_emb_ndim=0, num_puzzle_identifiers=1,
        vocab_size=c["vocab"], H_cycles=1, L_cycles=1, H_layers=0, L_layers=c["layers"],
        hidden_size=c["hidden"], expansion=c["expansion"], num_heads=c["heads"], pos_encodings=c["pos"],
        rms_norm_eps=c["rms_eps"], rope_theta=c["rope_theta"], halt_max_steps=2, halt_exploration_prob=0.0,
        forward_dtype="float64", mlp_t=c["variant"] == "mlp", puzzle_emb_len=0, no_ACT_continue=True)
    blocks = trm_mod.TinyRecursiveReasoningModel_ACTV1ReasoningModule(
        [trm_mod.TinyRecursiveReasoningModel_ACTV1Block(cfg) for _ in range(c["layers"])])
    lm_head = layers_mod.CastedLinear(c["hidden"], c["vocab"], bias=False)
    q_head = layers_mod.CastedLinear(c["hidden"], 2, bias=True)
    heads = torch.nn.ModuleDict({"lm_head": lm_head, "q_head": q_head})
    blocks.double(), heads.double()  # float64 master weights, so gradients are not rounded to float32
    for name, entry in fx["params"].items():
        assign(heads if name.startswith(("lm_head", "q_head")) else blocks, name, tensor(entry))
    cos_sin = None
    if c["pos"] == "rope":
        cos_sin = layers_mod.RotaryEmbedding(dim=c["hidden"] // c["heads"], max_position_embeddings=c["seq"],
                                             base=c["rope_theta"])()
    h = tensor(fx["inputs"]["h"]).requires_grad_(True)
    inject = tensor(fx["inputs"]["inject"]).requires_grad_(True)
    labels = tensor(fx["inputs"]["labels"], torch.long)

    out = blocks(h, inject, cos_sin=cos_sin)
    logits = lm_head(out)
    q_halt = q_head(out[:, 0])[:, 0]
    # The arithmetic of ACTLossHead.forward (losses.py), divided by the batch size as pretrain.py does.
    mask = labels != losses_mod.IGNORE_LABEL_ID
    counts = mask.sum(-1)
    correct = ((mask & (logits.argmax(-1) == labels)).sum(-1) == counts).to(q_halt.dtype)
    lm_loss = (losses_mod.stablemax_cross_entropy(logits, labels, valid_mask=mask)
               / counts.clamp_min(1).unsqueeze(-1)).sum()
    q_loss = F.binary_cross_entropy_with_logits(q_halt, correct, reduction="sum")
    loss = (lm_loss + 0.5 * q_loss) / labels.shape[0]
    loss.backward()

    worst = 0.0
    worst = max(worst, compare("out", out, tensor(fx["outputs"]["out"])))
    worst = max(worst, compare("logits", logits, tensor(fx["outputs"]["logits"])))
    worst = max(worst, compare("q_halt", q_halt, tensor(fx["outputs"]["q_halt"])))
    worst = max(worst, compare("loss", loss, tensor(fx["outputs"]["loss"])))
    named = dict(blocks.named_parameters())
    named.update(heads.named_parameters())
    for name in fx["params"]:
        worst = max(worst, compare("grad " + name, named[name].grad, tensor(fx["grads"][name])))
    worst = max(worst, compare("grad h", h.grad, tensor(fx["grads"]["h"])))
    worst = max(worst, compare("grad inject", inject.grad, tensor(fx["grads"]["inject"])))
    return worst


def check_trm(path, trm_mod, losses_mod):
    fx = load(path)
    c = fx["config"]
    B = c["batch"]
    model = trm_mod.TinyRecursiveReasoningModel_ACTV1(dict(
        batch_size=B, seq_len=c["seq_len"], puzzle_emb_ndim=c["puzzle_emb_ndim"],
        num_puzzle_identifiers=c["num_puzzle_ids"], vocab_size=c["vocab"], H_cycles=c["T"], L_cycles=c["n"],
        H_layers=0, L_layers=c["layers"], hidden_size=c["hidden"], expansion=c["expansion"], num_heads=c["heads"],
        pos_encodings=c["pos"], rms_norm_eps=c["rms_eps"], rope_theta=c["rope_theta"], halt_max_steps=16,
        halt_exploration_prob=0.0, forward_dtype="float64", mlp_t=c["variant"] == "mlp",
        puzzle_emb_len=c["puzzle_emb_len"], no_ACT_continue=True))
    model.double()  # float64 master weights, so gradients are not rounded to float32
    emb = model.inner.puzzle_emb
    emb.local_weights = torch.zeros(B, c["puzzle_emb_ndim"], dtype=torch.float64, requires_grad=True)
    for name, entry in fx["params"].items():
        assign(model, name, tensor(entry))
    head = losses_mod.ACTLossHead(model, loss_type="stablemax_cross_entropy")
    # int64 ids: torch 1.13 cannot index with the int32 the official data loader gives.
    batch = {"inputs": tensor(fx["inputs"]["tokens"], torch.long),
             "labels": tensor(fx["inputs"]["labels"], torch.long),
             "puzzle_identifiers": tensor(fx["inputs"]["puzzle_ids"], torch.long)}

    # Step 1, training mode (the puzzle embedding takes gradients through local_weights).
    head.train()
    carry = head.initial_carry(batch)
    carry, loss, _, outputs, _ = head(return_keys=["logits", "q_halt_logits"], carry=carry, batch=batch)
    (loss / B).backward()  # pretrain.py: loss divided by the global batch size
    steps = [(outputs["logits"], outputs["q_halt_logits"], carry.inner_carry.z_H, carry.inner_carry.z_L)]
    # Step 2: the fixture runs every sample on (no halting), so undo step 1's halting decisions
    # (q_halt > 0 would make the wrapper reset that sample to H_init/L_init).
    carry.halted = torch.zeros_like(carry.halted)
    head.eval()
    with torch.no_grad():
        carry, _, _, outputs, _ = head(return_keys=["logits", "q_halt_logits"], carry=carry, batch=batch)
    steps.append((outputs["logits"], outputs["q_halt_logits"], carry.inner_carry.z_H, carry.inner_carry.z_L))

    worst = compare("loss", loss / B, tensor(fx["outputs"]["loss"]))
    for i, (logits, q_halt, y, z) in enumerate(steps):
        want = fx["outputs"]["steps"][i]
        worst = max(worst, compare(f"step {i} logits", logits, tensor(want["logits"])))
        worst = max(worst, compare(f"step {i} q_halt", q_halt, tensor(want["q_halt"])))
        worst = max(worst, compare(f"step {i} y", y, tensor(want["y"])))
        worst = max(worst, compare(f"step {i} z", z, tensor(want["z"])))
    named = dict(model.named_parameters())
    for name, entry in fx["grads"].items():
        if name == "inner.puzzle_emb.weights":
            emb = model.inner.puzzle_emb
            grad = torch.zeros_like(emb.weights, dtype=torch.float64)
            grad.index_add_(0, emb.local_ids.long(), emb.local_weights.grad.to(torch.float64))
        else:
            grad = named[name].grad
        worst = max(worst, compare("grad " + name, grad, tensor(entry)))
    assert set(fx["grads"]) == set(named) | {"inner.puzzle_emb.weights"}, "fixture grads vs official parameters"
    return worst


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--official", required=True, help="checkout of SamsungSAILMontreal/TinyRecursiveModels")
    args = parser.parse_args()
    repo = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

    torch.set_num_threads(1)
    install_shims()
    sys.path.insert(0, os.path.abspath(args.official))
    import models.layers as layers_mod
    import models.losses as losses_mod
    import models.recursive_reasoning.trm as trm_mod
    layers_mod.torch = Float64Torch()
    trm_mod.torch = Float64Torch()

    for v in ("attn", "mlp"):
        rel = f"nn/testdata/golden_block_{v}.json.gz"
        err = check_block(os.path.join(repo, rel), trm_mod, losses_mod, layers_mod)
        print(f"{rel}: matches the official code (worst relative error {err:.1e})")
    for v in ("attn", "mlp"):
        rel = f"trm/testdata/golden_trm_{v}.json.gz"
        err = check_trm(os.path.join(repo, rel), trm_mod, losses_mod)
        print(f"{rel}: matches the official code (worst relative error {err:.1e})")


if __name__ == "__main__":
    main()
