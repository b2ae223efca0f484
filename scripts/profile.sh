#!/usr/bin/env bash
# Profiles orpipe's CPU per request ("Where the time goes" in docs/benchmarks.md).
#
#   bash scripts/profile.sh stream|whole [REQUESTS] [OUT_DIR]
#
# Starts target/release/mock-openrouter (64 text deltas, unpaced) and target/release/orpipe
# with ORPIPE_PROFILER=perfmap and the unstripped guest in $GUEST (default
# target/guest-prof/wasm32-wasip2/guest/orpipe_guest.wasm), warms up, then
#  1. runs REQUESTS requests without perf and prints orpipe's CPU (utime+stime) per request;
#  2. runs REQUESTS more under `perf record -e cpu-clock --call-graph dwarf` and writes
#     OUT_DIR/MODE.perf.txt (perf script), which scripts/profile-report.py groups.
set -euo pipefail
mode=${1:?stream or whole}
requests=${2:-300}
out=${3:-/tmp/orpipe-profile}
guest=${GUEST:-target/guest-prof/wasm32-wasip2/guest/orpipe_guest.wasm}
mock_port=18999
port=18080
mkdir -p "$out"
data=$(mktemp -d)
tick=$(getconf CLK_TCK)

target/release/mock-openrouter --mode synthetic --tokens 64 --pace-ms 0 \
  --listen 127.0.0.1:$mock_port >"$out/mock.log" 2>&1 &
mock=$!
sleep 0.5
env -u ORPIPE_API_KEYS ORPIPE_PROFILER=perfmap ORPIPE_API_KEYS=sk-orpipe-bench \
  OPENROUTER_BASE_URL=http://127.0.0.1:$mock_port/api/v1 OPENROUTER_API_KEY=sk-or-v1-bench \
  ORPIPE_COMPONENT="$guest" \
  target/release/orpipe --listen 127.0.0.1:$port --data-dir "$data" >"$out/orpipe.log" 2>&1 &
orpipe=$!
trap 'kill $orpipe $mock 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do
  curl -s -o /dev/null "http://127.0.0.1:$port/" && break
  sleep 0.1
done

cpu() { awk '{print $14 + $15}' "/proc/$orpipe/stat"; }
python3 scripts/profile-load.py $port 50 "$mode"            # warm-up
before=$(cpu)
python3 scripts/profile-load.py $port "$requests" "$mode"
after=$(cpu)
echo "$mode: $requests requests, orpipe CPU $(( (after - before) * 1000000 / tick / requests )) us/request" \
  "($(( after - before )) ticks of 1/$tick s)" | tee "$out/$mode.cpu.txt"

perf record -q -e cpu-clock -F 2000 --call-graph dwarf,16384 -p $orpipe -o "$out/$mode.perf.data" &
perf=$!
sleep 1
python3 scripts/profile-load.py $port "$requests" "$mode"
kill -INT $perf
wait $perf || true
perf script -i "$out/$mode.perf.data" -F comm,tid,ip,sym,dso 2>/dev/null >"$out/$mode.perf.txt"
echo "wrote $out/$mode.perf.txt"
