#!/usr/bin/env python3
"""Time a whole TRM in PyTorch (float32, CPU): one training step or one inference.

The PyTorch half of scripts/bench_trm.sh; the Go half is BenchmarkTrainStep and
BenchmarkInfer in trm/train/bench_test.go. An independent float32 nn.Module
implementation of the model of docs (trm-spec.md) with the same shapes and the
same matrix products as the Go model, written for speed (the float64 oracle is
scripts/golden/trm_ref.py):

    /usr/bin/python3 scripts/bench_trm.py --variant mlp --mode train --batch 8
    /usr/bin/python3 scripts/bench_trm.py --variant attn --mode infer --batch 1 --torch-threads 1 --blas-threads 2

Variants (hidden 512, 8 heads, expansion 4, 2 layers, T = 3, n = 6, N_sup = 16,
9x9 Sudoku: vocabulary 11, L = 81), as in the Go benchmarks:
    mlp      TRM-MLP (mlp_t) without a puzzle prefix: sequence 81
    mlp-p16  TRM-MLP with the official 16-token puzzle prefix: sequence 97
    attn     TRM-Att (RoPE attention) with the 16-token puzzle prefix (one
             puzzle id: a single learned 512-wide token zero-padded to 16):
             sequence 97
Blocks are post-norm without biases (weightless RMSNorm, eps 1e-5):
    attn: h = rms(h + o_proj(attn(qkv_proj(h))));  h = rms(h + swiglu(h))
    mlp:  h = rms(h^T + swiglu_S(h^T))^T (over the sequence axis);  h = rms(h + swiglu(h))
net(h, inject) = blocks(h + inject).

--mode train times one supervision step of training on a persistent batch
carry (the official scheme, as Trainer.Step): T-1 cycles under no_grad, the
graded cycle (n latent updates z = net(z, y + x), one answer update
y = net(y, z)), lm_head on the L answer positions and q_head on position 0,
stablemax cross-entropy (in float64 as the official code; a softmax would cost
the same order, B*L*V) + 0.5 * BCE on q_halt, backward, Adam with decoupled
weight decay (torch.optim.AdamW, betas 0.9/0.95; PyTorch has no AdamATan2,
whose cost is the same), SignSGD on the puzzle embedding (attn, mlp-p16), the
EMA (rate 0.999) of a copy of the trained parameters, then the halting
decisions and a refill of the halted slots with new random puzzles.
--mode infer times N_sup supervision steps under torch.no_grad of a batch of
B puzzles from (y_init, z_init), with the argmax of the logits after each.

Debian's torch makes its matrix products through libblas.so.3: with the reference
BLAS (libblas3) they run at a few GFLOP/s, so run it with OpenBLAS
(libopenblas0-pthread; scripts/bench_trm.sh puts it first on LD_LIBRARY_PATH). The
JSON names the BLAS library the process loaded.

Two thread pools do the work, and each is pinned before torch is imported:
torch's own (OpenMP: element-wise ops, reductions, and the parallel loops
around small products) by --torch-threads (OMP_NUM_THREADS, MKL_NUM_THREADS
and torch.set_num_threads; inter-op threads 1), and OpenBLAS's pthreads
(every matrix product) by --blas-threads (OPENBLAS_NUM_THREADS). Their sum
can exceed the cores the process may run on: scripts/bench_trm.sh pins the
process to C cores with taskset and tries every split of them. The JSON
reports cpu_s, the CPU time (user + system) of the timed runs, and
cpu_per_wall = cpu_s / their wall time: at most about 1 for a process held
to one thread in each pool (TestBenchTorchPinning checks it).

It prints one JSON line: the median seconds per step/inference over --repeat
timed runs (after --warmup untimed ones), samples/s (train: B per step) or
puzzles/s (infer), GFLOP per run (flops(), the same count as benchFLOPs in
the Go file), GFLOP/s from the median, and the peak RSS of the process
(resource.getrusage ru_maxrss).
"""

import argparse
import json
import math
import os
import resource
import statistics
import sys
import time


def _flag_from_argv(argv, name):
    """The value of flag name (e.g. "--blas-threads") in argv, "1" when absent; read before
    torch is imported, since the thread pools size themselves when their libraries load."""
    for i, a in enumerate(argv):
        if a == name and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return "1"


if __name__ == "__main__":
    # Debian's torch makes its matrix products through libblas.so.3; when that is OpenBLAS
    # (scripts/bench_trm.sh sees to it), OpenBLAS runs its own pthreads, as many as there are
    # cores unless told otherwise when the library loads: hold it to --blas-threads. torch's
    # OpenMP pool likewise reads OMP_NUM_THREADS when it starts: hold it to --torch-threads.
    os.environ["OPENBLAS_NUM_THREADS"] = _flag_from_argv(sys.argv, "--blas-threads")
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = _flag_from_argv(sys.argv, "--torch-threads")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

VOCAB, SEQ_LEN = 11, 81  # 9x9 Sudoku: pad 0, blank 1, digits 2..10
VARIANTS = ("mlp", "mlp-p16", "attn")


def inter_size(expansion, n):
    """SwiGLU width: round(expansion * n * 2 / 3) (half to even) rounded up to a multiple of 256."""
    return (round(expansion * n * 2 / 3) + 255) // 256 * 256


def trunc_normal_(w, std):
    """Truncated normal at +-2 std (values do not matter for timing, only their scale)."""
    return nn.init.trunc_normal_(w, std=std, a=-2 * std, b=2 * std)


def rms_norm(x, eps=1e-5):
    """Weightless RMSNorm over the last axis."""
    return x * torch.rsqrt(x.square().mean(-1, keepdim=True) + eps)


class SwiGLU(nn.Module):
    """down(silu(gate) * up), [gate, up] = gate_up(x): gate_up [2*inter, width], down [width, inter]."""

    def __init__(self, width, expansion):
        super().__init__()
        inter = inter_size(expansion, width)
        self.gate_up = nn.Linear(width, 2 * inter, bias=False)
        self.down = nn.Linear(inter, width, bias=False)

    def forward(self, x):
        gate, up = self.gate_up(x).chunk(2, dim=-1)
        return self.down(F.silu(gate) * up)


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class Attention(nn.Module):
    """Non-causal multi-head attention with RoPE (rotate-half), fused qkv_proj, o_proj."""

    def __init__(self, hidden, heads):
        super().__init__()
        self.heads, self.head_dim = heads, hidden // heads
        self.qkv = nn.Linear(hidden, 3 * hidden, bias=False)
        self.o = nn.Linear(hidden, hidden, bias=False)

    def forward(self, h, cos, sin):
        b, s, d = h.shape
        H = self.heads
        qkv = self.qkv(h).view(b, s, 3 * H, self.head_dim)
        q, k, v = qkv[:, :, :H], qkv[:, :, H:2 * H], qkv[:, :, 2 * H:]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # [B, H, S, hd]
        p = torch.softmax((q @ k.transpose(-1, -2)) * (1 / math.sqrt(self.head_dim)), dim=-1)
        return self.o((p @ v).transpose(1, 2).reshape(b, s, d))


class Block(nn.Module):
    def __init__(self, variant, hidden, heads, seq, expansion):
        super().__init__()
        self.attn = variant == "attn"
        if self.attn:
            self.self_attn = Attention(hidden, heads)
        else:
            self.mlp_t = SwiGLU(seq, expansion)
        self.mlp = SwiGLU(hidden, expansion)

    def forward(self, h, cos, sin):
        if self.attn:
            h = rms_norm(h + self.self_attn(h, cos, sin))
        else:
            ht = h.transpose(1, 2)  # [B, D, S]
            h = rms_norm(ht + self.mlp_t(ht)).transpose(1, 2)
        return rms_norm(h + self.mlp(h))


class TRM(nn.Module):
    """The whole model: embeddings, the shared net, lm_head, q_head, y_init and z_init."""

    def __init__(self, variant, hidden=512, heads=8, expansion=4.0, layers=2, T=3, n=6, nsup=16):
        super().__init__()
        self.T, self.n, self.nsup, self.hidden = T, n, nsup, hidden
        self.P = 0 if variant == "mlp" else 16
        self.S = SEQ_LEN + self.P
        self.embed = nn.Parameter(trunc_normal_(torch.empty(VOCAB, hidden), 1 / math.sqrt(hidden)))
        # One puzzle id: the table is a single row [1, hidden], zero-initialised (official).
        self.puzzle_emb = nn.Parameter(torch.zeros(1, hidden)) if self.P else None
        self.layers = nn.ModuleList(Block(variant, hidden, heads, self.S, expansion) for _ in range(layers))
        self.lm_head = nn.Linear(hidden, VOCAB, bias=False)
        self.q_head = nn.Linear(hidden, 2)
        for lin in self.modules():
            if isinstance(lin, nn.Linear):
                trunc_normal_(lin.weight.data, 1 / math.sqrt(lin.in_features))
        with torch.no_grad():
            self.q_head.weight.zero_()
            self.q_head.bias.fill_(-5)
        self.register_buffer("y_init", trunc_normal_(torch.empty(hidden), 1.0))
        self.register_buffer("z_init", trunc_normal_(torch.empty(hidden), 1.0))
        hd = hidden // heads
        inv = 1.0 / (10000.0 ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
        freqs = torch.outer(torch.arange(self.S, dtype=torch.float32), inv)
        emb = torch.cat((freqs, freqs), dim=-1)[:, None, :]  # [S, 1, hd]
        self.register_buffer("cos", emb.cos())
        self.register_buffer("sin", emb.sin())

    def dense_params(self):
        return [p for name, p in self.named_parameters() if name != "puzzle_emb"]

    def input(self, tokens):
        """x = sqrt(D) * [puzzle prefix, token embeddings]: [B, S, D]."""
        B = tokens.shape[0]
        x = F.embedding(tokens, self.embed)
        if self.P:
            pe = self.puzzle_emb[torch.zeros(B, dtype=torch.long)]  # [B, D], id 0
            pe = F.pad(pe, (0, (self.P - 1) * self.hidden)).view(B, self.P, self.hidden)
            x = torch.cat((pe, x), dim=1)
        return x * math.sqrt(self.hidden)

    def net(self, h, inject):
        h = h + inject
        for blk in self.layers:
            h = blk(h, self.cos, self.sin)
        return h

    def cycle(self, x, y, z):
        for _ in range(self.n):
            z = self.net(z, y + x)
        return self.net(y, z), z

    def step(self, x, y, z, graded):
        """One supervision step; graded: the last cycle records gradients."""
        with torch.no_grad():
            for _ in range(self.T - 1 if graded else self.T):
                y, z = self.cycle(x, y, z)
        if graded:
            y, z = self.cycle(x, y, z)
        logits = self.lm_head(y[:, self.P:])  # [B, L, V]
        q_halt = self.q_head(y[:, 0])[:, 0]  # [B]
        return y, z, logits, q_halt

    def new_carry(self, B):
        shape = (B, self.S, self.hidden)
        return self.y_init.expand(shape).clone(), self.z_init.expand(shape).clone()


def stablemax_ce(logits, labels):
    """Per-sample mean over positions of -log(s(v_label) / sum_j s(v_j)), in float64."""
    v = logits.double()
    s = torch.where(v >= 0, v.clamp(min=0) + 1, 1 / (1 - v.clamp(max=0)))
    logp = s.log() - s.sum(-1, keepdim=True).log()
    return -logp.gather(-1, labels[..., None]).squeeze(-1).mean(-1)


def flops(variant, B, train, hidden=512, heads=8, expansion=4.0, layers=2, T=3, n=6, nsup=16):
    """Matrix-product FLOPs (2*m*n*k each) of one run, as benchFLOPs in trm/train/bench_test.go.

    S = L + P, D = hidden, I = inter(D), I_S = inter(S), V = vocabulary, per sample:
        block, mlp_t: 6*D*S*I_S             sequence SwiGLU on D rows
        block, attn:  8*S*D^2 + 4*S^2*D     qkv, o_proj; q k^T and p v over the heads
        block, both:  + 6*S*D*I             channel SwiGLU on S rows
        net = layers * block;  heads = 2*L*D*V + 2*D*2
        inference: nsup * (T*(n+1)*net + heads)
        training:  (T-1)*(n+1)*net + 3*((n+1)*net + heads)   (graded products: forward, dX, dW)
    times B.
    """
    P = 0 if variant == "mlp" else 16
    S, D, L, V = SEQ_LEN + P, hidden, SEQ_LEN, VOCAB
    block = 6 * S * D * inter_size(expansion, D)
    if variant == "attn":
        block += 8 * S * D * D + 4 * S * S * D
    else:
        block += 6 * D * S * inter_size(expansion, S)
    net = layers * block
    hd = 2 * L * D * V + 2 * D * 2
    if train:
        f = (T - 1) * (n + 1) * net + 3 * ((n + 1) * net + hd)
    else:
        f = nsup * (T * (n + 1) * net + hd)
    return float(f * B)


def random_puzzles(gen, B):
    """B random 9x9 grids: inputs (blank 1 or digit 2..10) and labels (digits 2..10)."""
    labels = torch.randint(2, VOCAB, (B, SEQ_LEN), generator=gen)
    blank = torch.rand(B, SEQ_LEN, generator=gen) < 0.7
    return torch.where(blank, torch.ones_like(labels), labels), labels


class Trainer:
    """Training steps on a persistent batch carry (the official scheme)."""

    def __init__(self, model, B, gen, lr=1e-4, wd=1.0, ema_rate=0.999, explore=0.1):
        self.m, self.B, self.gen = model, B, gen
        self.lr, self.wd, self.ema_rate, self.explore = lr, wd, ema_rate, explore
        self.opt = torch.optim.AdamW(model.dense_params(), lr=lr, betas=(0.9, 0.95), eps=1e-8,
                                     weight_decay=wd, foreach=True)
        self.trained = [p for p in model.parameters()]
        self.ema = [p.detach().clone() for p in self.trained]
        self.y, self.z = model.new_carry(B)
        self.tokens, self.labels = random_puzzles(gen, B)
        self.steps = torch.zeros(B, dtype=torch.long)
        self.halted = torch.zeros(B, dtype=torch.bool)

    def refill(self):
        idx = self.halted.nonzero().flatten()
        if idx.numel() == 0:
            return
        t, l = random_puzzles(self.gen, idx.numel())
        self.tokens[idx], self.labels[idx] = t, l
        y0, z0 = self.m.new_carry(idx.numel())
        self.y[idx], self.z[idx] = y0, z0
        self.steps[idx] = 0
        self.halted[idx] = False

    def step(self):
        self.refill()
        m = self.m
        x = m.input(self.tokens)
        y, z, logits, q_halt = m.step(x, self.y, self.z, graded=True)
        with torch.no_grad():
            correct = (logits.argmax(-1) == self.labels).all(-1).to(q_halt.dtype)
        loss = (stablemax_ce(logits, self.labels)
                + 0.5 * F.binary_cross_entropy_with_logits(q_halt, correct, reduction="none").double()).mean()
        self.opt.zero_grad(set_to_none=True)
        if m.puzzle_emb is not None:
            m.puzzle_emb.grad = None
        loss.backward()
        self.opt.step()
        with torch.no_grad():
            if m.puzzle_emb is not None:  # SignSGD with decoupled weight decay
                m.puzzle_emb.mul_(1 - self.lr * self.wd).add_(m.puzzle_emb.grad.sign(), alpha=-self.lr)
            torch._foreach_mul_(self.ema, self.ema_rate)
            torch._foreach_add_(self.ema, self.trained, alpha=1 - self.ema_rate)
            self.y.copy_(y)
            self.z.copy_(z)
            self.steps += 1
            halt = (self.steps >= m.nsup) | (q_halt > 0)
            explore = torch.rand(self.B, generator=self.gen) < self.explore
            min_steps = torch.randint(2, m.nsup + 1, (self.B,), generator=self.gen)
            self.halted = halt & ~(explore & (self.steps < min_steps))
        return float(loss)


def openblas_threads(lib):
    """The thread count of the OpenBLAS loaded from lib (openblas_get_num_threads), or None
    when lib is not OpenBLAS."""
    import ctypes
    try:
        return ctypes.CDLL(lib).openblas_get_num_threads()
    except (OSError, AttributeError):
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variant", choices=VARIANTS, default="mlp")
    ap.add_argument("--mode", choices=("train", "infer"), default="train")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--torch-threads", type=int, default=1,
                    help="torch's own threads: OMP_NUM_THREADS and torch.set_num_threads (default 1)")
    ap.add_argument("--blas-threads", type=int, default=1,
                    help="OpenBLAS's threads for the matrix products: OPENBLAS_NUM_THREADS (default 1)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs (default 3)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed runs first (default 1)")
    ap.add_argument("--hidden", type=int, default=512, help="hidden size (smaller for smoke tests)")
    args = ap.parse_args()

    torch.set_num_threads(args.torch_threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    B = args.batch
    model = TRM(args.variant, hidden=args.hidden)
    train = args.mode == "train"
    if train:
        tr = Trainer(model, B, gen)
        run = tr.step
    else:
        tokens, _ = random_puzzles(gen, B)
        preds = torch.empty(B, SEQ_LEN, dtype=torch.long)

        def run():
            with torch.no_grad():
                y, z = model.new_carry(B)
                x = model.input(tokens)
                for _ in range(model.nsup):
                    y, z, logits, q_halt = model.step(x, y, z, graded=False)
                    preds.copy_(logits.argmax(-1))

    for _ in range(args.warmup):
        run()
    times = []
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    med = statistics.median(times)
    f = flops(args.variant, B, train, hidden=args.hidden)
    blas = sorted({line.split()[-1] for line in open("/proc/self/maps") if "blas" in line.lower()})
    blas_threads = openblas_threads(blas[0]) if blas else None
    print(json.dumps({
        "impl": "pytorch", "torch": torch.__version__, "variant": args.variant, "mode": args.mode,
        "batch": B, "torch_threads": torch.get_num_threads(), "blas_threads": blas_threads,
        "hidden": args.hidden, "seq": model.S,
        "warmup": args.warmup, "repeat": args.repeat, "median_s": round(med, 6),
        "times_s": [round(t, 6) for t in times],
        ("samples_per_s" if train else "puzzles_per_s"): round(B / med, 4),
        "gflop": round(f / 1e9, 4), "gflop_per_s": round(f / med / 1e9, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cpu_s": round(cpu, 6), "cpu_per_wall": round(cpu / sum(times), 3),
        "blas": blas[0] if blas else "", "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS", ""),
    }))


if __name__ == "__main__":
    main()
