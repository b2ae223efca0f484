#!/usr/bin/env bash
# Process start to first 200 from a guest route (GET /v1/models against the mock), N runs,
# median. Usage: scripts/startup-time.sh [cold|warm] [runs]
#   cold: a fresh data directory every run (no compile cache);
#   warm: one data directory, primed by a first start that is not counted.
# Needs `cargo build --release -p orpipe -p orpipe-testkit --bins`.
set -euo pipefail
mode=${1:-warm}
runs=${2:-5}
bin=${ORPIPE_BIN:-target/release/orpipe}
mock_addr=127.0.0.1:18998
port=18997

target/release/mock-openrouter --listen "$mock_addr" >/dev/null 2>&1 &
mock=$!
work=$(mktemp -d)
trap 'kill $mock 2>/dev/null; rm -rf "$work"' EXIT
sleep 0.3

# One start: prints milliseconds from exec to the first 200 of GET /v1/models.
once() {
  local data=$1
  local t0 t1 pid
  t0=$(date +%s%N)
  ORPIPE_DATA_DIR=$data OPENROUTER_API_KEY=test OPENROUTER_BASE_URL=http://$mock_addr/api/v1 \
    ORPIPE_LISTEN=127.0.0.1:$port RUST_LOG=warn "$bin" >/dev/null 2>&1 &
  pid=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$port/v1/models"; do sleep 0.002; done
  t1=$(date +%s%N)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo $(( (t1 - t0) / 1000000 ))
}

if [ "$mode" = warm ]; then
  once "$work/data" >/dev/null
  sleep 1 # the cache is written in the background after the first start
fi
times=()
for i in $(seq "$runs"); do
  if [ "$mode" = cold ]; then data="$work/data-$i"; else data="$work/data"; fi
  times+=("$(once "$data")")
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
echo "$mode runs (ms): $(echo $sorted)"
echo "$mode median (ms): $(echo "$sorted" | sed -n "$(( (runs + 1) / 2 ))p")"
