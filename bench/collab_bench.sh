#!/usr/bin/env bash
# Collaboration benchmarks (results in docs/benchmarks.md, "## Collaboration").
#
#   bench/collab_bench.sh BUILD_DIR
#
# Starts a one-validator guts-node, signs up alice, pushes alice/proj with a branch whose pull
# request adds 1,000 lines (10 files x 100) plus OPENMERGE small branches, seeds ISSUES issues
# through the API, then measures with guts-bench-collab:
#   list   GET /issues?per_page=100&page=<random 1..100> under CLIENTS concurrent clients
#   pull   GET /pulls/<n> (mergeability, counts) and GET /pulls/<n>/files?per_page=100 (the
#          1,000-line patch) under CLIENTS concurrent clients
#   open+merge  POST /pulls then PUT /pulls/<n>/merge, sequentially, OPENMERGE times
# The reads run twice: as sent (the node's height-keyed response cache answers repeats) and with
# a random ignored query parameter (every answer computed).
# Environment: ISSUES (10000), CLIENTS (64), SECONDS (15), OPENMERGE (20), KEEP=1 keeps the
# work directory.
set -euo pipefail
# Load from one user: the door's rate limit for low-reputation identities is off (docs/reputation.md).
export GUTS_DOOR_LIMIT_MIN_REPUTATION=${GUTS_DOOR_LIMIT_MIN_REPUTATION:-0}

BUILD=$(cd "${1:?usage: collab_bench.sh BUILD_DIR}" && pwd)
ISSUES=${ISSUES:-10000}
CLIENTS=${CLIENTS:-64}
SECONDS_=${SECONDS:-15}
OPENMERGE=${OPENMERGE:-20}
W=$(mktemp -d /tmp/guts-collab-bench.XXXXXX)
NODE_PID=
cleanup() {
  if [ -n "$NODE_PID" ]; then kill "$NODE_PID" 2>/dev/null || true; wait "$NODE_PID" 2>/dev/null || true; fi
  [ -z "${KEEP:-}" ] && rm -rf "$W"
}
trap cleanup EXIT

export HOME=$W/home GUTS_HOME=$W/home/guts GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0 LC_ALL=C
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
mkdir -p "$HOME"

"$BUILD/bin/guts-node" --api-addr 127.0.0.1:0 --p2p-addr 127.0.0.1:0 --port-file "$W/port" \
  --data-dir "$W/node" --log-level warn 2>"$W/node.log" &
NODE_PID=$!
for _ in $(seq 1 600); do [ -s "$W/port" ] && break; sleep 0.05; done
URL="http://127.0.0.1:$(tr -d '\n' <"$W/port")"
"$BUILD/bin/guts" identity new >/dev/null
"$BUILD/bin/guts" --node "$URL" auth login --username alice >/dev/null
TOKEN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["logins"][sys.argv[2]]["token"])' "$GUTS_HOME/config.json" "$URL")
"$BUILD/bin/guts" --node "$URL" repo create proj >/dev/null

# The repository: main, a 1,000-line pull request branch, and small branches to merge.
R=$W/proj
git init -q -b main "$R"
python3 - "$R" <<'PY'
import os, sys
r = sys.argv[1]
for f in range(10):
    with open(os.path.join(r, f"src{f}.c"), "w") as out:
        out.write("".join(f"int f{f}_{i}(void) {{ return {i}; }}\n" for i in range(200)))
PY
git -C "$R" add -A && git -C "$R" commit -q -m "Initial sources"
git -C "$R" checkout -q -b big
python3 - "$R" <<'PY'
import os, sys
r = sys.argv[1]
for f in range(10):
    p = os.path.join(r, f"src{f}.c")
    lines = open(p).read().splitlines(keepends=True)
    # 50 changed lines (50 deletions + 50 additions) per file: 1,000 diff lines in all.
    for i in range(0, 200, 4):
        lines[i] = lines[i].replace("return", "return 1 +")
    open(p, "w").write("".join(lines))
PY
git -C "$R" commit -q -am "Rework every function"
BRANCHES=()
for i in $(seq 1 "$OPENMERGE"); do
  git -C "$R" checkout -q -b "om-$i" main
  echo "change $i" >"$R/om-$i.txt"
  git -C "$R" add -A && git -C "$R" commit -q -m "Add om-$i.txt"
  BRANCHES+=(--branch "om-$i")
done
git -C "$R" checkout -q main
git -C "$R" push -q "http://alice:$TOKEN@${URL#http://}/alice/proj.git" --all

B="$BUILD/bin/guts-bench-collab --url $URL --token $TOKEN --repo alice/proj --clients $CLIENTS"
echo "# seeding $ISSUES issues"
$B seed --count "$ISSUES"
PR=$(curl -sf -H "Authorization: token $TOKEN" -d '{"title":"Big change","head":"big","base":"main"}' \
  "$URL/api/v3/repos/alice/proj/pulls" | python3 -c 'import json,sys; print(json.load(sys.stdin)["number"])')
curl -sf "$URL/api/v3/repos/alice/proj/pulls/$PR" | python3 -c 'import json,sys; p=json.load(sys.stdin); print("# pull", p["number"], "additions", p["additions"], "deletions", p["deletions"], "files", p["changed_files"], "mergeable", p["mergeable"])'
echo "# one client: list, pull, files"
$BUILD/bin/guts-bench-collab --url $URL --token $TOKEN --repo alice/proj --clients 1 get --path "/issues?per_page=100&page={page}" --pages 100 --seconds 3
$BUILD/bin/guts-bench-collab --url $URL --token $TOKEN --repo alice/proj --clients 1 get --path "/pulls/$PR" --seconds 3
$BUILD/bin/guts-bench-collab --url $URL --token $TOKEN --repo alice/proj --clients 1 get --path "/pulls/$PR/files?per_page=100" --seconds 3
$BUILD/bin/guts-bench-collab --url $URL --token $TOKEN --repo alice/proj --clients 1 get --path "/issues?per_page=100&page={page}&nocache={rand}" --pages 100 --seconds 3
echo "# list 100 issues of $ISSUES, $CLIENTS clients"
$B get --path "/issues?per_page=100&page={page}" --pages 100 --seconds "$SECONDS_"
echo "# read the pull request (1,000-line diff), $CLIENTS clients"
$B get --path "/pulls/$PR" --seconds "$SECONDS_"
$B get --path "/pulls/$PR/files?per_page=100" --seconds "$SECONDS_"
echo "# the same, uncached (every request computed: a random ignored parameter)"
$B get --path "/issues?per_page=100&page={page}&nocache={rand}" --pages 100 --seconds "$SECONDS_"
$B get --path "/pulls/$PR?nocache={rand}" --seconds "$SECONDS_"
$B get --path "/pulls/$PR/files?per_page=100&nocache={rand}" --seconds "$SECONDS_"
echo "# open + merge through the API, one node"
$BUILD/bin/guts-bench-collab --url $URL --token $TOKEN --repo alice/proj --clients 1 openmerge "${BRANCHES[@]}" --method merge
