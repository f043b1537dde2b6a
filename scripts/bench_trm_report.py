#!/usr/bin/env python3
"""The tables of scripts/bench_trm.sh, from its raw figures.

    scripts/bench_trm_report.py RAW.tsv GEMM.tsv CORES VARIANTS MODES

RAW.tsv has one line per process (round, impl, variant, mode, batch, cores,
split, median_s, rate, gflop_per_s, gflop, rss_mb, cpu_per_wall, status);
GEMM.tsv one line per GEMM peak measurement (round, impl, cores,
gflop_per_s). CORES, VARIANTS and MODES are the script's comma lists, which
order the rows. Every comparison is at equal cores: Go on C cores against
PyTorch's fastest split of the same C cores (the split with the smallest
median time over the rounds), the ratio taken round by round and then the
median. Fractions of the GEMM peak divide a whole model's GFLOP/s by
tensor.Gemm's median GFLOP/s at the model's largest product on the same
cores, measured in the same sitting.
"""

import collections
import statistics
import sys


def main():
    raw, gemmraw, cores_arg, variants_arg, modes_arg = sys.argv[1:6]
    cores = [int(c) for c in cores_arg.split(",") if c]
    variants, modes = variants_arg.split(","), modes_arg.split(",")

    # ok[(mode, variant, batch)][(impl, cores, split)][round] = figures
    ok = collections.defaultdict(lambda: collections.defaultdict(dict))
    status = collections.defaultdict(set)
    for line in list(open(raw))[1:]:
        r, impl, v, m, b, c, s, t, rate, g, f, rss, cpw, st = line.rstrip("\n").split("\t")
        key = (m, v, int(b))
        status[key, impl, int(c)].add(st)
        if st == "ok":
            ok[key][impl, int(c), s][int(r)] = dict(s=float(t), rate=float(rate), g=float(g), f=float(f),
                                                     rss=float(rss), cpw=float(cpw))
    peaks = collections.defaultdict(list)  # (impl, cores) -> GFLOP/s per round
    for line in list(open(gemmraw))[1:]:
        r, impl, c, g = line.rstrip("\n").split("\t")
        if g:
            peaks[impl, int(c)].append(float(g))
    peak = {k: statistics.median(v) for k, v in peaks.items()}

    def med(d, field="s"):
        return statistics.median(x[field] for x in d.values())

    def ratio(slow, fast):
        """Median over the rounds both have of slow time / fast time (> 1: fast is faster)."""
        common = sorted(set(slow) & set(fast))
        return statistics.median(slow[r]["s"] / fast[r]["s"] for r in common) if common else None

    fs = lambda x, unit=" s": "–" if x is None else f"{x:.3g}{unit}"
    fx = lambda x: "–" if x is None else f"{x:.2f}×"
    pct = lambda g, c: f" ({100 * g / peak['go', c]:.0f}%)" if ("go", c) in peak else ""
    order = lambda k: ((modes + [k[0]]).index(k[0]), (variants + [k[1]]).index(k[1]), k[2])

    def best(key, impl, c):
        """The (split, rounds) of impl at c cores with the smallest median time, or (None, None)."""
        runs = {s: d for (i, cc, s), d in ok[key].items() if i == impl and cc == c}
        if not runs:
            return None, None
        s = min(runs, key=lambda s: med(runs[s]))
        return s, runs[s]

    def missing(key, impl, c):
        st = status.get((key, impl, c))
        return "/".join(sorted(st)) if st else "–"

    print("GEMM peak: C = A·B at NN 776×512×3072 on the same pinned cores (medians over the rounds):\n")
    print("| cores | tensor.Gemm GFLOP/s | OpenBLAS GFLOP/s | tensor.Gemm / OpenBLAS |")
    print("|---|---|---|---|")
    for c in cores:
        g, o = peak.get(("go", c)), peak.get(("openblas", c))
        print(f"| {c} | {fs(g, '')} | {fs(o, '')} | {fx(g / o) if g and o else '–'} |")

    print("\nGo against PyTorch's fastest split of the same cores (ratio = PyTorch time / Go time per "
          "round, median; > 1: Go faster). GFLOP/s with its fraction of the tensor.Gemm peak at those cores:\n")
    print("| config | cores | GFLOP/run | Go | PyTorch best (split T:O) | PyTorch / Go | "
          "GFLOP/s Go · PyTorch | samples/s Go · PyTorch | peak RSS MB Go · PyTorch |")
    print("|---|---|---|---|---|---|---|---|---|")
    for key in sorted(ok, key=order):
        m, v, b = key
        gflop = next(iter(next(iter(ok[key].values())).values()))["f"]
        for c in cores:
            _, go = best(key, "go", c)
            ps, pt = best(key, "pytorch", c)
            cells = [f"{v} {m} b{b}", str(c), f"{gflop:.4g}",
                     fs(med(go)) if go else missing(key, "go", c),
                     f"{fs(med(pt))} ({ps})" if pt else missing(key, "pytorch", c),
                     fx(ratio(pt, go)) if go and pt else "–",
                     " · ".join(f"{med(d, 'g'):.1f}{pct(med(d, 'g'), c)}" if d else "–" for d in (go, pt)),
                     " · ".join(f"{med(d, 'rate'):.3g}" if d else "–" for d in (go, pt)),
                     " · ".join(f"{med(d, 'rss'):.0f}" if d else "–" for d in (go, pt))]
            print("| " + " | ".join(cells) + " |")

    c1 = min(cores)
    more = [c for c in cores if c != c1]
    if more:
        print(f"\nScaling: time at {c1} core(s) / time at C cores, per round, median (PyTorch: its best "
              "split at each count):\n")
        print("| config | " + " | ".join(f"Go c{c}/c{c1} · PyTorch c{c}/c{c1}" for c in more) + " |")
        print("|---|" + "---|" * len(more))
        for key in sorted(ok, key=order):
            m, v, b = key
            cells = [f"{v} {m} b{b}"]
            for c in more:
                pair = []
                for impl in ("go", "pytorch"):
                    _, one = best(key, impl, c1)
                    _, many = best(key, impl, c)
                    pair.append(fx(ratio(one, many)) if one and many else "–")
                cells.append(" · ".join(pair))
            print("| " + " | ".join(cells) + " |")

    print("\nEvery implementation, core count and split (medians over rounds; min–max of the times; "
          "cpu/wall: CPU time over wall time of the process (Go) or of the timed runs (PyTorch)):\n")
    print("| config | impl | cores | split T:O | rounds | median | min–max | GFLOP/s | samples/s | peak RSS MB | cpu/wall |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for key in sorted(ok, key=order):
        m, v, b = key
        for (impl, c, s), d in sorted(ok[key].items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2])):
            ts = [x["s"] for x in d.values()]
            print(f"| {v} {m} b{b} | {impl} | {c} | {s if impl == 'pytorch' else '–'} | {len(d)} | {fs(med(d))} | "
                  f"{min(ts):.3g}–{max(ts):.3g} | {med(d, 'g'):.1f} | {med(d, 'rate'):.3g} | {med(d, 'rss'):.0f} | "
                  f"{med(d, 'cpw'):.2f} |")

    print("""
Times are seconds per training step (train: one supervision step of B samples) or per inference
(infer: 16 supervision steps of B puzzles). samples/s: training samples per second, or puzzles per
second for infer. GFLOP counts 2·m·n·k of every matrix product (benchFLOPs in
trm/train/bench_test.go, flops in scripts/bench_trm.py). Peak RSS: /usr/bin/time %M of the process.
Split T:O: torch threads : OpenBLAS threads, both pinned before torch is imported.""")


if __name__ == "__main__":
    main()
