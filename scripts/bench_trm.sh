#!/usr/bin/env bash
# Whole-model TRM benchmark, Go against PyTorch at equal cores, in one command and one sitting
# (issues 13 and 24): a training step and an inference (16 supervision steps) of TRM-MLP
# (sequence 81) and TRM-Att (81 + a 16-token puzzle prefix = 97), hidden 512, 2 layers, T = 3,
# n = 6, for each batch and each core count C.
#
# Equal cores: every process runs pinned with taskset to the same C cores (the first C of the
# CPUs this script may use). Go runs with C workers (BenchmarkTrainStep / BenchmarkInfer in
# trm/train/bench_test.go, -test.cpu C). PyTorch runs at every split of those C cores between
# its two thread pools (scripts/bench_trm.py --torch-threads T --blas-threads O: torch's OpenMP
# pool and OpenBLAS's pthreads, both pinned before torch is imported), and the fastest split is
# PyTorch's figure at C cores; the table says which split won. The GEMM peak is measured in the
# same sitting, on the same cores: tensor.Gemm (BenchmarkGemm) and OpenBLAS
# (/work/shared/tools/openblas-sgemm, when present) at the model's largest product
# (NN 776×512×3072: the channel SwiGLU's gate_up at batch 8, sequence 97), so each side's
# GFLOP/s is also quoted as a fraction of it.
#
# Interleaved: round by round, configuration by configuration, Go and PyTorch next to each
# other (which goes first alternates with the round); every measurement is its own process, so
# its peak RSS (/usr/bin/time %M) is that configuration's. Prints Markdown tables of medians
# over the rounds, ratios taken round by round (then the median); the raw figures stay in the
# output folder.
#
#   scripts/bench_trm.sh                                  # cores 1,2; batches 1,8; both variants, modes
#   scripts/bench_trm.sh --cores 1,2,4,8,16 --splits 1:1,1:2,2:1,1:4,1:8,1:16,16:1,16:16
#   scripts/bench_trm.sh --busy                           # with a competing busy loop
#   scripts/bench_trm.sh --hidden 64 --rounds 1           # smoke test, a few minutes
#
# Options (environment variable in brackets; lists are comma-separated):
#   --rounds N        rounds (3) [ROUNDS]
#   --batches LIST    batch sizes (1,8) [BATCHES]
#   --variants LIST   mlp, attn, mlp-p16 (the official TRM-MLP with the puzzle prefix,
#                     sequence 97) (mlp,attn) [VARIANTS]
#   --modes LIST      train, infer (train,infer) [MODES]
#   --cores LIST      core counts C (1,2) [CORES]
#   --splits LIST     PyTorch splits T:O (torch threads : OpenBLAS threads) to try at each C,
#                     those with T ≤ C and O ≤ C (default: every pair from {1, 2, 4, …, C}
#                     with T·O ≤ C: with more threads than cores, torch's OpenMP pool
#                     spinning beside OpenBLAS's, 2:2 ran ~40× slower than 1:1 here) [SPLITS]
#   --repeat N        timed runs per process, after the warm-up (3) [REPEAT]
#   --warmup N        untimed runs per process first (2: at batch 64 the first two training
#                     steps are the slow ones, issue 13) [WARMUP]
#   --hidden N        hidden size (512; smaller for a smoke test) [HIDDEN]
#   --busy            run one competing busy loop (sh: while :; do :; done) the whole time, on
#                     the first core (inside every C), killed on exit [BUSY=1]
#   --fixed           also run every Go configuration with the worker tuners off
#                     (TRM_BENCH_TUNE=0: every call on all its workers), as "go-fixed" [FIXED=1]
#   --out DIR         where the raw TSV and logs go (a new temporary folder) [OUT]
#
# PyTorch: Debian's python3-torch 1.13 makes its matrix products through libblas.so.3. If that
# is the reference BLAS (libblas3), PyTorch runs at a few GFLOP/s and the comparison means
# nothing: the script runs PyTorch with OpenBLAS (libopenblas0-pthread, put first on
# LD_LIBRARY_PATH whatever the system's alternative says) and refuses to start without it,
# unless TORCH_BLAS=system. OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset for PyTorch's
# processes (as openblas-sgemm does), so OpenBLAS picks its best kernel for this CPU. Its
# PyTorch processes get `ulimit -v` = the memory available at the start, so a batch that does
# not fit fails alone instead of waking the OOM killer (the Go trainer refuses such a batch
# itself: that row then says "skip").
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${ROUNDS:-3} batches=${BATCHES:-1,8} variants=${VARIANTS:-mlp,attn} modes=${MODES:-train,infer}
cores=${CORES:-1,2} splits=${SPLITS:-} repeat=${REPEAT:-3} warmup=${WARMUP:-2}
hidden=${HIDDEN:-512} busy=${BUSY:-0} fixed=${FIXED:-0} out=${OUT:-}
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit "${1:-0}"; }
while (($#)); do
	case $1 in
	--rounds) rounds=$2; shift ;;
	--batches) batches=$2; shift ;;
	--variants) variants=$2; shift ;;
	--modes) modes=$2; shift ;;
	--cores) cores=$2; shift ;;
	--splits) splits=$2; shift ;;
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
for tool in /usr/bin/time taskset; do
	command -v $tool >/dev/null || { echo "bench_trm.sh: needs $tool (Debian packages time, util-linux)" >&2; exit 1; }
done
blasdir=/usr/lib/x86_64-linux-gnu/openblas-pthread
torch_env=(-u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)
if [[ ${TORCH_BLAS:-} == system ]]; then
	:
elif [[ -e $blasdir/libblas.so.3 ]]; then
	torch_env+=(LD_LIBRARY_PATH="$blasdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
else
	echo "bench_trm.sh: OpenBLAS not found ($blasdir/libblas.so.3): PyTorch would use the reference" >&2
	echo "BLAS at a few GFLOP/s. Install it (apt-get install libopenblas0-pthread) or set TORCH_BLAS=system." >&2
	exit 1
fi
avail_kb=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)

# The CPUs this script may run on, in order; C cores are the first C of them.
read -ra cpus <<<"$($python -c 'import os; print(*sorted(os.sched_getaffinity(0)))')"
for c in $(split "$cores"); do
	if ((c < 1 || c > ${#cpus[@]})); then
		echo "bench_trm.sh: --cores $c: this process may use ${#cpus[@]} CPUs (${cpus[*]})" >&2; exit 2
	fi
done
# cpulist C: the taskset list of the first C CPUs.
cpulist() { local IFS=,; echo "${cpus[*]:0:$1}"; }

# splits_for C: the T:O splits tried at C cores.
splits_for() {
	local c=$1 s t o list=()
	if [[ -n $splits ]]; then
		for s in $(split "$splits"); do
			t=${s%%:*} o=${s##*:}
			((t <= c && o <= c)) && list+=("$s")
		done
	else
		local p=() x=1
		while ((x < c)); do p+=("$x"); x=$((x * 2)); done
		p+=("$c")
		for t in "${p[@]}"; do for o in "${p[@]}"; do ((t * o <= c)) && list+=("$t:$o"); done; done
	fi
	echo "${list[@]}"
}

[[ -n $out ]] || out=$(mktemp -d /tmp/bench_trm.XXXXXX)
mkdir -p "$out"
raw=$out/raw.tsv
gemmraw=$out/gemm.tsv
gobin=$out/train.test
tensorbin=$out/tensor.test
go test -c -o "$gobin" ./trm/train
go test -c -o "$tensorbin" ./tensor
openblas=/work/shared/tools/openblas-sgemm
[[ -x $openblas ]] || openblas=$(dirname "$PWD")/shared/tools/openblas-sgemm
[[ -x $openblas ]] || openblas=

busypid=
cleanup() { if [[ -n $busypid ]]; then kill "$busypid" 2>/dev/null || true; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM
if ((busy)); then
	taskset -c "${cpus[0]}" sh -c 'while :; do :; done' &
	busypid=$!
fi

commit=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- . 2>/dev/null || commit="$commit (with uncommitted changes)"
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
torchv=$(env "${torch_env[@]}" $python -c 'import torch; print(torch.__version__)' 2>/dev/null || echo "?")
{
	echo "# started $(date -u '+%Y-%m-%d %H:%M:%S UTC'); uptime: $(uptime)"
	echo "# commit $commit; $(go version); torch $torchv; $cpu, $(nproc) cores"
	echo "# rounds $rounds, batches $batches, variants $variants, modes $modes, cores $cores (CPUs ${cpus[*]}), PyTorch splits T:O $(for c in $(split "$cores"); do printf '%s: %s; ' "$c" "$(splits_for "$c")"; done)repeat $repeat, warm-up $warmup, hidden $hidden, busy loop: $( ((busy)) && echo "yes (pid $busypid, CPU ${cpus[0]})" || echo no), tuners off too: $( ((fixed)) && echo yes || echo no)"
} | tee "$out/header.txt"
printf 'round\timpl\tvariant\tmode\tbatch\tcores\tsplit\tmedian_s\trate\tgflop_per_s\tgflop\trss_mb\tcpu_per_wall\tstatus\n' >"$raw"
printf 'round\timpl\tcores\tgflop_per_s\n' >"$gemmraw"

# gemm_shape is the GEMM whose speed is the peak the whole model is quoted against.
gemm_m=776 gemm_k=512 gemm_n=3072

# run_gemm ROUND C: tensor.Gemm and OpenBLAS SGEMM at gemm_shape on C pinned cores.
run_gemm() {
	local r=$1 c=$2 g log=$out/gemm-c$2-r$1.log
	g=$(TRM_BENCH_WORKERS=$c taskset -c "$(cpulist "$c")" "$tensorbin" -test.run '^$' \
		-test.bench "^BenchmarkGemm\$/^NN/${gemm_m}x${gemm_k}x${gemm_n}\$/^t$c\$" -test.cpu "$c" \
		-test.benchtime 2s -test.count 1 2>&1 | tee "$log" | awk '/GFLOP\/s/ { for (i = 2; i < NF; i++) if ($(i+1) == "GFLOP/s") print $i }')
	printf '%s\tgo\t%s\t%s\n' "$r" "$c" "${g:-}" | tee -a "$gemmraw"
	if [[ -n $openblas ]]; then
		g=$(taskset -c "$(cpulist "$c")" "$openblas" -t "$c" "$gemm_m" "$gemm_k" "$gemm_n" 2>&1 | tee -a "$log" |
			awk '/GFLOP\/s/ { for (i = 2; i <= NF; i++) if ($i == "GFLOP/s") print $(i-1) }')
		printf '%s\topenblas\t%s\t%s\n' "$r" "$c" "${g:-}" | tee -a "$gemmraw"
	fi
}

# run_go ROUND VARIANT MODE BATCH C [go-fixed]: one Go benchmark process on C pinned cores with
# C workers, one TSV line; go-fixed runs it with the worker tuners off.
run_go() {
	local r=$1 v=$2 m=$3 b=$4 c=$5 impl=${6:-go} bench log line tune=1
	case $m in train) bench=BenchmarkTrainStep ;; infer) bench=BenchmarkInfer ;; esac
	[[ $impl == go ]] || tune=0
	log=$out/$impl-$v-$m-b$b-c$c-r$r.log
	if TRM_BENCH_TUNE=$tune TRM_BENCH_VARIANT=$v TRM_BENCH_BATCH=$b TRM_BENCH_HIDDEN=$hidden TRM_BENCH_WARMUP=$warmup \
		/usr/bin/time -f '%M %U %S %e' -o "$out/rss" taskset -c "$(cpulist "$c")" "$gobin" -test.run '^$' \
		-test.bench "^$bench\$/^$v\$/^b$b\$" -test.cpu "$c" -test.benchtime "${repeat}x" -test.count 1 >"$log" 2>&1; then
		line=$(awk -v impl="$impl" -v r="$r" -v v="$v" -v m="$m" -v b="$b" -v c="$c" -v usage="$(tail -n1 "$out/rss")" '
			/^Benchmark/ && /median-s\/op/ {
				for (i = 3; i < NF; i++) {
					if ($(i+1) == "median-s/op") s = $i
					if ($(i+1) == "samples/s" || $(i+1) == "puzzles/s") rate = $i
					if ($(i+1) == "GFLOP/s") g = $i
					if ($(i+1) == "GFLOP/op") f = $i
				}
				split(usage, u, " ")
				printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.1f\t%.3f\tok\n", r, impl, v, m, b, c, c, s, rate, g, f, u[1] / 1024, (u[2] + u[3]) / (u[4] > 0 ? u[4] : 1)
			}' "$log")
		[[ -n $line ]] || line=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t\t\t\t\t\t\tskip' "$r" "$impl" "$v" "$m" "$b" "$c" "$c")
	else
		line=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t\t\t\t\t\t\tfailed' "$r" "$impl" "$v" "$m" "$b" "$c" "$c")
	fi
	echo "$line" | tee -a "$raw"
}

# run_gos ROUND VARIANT MODE BATCH C: Go at C cores (and with the tuners off, for --fixed),
# fixed and tuned alternating which goes first with the round.
run_gos() {
	local c=$5
	if ((fixed && c > 1 && $1 % 2 == 0)); then run_go "$@" go-fixed; fi
	run_go "$@"
	if ((fixed && c > 1 && $1 % 2 == 1)); then run_go "$@" go-fixed; fi
}

# run_torch ROUND VARIANT MODE BATCH C T:O: one PyTorch process on C pinned cores with T torch
# threads and O OpenBLAS threads, one TSV line. cpu_per_wall is that of the timed runs.
run_torch() {
	local r=$1 v=$2 m=$3 b=$4 c=$5 s=$6 log line
	log=$out/torch-$v-$m-b$b-c$c-s${s/:/x}-r$r.log
	if (ulimit -v "$avail_kb" && exec env "${torch_env[@]}" /usr/bin/time -f %M -o "$out/rss" \
		taskset -c "$(cpulist "$c")" $python scripts/bench_trm.py --variant "$v" --mode "$m" --batch "$b" \
		--torch-threads "${s%%:*}" --blas-threads "${s##*:}" \
		--repeat "$repeat" --warmup "$warmup" --hidden "$hidden") >"$log" 2>&1; then
		line=$($python - "$log" "$r" "$(tail -n1 "$out/rss")" "$c" "$s" <<-'PY'
			import json, sys
			j = json.loads([l for l in open(sys.argv[1]) if l.startswith("{")][-1])
			rate = j.get("samples_per_s", j.get("puzzles_per_s"))
			print("\t".join(map(str, [sys.argv[2], "pytorch", j["variant"], j["mode"], j["batch"], sys.argv[4], sys.argv[5],
			                          j["median_s"], rate, j["gflop_per_s"], j["gflop"],
			                          round(int(sys.argv[3]) / 1024, 1), j["cpu_per_wall"], "ok"])))
		PY
		)
	else
		line=$(printf '%s\tpytorch\t%s\t%s\t%s\t%s\t%s\t\t\t\t\t\t\tfailed' "$r" "$v" "$m" "$b" "$c" "$s")
	fi
	echo "$line" | tee -a "$raw"
}

# run_torches ROUND VARIANT MODE BATCH C: PyTorch at every split of C cores.
run_torches() {
	local s
	for s in $(splits_for "$5"); do run_torch "$@" "$s"; done
}

for r in $(seq "$rounds"); do
	for c in $(split "$cores"); do run_gemm "$r" "$c"; done
	for m in $(split "$modes"); do
		for v in $(split "$variants"); do
			for b in $(split "$batches"); do
				for c in $(split "$cores"); do
					if ((r % 2)); then
						run_gos "$r" "$v" "$m" "$b" "$c"
						run_torches "$r" "$v" "$m" "$b" "$c"
					else
						run_torches "$r" "$v" "$m" "$b" "$c"
						run_gos "$r" "$v" "$m" "$b" "$c"
					fi
				done
			done
		done
	done
done >&2
echo "# ended $(date -u '+%Y-%m-%d %H:%M:%S UTC'); uptime: $(uptime)" | tee -a "$out/header.txt"
echo "# raw figures: $raw, $gemmraw"
echo

$python scripts/bench_trm_report.py "$raw" "$gemmraw" "$cores" "$variants" "$modes"
