#!/usr/bin/env bash
# Runs the SGEMM comparison of BENCHMARKS.md: tensor.Gemm (BenchmarkGemm) and
# OpenBLAS (../shared/tools/openblas-sgemm) on the same shapes, interleaved,
# for one and two workers/threads, ROUNDS times; prints one TSV line per
# measurement and, at the end, a per-shape summary (median over rounds of
# Go, OpenBLAS, Go/OpenBLAS and Go t2/t1).
#
#   scripts/bench_gemm.sh [ROUNDS] > runs/bench/gemm.tsv
#
# Run it on a quiet machine: it takes about a minute per round.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
openblas=${OPENBLAS_SGEMM:-../shared/tools/openblas-sgemm}
go test -c -o /tmp/trm-bench-tensor.test ./tensor
nn="512 512 512 5184 512 1536 776 512 3072 776 1536 512 97 512 3072 4096 256 81"
nt="776 512 3072"
tn="512 776 3072 81 4096 512"
echo -e "round\tthreads\timpl\tshape\tgflops"
for r in $(seq "$rounds"); do
	for t in 1 2; do
		for x in NN NT TN; do
			case $x in NN) shapes=$nn ;; NT) shapes=$nt ;; TN) shapes=$tn ;; esac
			# shellcheck disable=SC2086
			"$openblas" -t "$t" -x "$x" $shapes 2>/dev/null | awk -v r="$r" -v t="$t" -v x="$x" \
				'$1 ~ /^[0-9]+x/ { for (i = 1; i <= NF; i++) if ($i == "GFLOP/s") g = $(i-1); print r "\t" t "\topenblas\t" x " " $1 "\t" g }'
		done
		# The second run of each -count 2 pair is the steady state.
		/tmp/trm-bench-tensor.test -test.run '^$' -test.bench "Gemm/.*/.*/t$t\$" -test.benchtime 20x -test.count 2 |
			awk -v r="$r" '/^BenchmarkGemm/ {
				split($1, p, "/"); sub(/-[0-9]+$/, "", p[4]); th = substr(p[4], 2)
				for (i = 1; i <= NF; i++) if ($i == "GFLOP/s") g = $(i-1)
				key = p[2] " " p[3] " " th; n[key]++
				if (n[key] == 2) print r "\t" th "\tgo\t" p[2] " " p[3] "\t" g
			}'
	done
done | tee /tmp/trm-bench-gemm.tsv
python3 - /tmp/trm-bench-gemm.tsv <<'PY'
import sys, statistics as st, collections as co
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l[0].isdigit()]
v = co.defaultdict(list)
for r, t, impl, shape, g in rows:
    v[(shape, t, impl)].append(float(g))
med = lambda k: st.median(v[k]) if v.get(k) else float("nan")
print("\n# medians over rounds: shape | go t1 | openblas t1 | ratio t1 | go t2 | openblas t2 | ratio t2 | go t2/t1 (min-max)")
for shape in dict.fromkeys(s for s, _, _ in v):
    g1, o1, g2, o2 = med((shape, "1", "go")), med((shape, "1", "openblas")), med((shape, "2", "go")), med((shape, "2", "openblas"))
    # t2/t1 per round, then the median: both figures of a ratio come from one round
    per = [b / a for a, b in zip(v[(shape, "1", "go")], v[(shape, "2", "go")])]
    print(f"| {shape} | {g1:.1f} | {o1:.1f} | {g1/o1:.2f} | {g2:.1f} | {o2:.1f} | {g2/o2:.2f} | {st.median(per):.2f} ({min(per):.2f}–{max(per):.2f}) |")
PY
