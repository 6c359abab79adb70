#!/usr/bin/env bash
# Git hosting benchmarks (results in docs/benchmarks.md, "## Git hosting").
#
#   bench/git_bench.sh BUILD_DIR [clone|push|rss|bigpush|all]
#
#   clone  clone throughput of a generated repository (>= 100 MB packed, >= 20,000 commits)
#          from guts-node vs `git http-backend` behind lighttpd (same bare repository, same
#          packing, same machine, same run); median of RUNS clones each
#   push   latency of a 1 MB push (git push start to exit, i.e. to `ok`), p50/p95 of PUSHES,
#          against the same pushes to `git http-backend` behind lighttpd and to file://,
#          interleaved (the p95 ratio guts-node / http-backend)
#   rss    node resident memory while a 1 GB push streams in (sampled every 50 ms + VmHWM)
#   bigpush  time of BIG_PUSHES pushes of a BIG_MB MB commit (incompressible), through guts-node
#          and to `git http-backend` behind lighttpd, interleaved
#
# Environment: RUNS (default 5), PUSHES (default 40), COMMITS (20000), MB (110), BIG_MB (100),
# BIG_PUSHES (4), KEEP=1 keeps the work directory. Installs lighttpd with apt-get when missing
# (needs root).
set -euo pipefail

BUILD=$(cd "${1:?usage: git_bench.sh BUILD_DIR [clone|push|rss|bigpush|all]}" && pwd)
WHAT=${2:-all}
RUNS=${RUNS:-5}
PUSHES=${PUSHES:-40}
BIG_MB=${BIG_MB:-100}
BIG_PUSHES=${BIG_PUSHES:-4}
COMMITS=${COMMITS:-20000}
MB=${MB:-110}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/git_http_backend_lib.sh
source "$HERE/git_http_backend_lib.sh"
W=$(mktemp -d /tmp/guts-git-bench.XXXXXX)
NODE_PID=
LIGHTTPD_PID=
cleanup() {
  [ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null && wait "$NODE_PID" 2>/dev/null || true
  [ -n "$LIGHTTPD_PID" ] && kill "$LIGHTTPD_PID" 2>/dev/null || true
  [ -z "${KEEP:-}" ] && rm -rf "$W"
}
trap cleanup EXIT

export HOME=$W/home GUTS_HOME=$W/home/guts GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0 LC_ALL=C
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
mkdir -p "$HOME"

now_ms() { date +%s%3N; }

start_node() {
  rm -f "$W/port"
  "$BUILD/bin/guts-node" --api-addr 127.0.0.1:0 --port-file "$W/port" --data-dir "$W/node" \
    --log-level warn 2>>"$W/node.log" &
  NODE_PID=$!
  for _ in $(seq 1 600); do [ -s "$W/port" ] && break; sleep 0.1; done
  PORT=$(cat "$W/port")
  export GUTS_NODE=http://127.0.0.1:$PORT
  for _ in $(seq 1 300); do curl -fs "$GUTS_NODE/api/guts/status" >/dev/null && break; sleep 0.1; done
}

sign_up() {
  "$BUILD/bin/guts" identity new >/dev/null
  "$BUILD/bin/guts" auth login --username bench >/dev/null
  TOKEN=$(python3 -c "import json,sys; print(json.load(open('$GUTS_HOME/config.json'))['logins']['$GUTS_NODE']['token'])")
  REMOTE_BASE="http://bench:$TOKEN@127.0.0.1:$PORT/bench"
}

repo_id() {  # name -> id
  "$BUILD/bin/guts" repo show "bench/$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'
}

# git http-backend behind lighttpd (CGI; installed when missing) serving the repositories under
# $W/www/repos at $LIGHTTPD_URL/<name>.git (pushes where the repository sets http.receivepack).
start_lighttpd() {
  if ! command -v lighttpd >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q lighttpd >/dev/null
  fi
  mkdir -p "$W/www/repos"
  start_git_http_backend "$W/www/repos"
  LIGHTTPD_PID=$GIT_HTTP_PID LIGHTTPD_URL=$GIT_HTTP_URL
}

stop_lighttpd() {
  stop_git_http_backend
  LIGHTTPD_PID=
}

percentile() {  # p file
  sort -n "$2" | awk -v p="$1" '{a[NR]=$1} END {i=int((NR*p+99)/100); if(i<1)i=1; print a[i]}'
}

bench_clone() {
  echo "== clone throughput (commits=$COMMITS, target ${MB} MB)"
  local src=$W/src
  git init -q -b main "$src"
  local t0; t0=$(now_ms)
  python3 "$HERE/git_gen_repo.py" "$COMMITS" 2000 "$MB" | (cd "$src" && git fast-import --quiet)
  echo "generated in $(( $(now_ms) - t0 )) ms"
  "$BUILD/bin/guts" repo create big >/dev/null
  t0=$(now_ms)
  git -C "$src" push -q "$REMOTE_BASE/big.git" main
  echo "initial push through guts-node: $(( $(now_ms) - t0 )) ms"
  local bare=$W/node/repos/$(repo_id big).git
  # Same packing for both servers: one pack with bitmaps (what RepoStore::repack does).
  git -C "$bare" repack -A -d -b -q --write-midx
  local size; size=$(du -sm "$bare/objects/pack" | cut -f1)
  echo "packed repository: ${size} MB, $(git -C "$bare" rev-list --count main) commits"

  # Reference: git http-backend behind lighttpd (CGI), serving a copy of the same repository.
  mkdir -p "$W/www/repos"
  cp -a "$bare" "$W/www/repos/big.git"
  start_lighttpd
  for _ in $(seq 1 100); do curl -fs "$LIGHTTPD_URL/big.git/info/refs?service=git-upload-pack" >/dev/null && break; sleep 0.1; done

  run_clones() {  # label url
    : >"$W/times-$1"
    for i in $(seq 1 "$RUNS"); do
      rm -rf "$W/clone"
      local s; s=$(now_ms)
      git clone -q --bare "$2" "$W/clone"
      echo $(( $(now_ms) - s )) >>"$W/times-$1"
    done
    local med; med=$(percentile 50 "$W/times-$1")
    echo "$1: median ${med} ms over $RUNS clones ($(awk -v s="$size" -v m="$med" 'BEGIN{printf "%.1f", s*1000/m}') MB/s) [$(tr '\n' ' ' <"$W/times-$1")]"
    eval "MED_$1=$med"
  }
  # Anonymous clones on both (public repository): the same work on both sides.
  run_clones guts "http://127.0.0.1:$PORT/bench/big.git"
  run_clones httpbackend "$LIGHTTPD_URL/big.git"
  echo "throughput ratio guts/http-backend: $(awk -v a="$MED_guts" -v b="$MED_httpbackend" 'BEGIN{printf "%.2f", b/a}')x"
  stop_lighttpd
}

# push_targets NAME WORK: repository NAME on guts-node and on `git http-backend` (lighttpd
# started), and a work tree WORK whose first commit both already hold.
push_targets() {
  local name=$1 work=$2
  "$BUILD/bin/guts" repo create "$name" >/dev/null
  git init -q -b main "$work"
  git -C "$work" commit -q --allow-empty -m start
  git -C "$work" push -q "$REMOTE_BASE/$name.git" main
  mkdir -p "$W/www/repos"
  git init -q --bare "$W/www/repos/$name.git"
  git -C "$W/www/repos/$name.git" config http.receivepack true
  start_lighttpd
  for _ in $(seq 1 100); do curl -fs "$LIGHTTPD_URL/$name.git/info/refs?service=git-receive-pack" >/dev/null && break; sleep 0.1; done
  git -C "$work" push -q "$LIGHTTPD_URL/$name.git" main
}

bench_push() {
  echo "== 1 MB push latency ($PUSHES pushes)"
  local work=$W/pushlat
  # References measured in the same loop, each push interleaved with the node's: the same push
  # to `git http-backend` behind lighttpd (git's own smart HTTP server: HTTP, CGI and
  # receive-pack, no consensus), and to a local bare repository (file://, no HTTP at all).
  push_targets pushlat "$work"
  git init -q --bare "$W/pushlat-ref.git"
  git -C "$work" push -q "$W/pushlat-ref.git" main
  : >"$W/push-times"; : >"$W/push-backend-times"; : >"$W/push-ref-times"
  timed_push() {  # url file
    local s; s=$(now_ms)
    git -C "$work" push -q "$1" main
    echo $(( $(now_ms) - s )) >>"$2"
  }
  for i in $(seq 1 "$PUSHES"); do
    head -c 1000000 /dev/urandom >"$work/blob-$i.bin"
    git -C "$work" add "blob-$i.bin"
    git -C "$work" commit -q -m "1 MB #$i"
    # The order turns each time, so that none of the three always follows another.
    case $((i % 3)) in
      0) timed_push "$REMOTE_BASE/pushlat.git" "$W/push-times"
         timed_push "$LIGHTTPD_URL/pushlat.git" "$W/push-backend-times"
         timed_push "$W/pushlat-ref.git" "$W/push-ref-times" ;;
      1) timed_push "$LIGHTTPD_URL/pushlat.git" "$W/push-backend-times"
         timed_push "$W/pushlat-ref.git" "$W/push-ref-times"
         timed_push "$REMOTE_BASE/pushlat.git" "$W/push-times" ;;
      *) timed_push "$W/pushlat-ref.git" "$W/push-ref-times"
         timed_push "$REMOTE_BASE/pushlat.git" "$W/push-times"
         timed_push "$LIGHTTPD_URL/pushlat.git" "$W/push-backend-times" ;;
    esac
  done
  stop_lighttpd
  local g b
  g=$(percentile 95 "$W/push-times"); b=$(percentile 95 "$W/push-backend-times")
  echo "1 MB push via guts-node:        p50 $(percentile 50 "$W/push-times") ms, p95 $g ms, max $(sort -n "$W/push-times" | tail -1) ms"
  echo "1 MB push via git http-backend: p50 $(percentile 50 "$W/push-backend-times") ms, p95 $b ms, max $(sort -n "$W/push-backend-times" | tail -1) ms"
  echo "1 MB push to file:// (git's receive-pack, no HTTP): p50 $(percentile 50 "$W/push-ref-times") ms, p95 $(percentile 95 "$W/push-ref-times") ms"
  echo "p95 ratio guts-node / http-backend: $(awk -v a="$g" -v b="$b" 'BEGIN{printf "%.2f", a/b}')x"
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
}

bench_bigpush() {
  echo "== ${BIG_MB} MB push time ($BIG_PUSHES pushes)"
  local work=$W/bigpush
  push_targets bigpush "$work"
  : >"$W/big-times"; : >"$W/big-backend-times"
  local i s
  for i in $(seq 1 "$BIG_PUSHES"); do
    head -c $((BIG_MB * 1000000)) /dev/urandom >"$work/big-$i.bin"
    git -C "$work" add "big-$i.bin"
    git -C "$work" commit -q -m "${BIG_MB} MB #$i"
    # Turning order, as in bench_push.
    for target in $( ((i % 2)) && echo "guts backend" || echo "backend guts"); do
      s=$(now_ms)
      if [ "$target" = guts ]; then
        git -C "$work" push -q "$REMOTE_BASE/bigpush.git" main
        echo $(( $(now_ms) - s )) >>"$W/big-times"
      else
        git -C "$work" push -q "$LIGHTTPD_URL/bigpush.git" main
        echo $(( $(now_ms) - s )) >>"$W/big-backend-times"
      fi
    done
  done
  stop_lighttpd
  echo "${BIG_MB} MB push via guts-node:        $(sort -n "$W/big-times" | tr '\n' ' ')ms (median $(percentile 50 "$W/big-times") ms)"
  echo "${BIG_MB} MB push via git http-backend: $(sort -n "$W/big-backend-times" | tr '\n' ' ')ms (median $(percentile 50 "$W/big-backend-times") ms)"
}

bench_rss() {
  echo "== node memory during a 1 GB push"
  "$BUILD/bin/guts" repo create gig >/dev/null
  local work=$W/gig
  git init -q -b main "$work"
  for i in 1 2 3 4 5; do head -c 200000000 /dev/urandom >"$work/part$i.bin"; done
  git -C "$work" add . && git -C "$work" commit -q -m "1 GB"
  local before; before=$(awk '/VmRSS/{print $2}' /proc/$NODE_PID/status)
  git -C "$work" push -q "$REMOTE_BASE/gig.git" main &
  local push=$! max=0 rss
  local s; s=$(now_ms)
  while kill -0 $push 2>/dev/null; do
    rss=$(awk '/VmRSS/{print $2}' /proc/$NODE_PID/status)
    [ "$rss" -gt "$max" ] && max=$rss
    sleep 0.05
  done
  wait $push
  echo "1 GB push: $(( $(now_ms) - s )) ms; node RSS before ${before} KiB, max sampled $((max / 1024)) MiB, VmHWM $(awk '/VmHWM/{print int($2/1024)}' /proc/$NODE_PID/status) MiB"
}

start_node
sign_up
case "$WHAT" in
  clone) bench_clone ;;
  push) bench_push ;;
  rss) bench_rss ;;
  bigpush) bench_bigpush ;;
  all) bench_push; bench_rss; bench_clone ;;
  *) echo "unknown benchmark $WHAT" >&2; exit 2 ;;
esac
