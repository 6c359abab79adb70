#!/usr/bin/env bash
# guts migrate end to end (ctest: migrate_e2e; docs/migrate.md). Two separate guts-node networks:
# node A is the source (its API is GitHub-shaped), node B the target.
#   1. On A, alice creates labels, milestones, issues with comments, pull requests with review
#      comments (one closed, one merged) and a release with an asset; carol migrates it to B and
#      compare.py checks everything through REST, and git refs with git ls-remote. A second run
#      changes nothing (idempotent).
#   2. A is stopped: the migration fails with a clear error and creates nothing; A restarts and
#      the same command completes.
#   3. A GitHub export fixture (fixture_server.py: hand-written GitHub API responses, a bare
#      repository over dumb HTTP, a number missing in the source, a merged pull request whose
#      branch is gone) that drops the connection mid-way: the error says to re-run, no item is
#      half-imported, the re-run completes it.
# Every process started here is reaped on exit.
#
# usage: run.sh <bin dir with guts-node and guts>
set -euo pipefail

BIN=$(cd "$1" && pwd)
SRC=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/guts-migrate.XXXXXX")
declare -A PID=()
cleanup() {
  local rc=$?
  for p in "${PID[@]}"; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  if [ $rc -ne 0 ]; then
    for log in "$WORK"/*.log; do
      [ -f "$log" ] && { echo "---- $log (last 40 lines) ----"; tail -n 40 "$log"; }
    done
  fi
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

wait_port() {  # wait_port <name> <port file>
  for _ in $(seq 1 600); do
    [ -s "$2" ] && return 0
    kill -0 "${PID[$1]}" 2>/dev/null || fail "$1 exited early"
    sleep 0.05
  done
  fail "$1 did not start"
}
start_node() {  # start_node <name> [api port]
  rm -f "$WORK/$1.port"
  "$BIN/guts-node" --api-addr "127.0.0.1:${2:-0}" --p2p-addr 127.0.0.1:0 --port-file "$WORK/$1.port" \
    --data-dir "$WORK/$1" --log-level info --release-asset-max-bytes 1048576 --rate-limit-anonymous 100000 \
    2>>"$WORK/$1.log" &
  PID[$1]=$!
  wait_port "$1" "$WORK/$1.port"
}
stop() { kill "${PID[$1]}"; wait "${PID[$1]}" 2>/dev/null || true; unset "PID[$1]"; }

start_node a
start_node b
A="http://127.0.0.1:$(cat "$WORK/a.port")"
B="http://127.0.0.1:$(cat "$WORK/b.port")"
as() { local u=$1 n=$2; shift 2; GUTS_HOME="$WORK/home/$u" "$BIN/guts" --node "$n" "$@"; }
token_of() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["logins"][sys.argv[2]]["token"])' \
    "$WORK/home/$1/config.json" "$2"
}
for u in alice bob; do
  as $u "$A" identity new >/dev/null
  as $u "$A" auth login --username $u >/dev/null
done
as carol "$B" identity new >/dev/null
as carol "$B" auth login --username carol >/dev/null
ALICE=$(token_of alice "$A")
BOB=$(token_of bob "$A")

api() {  # api <token> <method> <url> [json] -> body on stdout; fails on a non-2xx status
  local out code
  out=$(mktemp "$WORK/api.XXXXXX")
  code=$(curl -sS -o "$out" -w '%{http_code}' -X "$2" -H "Authorization: token $1" \
    -H 'Content-Type: application/json' ${4:+--data "$4"} "$3")
  [[ $code == 2* ]] || fail "$2 $3 -> $code: $(cat "$out")"
  cat "$out"
  rm -f "$out"
}
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# ---- 1. a guts-node source ----
as alice "$A" repo create proj --description "source project" >/dev/null
git init -q -b main "$WORK/proj"
(
  cd "$WORK/proj"
  git config user.name Alice && git config user.email alice@example.org
  printf 'hello\n' >README && git add README && git commit -qm "first"
  git checkout -qb feature && printf '#include <stdio.h>\nint main(void) { puts("hi"); }\n' >hello.c
  git add hello.c && git commit -qm "add hello.c"
  git checkout -q main && git checkout -qb fix && printf 'hello, world\n' >README
  git commit -qam "fix README"
  git checkout -q main && git checkout -qb docs && printf 'docs\n' >DOCS && git add DOCS
  git commit -qm "docs"
  git checkout -q main && git tag v1.0
  git -c http.extraHeader="Authorization: Basic $(printf 'alice:%s' "$ALICE" | base64 -w0)" \
    push -q "$A/alice/proj.git" main feature fix docs v1.0
)
R="$A/api/v3/repos/alice/proj"
api "$ALICE" POST "$R/labels" '{"name":"bug","color":"d73a4a","description":"broken"}' >/dev/null
api "$ALICE" POST "$R/labels" '{"name":"idea","color":"a2eeef"}' >/dev/null
api "$ALICE" POST "$R/milestones" '{"title":"v1","description":"first"}' >/dev/null
M2=$(api "$ALICE" POST "$R/milestones" '{"title":"v0"}' | field number)
api "$ALICE" PATCH "$R/milestones/$M2" '{"state":"closed"}' >/dev/null
api "$ALICE" POST "$R/issues" '{"title":"Crash on start","body":"It crashes.","labels":["bug"],"milestone":1}' >/dev/null
api "$BOB" POST "$R/issues/1/comments" '{"body":"Same here."}' >/dev/null
api "$ALICE" POST "$R/issues/1/comments" '{"body":"Looking."}' >/dev/null
api "$ALICE" POST "$R/pulls" '{"title":"Add hello","head":"feature","base":"main","body":"hello.c"}' >/dev/null
api "$ALICE" POST "$R/issues/2/labels" '{"labels":["idea"]}' >/dev/null
FEATURE=$(git -C "$WORK/proj" rev-parse feature)
RC=$(api "$BOB" POST "$R/pulls/2/comments" "{\"body\":\"Why stdio?\",\"commit_id\":\"$FEATURE\",\"path\":\"hello.c\",\"line\":1,\"side\":\"RIGHT\"}" | field id)
api "$ALICE" POST "$R/pulls/2/comments" "{\"body\":\"For puts.\",\"in_reply_to\":$RC}" >/dev/null
api "$BOB" POST "$R/issues/2/comments" '{"body":"LGTM"}' >/dev/null
api "$ALICE" POST "$R/issues" '{"title":"Won'"'"'t do","body":"no"}' >/dev/null
api "$ALICE" PATCH "$R/issues/3" '{"state":"closed","state_reason":"not_planned"}' >/dev/null
api "$ALICE" POST "$R/pulls" '{"title":"Fix README","head":"fix","base":"main"}' >/dev/null
api "$ALICE" PATCH "$R/pulls/4" '{"state":"closed"}' >/dev/null
api "$ALICE" POST "$R/pulls" '{"title":"Docs","head":"docs","base":"main"}' >/dev/null
api "$ALICE" PUT "$R/pulls/5/merge" '{"merge_method":"merge"}' >/dev/null
REL=$(api "$ALICE" POST "$R/releases" '{"tag_name":"v1.0","name":"One","body":"first release"}' | field id)
printf 'release notes\n' >"$WORK/notes.txt"
curl -sSf -o /dev/null -H "Authorization: token $ALICE" -H 'Content-Type: text/plain' \
  --data-binary @"$WORK/notes.txt" "$A/api/uploads/repos/alice/proj/releases/$REL/assets?name=notes.txt"

as carol "$B" migrate --from "$A/alice/proj" >"$WORK/migrate1.out" 2>&1 ||
  fail "migrate: $(cat "$WORK/migrate1.out")"
python3 "$SRC/compare.py" "$A/api/v3" alice/proj "$B/api/v3" carol/proj
refs() { git ls-remote "$1" | grep -E 'refs/(heads|tags)/' | grep -v 'refs/heads/migrated/' | sort; }
[ "$(refs "$A/alice/proj.git")" = "$(refs "$B/carol/proj.git")" ] || fail "git refs differ"
# Idempotent: a second run copies nothing more.
as carol "$B" migrate --from "$A/alice/proj" >"$WORK/migrate2.out" 2>&1 ||
  fail "second migrate: $(cat "$WORK/migrate2.out")"
python3 "$SRC/compare.py" "$A/api/v3" alice/proj "$B/api/v3" carol/proj
echo "ok: migrated from a guts-node, idempotent"

# ---- placeholders: bob of the source claims his items on the target (docs/migrate.md) ----
HOSTA=${A#http://}
as dave "$B" identity new >/dev/null
as dave "$B" auth login --username dave >/dev/null
as erin "$B" identity new >/dev/null
as erin "$B" auth login --username erin >/dev/null
CAROL=$(token_of carol "$B")
ERIN=$(token_of erin "$B")
TR="$B/api/v3/repos/carol/proj"
first_user() {  # first_user <url> -> login of the first comment's user
  curl -sSf "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["user"]["login"])'
}
[ "$(first_user "$TR/issues/1/comments")" = carol ] || fail "a migrated comment is carol's before any claim"
as dave "$B" placeholder claim "$HOSTA/bob" --proof "https://gist.example.org/bob/1" >/dev/null ||
  fail "claim"
as dave "$B" placeholder show "$HOSTA/bob" | grep -q "claimed by dave" || fail "claim not shown"
[ "$(first_user "$TR/issues/1/comments")" = carol ] || fail "a claim alone must not re-attribute"
# Only an admin confirms; erin (a writer) cannot.
api "$CAROL" PUT "$TR/collaborators/erin" '{"permission":"push"}' >/dev/null
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: token $ERIN" \
  -H 'Content-Type: application/json' --data '{"claimant":"dave"}' \
  "$B/api/guts/repos/carol/proj/placeholders/$HOSTA/bob")
[ "$code" = 403 ] || fail "a writer confirmed a placeholder ($code)"
as carol "$B" placeholder confirm carol/proj "$HOSTA/bob" --claimant dave >/dev/null ||
  fail "confirm"
as carol "$B" placeholder list carol/proj | grep -q "bob -> dave" || fail "confirmation not listed"
[ "$(first_user "$TR/issues/1/comments")" = dave ] || fail "bob's comment is not shown as dave's"
# The web page too (HTML): bob's comment under dave's name.
curl -sSf -H 'Accept: text/html' "$B/carol/proj/issues/1" | grep -q '>dave<' ||
  fail "the issue page does not show dave"
curl -sSf "$TR/pulls/2/comments" | python3 -c '
import json, sys
users = {c["body"].split("\n")[-1]: c["user"]["login"] for c in json.load(sys.stdin)}
assert users.get("Why stdio?") == "dave" and users.get("For puts.") == "carol", users' ||
  fail "review comments: bob's is dave's, alice's stays carol's"
# A writer who types bob's origin line into a comment does not become dave.
FORGED="> Migrated from $A/alice/proj/issues/1 · comment by @bob ($HOSTA) on 2026-01-01T00:00:00Z"
api "$ERIN" POST "$TR/issues/1/comments" "$(python3 -c 'import json,sys; print(json.dumps({"body": sys.argv[1]}))' "$FORGED")" >/dev/null
curl -sSf "$TR/issues/1/comments" | python3 -c '
import json, sys
c = json.load(sys.stdin)[-1]
assert c["user"]["login"] == "erin", c["user"]' || fail "a forged origin line borrowed a claimed identity"
# Withdrawn: shown as the migrator again.
as dave "$B" placeholder withdraw "$HOSTA/bob" >/dev/null || fail "withdraw"
[ "$(first_user "$TR/issues/1/comments")" = carol ] || fail "a withdrawn claim still re-attributes"
curl -sSf -H 'Accept: text/html' "$B/carol/proj/issues/1" | grep -q '>dave<' &&
  fail "the issue page still shows dave after the withdrawal"
echo "ok: placeholder claimed, confirmed by the admin, shown, withdrawn"

# ---- 2. the source is down ----
APORT=$(cat "$WORK/a.port")
stop a
if as carol "$B" migrate --from "$A/alice/proj" --to carol/proj2 >"$WORK/down.out" 2>&1; then
  fail "migrate from a stopped source succeeded"
fi
grep -q "run the same command again" "$WORK/down.out" || fail "unclear error: $(cat "$WORK/down.out")"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$B/api/v3/repos/carol/proj2")" = 404 ] ||
  fail "a failed migration created carol/proj2"
start_node a "$APORT"
as carol "$B" migrate --from "$A/alice/proj" --to carol/proj2 >"$WORK/migrate3.out" 2>&1 ||
  fail "migrate after restart: $(cat "$WORK/migrate3.out")"
python3 "$SRC/compare.py" "$A/api/v3" alice/proj "$B/api/v3" carol/proj2
echo "ok: a stopped source is a clear error; the re-run completes"

# ---- 3. a GitHub export fixture that stops mid-way ----
git init -q -b main "$WORK/hello"
(
  cd "$WORK/hello"
  git config user.name Mona && git config user.email mona@example.org
  printf 'helo\n' >README && git add README && git commit -qm "first"
  git checkout -qb typo && printf 'hello\n' >README && git commit -qam "fix typo"
  git checkout -q main && git merge -q --ff-only typo && git branch -qd typo && git tag v1.0
  git checkout -qb feature && printf '#include <stdio.h>\nint main(void) { puts("hi"); }\n' >hello.c
  git add hello.c && git commit -qm "add hello.c" && git checkout -q main
)
git clone -q --bare "$WORK/hello" "$WORK/hello.git"
git --git-dir "$WORK/hello.git" update-ref refs/pull/4/head "$(git -C "$WORK/hello" rev-parse main)"
git --git-dir "$WORK/hello.git" update-ref refs/pull/2/head "$(git -C "$WORK/hello" rev-parse feature)"
git --git-dir "$WORK/hello.git" update-server-info
rm -f "$WORK/fixture.port"
python3 - "$WORK" <<'PY' >"$WORK/vars.json"
import json, subprocess, sys
rev = lambda r: subprocess.check_output(["git", "-C", sys.argv[1] + "/hello", "rev-parse", r], text=True).strip()
print(json.dumps({"MAIN_SHA": rev("main"), "FEATURE_SHA": rev("feature"), "PR4_SHA": rev("main"),
                  "ROOT_SHA": rev("main~1")}))
PY
touch "$WORK/fail"  # until removed, the source drops the connection reading #5's comments
python3 "$SRC/fixture_server.py" --fixtures "$SRC/fixtures" --git-dir "$WORK/hello.git" \
  --vars "$WORK/vars.json" --port-file "$WORK/fixture.port" \
  --fail /api/v3/repos/octo/hello/issues/5/comments --fail-while "$WORK/fail" 2>>"$WORK/fixture.log" &
PID[fixture]=$!
wait_port fixture "$WORK/fixture.port"
F="http://127.0.0.1:$(cat "$WORK/fixture.port")"

if as carol "$B" migrate --from "$F/octo/hello" >"$WORK/fx1.out" 2>&1; then
  fail "the fixture's dropped connection went unnoticed"
fi
grep -q "the source stopped answering" "$WORK/fx1.out" || fail "unclear error: $(cat "$WORK/fx1.out")"
grep -q "run the same command again" "$WORK/fx1.out" || fail "no advice: $(cat "$WORK/fx1.out")"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$B/api/v3/repos/carol/hello/issues/4")" = 200 ] ||
  fail "#4 was not copied before the failure"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$B/api/v3/repos/carol/hello/issues/5")" = 404 ] ||
  fail "#5 is half-imported"
rm "$WORK/fail"  # the source answers again
as carol "$B" migrate --from "$F/octo/hello" >"$WORK/fx2.out" 2>&1 ||
  fail "resume: $(cat "$WORK/fx2.out")"
python3 "$SRC/compare.py" "$F/api/v3" octo/hello "$B/api/v3" carol/hello
refs "$F/octo/hello.git" >/dev/null
[ "$(git ls-remote "$B/carol/hello.git" refs/heads/main | cut -f1)" = \
  "$(git -C "$WORK/hello" rev-parse main)" ] || fail "main differs"
# An open pull request keeps its branch; a merged one whose branch is gone gets migrated/pr-N/*
# branches at the source's commits and says it was merged.
python3 - "$B/api/v3/repos/carol/hello" <<'PY' || fail "pull request mapping"
import json, sys, urllib.request
get = lambda p: json.load(urllib.request.urlopen(sys.argv[1] + p))
p2, p4 = get("/pulls/2"), get("/pulls/4")
assert p2["head"]["ref"] == "feature" and p2["base"]["ref"] == "main", p2["head"]
assert p4["head"]["ref"] == "migrated/pr-4/head" and p4["base"]["ref"] == "migrated/pr-4/base"
assert p4["state"] == "closed", p4["state"]
first = p4["body"].split("\n")[0]
assert " · merged on 2021-03-08T09:00:00Z" in first and "by @hubot (127.0.0.1:" in first, first
print("origin line:", first)
rel = get("/releases/tags/v1.0")
assert rel["body"].startswith("> Migrated from ") and " · published by @monalisa (" in rel["body"], rel["body"]
PY
grep -q '"monalisa": "127.0.0.1:' "$WORK/home/carol/migrate/"*octo_hello-to-carol_hello.json ||
  fail "authors are not recorded as placeholder identities"
echo "ok: GitHub fixture, resumed after the source stopped mid-way"
