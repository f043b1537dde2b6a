#!/usr/bin/env bash
# Smoke test of a trm binary's server: start `trm serve` on a loopback port,
# answer one sum (native API) and one OIP v2 request, check readiness, then
# SIGTERM and require exit 0. CI runs it on the linux/arm64 binary under
# qemu-user:
#
#   GOOS=linux GOARCH=arm64 go build -o /tmp/trm-arm64 ./cmd/trm
#   scripts/serve_smoke.sh qemu-aarch64 /tmp/trm-arm64
#
# Arguments: the command that runs the binary (e.g. "qemu-aarch64 /tmp/trm"),
# or just the binary. Needs curl.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 [wrapper] trm-binary" >&2; exit 2; }
port=${SMOKE_PORT:-18181}
log=$(mktemp)
"$@" serve --addr "127.0.0.1:$port" --admin-addr off --model arith=embedded:arith >"$log" 2>&1 &
pid=$!
trap 'kill -9 $pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 300); do
  if curl -fsS "http://127.0.0.1:$port/v2/health/ready" >/dev/null 2>&1; then break; fi
  if ! kill -0 $pid 2>/dev/null; then echo "trm serve exited early:"; cat "$log"; exit 1; fi
  sleep 0.1
done
got=$(curl -fsS "http://127.0.0.1:$port/v1/models/arith/predict" -d '{"inputs": ["3 + 7"], "halt": "full"}')
echo "predict: $got"
grep -q '"answer":"10"' <<<"$got" || { echo "want answer 10"; cat "$log"; exit 1; }
got=$(curl -fsS "http://127.0.0.1:$port/v2/models/arith/infer" \
  -d '{"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["12 + 30"]}], "parameters": {"halt": "full"}}')
echo "infer: $got"
grep -q '"data":\["42"\]' <<<"$got" || { echo "want answer 42"; cat "$log"; exit 1; }
got=$(curl -fsS "http://127.0.0.1:$port/v2/models/arith/versions/1/infer" \
  -d '{"inputs": [{"name": "text", "shape": [1, 1], "datatype": "BYTES", "data": [["3 + 4"]]}], "parameters": {"halt": "full", "content_type": "str"}}')
echo "infer (version 1, nested data): $got"
grep -q '"data":\["7"\]' <<<"$got" || { echo "want answer 7"; cat "$log"; exit 1; }
kill -TERM $pid
code=0
wait $pid || code=$?
trap - EXIT
rm -f "$log"
[ $code -eq 0 ] || { echo "trm serve exited $code after SIGTERM, want 0"; exit 1; }
echo "serve smoke test passed (exit 0 after SIGTERM)"
