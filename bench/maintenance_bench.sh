#!/usr/bin/env bash
# Repository maintenance benchmark (results in docs/benchmarks.md, "## Repository maintenance").
#
#   bench/maintenance_bench.sh BUILD_DIR
#
# A repository of COMMITS commits (about MB megabytes, bench/git_gen_repo.py) is pushed to a
# guts-node running with --no-maintenance, then PUSHES small pushes follow (one commit each:
# each leaves a pack). Clone time (git clone --bare over HTTP, median of RUNS) is measured
#   1. before maintenance: from guts-node and from `git http-backend` serving the very same bare
#      repository (the node's own directory);
#   2. after maintenance: the node restarts with maintenance on and a short interval, the script
#      waits until the repository has a multi-pack index with a bitmap and a commit-graph, then
#      the same two clones again; and a third reference: http-backend serving a copy fully
#      repacked with a bitmap (`git repack -adb`, git's best case).
# The http-backend runs behind lighttpd when installed, else behind Python's CGI server (one
# fork per request, Git-Protocol passed through). The servers compared are interleaved round by
# round (the machine's load drifts). Environment: PUSHES (default 1000), COMMITS (5000), MB (30),
# RUNS (5), KEEP=1 keeps the work directory. Results: COMMITS=20000 MB=60 PUSHES=1000 RUNS=5.
set -euo pipefail

BUILD=$(cd "${1:?usage: maintenance_bench.sh BUILD_DIR}" && pwd)
PUSHES=${PUSHES:-1000}
COMMITS=${COMMITS:-5000}
MB=${MB:-30}
RUNS=${RUNS:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/git_http_backend_lib.sh
source "$HERE/git_http_backend_lib.sh"
W=$(mktemp -d /tmp/guts-maint-bench.XXXXXX)
NODE_PID=
HTTP_PID=
cleanup() {
  [ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null && wait "$NODE_PID" 2>/dev/null || true
  [ -n "$HTTP_PID" ] && kill "$HTTP_PID" 2>/dev/null && wait "$HTTP_PID" 2>/dev/null || true
  [ -z "${KEEP:-}" ] && rm -rf "$W"
}
trap cleanup EXIT

export HOME=$W/home GUTS_HOME=$W/home/guts GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0 LC_ALL=C
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
mkdir -p "$HOME"

now_ms() { date +%s%3N; }

start_node() {  # extra flags...
  rm -f "$W/port"
  "$BUILD/bin/guts-node" --api-addr 127.0.0.1:0 --port-file "$W/port" --data-dir "$W/node" \
    --log-level info "$@" >>"$W/node.log" 2>&1 &
  NODE_PID=$!
  for _ in $(seq 1 600); do [ -s "$W/port" ] && break; sleep 0.1; done
  PORT=$(cat "$W/port")
  export GUTS_NODE=http://127.0.0.1:$PORT
  for _ in $(seq 1 300); do curl -fs "$GUTS_NODE/api/guts/status" >/dev/null && break; sleep 0.1; done
}

stop_node() {
  kill "$NODE_PID"; wait "$NODE_PID" 2>/dev/null || true; NODE_PID=
}

start_http_backend() {  # serves $W/node at $HTTP_URL: <id>.git is $HTTP_URL/repos/<id>.git
  start_git_http_backend "$W/node"
  HTTP_SERVER=$GIT_HTTP_SERVER HTTP_URL=$GIT_HTTP_URL HTTP_PID=$GIT_HTTP_PID
  for _ in $(seq 1 100); do
    curl -fs "$HTTP_URL/repos/$REPO_ID.git/info/refs?service=git-upload-pack" >/dev/null && break
    sleep 0.1
  done
}

percentile() {  # p file
  sort -n "$2" | awk -v p="$1" '{a[NR]=$1} END {i=int((NR*p+99)/100); if(i<1)i=1; print a[i]}'
}

clone_ms() {  # url -> prints the clone's wall time in ms
  rm -rf "$W/clone"
  local s; s=$(now_ms)
  git clone -q --bare "$1" "$W/clone"
  echo $(( $(now_ms) - s ))
}

run_clones() {  # label url [label url ...]: RUNS rounds, the servers interleaved in each round
  local args=("$@") i j
  for ((j = 0; j < ${#args[@]}; j += 2)); do : >"$W/times-${args[j]}"; done
  for i in $(seq 1 "$RUNS"); do
    for ((j = 0; j < ${#args[@]}; j += 2)); do
      clone_ms "${args[j+1]}" >>"$W/times-${args[j]}"
    done
  done
  for ((j = 0; j < ${#args[@]}; j += 2)); do
    local label=${args[j]} med
    med=$(percentile 50 "$W/times-$label")
    echo "$label: median ${med} ms over $RUNS clones [$(tr '\n' ' ' <"$W/times-$label")]"
    eval "MED_$label=$med"
  done
}

pack_state() {
  local bare=$W/node/repos/$REPO_ID.git
  echo "packs $(ls "$bare/objects/pack" | grep -c '\.pack$'), loose $(git -C "$bare" count-objects | cut -d' ' -f1)," \
    "midx $([ -f "$bare/objects/pack/multi-pack-index" ] && echo yes || echo no)," \
    "bitmap $(ls "$bare/objects/pack" | grep -q '\.bitmap$' && echo yes || echo no)," \
    "commit-graph $([ -f "$bare/objects/info/commit-graphs/commit-graph-chain" ] && echo yes || echo no)," \
    "$(du -sm "$bare/objects" | cut -f1) MB"
}

start_node --no-maintenance
"$BUILD/bin/guts" identity new >/dev/null
"$BUILD/bin/guts" auth login --username bench >/dev/null
TOKEN=$(python3 -c "import json; print(json.load(open('$GUTS_HOME/config.json'))['logins']['$GUTS_NODE']['token'])")
"$BUILD/bin/guts" repo create busy >/dev/null
REPO_ID=$("$BUILD/bin/guts" repo show bench/busy --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
remote() { echo "http://bench:$TOKEN@127.0.0.1:$PORT/bench/busy.git"; }

echo "== repository: $COMMITS commits (~$MB MB), then $PUSHES small pushes"
src=$W/src
git init -q -b main "$src"
python3 "$HERE/git_gen_repo.py" "$COMMITS" 2000 "$MB" | (cd "$src" && git fast-import --quiet)
git -C "$src" reset -q --hard main
git -C "$src" push -q "$(remote)" main
t0=$(now_ms)
for i in $(seq 1 "$PUSHES"); do
  echo "push $i" >>"$src/PUSHES.txt"
  git -C "$src" add PUSHES.txt
  git -C "$src" commit -q -m "small push $i"
  git -C "$src" push -q "$(remote)" main
done
echo "$PUSHES pushes in $(( $(now_ms) - t0 )) ms"
echo "before maintenance: $(pack_state)"

start_http_backend
echo "reference server: git http-backend behind $HTTP_SERVER"
run_clones guts_before "http://127.0.0.1:$PORT/bench/busy.git" \
  backend_before "$HTTP_URL/repos/$REPO_ID.git"

stop_node
start_node --maintenance --maintenance-interval-ms 1000
t0=$(now_ms)
bare=$W/node/repos/$REPO_ID.git
for _ in $(seq 1 6000); do
  if [ -f "$bare/objects/pack/multi-pack-index" ] && ls "$bare/objects/pack" | grep -q '\.bitmap$' &&
     [ -f "$bare/objects/info/commit-graphs/commit-graph-chain" ]; then break; fi
  sleep 0.1
done
sleep 2  # let a task that started last finish (its log line follows)
echo "maintenance done in about $(( $(now_ms) - t0 )) ms (includes the node's start):"
grep 'maintenance: repository' "$W/node.log" | sed 's/^.*maintenance: /  /'
echo "after maintenance: $(pack_state)"
# Reference: git's best case, a copy fully repacked with a bitmap (`git repack -adb`, as after
# `git gc`), outside the node's repositories, served by the same http-backend.
mkdir -p "$W/node/full"
cp -a "$bare" "$W/node/full/busy.git"
rm -f "$W/node/full/busy.git/objects/pack/multi-pack-index"*
git -C "$W/node/full/busy.git" repack -a -d -b -q
run_clones guts_after "http://127.0.0.1:$PORT/bench/busy.git" \
  backend_after "$HTTP_URL/repos/$REPO_ID.git" backend_full "$HTTP_URL/full/busy.git"
echo "maintenance tasks during the clones: $(grep -c 'maintenance: repository' "$W/node.log") log lines in all"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b/a}'; }
echo "== summary (throughput ratio guts-node / http-backend, > 1: guts-node faster)"
echo "before maintenance: guts ${MED_guts_before} ms, http-backend ${MED_backend_before} ms: $(ratio "$MED_guts_before" "$MED_backend_before")x"
echo "after maintenance:  guts ${MED_guts_after} ms, http-backend ${MED_backend_after} ms: $(ratio "$MED_guts_after" "$MED_backend_after")x"
echo "guts-node after vs before maintenance: $(ratio "$MED_guts_after" "$MED_guts_before")x faster"
echo "guts-node after maintenance vs http-backend on a full repack (-adb): guts ${MED_guts_after} ms, http-backend ${MED_backend_full} ms: $(ratio "$MED_guts_after" "$MED_backend_full")x"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
