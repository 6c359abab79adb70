#!/usr/bin/env bash
# Nostr bridge end-to-end harness (ctest: nostr_e2e). Starts a guts-node on a free port, makes
# alice and the bridge's own user nostrbot with the guts CLI (identity, login, a Nostr key bound
# with `guts nostr bind`), alice's public repository alice/hello with the stock git client (main,
# a branch of two commits), issues #1 and #2 (closed) and pull request #3; installs nostr-tools
# and ws with `npm ci` (package-lock.json, into the build tree) and runs e2e.mjs, which starts
# the relay and guts-nostr itself. Every process started here is reaped on exit.
#
# usage: run.sh <bin dir with guts-node, guts and guts-nostr> <work dir in the build tree>
set -euo pipefail

BIN=$(cd "$1" && pwd)
mkdir -p "$2"
BUILD=$(cd "$2" && pwd)
SRC=$(cd "$(dirname "$0")" && pwd)

command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
  { echo "node and npm are needed (Node.js >= 20; scripts/setup installs them)"; exit 1; }

cp "$SRC/package.json" "$SRC/package-lock.json" "$SRC/relay.mjs" "$SRC/e2e.mjs" "$BUILD/"
cd "$BUILD"
if ! cmp -s package-lock.json node_modules/.guts-lock 2>/dev/null; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.guts-lock
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/guts-nostr.XXXXXX")
NODE_PID=""
cleanup() {
  local rc=$?
  if [ -n "$NODE_PID" ]; then
    kill "$NODE_PID" 2>/dev/null || true
    wait "$NODE_PID" 2>/dev/null || true
  fi
  if [ $rc -ne 0 ]; then
    for f in node bridge relay; do
      [ -f "$WORK/$f.log" ] && { echo "---- $f log (last 80 lines) ----"; tail -n 80 "$WORK/$f.log"; }
    done
  fi
  [ "${GUTS_TEST_KEEP:-0}" = "1" ] && echo "kept $WORK" || rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

"$BIN/guts-node" --api-addr 127.0.0.1:0 --p2p-addr 127.0.0.1:0 --port-file "$WORK/port" \
  --data-dir "$WORK/node" --log-level info --rate-limit-anonymous 100000 2>"$WORK/node.log" &
NODE_PID=$!
for _ in $(seq 1 600); do
  [ -s "$WORK/port" ] && break
  kill -0 "$NODE_PID" 2>/dev/null || { echo "guts-node exited early"; exit 1; }
  sleep 0.05
done
[ -s "$WORK/port" ] || { echo "guts-node did not start"; exit 1; }
URL="http://127.0.0.1:$(tr -d '\n' <"$WORK/port")"

guts() { "$BIN/guts" --node "$URL" "$@"; }
for user in nostrbot alice; do
  export GUTS_HOME="$WORK/$user"
  guts identity new >/dev/null
  guts auth login --username "$user" >/dev/null
  guts nostr keygen | tee "$WORK/keygen.out"
  [ "$(stat -c %a "$GUTS_HOME/nostr.key")" = "600" ] || { echo "nostr.key is not mode 0600"; exit 1; }
  guts nostr bind | tee "$WORK/bind.out"
  npub=$(tail -1 "$WORK/keygen.out")
  grep -q "^$npub is bound to $user" "$WORK/bind.out" || { echo "bind did not report the binding"; exit 1; }
  guts nostr show | grep -q "^$npub is bound to $user" || { echo "show: no binding"; exit 1; }
  # Binding the same key again is refused by the state machine.
  if guts nostr bind >/dev/null 2>&1; then echo "binding the same key twice succeeded"; exit 1; fi
done
guts repo create hello >/dev/null
git -c credential.helper= -c "credential.helper=!$BIN/guts --node $URL credential" \
  clone --quiet "$URL/alice/hello.git" "$WORK/clone" 2>/dev/null
cd "$WORK/clone"
git config user.name "Alice Example"
git config user.email alice@example.org
git config credential.helper "!$BIN/guts --node $URL credential"
echo "hello" > README.md
git add README.md
git commit --quiet -m "Initial commit"
git push --quiet origin HEAD:main
git checkout --quiet -b feature
echo "greeting = hi" > greeting.txt
git add greeting.txt
git commit --quiet -m "Add a greeting"
echo "farewell = bye" >> greeting.txt
git commit --quiet -am "Add a farewell"
git push --quiet origin feature
git fetch --quiet origin
cd "$BUILD"
guts issue create -R alice/hello -t "First bug" -b "Steps to reproduce" >/dev/null
guts issue create -R alice/hello -t "Second bug" -b "Already fixed" >/dev/null
guts issue close -R alice/hello 2 >/dev/null
guts pr create -R alice/hello -t "Greetings" -H feature -b "Two commits" >/dev/null

export GUTS_URL="$URL" BIN WORK ALICE_HOME="$GUTS_HOME" BOT_HOME="$WORK/nostrbot" \
  CLONE="$WORK/clone" HERE="$BUILD" \
  ALICE_TOKEN=$(node -e 'const c=require(process.argv[1]); console.log(c.logins[process.argv[2]].token)' \
    "$GUTS_HOME/config.json" "$URL")
node "$BUILD/e2e.mjs"
