#!/usr/bin/env bash
# Network benchmarks: 4 validators + 1 full node as separate guts-node processes on loopback
# (results in docs/benchmarks.md, "## The network").
#
#   bench/network_bench.sh BUILD_DIR [push|pushers|clone|all]
#
#   push     PUSHES pushes of a 1 MB commit, rotating over the five nodes: time from `git push`
#            start to its exit (`ok`), and from push start until the new commit is advertised by
#            every node (info/refs of all five, polled every 5 ms); p50/p95
#   pushers  PUSHERS concurrent pushers (one repository each, small commits, pushing through
#            different nodes) for DURATION seconds: finalized ref updates per second
#   clone    clone of a generated repository (COMMITS commits, ~MB MB) from the full node vs
#            from a single-node guts-node holding the same repository; median of RUNS
#
# Environment: PUSHES (30), PUSHERS (8), DURATION (20), RUNS (3), COMMITS (5000), MB (30),
# KEEP=1 keeps the work directory, LOG_LEVEL (warn) the nodes' log level. Consensus timeouts:
# the init-genesis defaults.
set -euo pipefail

BUILD=$(cd "${1:?usage: network_bench.sh BUILD_DIR [push|pushers|clone|all]}" && pwd)
WHAT=${2:-all}
PUSHES=${PUSHES:-30}
PUSHERS=${PUSHERS:-8}
SECONDS_=${DURATION:-20}
RUNS=${RUNS:-3}
COMMITS=${COMMITS:-5000}
MB=${MB:-30}
HERE=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d /tmp/guts-net-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -z "${KEEP:-}" ] && rm -rf "$W"
  return 0
}
trap cleanup EXIT

export HOME=$W/home GUTS_HOME=$W/home/guts GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0 LC_ALL=C
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
mkdir -p "$HOME"
now_ms() { date +%s%3N; }
percentile() {  # p file
  sort -n "$2" | awk -v p="$1" '{a[NR]=$1} END {i=int((NR*p+99)/100); if(i<1)i=1; print a[i]}'
}

# ---- the network
start_node() {  # name args...
  local name=$1; shift
  mkdir -p "$W/net/$name"
  "$BUILD/bin/guts-node" --data-dir "$W/net/$name" --api-addr 127.0.0.1:0 \
    --port-file "$W/net/$name/port" --log-level "${LOG_LEVEL:-warn}" "$@" 2>>"$W/net/$name/node.log" &
  PIDS+=($!)
}
wait_port() {  # name -> URL in $URL
  for _ in $(seq 1 600); do [ -s "$W/net/$1/port" ] && break; sleep 0.1; done
  URL=http://127.0.0.1:$(cat "$W/net/$1/port")
  for _ in $(seq 1 300); do curl -fs "$URL/api/guts/status" >/dev/null && return 0; sleep 0.1; done
  echo "node $1 did not start" >&2; exit 1
}

"$BUILD/bin/guts-node" init-genesis --validators 4 --out "$W/net" >"$W/init.txt"
for i in 0 1 2 3; do
  addr=$(awk -v n="node$i" '$1==n {print $4}' "$W/init.txt")
  start_node "node$i" --genesis-file "$W/net/genesis.json" --p2p-addr "$addr" --validator
done
did0=$(awk '$1=="node0" {print $2}' "$W/init.txt")
addr0=$(awk '$1=="node0" {print $4}' "$W/init.txt")
start_node full0 --genesis-file "$W/net/genesis.json" --no-validator --p2p-addr 127.0.0.1:0 \
  --bootstrap "$did0@$addr0"
NODES=(node0 node1 node2 node3 full0)
declare -A URLS
for n in "${NODES[@]}"; do wait_port "$n"; URLS[$n]=$URL; done
echo "network up: ${URLS[*]}"

# One identity, logged in on every node (tokens are node-local); git authenticates with them.
"$BUILD/bin/guts" identity new >/dev/null
declare -A REMOTE
for n in "${NODES[@]}"; do
  "$BUILD/bin/guts" --node "${URLS[$n]}" auth login --username bench >/dev/null
  tok=$(python3 -c "import json; print(json.load(open('$GUTS_HOME/config.json'))['logins']['${URLS[$n]}']['token'])")
  REMOTE[$n]="http://bench:$tok@${URLS[$n]#http://}/bench"
done

advertised() {  # node repo sha: does the node's info/refs show sha?
  curl -fs "${URLS[$1]}/bench/$2.git/info/refs?service=git-upload-pack" 2>/dev/null | grep -q "$3"
}

bench_push() {
  echo "== 1 MB push through a rotating node ($PUSHES pushes); clonable from all five"
  "$BUILD/bin/guts" --node "${URLS[node0]}" repo create pushlat >/dev/null
  local work=$W/pushlat
  git init -q -b main "$work"
  git -C "$work" commit -q --allow-empty -m start
  git -C "$work" push -q "${REMOTE[node0]}/pushlat.git" main
  : >"$W/push-times"; : >"$W/visible-times"
  for i in $(seq 1 "$PUSHES"); do
    local via=${NODES[$((i % 5))]}
    head -c 1000000 /dev/urandom >"$work/blob-$i.bin"
    git -C "$work" add "blob-$i.bin"
    git -C "$work" commit -q -m "1 MB #$i"
    local sha; sha=$(git -C "$work" rev-parse HEAD)
    local s; s=$(now_ms)
    git -C "$work" push -q "${REMOTE[$via]}/pushlat.git" main
    echo $(( $(now_ms) - s )) >>"$W/push-times"
    local left=("${NODES[@]}")
    while [ ${#left[@]} -gt 0 ]; do
      local next=()
      for n in "${left[@]}"; do advertised "$n" pushlat "$sha" || next+=("$n"); done
      left=("${next[@]}")
      [ ${#left[@]} -gt 0 ] && sleep 0.005
      if [ $(( $(now_ms) - s )) -gt 60000 ]; then echo "push $i not visible on ${left[*]}" >&2; exit 1; fi
    done
    echo $(( $(now_ms) - s )) >>"$W/visible-times"
  done
  echo "git push -> ok:                 p50 $(percentile 50 "$W/push-times") ms, p95 $(percentile 95 "$W/push-times") ms, max $(sort -n "$W/push-times" | tail -1) ms"
  echo "git push -> visible on all 5:   p50 $(percentile 50 "$W/visible-times") ms, p95 $(percentile 95 "$W/visible-times") ms, max $(sort -n "$W/visible-times" | tail -1) ms"
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
}

bench_pushers() {
  echo "== $PUSHERS concurrent pushers for ${SECONDS_} s"
  for p in $(seq 1 "$PUSHERS"); do
    "$BUILD/bin/guts" --node "${URLS[node0]}" repo create "conc$p" >/dev/null
    git init -q -b main "$W/conc$p"
    git -C "$W/conc$p" commit -q --allow-empty -m start
  done
  local end=$(( $(now_ms) + SECONDS_ * 1000 ))
  local pids=()
  for p in $(seq 1 "$PUSHERS"); do
    (
      n=0; via=${NODES[$((p % 5))]}
      while [ "$(now_ms)" -lt "$end" ]; do
        echo "$n" >"$W/conc$p/f"; git -C "$W/conc$p" add f; git -C "$W/conc$p" commit -q -m "c$n"
        git -C "$W/conc$p" push -q "${REMOTE[$via]}/conc$p.git" main && n=$((n + 1))
      done
      echo "$n" >"$W/conc$p.count"
    ) &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  local total=0
  for p in $(seq 1 "$PUSHERS"); do total=$((total + $(cat "$W/conc$p.count"))); done
  echo "finalized ref updates: $total in ${SECONDS_} s = $(awk -v t="$total" -v s="$SECONDS_" 'BEGIN{printf "%.1f", t/s}')/s"
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
}

bench_clone() {
  echo "== clone from the full node vs a single node (commits=$COMMITS, ~${MB} MB)"
  local src=$W/src
  git init -q -b main "$src"
  python3 "$HERE/git_gen_repo.py" "$COMMITS" 2000 "$MB" | (cd "$src" && git fast-import --quiet)
  local sha; sha=$(git -C "$src" rev-parse main)
  "$BUILD/bin/guts" --node "${URLS[node0]}" repo create big >/dev/null
  local s; s=$(now_ms)
  git -C "$src" push -q "${REMOTE[node0]}/big.git" main
  echo "push: $(( $(now_ms) - s )) ms"
  for _ in $(seq 1 6000); do advertised full0 big "$sha" && break; sleep 0.01; done
  echo "replicated to the full node after $(( $(now_ms) - s )) ms from push start"
  # The single-node reference: a one-validator guts-node with the same repository pushed to it.
  start_node single
  wait_port single
  local single=$URL
  "$BUILD/bin/guts" --node "$single" auth login --username bench >/dev/null
  local stok; stok=$(python3 -c "import json; print(json.load(open('$GUTS_HOME/config.json'))['logins']['$single']['token'])")
  "$BUILD/bin/guts" --node "$single" repo create big >/dev/null
  git -C "$src" push -q "http://bench:$stok@${single#http://}/bench/big.git" main
  run_clones() {  # label url
    : >"$W/times-$1"
    for _ in $(seq 1 "$RUNS"); do
      rm -rf "$W/clone"
      local t; t=$(now_ms)
      git clone -q --bare "$2" "$W/clone"
      echo $(( $(now_ms) - t )) >>"$W/times-$1"
      [ "$(git -C "$W/clone" rev-parse main)" = "$sha" ] || { echo "clone from $1 differs" >&2; exit 1; }
    done
    eval "MED_$1=$(percentile 50 "$W/times-$1")"
    echo "$1: median $(percentile 50 "$W/times-$1") ms [$(tr '\n' ' ' <"$W/times-$1")]"
  }
  run_clones full "${URLS[full0]}/bench/big.git"
  run_clones single "$single/bench/big.git"
  echo "throughput ratio full node / single node: $(awk -v a="$MED_full" -v b="$MED_single" 'BEGIN{printf "%.2f", b/a}')x"
}

case "$WHAT" in
  push) bench_push ;;
  pushers) bench_pushers ;;
  clone) bench_clone ;;
  all) bench_push; bench_pushers; bench_clone ;;
  *) echo "unknown benchmark $WHAT" >&2; exit 2 ;;
esac
