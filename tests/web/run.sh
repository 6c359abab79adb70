#!/usr/bin/env bash
# Web interface browser test (ctest: web_browser). Starts a guts-node on a free port (read from
# --port-file), signs up alice with the guts CLI, installs playwright-core with `npm ci` (from
# package-lock.json, into the build tree; no browser download: Debian's chromium is used) and runs
# the script (browse.mjs unless given; signin.mjs) against the node. Exit 77 (skipped) only when
# node/npm or chromium is absent. Every process started here is reaped on exit.
#
# usage: run.sh <bin dir with guts-node and guts> <work dir in the build tree> [script.mjs]
set -euo pipefail

BIN=$(cd "$1" && pwd)
mkdir -p "$2"
BUILD=$(cd "$2" && pwd)
SRC=$(cd "$(dirname "$0")" && pwd)
CHROMIUM=${GUTS_CHROMIUM:-/usr/bin/chromium}
SCRIPT=${3:-browse.mjs}

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "SKIPPED: node/npm is not installed; the browser test needs Node.js >= 20"
  exit 77
fi
if [ ! -x "$CHROMIUM" ]; then
  echo "SKIPPED: $CHROMIUM is not installed (Debian package chromium)"
  exit 77
fi

cp "$SRC/package.json" "$SRC/package-lock.json" "$SRC/$SCRIPT" "$BUILD/"
cd "$BUILD"
if ! cmp -s package-lock.json node_modules/.guts-lock 2>/dev/null; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.guts-lock
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/guts-web.XXXXXX")
NODE_PID=""
cleanup() {
  local rc=$?
  if [ -n "$NODE_PID" ]; then
    kill "$NODE_PID" 2>/dev/null || true
    wait "$NODE_PID" 2>/dev/null || true
  fi
  if [ $rc -ne 0 ] && [ -f "$WORK/node.log" ]; then
    echo "---- guts-node log (last 60 lines) ----"
    tail -n 60 "$WORK/node.log"
  fi
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

"$BIN/guts-node" --api-addr 127.0.0.1:0 --p2p-addr 127.0.0.1:0 --port-file "$WORK/port" \
  --data-dir "$WORK/node" --log-level info 2>"$WORK/node.log" &
NODE_PID=$!

for _ in $(seq 1 600); do
  [ -s "$WORK/port" ] && break
  kill -0 "$NODE_PID" 2>/dev/null || { echo "guts-node exited early"; exit 1; }
  sleep 0.05
done
[ -s "$WORK/port" ] || { echo "guts-node did not start"; exit 1; }
URL="http://127.0.0.1:$(tr -d '\n' <"$WORK/port")"

GUTS_HOME="$WORK/alice" "$BIN/guts" identity new >/dev/null
GUTS_HOME="$WORK/alice" "$BIN/guts" --node "$URL" auth login --username alice >/dev/null
ALICE_TOKEN=$(node -e 'const c=require(process.argv[1]); console.log(c.logins[process.argv[2]].token)' \
  "$WORK/alice/config.json" "$URL")

mkdir -p "$BUILD/screenshots"
export GUTS_URL="$URL" WORK="$WORK" ALICE_TOKEN CHROMIUM SCREENSHOT_DIR="$BUILD/screenshots" \
  GUTS_BIN="$BIN"
node "$BUILD/$SCRIPT"
