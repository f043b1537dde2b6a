"""An nn.Module with exactly the state-dict layout of the official TRM checkpoints.

The official trainer (github.com/SamsungSAILMontreal/TinyRecursiveModels, pretrain.py) saves
`model.state_dict()` of ACTLossHead(TinyRecursiveReasoningModel_ACTV1(config)), compiled with
torch.compile unless DISABLE_COMPILE is set. Its keys are therefore

    _orig_mod.model.inner.<name>     (compiled; torch.compile's wrapper holds the module as _orig_mod)
    model.inner.<name>               (DISABLE_COMPILE=1)

with <name> as in scripts/golden/README.md ("Official parameter counts" and the spec's state-dict
names): H_init and L_init are buffers in the forward dtype (bfloat16 by default), the puzzle
embedding a float32 buffer `puzzle_emb.weights`, everything else float32 parameters. The RoPE
tables and the sparse embedding's local_weights/local_ids are non-persistent buffers: not saved.

This module mirrors that tree attribute by attribute (same names, same registration order), so
`torch.save(module.state_dict(), path)` writes a file laid out as the official one, and
`module.load_state_dict(sd, strict=True)` accepts exactly what the official model accepts. Nothing
of the official code is copied; it has no forward (scripts/golden/trm_ref.py computes).
"""

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class Arch:
    hidden: int
    heads: int
    expansion: float
    layers: int
    vocab: int
    seq_len: int  # L
    puzzle_emb_ndim: int
    puzzle_emb_len: int  # P as configured (0: ceil(ndim / hidden))
    num_puzzle_ids: int
    pos: str  # rope, learned, none
    mlp_t: bool
    forward_dtype: torch.dtype = torch.bfloat16

    @property
    def prefix_len(self) -> int:
        if self.puzzle_emb_ndim == 0:
            return 0
        return self.puzzle_emb_len or -(-self.puzzle_emb_ndim // self.hidden)

    @property
    def total_len(self) -> int:
        return self.seq_len + self.prefix_len


def inter(n: int, expansion: float) -> int:
    return -(-round(expansion * n * 2 / 3) // 256) * 256


class Linear(nn.Module):
    def __init__(self, n_in: int, n_out: int, bias: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(n_out, n_in))
        if bias:
            self.bias = nn.Parameter(torch.zeros(n_out))


class Embedding(nn.Module):
    def __init__(self, n: int, d: int):
        super().__init__()
        self.embedding_weight = nn.Parameter(torch.zeros(n, d))


class SparseEmbedding(nn.Module):
    def __init__(self, n: int, d: int):
        super().__init__()
        self.register_buffer("weights", torch.zeros(n, d), persistent=True)
        self.register_buffer("local_weights", torch.zeros(1, d), persistent=False)


class SwiGLU(nn.Module):
    def __init__(self, n: int, expansion: float):
        super().__init__()
        i = inter(n, expansion)
        self.gate_up_proj = Linear(n, 2 * i)
        self.down_proj = Linear(i, n)


class Attention(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.qkv_proj = Linear(d, 3 * d)
        self.o_proj = Linear(d, d)


class Block(nn.Module):
    def __init__(self, a: Arch):
        super().__init__()
        if a.mlp_t:
            self.mlp_t = SwiGLU(a.total_len, a.expansion)
        else:
            self.self_attn = Attention(a.hidden)
        self.mlp = SwiGLU(a.hidden, a.expansion)


class ReasoningModule(nn.Module):
    def __init__(self, a: Arch):
        super().__init__()
        self.layers = nn.ModuleList([Block(a) for _ in range(a.layers)])


class Inner(nn.Module):
    def __init__(self, a: Arch):
        super().__init__()
        self.embed_tokens = Embedding(a.vocab, a.hidden)
        self.lm_head = Linear(a.hidden, a.vocab)
        self.q_head = Linear(a.hidden, 2, bias=True)
        if a.puzzle_emb_ndim > 0:
            self.puzzle_emb = SparseEmbedding(a.num_puzzle_ids, a.puzzle_emb_ndim)
        if a.pos == "rope":
            self.rotary_emb = nn.Module()
            self.rotary_emb.register_buffer("cos_cached", torch.zeros(1), persistent=False)
        elif a.pos == "learned":
            self.embed_pos = Embedding(a.total_len, a.hidden)
        self.L_level = ReasoningModule(a)
        self.register_buffer("H_init", torch.zeros(a.hidden, dtype=a.forward_dtype), persistent=True)
        self.register_buffer("L_init", torch.zeros(a.hidden, dtype=a.forward_dtype), persistent=True)


class TRM(nn.Module):
    def __init__(self, a: Arch):
        super().__init__()
        self.inner = Inner(a)


class LossHead(nn.Module):
    def __init__(self, a: Arch):
        super().__init__()
        self.model = TRM(a)


class Compiled(nn.Module):
    """What torch.compile returns: the module under the attribute _orig_mod."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self._orig_mod = module


def official_module(a: Arch, compiled: bool) -> nn.Module:
    m = LossHead(a)
    return Compiled(m) if compiled else m


def arch_from_yaml(cfg: dict, vocab: int, seq_len: int, num_puzzle_ids: int) -> Arch:
    """The Arch of an all_config.yaml (its arch section) plus the dataset sizes."""
    arch = cfg["arch"]
    dt = {"bfloat16": torch.bfloat16, "float32": torch.float32, "float16": torch.float16}[arch.get("forward_dtype", "bfloat16")]
    return Arch(hidden=arch["hidden_size"], heads=arch["num_heads"], expansion=arch["expansion"],
                layers=arch["L_layers"], vocab=vocab, seq_len=seq_len,
                puzzle_emb_ndim=arch.get("puzzle_emb_ndim", 0), puzzle_emb_len=arch.get("puzzle_emb_len", 16),
                num_puzzle_ids=num_puzzle_ids, pos=arch["pos_encodings"], mlp_t=bool(arch.get("mlp_t", False)),
                forward_dtype=dt)
