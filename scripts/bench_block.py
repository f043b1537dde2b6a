#!/usr/bin/env python3
"""Time forward+backward of one TRM block in PyTorch (float32, CPU).

The same block and sizes as the Go benchmark BenchmarkBlock in package nn
(hidden 512, 8 heads, sequence 97 = 81 + 16, batch 8, expansion 4), both
variants, so that the two can be quoted side by side in BENCHMARKS.md:

    /usr/bin/python3 scripts/bench_block.py               # 1 thread
    /usr/bin/python3 scripts/bench_block.py --threads 2
    go test ./nn/ -run '^$' -bench 'Block/.*/.*/fwdbwd'

The block (trm-spec.md section 4, post-norm, no biases):
    attn: h = rms(h + o_proj(attention(qkv_proj(h))));   h = rms(h + mlp(h))
    mlp:  h = rms(h + mlp_t(h^T))^T (norm over the sequence axis); h = rms(h + mlp(h))
with mlp(x) = down_proj(silu(gate) * up), [gate, up] = gate_up_proj(x).

It prints milliseconds per forward+backward (the median of the timed
repetitions) and the matrix-product rate, counting 2*m*n*k FLOPs per
product exactly as the Go benchmark does.
"""

import argparse
import math
import statistics
import time

import torch
import torch.nn.functional as F


def inter_size(expansion, n):
    """round(expansion * n * 2 / 3) rounded up to a multiple of 256."""
    m = round(expansion * n * 2 / 3)
    return (m + 255) // 256 * 256


def rms_norm(x, eps=1e-5):
    return x * torch.rsqrt(x.square().mean(-1, keepdim=True) + eps)


def swiglu(x, gate_up, down):
    gate, up = F.linear(x, gate_up).chunk(2, dim=-1)
    return F.linear(F.silu(gate) * up, down)


def rope_tables(head_dim, seq, theta=10000.0):
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    freqs = torch.outer(torch.arange(seq, dtype=torch.float32), inv)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def attention(h, qkv_w, o_w, heads, cos, sin):
    b, s, d = h.shape
    hd = d // heads
    qkv = F.linear(h, qkv_w).view(b, s, 3 * heads, hd)
    q, k, v = qkv[:, :, :heads], qkv[:, :, heads:2 * heads], qkv[:, :, 2 * heads:]
    c, sn = cos[:s, None, :], sin[:s, None, :]
    q = q * c + rotate_half(q) * sn
    k = k * c + rotate_half(k) * sn
    q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # [B, H, S, hd]
    p = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd), dim=-1)
    o = (p @ v).transpose(1, 2).reshape(b, s, d)
    return F.linear(o, o_w)


def make_params(variant, hidden, heads, seq, expansion, gen):
    def lecun(out, inp):
        # Values do not matter for timing; LeCun scale keeps activations sane.
        std = 1 / math.sqrt(inp)
        return (torch.randn(out, inp, generator=gen) * std).clamp_(-2 * std, 2 * std).requires_grad_()

    inter = inter_size(expansion, hidden)
    p = {"gate_up": lecun(2 * inter, hidden), "down": lecun(hidden, inter)}
    if variant == "attn":
        p["qkv"] = lecun(3 * hidden, hidden)
        p["o"] = lecun(hidden, hidden)
    else:
        inter_t = inter_size(expansion, seq)
        p["t_gate_up"] = lecun(2 * inter_t, seq)
        p["t_down"] = lecun(seq, inter_t)
    return p


def block(h, p, variant, heads, cos, sin):
    if variant == "attn":
        h = rms_norm(h + attention(h, p["qkv"], p["o"], heads, cos, sin))
    else:
        ht = h.transpose(1, 2)
        h = rms_norm(ht + swiglu(ht, p["t_gate_up"], p["t_down"])).transpose(1, 2)
    return rms_norm(h + swiglu(h, p["gate_up"], p["down"]))


def matmul_flops(variant, batch, seq, hidden, heads, expansion):
    """Forward+backward matrix-product FLOPs, as counted by the Go benchmark:
    each linear is 2mnk forward and 4mnk backward (input and weight gradients),
    attention is 2 products forward and 4 backward per head."""
    m = batch * seq
    inter = inter_size(expansion, hidden)
    linears = [(m, 2 * inter, hidden), (m, hidden, inter)]
    fl = 0.0
    if variant == "attn":
        linears += [(m, 3 * hidden, hidden), (m, hidden, hidden)]
        hd = hidden // heads
        fl += 6 * 2 * batch * heads * seq * seq * hd
    else:
        inter_t = inter_size(expansion, seq)
        mt = batch * hidden
        linears += [(mt, 2 * inter_t, seq), (mt, seq, inter_t)]
    for (a, b, c) in linears:
        fl += 6 * a * b * c
    return fl


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    ap.add_argument("--reps", type=int, default=10, help="timed repetitions (default 10)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed repetitions first (default 3)")
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--seq", type=int, default=97)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--expansion", type=float, default=4.0)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    cos, sin = rope_tables(args.hidden // args.heads, args.seq)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), float32; "
          f"hidden {args.hidden}, heads {args.heads}, seq {args.seq}, batch {args.batch}")
    for variant in ("attn", "mlp"):
        p = make_params(variant, args.hidden, args.heads, args.seq, args.expansion, gen)
        x = torch.randn(args.batch, args.seq, args.hidden, requires_grad=True)
        w = torch.randn(args.batch, args.seq, args.hidden)

        def step():
            for t in list(p.values()) + [x]:
                t.grad = None
            out = block(x, p, variant, args.heads, cos, sin)
            (out * w).sum().backward()

        for _ in range(args.warmup):
            step()
        times = []
        for _ in range(args.reps):
            t0 = time.perf_counter()
            step()
            times.append(time.perf_counter() - t0)
        ms = statistics.median(times) * 1e3
        gflops = matmul_flops(variant, args.batch, args.seq, args.hidden, args.heads, args.expansion) / (ms / 1e3) / 1e9
        print(f"BlockPyTorch/{variant}/h{args.hidden}s{args.seq}b{args.batch}/fwdbwd/t{args.threads}: "
              f"{ms:.1f} ms per forward+backward, {gflops:.1f} GFLOP/s (matmul FLOPs)")


if __name__ == "__main__":
    main()
