#!/usr/bin/env bash
# Installs the peers of the side-by-side bench (docs/benchmarks.md, "Side by side with the
# peers") into the tools cache, at the versions pinned in scripts/peers.env:
#   $ORPIPE_TOOLS_DIR/peers/tensorzero  a venv with the `tensorzero` wheel (it embeds the gateway)
#   $ORPIPE_TOOLS_DIR/peers/litellm     a venv with `litellm[proxy]`
#   nginx                               the system package (apt-get), when `nginx` is missing
# Idempotent: a venv that already holds the pinned version is reused.
# Usage: bash scripts/peers.sh install | bash scripts/peers.sh status
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=peers.env
. scripts/peers.env

tools="${ORPIPE_TOOLS_DIR:-$HOME/.cache/orpipe-tools}"
peers="$tools/peers"
log() { printf '==> %s\n' "$*" >&2; }

# venv_install DIR REQUIREMENT: a venv at DIR holding REQUIREMENT; the requirement is kept in
# DIR/requirement.txt so a changed pin reinstalls and an unchanged one is a no-op.
venv_install() {
  local dir="$1" requirement="$2"
  if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/requirement.txt" 2>/dev/null)" = "$requirement" ]; then
    log "$requirement: already in $dir"
    return
  fi
  log "installing $requirement into $dir"
  python3 -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$requirement"
  printf '%s\n' "$requirement" >"$dir/requirement.txt"
}

install() {
  mkdir -p "$peers"
  venv_install "$peers/tensorzero" "tensorzero==$TENSORZERO_VERSION"
  venv_install "$peers/litellm" "litellm[proxy]==$LITELLM_VERSION"
  if command -v nginx >/dev/null; then
    log "nginx: already installed ($(command -v nginx))"
  elif command -v apt-get >/dev/null; then
    log "installing $NGINX_PACKAGE with apt-get"
    apt-get update -qq
    # Only the binary is used: the bench starts its own nginx with its own config.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$NGINX_PACKAGE"
  else
    log "nginx is missing and there is no apt-get: install nginx by hand"
    return 1
  fi
  status
}

status() {
  printf 'tensorzero %s\n' "$("$peers/tensorzero/bin/python" -c 'import importlib.metadata as m; print(m.version("tensorzero"))' 2>/dev/null || echo 'not installed')"
  printf 'litellm    %s\n' "$("$peers/litellm/bin/python" -c 'import importlib.metadata as m; print(m.version("litellm"))' 2>/dev/null || echo 'not installed')"
  printf 'nginx      %s\n' "$(nginx -v 2>&1 || echo 'not installed')"
}

case "${1:-}" in
  install) install ;;
  status) status ;;
  *)
    echo "usage: $0 install|status" >&2
    exit 2
    ;;
esac
