#!/usr/bin/env bash
# Times the first steps of a training run against its steady state (issue 13): runs
#   trm train --config CONFIG --batch B --micro_batch M --train_steps N --threads T
# logging every step, and prints step 1, step 2 and the steady step (the median from the 6th
# on, from metrics.jsonl's elapsed_s), their ratios, steady samples/s and the process's peak
# RSS (/usr/bin/time). The run folder is a temporary one, deleted after.
#
#   scripts/first_steps.sh BIN [BATCH [MICRO_BATCH [CONFIG [STEPS [THREADS]]]]]
#   scripts/first_steps.sh bin/trm 64 8    # the shipped 9×9 recipe at batch 64 in passes of 8
set -euo pipefail
bin=$1 b=${2:-8} mb=${3:-0} cfg=${4:-checkpoints/sudoku9.config.json} steps=${5:-30} threads=${6:-1}
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
/usr/bin/time -f %M -o "$d/rss" "$bin" train --config "$cfg" --batch "$b" --micro_batch "$mb" \
	--train_steps "$steps" --threads "$threads" --log_interval 1 --eval_interval 0 \
	--checkpoint_interval 0 --run "$d/run" >"$d/log" 2>&1 || { cat "$d/log" >&2; exit 1; }
python3 - "$d/run/metrics.jsonl" "$d/rss" "$b" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"train"' in l]
t = [rows[0]["elapsed_s"]] + [rows[i]["elapsed_s"] - rows[i - 1]["elapsed_s"] for i in range(1, len(rows))]
st = statistics.median(t[5:])
rss = int(open(sys.argv[2]).read().split()[-1]) // 1024
print(f"step1 {t[0]*1e3:.0f} ms, step2 {t[1]*1e3:.0f} ms, steady {st*1e3:.1f} ms: "
      f"step1/steady {t[0]/st:.2f}, step2/steady {t[1]/st:.2f}; "
      f"{int(sys.argv[3])/st:.0f} samples/s steady; peak RSS {rss} MB")
PY
