"""Reference PyTorch implementation of the Tiny Recursive Model (TRM).

A plain, readable, float64 implementation of the semantics in
shared/docs/trm-spec.md (arXiv 2510.04871 and the official code,
github.com/SamsungSAILMontreal/TinyRecursiveModels). It is the oracle the Go
golden tests are generated from (see make_fixtures.py); it is written for
clarity, not speed. scripts/golden/README.md states every convention used here.

Everything is functional: parameters live in a dict keyed by the official
state-dict names (without the "_orig_mod.model." prefix), so the dict can be
fed to torch.autograd.gradcheck and written to a fixture file as is.

Paper names and official-code names:
    x = input embedding        y = z_H (answer state)     z = z_L (latent)
    n = L_cycles               T = H_cycles               N_sup = halt_max_steps
"""

import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F

IGNORE_LABEL = -100
# Exactly the constant of the official code (trm.py, _input_embeddings), not 1/sqrt(2).
LEARNED_POS_SCALE = 0.707106781

Params = Dict[str, torch.Tensor]


# ---------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NetConfig:
    """The shared 2-block network: net(h, inject) = blocks(h + inject)."""

    variant: str  # "attn" (self-attention + SwiGLU) or "mlp" (mlp_t: sequence SwiGLU + SwiGLU)
    hidden: int  # D
    heads: int  # attention heads (attn only); head_dim = hidden // heads
    expansion: float  # SwiGLU expansion (4 in the official configs)
    layers: int  # number of blocks (L_layers, 2 in the official configs)
    seq: int  # S = L + P, the full sequence length the blocks see
    pos: str  # "rope", "learned" or "none"; only "rope" changes the blocks
    rms_eps: float = 1e-5
    rope_theta: float = 10000.0

    def __post_init__(self):
        assert self.variant in ("attn", "mlp"), self.variant
        assert self.pos in ("rope", "learned", "none"), self.pos
        assert self.hidden % self.heads == 0
        assert (self.hidden // self.heads) % 2 == 0, "RoPE needs an even head_dim"

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads


@dataclass(frozen=True)
class TRMConfig:
    """The full model: embeddings, recursion, heads."""

    variant: str
    hidden: int
    heads: int
    expansion: float
    layers: int
    vocab: int
    seq_len: int  # L, number of input tokens (81 for Sudoku)
    puzzle_emb_len: int  # P, prefix positions (16 official); 0 if puzzle_emb_ndim == 0
    puzzle_emb_ndim: int  # width of one puzzle-embedding row (hidden * k), 0 = none
    num_puzzle_ids: int
    pos: str
    T: int  # H_cycles
    n: int  # L_cycles
    rms_eps: float = 1e-5
    rope_theta: float = 10000.0
    # The paper's "separate networks for y and z" ablation: the answer update y = net(y, z) uses a
    # second network of the same shape, named inner.H_level (HRM's name), instead of L_level.
    separate: bool = False

    def __post_init__(self):
        if self.puzzle_emb_ndim == 0:
            # The official code would build y/z of length L+P but embeddings of length L.
            assert self.puzzle_emb_len == 0, "no puzzle embedding means no prefix"
        else:
            assert self.puzzle_emb_ndim <= self.puzzle_emb_len * self.hidden

    @property
    def total_len(self) -> int:
        return self.seq_len + self.puzzle_emb_len

    @property
    def net(self) -> NetConfig:
        return NetConfig(self.variant, self.hidden, self.heads, self.expansion, self.layers,
                         self.total_len, self.pos, self.rms_eps, self.rope_theta)


def default_puzzle_emb_len(hidden: int, puzzle_emb_ndim: int, puzzle_emb_len: int) -> int:
    """P as the official code derives it: the configured value, or ceil(ndim / hidden) if 0."""
    if puzzle_emb_len != 0:
        return puzzle_emb_len
    return -(-puzzle_emb_ndim // hidden)


def swiglu_intermediate(in_features: int, expansion: float) -> int:
    """inter = ceil_to_multiple_of_256(round(expansion * in * 2 / 3)).

    Python's round() (half to even), as in models/layers.py SwiGLU.
    """
    r = round(expansion * in_features * 2 / 3)
    return -(-r // 256) * 256


# ---------------------------------------------------------------------------
# Parameter shapes and the official initialisation
# ---------------------------------------------------------------------------


def net_param_shapes(cfg: NetConfig, prefix: str = "") -> Dict[str, Tuple[int, ...]]:
    """Shapes of the block parameters, PyTorch Linear layout [out, in]."""
    D = cfg.hidden
    shapes: Dict[str, Tuple[int, ...]] = {}
    for i in range(cfg.layers):
        p = f"{prefix}layers.{i}."
        if cfg.variant == "mlp":
            inter_t = swiglu_intermediate(cfg.seq, cfg.expansion)
            shapes[p + "mlp_t.gate_up_proj.weight"] = (2 * inter_t, cfg.seq)
            shapes[p + "mlp_t.down_proj.weight"] = (cfg.seq, inter_t)
        else:
            shapes[p + "self_attn.qkv_proj.weight"] = (3 * D, D)
            shapes[p + "self_attn.o_proj.weight"] = (D, D)
        inter = swiglu_intermediate(D, cfg.expansion)
        shapes[p + "mlp.gate_up_proj.weight"] = (2 * inter, D)
        shapes[p + "mlp.down_proj.weight"] = (D, inter)
    return shapes


def trm_param_shapes(cfg: TRMConfig) -> Dict[str, Tuple[int, ...]]:
    """Shapes of every tensor of the full model's state dict (buffers included)."""
    D = cfg.hidden
    shapes: Dict[str, Tuple[int, ...]] = {
        "inner.embed_tokens.embedding_weight": (cfg.vocab, D),
        "inner.lm_head.weight": (cfg.vocab, D),
        "inner.q_head.weight": (2, D),
        "inner.q_head.bias": (2,),
    }
    if cfg.puzzle_emb_ndim > 0:
        shapes["inner.puzzle_emb.weights"] = (cfg.num_puzzle_ids, cfg.puzzle_emb_ndim)
    if cfg.pos == "learned":
        shapes["inner.embed_pos.embedding_weight"] = (cfg.total_len, D)
    shapes["inner.H_init"] = (D,)
    shapes["inner.L_init"] = (D,)
    shapes.update(net_param_shapes(cfg.net, prefix="inner.L_level."))
    if cfg.separate:
        shapes.update(net_param_shapes(cfg.net, prefix="inner.H_level."))
    return shapes


# Buffers in the official code: not in model.parameters(), so not in its "num_params".
# puzzle_emb.weights IS trained (by SignSGD); H_init / L_init are never trained.
OFFICIAL_BUFFERS = ("inner.puzzle_emb.weights", "inner.H_init", "inner.L_init")
UNTRAINED = ("inner.H_init", "inner.L_init")


def official_param_count(cfg: TRMConfig) -> int:
    """sum(p.numel() for p in model.parameters()) of the official model (pretrain.py logs it)."""
    return sum(math.prod(s) for name, s in trm_param_shapes(cfg).items() if name not in OFFICIAL_BUFFERS)


def trunc_normal(shape, std: float, gen: torch.Generator, dtype=torch.float64) -> torch.Tensor:
    """Truncated normal with exact standard deviation `std`.

    The underlying normal N(0, sigma^2) is cut at +-2 sigma, with sigma chosen so
    that the truncated distribution's std is `std` (sigma = std / 0.8796...),
    the JAX/flax convention that models/common.py trunc_normal_init_ follows.
    Sampled here by rejection.
    """
    if std == 0:
        return torch.zeros(shape, dtype=dtype)
    # Variance of a standard normal truncated to [-2, 2].
    pdf2 = math.exp(-2.0) / math.sqrt(2 * math.pi)
    mass = math.erf(2 / math.sqrt(2))
    trunc_var = 1 - 2 * 2 * pdf2 / mass
    sigma = std / math.sqrt(trunc_var)
    out = torch.empty(math.prod(shape), dtype=dtype)
    filled = 0
    while filled < out.numel():
        draw = torch.randn(out.numel(), generator=gen, dtype=dtype)
        draw = draw[draw.abs() <= 2]
        take = min(draw.numel(), out.numel() - filled)
        out[filled:filled + take] = draw[:take]
        filled += take
    return (out * sigma).view(shape)


def official_init(cfg: TRMConfig, gen: torch.Generator) -> Params:
    """The official initialisation (values in float64; the official masters are float32)."""
    D = cfg.hidden
    params: Params = {}
    for name, shape in trm_param_shapes(cfg).items():
        if name == "inner.q_head.weight":
            params[name] = torch.zeros(shape, dtype=torch.float64)  # "do not halt yet"
        elif name == "inner.q_head.bias":
            params[name] = torch.full(shape, -5.0, dtype=torch.float64)
        elif name == "inner.puzzle_emb.weights":
            params[name] = torch.zeros(shape, dtype=torch.float64)
        elif name in ("inner.H_init", "inner.L_init"):
            params[name] = trunc_normal(shape, 1.0, gen)
        elif name in ("inner.embed_tokens.embedding_weight", "inner.embed_pos.embedding_weight"):
            params[name] = trunc_normal(shape, 1.0 / math.sqrt(D), gen)
        else:  # every Linear weight: LeCun, std 1/sqrt(fan_in)
            params[name] = trunc_normal(shape, 1.0 / math.sqrt(shape[1]), gen)
    return params


# ---------------------------------------------------------------------------
# Ops
# ---------------------------------------------------------------------------


def linear(x: torch.Tensor, w: torch.Tensor, b: Optional[torch.Tensor] = None) -> torch.Tensor:
    """x @ w^T (+ b); w: [out, in]."""
    y = x @ w.t()
    return y if b is None else y + b


def rms_norm(x: torch.Tensor, eps: float) -> torch.Tensor:
    """x / sqrt(mean(x^2 over the LAST axis) + eps). No learned weight."""
    return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps)


def swiglu(x: torch.Tensor, gate_up_w: torch.Tensor, down_w: torch.Tensor) -> torch.Tensor:
    """down(silu(gate) * up); gate = first `inter` outputs of gate_up, up = the second `inter`."""
    inter = down_w.shape[1]
    gate_up = linear(x, gate_up_w)  # [..., 2*inter]
    gate, up = gate_up[..., :inter], gate_up[..., inter:]
    return linear(F.silu(gate) * up, down_w)


def rope_tables(seq: int, head_dim: int, theta: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """cos, sin: [seq, head_dim] for positions 0..seq-1.

    inv_freq[i] = theta^(-2i/head_dim), i < head_dim/2; angle[p, j] = p * inv_freq[j mod head_dim/2]
    (the [freqs, freqs] concatenation, for the rotate-half convention).
    """
    half = head_dim // 2
    inv_freq = 1.0 / theta ** (torch.arange(half, dtype=torch.float64) * 2 / head_dim)
    angles = torch.arange(seq, dtype=torch.float64)[:, None] * inv_freq[None, :]  # [seq, half]
    angles = torch.cat([angles, angles], dim=-1)  # [seq, head_dim]
    return angles.cos(), angles.sin()


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """[x1, x2] -> [-x2, x1] on the last axis (halves, not interleaved pairs)."""
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x: [B, S, H, hd]; cos, sin: [S, hd] (cast to x's dtype)."""
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    return x * cos[:, None, :] + rotate_half(x) * sin[:, None, :]


def attention(h: torch.Tensor, qkv_w: torch.Tensor, o_w: torch.Tensor, heads: int,
              rope: Optional[Tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    """Non-causal multi-head self-attention. h: [B, S, D] -> [B, S, D]."""
    B, S, D = h.shape
    hd = D // heads
    # qkv feature f = j*hd + d: j < heads query head j, then key heads, then value heads.
    qkv = linear(h, qkv_w).view(B, S, 3 * heads, hd)
    q, k, v = qkv[:, :, :heads], qkv[:, :, heads:2 * heads], qkv[:, :, 2 * heads:]  # [B, S, H, hd]
    if rope is not None:
        q, k = apply_rope(q, *rope), apply_rope(k, *rope)
    q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # [B, H, S, hd]
    scores = q @ k.transpose(-1, -2) / math.sqrt(hd)  # [B, H, S, S]
    out = torch.softmax(scores, dim=-1) @ v  # [B, H, S, hd]
    out = out.transpose(1, 2).reshape(B, S, D)  # feature = head*hd + d
    return linear(out, o_w)


def block(h: torch.Tensor, params: Params, prefix: str, cfg: NetConfig,
          rope: Optional[Tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    """One post-norm block. h: [B, S, D]."""
    if cfg.variant == "mlp":
        ht = h.transpose(1, 2)  # [B, D, S]: mix along the sequence
        ht = rms_norm(ht + swiglu(ht, params[prefix + "mlp_t.gate_up_proj.weight"],
                                  params[prefix + "mlp_t.down_proj.weight"]), cfg.rms_eps)  # norm over S
        h = ht.transpose(1, 2)  # [B, S, D]
    else:
        h = rms_norm(h + attention(h, params[prefix + "self_attn.qkv_proj.weight"],
                                   params[prefix + "self_attn.o_proj.weight"], cfg.heads, rope), cfg.rms_eps)
    h = rms_norm(h + swiglu(h, params[prefix + "mlp.gate_up_proj.weight"],
                            params[prefix + "mlp.down_proj.weight"]), cfg.rms_eps)  # norm over D
    return h


def net(h: torch.Tensor, inject: torch.Tensor, params: Params, cfg: NetConfig, prefix: str = "") -> torch.Tensor:
    """net(h, inject) = blocks(h + inject). h, inject: [B, S, D]."""
    rope = rope_tables(cfg.seq, cfg.head_dim, cfg.rope_theta) if cfg.pos == "rope" else None
    h = h + inject
    for i in range(cfg.layers):
        h = block(h, params, f"{prefix}layers.{i}.", cfg, rope)
    return h


# ---------------------------------------------------------------------------
# Full model
# ---------------------------------------------------------------------------


def input_embedding(tokens: torch.Tensor, puzzle_ids: torch.Tensor, params: Params, cfg: TRMConfig) -> torch.Tensor:
    """x: [B, P+L, D] = sqrt(D) * ([puzzle prefix, token embeddings] (+ learned pos, * 0.707106781))."""
    B, L = tokens.shape
    D, P = cfg.hidden, cfg.puzzle_emb_len
    emb = params["inner.embed_tokens.embedding_weight"][tokens]  # [B, L, D]
    if cfg.puzzle_emb_ndim > 0:
        pe = params["inner.puzzle_emb.weights"][puzzle_ids]  # [B, ndim]
        pe = F.pad(pe, (0, P * D - cfg.puzzle_emb_ndim))  # zero-pad to P*D
        pe = pe.view(B, P, D)  # row-major: prefix token t = pe[t*D:(t+1)*D]
        emb = torch.cat([pe, emb], dim=1)  # [B, P+L, D]
    if cfg.pos == "learned":
        emb = LEARNED_POS_SCALE * (emb + params["inner.embed_pos.embedding_weight"])
    return math.sqrt(D) * emb


def initial_state(batch: int, params: Params, cfg: TRMConfig) -> Tuple[torch.Tensor, torch.Tensor]:
    """(y, z) = (H_init, L_init) broadcast to [B, P+L, D]."""
    shape = (batch, cfg.total_len, cfg.hidden)
    return params["inner.H_init"].expand(shape).clone(), params["inner.L_init"].expand(shape).clone()


@dataclass
class StepOutput:
    y: torch.Tensor  # [B, P+L, D], carries gradient (detach before the next step)
    z: torch.Tensor  # [B, P+L, D]
    logits: torch.Tensor  # [B, L, V], prefix removed
    q_halt: torch.Tensor  # [B]
    q_continue: torch.Tensor  # [B], unused by the default loss


def supervision_step(y: torch.Tensor, z: torch.Tensor, tokens: torch.Tensor, puzzle_ids: torch.Tensor,
                     params: Params, cfg: TRMConfig, frozen: Optional[Params] = None) -> StepOutput:
    """One supervision step (deep recursion): T-1 cycles without gradient, one with.

    `frozen` (default: params) are the parameters the T-1 no-gradient cycles use. Passing the
    unperturbed parameters there makes the loss a function whose true derivative is the
    truncated gradient that backprop computes (the parameters only act through the last
    cycle), which is what gradcheck needs.
    """
    ncfg = cfg.net
    pre = "inner.L_level."
    pre_y = "inner.H_level." if cfg.separate else pre  # the answer update's network
    frozen = params if frozen is None else frozen
    with torch.no_grad():
        x = input_embedding(tokens, puzzle_ids, frozen, cfg)
        for _ in range(cfg.T - 1):
            for _ in range(cfg.n):
                z = net(z, y + x, frozen, ncfg, pre)
            y = net(y, z, frozen, ncfg, pre_y)  # x is not injected when updating y
    x = input_embedding(tokens, puzzle_ids, params, cfg)
    for _ in range(cfg.n):
        z = net(z, y + x, params, ncfg, pre)
    y = net(y, z, params, ncfg, pre_y)
    logits = linear(y, params["inner.lm_head.weight"])[:, cfg.puzzle_emb_len:]
    q = linear(y[:, 0], params["inner.q_head.weight"], params["inner.q_head.bias"])  # [B, 2], position 0
    return StepOutput(y=y, z=z, logits=logits, q_halt=q[:, 0], q_continue=q[:, 1])


# ---------------------------------------------------------------------------
# Loss
# ---------------------------------------------------------------------------


def stablemax_log_probs(logits: torch.Tensor) -> torch.Tensor:
    """log(s(v) / sum_j s(v_j)), s(v) = v+1 (v >= 0), 1/(1-v) (v < 0); in float64.

    Both branches are evaluated on clamped inputs so neither produces inf/nan
    in the backward pass (the official code adds 1e-30 to 1-v instead, which
    is below float64 resolution since 1-v >= 1 there).
    """
    v = logits.to(torch.float64)
    s = torch.where(v >= 0, v.clamp(min=0) + 1, 1 / (1 - v.clamp(max=0)))
    return torch.log(s) - torch.log(s.sum(dim=-1, keepdim=True))


@dataclass
class LossOutput:
    loss: torch.Tensor  # scalar, mean over the batch of ce + 0.5 * bce
    ce: torch.Tensor  # [B]
    bce: torch.Tensor  # [B]
    halt_target: torch.Tensor  # [B] in {0, 1}
    preds: torch.Tensor  # [B, L] argmax (first maximal index)


def trm_loss(logits: torch.Tensor, labels: torch.Tensor, q_halt: torch.Tensor) -> LossOutput:
    """The default TRM loss (ACTLossHead with stablemax_cross_entropy, no q_continue)."""
    mask = labels != IGNORE_LABEL
    count = mask.sum(dim=-1)  # [B]
    logp = stablemax_log_probs(logits)
    picked = logp.gather(-1, torch.where(mask, labels, 0)[..., None]).squeeze(-1)  # [B, L]
    nll = torch.where(mask, -picked, torch.zeros_like(picked))
    ce = nll.sum(dim=-1) / count.clamp(min=1)
    with torch.no_grad():
        preds = logits.argmax(dim=-1)
        exact = (mask & (preds == labels)).sum(dim=-1) == count  # a sample with no labels counts as exact
        target = exact.to(q_halt.dtype)
    bce = F.binary_cross_entropy_with_logits(q_halt, target, reduction="none")
    loss = (ce.to(torch.float64) + 0.5 * bce.to(torch.float64)).mean()
    return LossOutput(loss=loss, ce=ce, bce=bce, halt_target=target, preds=preds)


def run_supervision(tokens: torch.Tensor, puzzle_ids: torch.Tensor, params: Params, cfg: TRMConfig,
                    steps: int) -> List[StepOutput]:
    """`steps` supervision steps from (H_init, L_init), carrying detached (y, z) between them."""
    y, z = initial_state(tokens.shape[0], params, cfg)
    outs = []
    for _ in range(steps):
        out = supervision_step(y, z, tokens, puzzle_ids, params, cfg)
        outs.append(out)
        y, z = out.y.detach(), out.z.detach()
    return outs
