#!/usr/bin/env bash
# Server benchmarks for BENCHMARKS.md, in one sitting:
#   1. the engine's best offline throughput on sudoku9 (halt full, all 6
#      steps): `trm infer` over 2×N puzzles, as one 2-thread process and as
#      two single-thread processes side by side, at several batch sizes;
#   2. `trm serve` under `trm loadtest` at concurrency 1, 16, 64 for sudoku9
#      and arith (one input per request, halt full), with the default layout,
#      with --max-batch 1, and with one loop (--loops 1);
#   3. p99 at half of saturation (a fixed rate of HALF req/s, default 80)
#      against a lone request's latency;
#   4. overload: a fixed rate of ~4× capacity (RATE, default 600) for OVERLOAD seconds, counting
#      429s, 5xx, wrong answers, and the server's peak RSS.
# The load generator runs on the same machine (--threads 1): on 2 cores it
# takes part of one. Usage: [RATE=640 HALF=80 OVERLOAD=60] scripts/bench_serve.sh [DURATION (default 15s)]
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-15s}
OVERLOAD=${OVERLOAD:-60}
N=${N:-512}
T=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$T"' EXIT
go build -o "$T/trm" ./cmd/trm
trm="$T/trm"
port=18090
url=http://127.0.0.1:$port
uptime

echo "== offline: trm infer --halt full, $N puzzles per process (sudoku9, blanks=40)"
"$trm" gen --task sudoku9 --opt blanks=40 --split test --n $((2 * N)) --out "$T/s9.jsonl" >/dev/null
sed -n '2,$p' "$T/s9.jsonl" | sed 's/.*"text":"\([^"]*\)".*/\1/' >"$T/s9.txt"
head -n $N "$T/s9.txt" >"$T/a.txt"
tail -n $N "$T/s9.txt" >"$T/b.txt"
offline() { # batch threads procs
  local start end
  start=$(date +%s.%N)
  if [ "$3" = 2 ]; then
    "$trm" infer --task sudoku9 --halt full --batch "$1" --threads "$2" <"$T/a.txt" >/dev/null &
    "$trm" infer --task sudoku9 --halt full --batch "$1" --threads "$2" <"$T/b.txt" >/dev/null
    wait
  else
    "$trm" infer --task sudoku9 --halt full --batch "$1" --threads "$2" <"$T/s9.txt" >/dev/null
  fi
  end=$(date +%s.%N)
  python3 -c "print(f'offline batch $1, $3 process(es) × $2 thread(s): {2*$N/($end-$start):.1f} puzzles/s')"
}
for b in 1 4 16; do offline $b 1 2; done
for b in 1 16 64; do offline $b 2 1; done

serve_start() {
  "$trm" serve --addr 127.0.0.1:$port --admin-addr off --log-level warn "$@" >"$T/serve.log" 2>&1 &
  spid=$!
  for _ in $(seq 1 100); do curl -fsS $url/v2/health/ready >/dev/null 2>&1 && return; sleep 0.1; done
  echo "server did not start"; cat "$T/serve.log"; exit 1
}
serve_stop() { kill -TERM $spid; wait $spid || true; }
load() { # model concurrency-or-rate-flag value
  "$trm" loadtest --url $url --models "$1" "$2" "$3" --duration "$DUR" --halt full --threads 1 --pool 200 --json >"$T/r.json" || true
  python3 - "$T/r.json" "$1" "$2 $3" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
l = r["latency_ms"]
print(f"  {sys.argv[2]:8} {sys.argv[3]:18} {r['throughput']:7.1f} req/s  p50 {l['p50']:7.1f} ms  p99 {l['p99']:7.1f} ms  "
      f"codes {r['status_codes']}  wrong {r['wrong']}  pass {r['pass']}")
PY
}
for layout in "" "--max-batch 1" "--loops 1" "--loops 1 --max-batch 1"; do
  echo "== trm serve ${layout:-(default layout)}"
  serve_start $layout
  for m in sudoku9 arith; do
    for c in 1 16 64; do load $m --concurrency $c; done
  done
  serve_stop
done

echo "== half of saturation: sudoku9 at a fixed --rate ${HALF:-80} (default layout)"
serve_start
load sudoku9 --concurrency 1
load sudoku9 --rate ${HALF:-80}
serve_stop

echo "== overload: sudoku9 at a fixed rate for ${OVERLOAD}s (default layout, --max-queue 256)"
serve_start --max-queue 256
rate=${RATE:-600}
"$trm" loadtest --url $url --models sudoku9 --rate $rate --max-workers 1024 --duration ${OVERLOAD}s --halt full --threads 1 --pool 200 --json >"$T/r.json" || true
python3 - "$T/r.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
l = r["latency_ms"]
print(f"  sent {r['requests']} at {r['sent_rate']:.0f}/s: throughput {r['throughput']:.1f} req/s, codes {r['status_codes']}, "
      f"transport errors {r['transport_errors']}, wrong {r['wrong']}, p50 {l['p50']:.0f} ms p99 {l['p99']:.0f} ms")
PY
echo "  server peak RSS: $(grep VmHWM /proc/$spid/status)"
serve_stop
