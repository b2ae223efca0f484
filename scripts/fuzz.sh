#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ (cargo fuzz, libFuzzer) for a while and fails on the
# first crash, panic, leak or timeout; the input that caused it is left in
# fuzz/artifacts/<target>/ (replay: cargo fuzz run <target> <file>).
#
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 20 s, every target)
#
# Installs cargo-fuzz into $ORPIPE_TOOLS_DIR (default ~/.cache/orpipe-tools) when missing.
# libFuzzer needs nightly compiler flags; on a stable toolchain RUSTC_BOOTSTRAP=1 allows
# them (set here). Corpora grow in fuzz/corpus/ (ignored by git) and are reused.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*" >&2; }

seconds="${1:-20}"
shift || true
case "$seconds" in
  ''|*[!0-9]*) log "usage: $0 [SECONDS_PER_TARGET] [TARGET...]"; exit 2 ;;
esac

tools="${ORPIPE_TOOLS_DIR:-$HOME/.cache/orpipe-tools}"
if [ ! -x "$tools/bin/cargo-fuzz" ]; then
  log "installing cargo-fuzz 0.13.2 into $tools (one time, a few minutes)"
  cargo install --locked --quiet cargo-fuzz@0.13.2 --root "$tools"
fi
export PATH="$tools/bin:$PATH"
export RUSTC_BOOTSTRAP=1

cd fuzz
# Every target, unless some are named. A failing `cargo fuzz list` or an empty list must
# stop the run: fuzzing nothing would report "no crash" and pass. (The list is read through
# a variable because a failure inside `< <(…)` would go unnoticed under `set -e`.)
listed=$(cargo fuzz list)
mapfile -t all_targets <<<"$listed"
files=(fuzz_targets/*.rs)
if [ -z "$listed" ] || [ "${#all_targets[@]}" -ne "${#files[@]}" ]; then
  log "cargo fuzz list gives ${#all_targets[@]} targets for ${#files[@]} files in fuzz/fuzz_targets: is every file a [[bin]] of fuzz/Cargo.toml?"
  exit 1
fi
if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  targets=("${all_targets[@]}")
fi

# One build for every target, so the timed runs below only fuzz. Debug assertions on:
# an integer overflow on untrusted input is a bug even where release builds wrap.
log "building the fuzz targets"
cargo fuzz build --debug-assertions

for target in "${targets[@]}"; do
  log "fuzzing $target for ${seconds}s"
  # -rss_limit_mb: the translators must stay small; -timeout: no input may hang.
  cargo fuzz run --debug-assertions "$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=1024 -timeout=10 -print_final_stats=1
done
log "no crash in ${#targets[@]} targets"
