#!/usr/bin/env bash
# Whole-model TRM benchmark, Go against PyTorch, in one command and one sitting (issue 13):
# a training step and an inference (16 supervision steps) of TRM-MLP (sequence 81) and TRM-Att
# (81 + a 16-token puzzle prefix = 97), hidden 512, 2 layers, T = 3, n = 6, for each batch, Go
# with each worker count (BenchmarkTrainStep / BenchmarkInfer in trm/train/bench_test.go, one
# -test.cpu value per process) and PyTorch with each thread count (scripts/bench_trm.py).
# Interleaved: round by round, configuration by configuration, Go and PyTorch next to each
# other (which of the two goes first alternates with the round); every measurement is its own
# process, so its peak RSS (/usr/bin/time %M) is that configuration's. Prints a Markdown table
# of medians over the rounds, ratios taken round by round (then the median), and a table of
# every implementation and thread count; the raw figures stay in the output folder.
#
#   scripts/bench_trm.sh                                  # batches 1,8; both variants and modes
#   scripts/bench_trm.sh --batches 1,8,64,256 --rounds 3  # the issue's grid: hours, ~20 GB at 256
#   scripts/bench_trm.sh --busy                           # with a competing busy loop
#   scripts/bench_trm.sh --hidden 64 --rounds 1           # smoke test, a minute or two
#
# Options (environment variable in brackets; lists are comma-separated):
#   --rounds N        rounds (3) [ROUNDS]
#   --batches LIST    batch sizes (1,8) [BATCHES]
#   --variants LIST   mlp, attn, mlp-p16 (the official TRM-MLP with the puzzle prefix,
#                     sequence 97) (mlp,attn) [VARIANTS]
#   --modes LIST      train, infer (train,infer) [MODES]
#   --workers LIST    Go GEMM worker counts = GOMAXPROCS (1,2) [WORKERS]
#   --threads LIST    PyTorch threads (torch.set_num_threads and OpenBLAS's) (1,2) [THREADS]
#   --repeat N        timed runs per process, after the warm-up (3) [REPEAT]
#   --warmup N        untimed runs per process first (2: at batch 64 the first two training
#                     steps are the slow ones, issue 13) [WARMUP]
#   --hidden N        hidden size (512; smaller for a smoke test) [HIDDEN]
#   --busy            run one competing busy loop (sh: while :; do :; done) the whole time,
#                     pinned nowhere, killed on exit [BUSY=1]
#   --fixed           also run every Go configuration with the worker tuners off
#                     (TRM_BENCH_TUNE=0: every call on all its workers), as "go-fixed" [FIXED=1]
#   --out DIR         where the raw TSV and logs go (a new temporary folder) [OUT]
#
# PyTorch: Debian's python3-torch 1.13 makes its matrix products through libblas.so.3. If that
# is the reference BLAS (libblas3), PyTorch runs at a few GFLOP/s and the comparison means
# nothing: the script runs PyTorch with OpenBLAS (libopenblas0-pthread, put first on
# LD_LIBRARY_PATH whatever the system's alternative says) and refuses to start without it,
# unless TORCH_BLAS=system. Its PyTorch processes get `ulimit -v` = the memory available at the
# start, so a batch that does not fit fails alone instead of waking the OOM killer (the Go
# trainer refuses such a batch itself: that row then says "skip").
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${ROUNDS:-3} batches=${BATCHES:-1,8} variants=${VARIANTS:-mlp,attn} modes=${MODES:-train,infer}
workers=${WORKERS:-1,2} threads=${THREADS:-1,2} repeat=${REPEAT:-3} warmup=${WARMUP:-2}
hidden=${HIDDEN:-512} busy=${BUSY:-0} fixed=${FIXED:-0} out=${OUT:-}
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit "${1:-0}"; }
while (($#)); do
	case $1 in
	--rounds) rounds=$2; shift ;;
	--batches) batches=$2; shift ;;
	--variants) variants=$2; shift ;;
	--modes) modes=$2; shift ;;
	--workers) workers=$2; shift ;;
	--threads) threads=$2; shift ;;
	--repeat) repeat=$2; shift ;;
	--warmup) warmup=$2; shift ;;
	--hidden) hidden=$2; shift ;;
	--busy) busy=1 ;;
	--fixed) fixed=1 ;;
	--out) out=$2; shift ;;
	-h | --help) usage 0 ;;
	*) echo "bench_trm.sh: unknown argument $1" >&2; usage 2 >&2 ;;
	esac
	shift
done
split() { tr ',' ' ' <<<"$1"; }

python=/usr/bin/python3
[[ -x /usr/bin/time ]] || { echo "bench_trm.sh: needs /usr/bin/time (Debian package time) for the peak RSS" >&2; exit 1; }
blasdir=/usr/lib/x86_64-linux-gnu/openblas-pthread
torch_env=()
if [[ ${TORCH_BLAS:-} == system ]]; then
	:
elif [[ -e $blasdir/libblas.so.3 ]]; then
	torch_env=(LD_LIBRARY_PATH="$blasdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
else
	echo "bench_trm.sh: OpenBLAS not found ($blasdir/libblas.so.3): PyTorch would use the reference" >&2
	echo "BLAS at a few GFLOP/s. Install it (apt-get install libopenblas0-pthread) or set TORCH_BLAS=system." >&2
	exit 1
fi
avail_kb=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)

[[ -n $out ]] || out=$(mktemp -d /tmp/bench_trm.XXXXXX)
mkdir -p "$out"
raw=$out/raw.tsv
gobin=$out/train.test
go test -c -o "$gobin" ./trm/train

busypid=
cleanup() { if [[ -n $busypid ]]; then kill "$busypid" 2>/dev/null || true; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM
if ((busy)); then
	sh -c 'while :; do :; done' &
	busypid=$!
fi

commit=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- . 2>/dev/null || commit="$commit (with uncommitted changes)"
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
torchv=$(env "${torch_env[@]}" $python -c 'import torch; print(torch.__version__)' 2>/dev/null || echo "?")
{
	echo "# started $(date -u '+%Y-%m-%d %H:%M:%S UTC'); uptime: $(uptime)"
	echo "# commit $commit; $(go version); torch $torchv; $cpu, $(nproc) cores"
	echo "# rounds $rounds, batches $batches, variants $variants, modes $modes, Go workers $workers, PyTorch threads $threads, repeat $repeat, warm-up $warmup, hidden $hidden, busy loop: $( ((busy)) && echo "yes (pid $busypid)" || echo no), tuners off too: $( ((fixed)) && echo yes || echo no)"
} | tee "$out/header.txt"
printf 'round\timpl\tvariant\tmode\tbatch\tthreads\tmedian_s\trate\tgflop_per_s\tgflop\trss_mb\tstatus\n' >"$raw"

# run_go ROUND VARIANT MODE BATCH WORKERS [go-fixed]: one Go benchmark process, one TSV line;
# go-fixed runs it with the worker tuners off.
run_go() {
	local r=$1 v=$2 m=$3 b=$4 w=$5 impl=${6:-go} bench log line tune=1
	case $m in train) bench=BenchmarkTrainStep ;; infer) bench=BenchmarkInfer ;; esac
	[[ $impl == go ]] || tune=0
	log=$out/$impl-$v-$m-b$b-w$w-r$r.log
	if TRM_BENCH_TUNE=$tune TRM_BENCH_VARIANT=$v TRM_BENCH_BATCH=$b TRM_BENCH_HIDDEN=$hidden TRM_BENCH_WARMUP=$warmup \
		/usr/bin/time -f %M -o "$out/rss" "$gobin" -test.run '^$' -test.bench "^$bench\$/^$v\$/^b$b\$" \
		-test.cpu "$w" -test.benchtime "${repeat}x" -test.count 1 >"$log" 2>&1; then
		line=$(awk -v impl="$impl" -v r="$r" -v v="$v" -v m="$m" -v b="$b" -v w="$w" -v rss="$(tail -n1 "$out/rss")" '
			/^Benchmark/ && /median-s\/op/ {
				for (i = 3; i < NF; i++) {
					if ($(i+1) == "median-s/op") s = $i
					if ($(i+1) == "samples/s" || $(i+1) == "puzzles/s") rate = $i
					if ($(i+1) == "GFLOP/s") g = $i
					if ($(i+1) == "GFLOP/op") f = $i
				}
				printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.1f\tok\n", r, impl, v, m, b, w, s, rate, g, f, rss / 1024
			}' "$log")
		[[ -n $line ]] || line=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t\t\t\t\t\tskip' "$r" "$impl" "$v" "$m" "$b" "$w")
	else
		line=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t\t\t\t\t\tfailed' "$r" "$impl" "$v" "$m" "$b" "$w")
	fi
	echo "$line" | tee -a "$raw"
}

# run_gos ROUND VARIANT MODE BATCH: every Go worker count (and with the tuners off, for --fixed),
# fixed and tuned alternating which goes first with the round.
run_gos() {
	local w
	for w in $(split "$workers"); do
		if ((fixed && w > 1 && $1 % 2 == 0)); then run_go "$@" "$w" go-fixed; fi
		run_go "$@" "$w"
		if ((fixed && w > 1 && $1 % 2 == 1)); then run_go "$@" "$w" go-fixed; fi
	done
}

# run_torch ROUND VARIANT MODE BATCH THREADS: one PyTorch process, one TSV line.
run_torch() {
	local r=$1 v=$2 m=$3 b=$4 t=$5 log line
	log=$out/torch-$v-$m-b$b-t$t-r$r.log
	if (ulimit -v "$avail_kb" && exec env "${torch_env[@]}" /usr/bin/time -f %M -o "$out/rss" \
		$python scripts/bench_trm.py --variant "$v" --mode "$m" --batch "$b" --threads "$t" \
		--repeat "$repeat" --warmup "$warmup" --hidden "$hidden") >"$log" 2>&1; then
		line=$($python - "$log" "$r" "$(tail -n1 "$out/rss")" <<-'PY'
			import json, sys
			j = json.loads([l for l in open(sys.argv[1]) if l.startswith("{")][-1])
			rate = j.get("samples_per_s", j.get("puzzles_per_s"))
			print("\t".join(map(str, [sys.argv[2], "pytorch", j["variant"], j["mode"], j["batch"], j["threads"],
			                          j["median_s"], rate, j["gflop_per_s"], j["gflop"],
			                          round(int(sys.argv[3]) / 1024, 1), "ok"])))
		PY
		)
	else
		line=$(printf '%s\tpytorch\t%s\t%s\t%s\t%s\t\t\t\t\t\tfailed' "$r" "$v" "$m" "$b" "$t")
	fi
	echo "$line" | tee -a "$raw"
}

for r in $(seq "$rounds"); do
	for m in $(split "$modes"); do
		for v in $(split "$variants"); do
			for b in $(split "$batches"); do
				if ((r % 2)); then
					run_gos "$r" "$v" "$m" "$b"
					for t in $(split "$threads"); do run_torch "$r" "$v" "$m" "$b" "$t"; done
				else
					for t in $(split "$threads"); do run_torch "$r" "$v" "$m" "$b" "$t"; done
					run_gos "$r" "$v" "$m" "$b"
				fi
			done
		done
	done
done >&2
echo "# ended $(date -u '+%Y-%m-%d %H:%M:%S UTC'); uptime: $(uptime)" | tee -a "$out/header.txt"
echo "# raw figures: $raw"
echo

$python - "$raw" "$workers" "$variants" "$modes" <<'PY'
import collections, statistics, sys

rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])][1:]
workers = [int(w) for w in sys.argv[2].split(",") if w]
order = lambda k: ((sys.argv[4].split(",") + [k[0]]).index(k[0]), (sys.argv[3].split(",") + [k[1]]).index(k[1]), k[2])
ok = collections.defaultdict(dict)  # (mode, variant, batch) -> (impl, threads) -> {round: row}
status = collections.defaultdict(set)
for r, impl, v, m, b, t, s, rate, g, f, rss, st in rows:
    key = (m, v, int(b))
    status[key, impl, int(t)].add(st)
    if st == "ok":
        ok[key].setdefault((impl, int(t)), {})[int(r)] = dict(s=float(s), rate=float(rate), g=float(g),
                                                            f=float(f), rss=float(rss))


def med(d, field):
    return statistics.median(x[field] for x in d.values()) if d else None


def ratio(slow, fast):
    """median over the rounds that have both of slow time / fast time (> 1: fast is faster)."""
    common = sorted(set(slow) & set(fast))
    return statistics.median(slow[r]["s"] / fast[r]["s"] for r in common) if common else None


def fs(x, unit=" s"):
    return "–" if x is None else f"{x:.3g}{unit}"


def fx(x):
    return "–" if x is None else f"{x:.2f}×"


def cell(key, impl, t):
    d = ok[key].get((impl, t))
    if d:
        return fs(med(d, "s"))
    st = status.get((key, impl, t))
    return "/".join(sorted(st)) if st else "–"


w1, wmax = min(workers), max(workers)
head = ["config", "GFLOP/run"] + [f"Go w{w}" for w in workers] + ["PyTorch best (threads)",
        f"Go w{w1} vs PyTorch t1"] + [f"Go w{w} vs PyTorch best" for w in workers if w != w1] + \
       ([f"Go w{wmax}/w{w1}"] if wmax != w1 else []) + \
       ["GFLOP/s Go best · PyTorch best", "samples/s Go best · PyTorch best", "peak RSS MB Go best · PyTorch best"]
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for key in sorted(ok, key=order):
    m, v, b = key
    go = {t: d for (impl, t), d in ok[key].items() if impl == "go"}
    pt = {t: d for (impl, t), d in ok[key].items() if impl == "pytorch"}
    ptbest = min(pt, key=lambda t: med(pt[t], "s")) if pt else None
    gobest = min(go, key=lambda t: med(go[t], "s")) if go else None
    gflop = next(iter(next(iter(ok[key].values())).values()))["f"]
    cells = [f"{v} {m} b{b}", f"{gflop:.4g}"] + [cell(key, "go", w) for w in workers]
    cells.append(f"{fs(med(pt[ptbest], 's'))} (t{ptbest})" if pt else "–")
    cells.append(fx(ratio(pt[1], go[w1])) if 1 in pt and w1 in go else "–")
    for w in workers:
        if w != w1:
            cells.append(fx(ratio(pt[ptbest], go[w])) if pt and w in go else "–")
    if wmax != w1:
        cells.append(fx(ratio(go[w1], go[wmax])) if w1 in go and wmax in go else "–")
    g = lambda d, t, f, u="": fs(med(d[t], f), u) if t is not None else "–"
    cells.append(f"{g(go, gobest, 'g', '')} (w{gobest}) · {g(pt, ptbest, 'g', '')} (t{ptbest})")
    cells.append(f"{g(go, gobest, 'rate', '')} · {g(pt, ptbest, 'rate', '')}")
    cells.append(f"{g(go, gobest, 'rss', '')} · {g(pt, ptbest, 'rss', '')}")
    print("| " + " | ".join(cells) + " |")

fixed = [(key, t) for key in sorted(ok, key=order) for (impl, t) in sorted(ok[key]) if impl == "go-fixed"]
if fixed:
    print("\nTuners on (go) against off (go-fixed: every call on all its workers), same worker count;")
    print("ratio = fixed time / tuned time per round, median (> 1: tuning is faster):\n")
    print(f"| config | workers | Go w{w1} | tuned | fixed | fixed/tuned | w{w1}/tuned | w{w1}/fixed |")
    print("|---|---|---|---|---|---|---|---|")
    for key, t in fixed:
        m, v, b = key
        tuned, fx_, one = ok[key].get(("go", t), {}), ok[key][("go-fixed", t)], ok[key].get(("go", w1), {})
        print(f"| {v} {m} b{b} | {t} | {fs(med(one, 's')) if one else '–'} | {fs(med(tuned, 's')) if tuned else '–'} | "
              f"{fs(med(fx_, 's'))} | {fx(ratio(fx_, tuned))} | {fx(ratio(one, tuned))} | {fx(ratio(one, fx_))} |")

print("\nEvery implementation and thread count (medians over rounds; min–max of the times):\n")
print("| config | impl | threads | rounds | median | min–max | GFLOP/s | samples/s | peak RSS MB |")
print("|---|---|---|---|---|---|---|---|---|")
for key in sorted(ok, key=order):
    m, v, b = key
    for (impl, t), d in sorted(ok[key].items()):
        ts = [x["s"] for x in d.values()]
        print(f"| {v} {m} b{b} | {impl} | {t} | {len(d)} | {fs(med(d, 's'))} | {min(ts):.3g}–{max(ts):.3g} | "
              f"{med(d, 'g'):.1f} | {med(d, 'rate'):.3g} | {med(d, 'rss'):.0f} |")
PY
cat <<'EOF'

Times are seconds per training step (train: one supervision step of B samples) or per inference
(infer: 16 supervision steps of B puzzles). "vs" columns: PyTorch time / Go time, per round, median
(> 1: Go is faster). samples/s: training samples per second, or puzzles per second for infer.
GFLOP counts 2·m·n·k of every matrix product (benchFLOPs in trm/train/bench_test.go, flops in
scripts/bench_trm.py). Peak RSS: /usr/bin/time %M of the process.
EOF
