#!/usr/bin/env bash
# End-to-end check with a real Open WebUI 0.12.4 (too heavy for .ci/run; run it before
# resolving Open WebUI work): installs open-webui from PyPI into the tools cache (about 10
# minutes and 8 GB the first time), starts the mock OpenRouter, orpipe against it, and Open
# WebUI (offline) against orpipe, then drives Open WebUI through its own HTTP API
# (tests/owui/e2e.py): settings in the Pipelines tab, reasoning, status line, sources, web
# search, chat ids, a tool of the MCP test server (tests/mcp/server.py, its venv in the
# tools cache, tests/mcp/requirements.txt) run by orpipe's tool loop; then restarts orpipe and
# checks the saved settings survived.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '==> %s\n' "$*" >&2; }

tools="${ORPIPE_TOOLS_DIR:-$HOME/.cache/orpipe-tools}"
venv="$tools/owui"
if ! "$venv/bin/python" -c 'import open_webui' 2>/dev/null \
  || ! "$venv/bin/pip" show open-webui 2>/dev/null | grep -x 'Version: 0.12.4' >/dev/null; then
  log "installing open-webui 0.12.4 into $venv (one time: about 10 minutes, 8 GB)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check open-webui==0.12.4
fi

mcp_python="${ORPIPE_MCP_PYTHON:-$tools/mcp/bin/python}"
if ! "$mcp_python" -c 'import mcp' 2>/dev/null; then
  printf '==> ERROR: no MCP Python SDK at %s (set ORPIPE_MCP_PYTHON)\n' "$mcp_python" >&2
  exit 1
fi

log "building orpipe and the mock"
cargo build --release -q -p orpipe -p orpipe-testkit

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then log "logs kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
wait_for() { # url, what, seconds
  for _ in $(seq 1 "$3"); do
    curl -fs -o /dev/null "$1" && return 0
    sleep 1
  done
  log "ERROR: $2 did not come up; logs in $work"; KEEP=1; exit 1
}

mock_port=$(free_port); orpipe_port=$(free_port); owui_port=$(free_port); mcp_port=$(free_port)
mock="http://127.0.0.1:$mock_port"
orpipe="http://127.0.0.1:$orpipe_port"
owui="http://127.0.0.1:$owui_port"
admin_key=sk-orpipe-admin-e2e
client_key=sk-orpipe-client-e2e

# The mock plays a tool-calling model on `[mock:call …]` cues, else its content fixtures.
target/release/mock-openrouter --listen "127.0.0.1:$mock_port" --mode content \
  --answer-tool-calls >"$work/mock.log" 2>&1 &
pids+=($!)
wait_for "$mock/api/v1/models" "the mock" 30

# The MCP server whose tools orpipe offers (add, echo, fail, sleep), as server `calc`.
"$mcp_python" tests/mcp/server.py "$mcp_port" >"$work/mcp.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 30); do # any HTTP answer: it listens
  curl -s -o /dev/null "http://127.0.0.1:$mcp_port/mcp" && break
  sleep 1
done
mcp_servers="[{\"name\":\"calc\",\"url\":\"http://127.0.0.1:$mcp_port/mcp\",\"internal\":true}]"

start_orpipe() {
  OPENROUTER_API_KEY=sk-or-v1-e2e OPENROUTER_BASE_URL="$mock/api/v1" \
    ORPIPE_API_KEYS="$client_key" ORPIPE_ADMIN_KEYS="$admin_key" \
    ORPIPE_LISTEN="127.0.0.1:$orpipe_port" ORPIPE_DATA_DIR="$work/orpipe" \
    ORPIPE_MCP_SERVERS="$mcp_servers" \
    target/release/orpipe >>"$work/orpipe.log" 2>&1 &
  orpipe_pid=$!
  pids+=("$orpipe_pid")
  local up=0
  for _ in $(seq 1 60); do
    curl -fs -o /dev/null -H "authorization: Bearer $client_key" "$orpipe/v1/models" \
      && up=1 && break
    sleep 1
  done
  [ "$up" = 1 ] || { log "ERROR: orpipe did not come up; logs in $work"; KEEP=1; exit 1; }
  # Its refresh job lists the MCP server's tools shortly after the start.
  for _ in $(seq 1 60); do
    curl -fs -H "authorization: Bearer $admin_key" "$orpipe/admin/mcp/tools" | python3 -c '
import json, sys
servers = {s["name"]: s for s in json.load(sys.stdin)["servers"]}
sys.exit(0 if servers.get("calc", {}).get("state") == "up" else 1)' 2>/dev/null && return 0
    sleep 1
  done
  log "ERROR: the MCP server calc is not up in orpipe; logs in $work"; KEEP=1; exit 1
}
start_orpipe

log "starting Open WebUI 0.12.4 (first start runs its migrations: up to a minute or two)"
mkdir -p "$work/owui"
(
  cd "$work/owui"
  DATA_DIR="$work/owui" WEBUI_SECRET_KEY=orpipe-e2e-secret-orpipe-e2e-secret WEBUI_AUTH=True \
    WEBUI_ADMIN_EMAIL=admin@example.com WEBUI_ADMIN_PASSWORD=orpipe-e2e WEBUI_ADMIN_NAME=Admin \
    OFFLINE_MODE=true HF_HUB_OFFLINE=1 ENABLE_PERSISTENT_CONFIG=false ENABLE_OLLAMA_API=false \
    ENABLE_OPENAI_API=true OPENAI_API_BASE_URLS="$orpipe/v1" OPENAI_API_KEYS="$admin_key" \
    DEFAULT_MODEL_METADATA='{"capabilities":{"usage":true}}' RAG_EMBEDDING_ENGINE=openai \
    ENABLE_TITLE_GENERATION=false ENABLE_TAGS_GENERATION=false \
    ENABLE_FOLLOW_UP_GENERATION=false ENABLE_AUTOCOMPLETE_GENERATION=false \
    ENABLE_RETRIEVAL_QUERY_GENERATION=false ENABLE_SEARCH_QUERY_GENERATION=false \
    ENABLE_WEB_SEARCH=false ENABLE_IMAGE_GENERATION=false ENABLE_CODE_INTERPRETER=false \
    AIOHTTP_CLIENT_TIMEOUT_MODEL_LIST=5 \
    exec "$venv/bin/open-webui" serve --host 127.0.0.1 --port "$owui_port"
) >"$work/owui.log" 2>&1 &
pids+=($!)
wait_for "$owui/health" "Open WebUI" 300

driver=("$venv/bin/python" tests/owui/e2e.py --owui "$owui" --orpipe "$orpipe"
  --orpipe-data "$work/orpipe" --mock "$mock" --client-key "$client_key" --admin-key "$admin_key"
  --email admin@example.com --password orpipe-e2e)
"${driver[@]}" --phase first || { KEEP=1; exit 1; }

log "restarting orpipe"
kill "$orpipe_pid"; wait "$orpipe_pid" 2>/dev/null || true
start_orpipe
"${driver[@]}" --phase restart || { KEEP=1; exit 1; }
log "Open WebUI end-to-end: all checks passed"
