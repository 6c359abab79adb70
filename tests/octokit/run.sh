#!/usr/bin/env bash
# Octokit end-to-end harness (ctest: octokit_e2e). Starts a guts-node on a free port (read from
# --port-file), signs up four users with the guts CLI, installs @octokit/rest with `npm ci` (from
# package-lock.json, into the build tree) and runs e2e.mjs against the node. Exit 77 (skipped)
# only when node or npm is absent. Every process started here is reaped on exit.
#
# usage: run.sh <bin dir with guts-node and guts> <work dir in the build tree>
set -euo pipefail

BIN=$(cd "$1" && pwd)
mkdir -p "$2"
BUILD=$(cd "$2" && pwd)
SRC=$(cd "$(dirname "$0")" && pwd)

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "SKIPPED: node/npm is not installed; the Octokit e2e suite needs Node.js >= 20"
  exit 77
fi

mkdir -p "$BUILD"
cp "$SRC/package.json" "$SRC/package-lock.json" "$SRC/e2e.mjs" "$SRC/governance.mjs" "$SRC/hooks.mjs" "$SRC/protection.mjs" "$SRC/search.mjs" "$SRC/releases.mjs" "$SRC/keys.mjs" "$SRC/notifications.mjs" "$SRC/actions.mjs" "$SRC/watchers.mjs" "$SRC/artifacts.mjs" "$BUILD/"
cd "$BUILD"
# npm ci only when the lock changed since the last install.
if ! cmp -s package-lock.json node_modules/.guts-lock 2>/dev/null; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.guts-lock
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/guts-octokit.XXXXXX")
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

# Anonymous reads of all the scripts together exceed the default per-IP limit (rate limits
# are tested in tests/e2e/tokens_e2e_test.cpp).
"$BIN/guts-node" --api-addr 127.0.0.1:0 --p2p-addr 127.0.0.1:0 --port-file "$WORK/port" --data-dir "$WORK/node" \
  --log-level info --release-asset-max-bytes 1048576 --rate-limit-anonymous 100000 \
  2>"$WORK/node.log" &
NODE_PID=$!

# Wait (polling, with a deadline) for the node to publish its port.
for _ in $(seq 1 600); do
  [ -s "$WORK/port" ] && break
  kill -0 "$NODE_PID" 2>/dev/null || { echo "guts-node exited early"; exit 1; }
  sleep 0.05
done
[ -s "$WORK/port" ] || { echo "guts-node did not start"; exit 1; }
URL="http://127.0.0.1:$(tr -d '\n' <"$WORK/port")"

token_of() {
  node -e 'const c=require(process.argv[1]); console.log(c.logins[process.argv[2]].token)' \
    "$WORK/$1/config.json" "$URL"
}
for user in alice bob carol dave; do
  GUTS_HOME="$WORK/$user" "$BIN/guts" identity new >/dev/null
  GUTS_HOME="$WORK/$user" "$BIN/guts" --node "$URL" auth login --username "$user" >/dev/null
done

export GUTS_URL="$URL" WORK="$WORK" ALICE_TOKEN=$(token_of alice) BOB_TOKEN=$(token_of bob) \
  CAROL_TOKEN=$(token_of carol) DAVE_TOKEN=$(token_of dave)
node "$BUILD/e2e.mjs"
# Organizations, teams, permissions and the default-branch rule (docs/governance.md).
node "$BUILD/governance.mjs"
# Webhooks (docs/webhooks.md).
node "$BUILD/hooks.mjs"
# Branch protection and commit statuses (docs/governance.md "Branch protection").
node "$BUILD/protection.mjs"
# Search: repositories, issues and pull requests, code (docs/search.md).
node "$BUILD/search.mjs"
# Releases and assets (docs/releases.md); the node accepts assets up to 1 MiB (413 above).
node "$BUILD/releases.mjs"
# SSH public keys (docs/git.md "Git over SSH").
node "$BUILD/keys.mjs"
node "$BUILD/notifications.mjs"
# Watchers of a repository (docs/web.md "Watching a repository").
node "$BUILD/watchers.mjs"

# The same through the guts CLI (guts org / guts team), on the organization governance.mjs left.
as() { local u=$1; shift; GUTS_HOME="$WORK/$u" "$BIN/guts" --node "$URL" "$@"; }
expect_out() {  # expect_out <substring> <user> <args...>
  local want=$1; shift
  local out
  out=$(as "$@" 2>&1) || { echo "FAIL: guts ${*:2}: $out"; exit 1; }
  grep -qF -- "$want" <<<"$out" || { echo "FAIL: guts ${*:2}: expected '$want' in: $out"; exit 1; }
}
expect_out "Created organization cliorg" alice org create cliorg --name "CLI Org"
expect_out "CLI Org" alice org show cliorg
expect_out "bob: member, active in cliorg" alice org add-member cliorg bob
expect_out "dave: member, pending in cliorg" alice org invite cliorg dave
expect_out "You are now a member of cliorg" dave org accept cliorg
expect_out "alice  (owner)" alice org members cliorg
expect_out "cliorg" dave org list
expect_out "Created team cliorg/ops" alice team create cliorg ops
expect_out "bob is a maintainer of ops" alice team add-member cliorg ops bob --role maintainer
expect_out "ops" bob team list cliorg
expect_out "Removed bob from ops" alice team remove-member cliorg ops bob
expect_out '"login": "cliorg"' alice org show cliorg --json
expect_out "Removed dave from cliorg" dave org remove-member cliorg dave
if as bob org remove-member cliorg alice >/dev/null 2>&1; then
  echo "FAIL: a member removed the owner"; exit 1
fi
echo "ok: guts org / guts team"

# guts search, on what search.mjs left (its index has caught up: search.mjs waited for it).
expect_out "alice/searchable" bob search repos searchable
expect_out "issue alice/searchable#1  [closed] Flux capacitor overheats" bob search issues "flux is:issue repo:alice/searchable"
expect_out "alice/searchable: src/engine.c" bob search code quantum_flux
expect_out "Secret flux experiment" alice search issues secret
expect_out "0 results" bob search issues secret
expect_out "indexed height" bob search status
if out=$(as bob search issues 'is:sleeping' 2>&1); then
  echo "FAIL: an invalid query was accepted: $out"; exit 1
fi
grep -qF "is:sleeping is not a known value" <<<"$out" || { echo "FAIL: unclear error: $out"; exit 1; }
echo "ok: guts search"
# Releases through the guts CLI (docs/releases.md), on the repository releases.mjs left.
head -c 200000 /dev/urandom >"$WORK/tool.bin"
printf '## Notes\n' >"$WORK/notes.md"
expect_out "Created release v3.0.0  Three" alice release create alice/release-app v3.0.0 \
  --title Three --notes-file "$WORK/notes.md" "$WORK/tool.bin"
head -c 1000 /dev/urandom >"$WORK/extra.txt"
expect_out "Uploaded extra.txt (1000 bytes)" alice release upload alice/release-app v3.0.0 "$WORK/extra.txt"
expect_out "v3.0.0  Three" bob release list alice/release-app
expect_out "asset tool.bin  200000 bytes  sha256:" bob release view alice/release-app v3.0.0
mkdir -p "$WORK/dl"
expect_out "Downloaded" bob release download alice/release-app v3.0.0 --dir "$WORK/dl"
cmp "$WORK/tool.bin" "$WORK/dl/tool.bin" || { echo "FAIL: downloaded tool.bin differs"; exit 1; }
cmp "$WORK/extra.txt" "$WORK/dl/extra.txt" || { echo "FAIL: downloaded extra.txt differs"; exit 1; }
head -c 1100000 /dev/urandom >"$WORK/big.bin"
if as alice release upload alice/release-app v3.0.0 "$WORK/big.bin" >/dev/null 2>&1; then
  echo "FAIL: an asset over release-asset-max-bytes was accepted"; exit 1
fi
if as bob release delete alice/release-app v3.0.0 >/dev/null 2>&1; then
  echo "FAIL: a reader deleted a release"; exit 1
fi
expect_out "Deleted release v3.0.0" alice release delete alice/release-app v3.0.0
echo "ok: guts release"

# CI/CD (docs/ci.md "REST", "CLI"): Octokit's actions.* and checks.*, then the guts CLI on the
# repository actions.mjs left (alice/ci-app: run 1 completed, cancelled after a re-run).
BIN="$BIN" node "$BUILD/actions.mjs"
expect_out "CI  .guts/workflows/ci.yml  active" alice workflow list alice/ci-app
expect_out "cancelled  CI  workflow_dispatch  main" alice run list alice/ci-app --event workflow_dispatch
RUN_ID=$(as alice run list alice/ci-app --event workflow_dispatch --json | node -e \
  'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).workflow_runs[0].id))')
expect_out "attempt 2" bob run show alice/ci-app "$RUN_ID"
expect_out "job " bob run show alice/ci-app "$RUN_ID"
expect_out "Re-running run #$RUN_ID" alice run rerun alice/ci-app "$RUN_ID"
expect_out "Cancelled run #$RUN_ID" alice run cancel alice/ci-app "$RUN_ID"
if as bob run rerun alice/ci-app "$RUN_ID" >/dev/null 2>&1; then
  echo "FAIL: a reader re-ran a run"; exit 1
fi
expect_out "box-1  offline" alice runner list alice/ci-app
expect_out "expires " alice runner token alice/ci-app
expect_out "Trusted runners:" alice runner-policy show alice/ci-app
expect_out "any runner registered" alice runner-policy set alice/ci-app
expect_out "box-1" alice runner-policy set alice/ci-app box-1
git -C "$WORK/ci-app" checkout -q -b feature
git -C "$WORK/ci-app" -c user.name=t -c user.email=t@e commit -q --allow-empty -m feature
git -C "$WORK/ci-app" -c user.name=t -c user.email=t@e push -q \
  "http://alice:$ALICE_TOKEN@${URL#http://}/alice/ci-app.git" feature
expect_out "Requested a run of ci.yml at feature" alice workflow run alice/ci-app ci.yml --ref feature -f level=2
expect_out "queued  CI  workflow_dispatch  feature" bob run list alice/ci-app --branch feature
echo "ok: guts run / workflow / runner / runner-policy"

# Merging a pull request by quorum: 202 with the proposal, approvals merge (docs/governance.md).
cp "$SRC/quorum_merge.mjs" "$BUILD/"
BIN="$BIN" node "$BUILD/quorum_merge.mjs"
# CI/CD artifacts and dispatch inputs (docs/ci.md "Artifacts"): Octokit's actions.*Artifact*.
BIN="$BIN" node "$BUILD/artifacts.mjs"
