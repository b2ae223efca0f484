#!/usr/bin/env bash
# The project's test command (README): builds everything once in release mode and runs
# every test. Installs what the tests need and the toolchain lacks:
#   - the wasm32-wasip2 target (rustup; automatic installs are often off);
#   - the wasmtime CLI 48.0.8 and wac, for the component-level tests, the openai
#     Python SDK (in a venv) and the MCP Python SDK (in another venv, for the real MCP
#     server of the MCP tests), into $ORPIPE_TOOLS_DIR (default ~/.cache/orpipe-tools) so
#     later runs reuse them.
# ORPIPE_SKIP_CLI_TOOLS=1 skips the tool installs; those tests then say they were skipped.
# Tests that need PostgreSQL or Redis read ORPIPE_TEST_POSTGRES_URL / ORPIPE_TEST_REDIS_URL
# (.ci/run sets them) and skip without them.
# ORPIPE_REQUIRE_ALL=1 (.ci/run sets it) forbids skipping: this script stops before the
# tests when a tool or service URL is missing, and each such test fails on its own too.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*" >&2; }

if ! rustup target list --installed | grep -qx wasm32-wasip2; then
  log "installing the wasm32-wasip2 target"
  rustup target add wasm32-wasip2
fi

tools="${ORPIPE_TOOLS_DIR:-$HOME/.cache/orpipe-tools}"
if [ "${ORPIPE_SKIP_CLI_TOOLS:-0}" != 1 ]; then
  if [ ! -x "$tools/bin/wasmtime" ] || ! "$tools/bin/wasmtime" --version | grep -q '^wasmtime 48.0.8'; then
    log "installing wasmtime-cli 48.0.8 into $tools (one time, about 8 minutes on 2 cores)"
    cargo install --locked --quiet wasmtime-cli@48.0.8 --root "$tools" --no-default-features \
      --features run,serve,cranelift,component-model,component-model-async,wasi-http,wasi-config,wasi-keyvalue,pooling-allocator,parallel-compilation,cache
  fi
  if [ ! -x "$tools/bin/wac" ]; then
    log "installing wac-cli 0.12.0 into $tools (one time)"
    cargo install --locked --quiet wac-cli@0.12.0 --root "$tools"
  fi
  export ORPIPE_WASMTIME="$tools/bin/wasmtime" ORPIPE_WAC="$tools/bin/wac"

  # A Python venv in $tools/$1 with the packages of requirements file $2 ($3 names them),
  # installed again when that file changes.
  venv() {
    local dir="$tools/$1" requirements="$2" what="$3"
    if [ ! -x "$dir/bin/python" ] || ! cmp -s "$requirements" "$dir/requirements.txt"; then
      log "installing $what into $dir"
      if python3 -m venv "$dir" \
        && "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"; then
        cp "$requirements" "$dir/requirements.txt"
      else
        log "could not install $what; the tests that need it will say SKIPPED"
        rm -rf "$dir"
      fi
    fi
    [ -x "$dir/bin/python" ]
  }
  if command -v python3 >/dev/null; then
    # The openai Python SDK, for the test that drives orpipe as a real client would, and
    # prometheus-client, whose parser reads the metrics scrape.
    if venv py tests/sdk/requirements.txt "the openai Python SDK and prometheus-client"; then
      export ORPIPE_PYTHON="$tools/py/bin/python"
    fi
    # The MCP Python SDK, whose server (tests/mcp/server.py) is the MCP tests' real server.
    if venv mcp tests/mcp/requirements.txt "the MCP Python SDK"; then
      export ORPIPE_MCP_PYTHON="$tools/mcp/bin/python"
    fi
  fi
fi

# cargo test hides the output of passing tests, so say here what will be skipped, or,
# under ORPIPE_REQUIRE_ALL=1, stop.
missing=0
skipping() {
  if [ "${ORPIPE_REQUIRE_ALL:-0}" = 1 ]; then
    log "ERROR: $1, and ORPIPE_REQUIRE_ALL=1 forbids skipping those tests"
    missing=1
  else
    log "SKIPPING $2: $1"
  fi
}
for tool in ORPIPE_WASMTIME ORPIPE_WAC ORPIPE_PYTHON ORPIPE_MCP_PYTHON; do
  if [ -z "${!tool:-}" ] || [ ! -e "${!tool}" ]; then
    case "$tool" in
      ORPIPE_PYTHON) what="the openai SDK test and the metrics parser check" ;;
      ORPIPE_MCP_PYTHON) what="the MCP server tests" ;;
      *) what="the wasmtime CLI tests" ;;
    esac
    skipping "$tool is not set to an installed tool" "$what"
  fi
done
for service in ORPIPE_TEST_POSTGRES_URL ORPIPE_TEST_REDIS_URL; do
  [ -n "${!service:-}" ] || skipping "$service is not set" "the tests that need it"
done
[ "$missing" = 0 ] || exit 1

log "cargo test --release --workspace"
cargo test --release --workspace "$@"
