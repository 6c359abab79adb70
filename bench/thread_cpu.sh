#!/usr/bin/env bash
# CPU per finalized transaction, by node thread (issue 19 point 4; docs/benchmarks.md "Where one
# node's CPU goes"): starts a fresh one-validator guts-node, floods it with ~1 KB signed
# create_issue transactions (guts-bench-consensus --mode flood) and reads each thread's CPU time
# from /proc/<pid>/task/*/stat before and after, summed by thread name (the node names its
# long-lived threads: guts-http, guts-commit, guts-ledger, guts-index, ...). The client runs on
# the same machine; its own CPU is printed apart.
#
#   bench/thread_cpu.sh BUILD_DIR [TXS_PER_CLIENT] [CLIENTS]    e.g. bench/thread_cpu.sh build 200 128
set -euo pipefail
BUILD=$(cd "${1:?usage: thread_cpu.sh BUILD_DIR [TXS_PER_CLIENT] [CLIENTS]}" && pwd)
PER_CLIENT=${2:-200}
CLIENTS=${3:-128}
export GUTS_DOOR_LIMIT_MIN_REPUTATION=0  # fresh identities: no reputation-based door limit
W=$(mktemp -d /tmp/guts-thread-cpu.XXXXXX)
NODE=
cleanup() {
  if [[ -n "$NODE" ]]; then
    kill -TERM "$NODE" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$NODE" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$NODE" 2>/dev/null || true
    wait "$NODE" 2>/dev/null || true
  fi
  rm -rf "$W"
}
command -v curl >/dev/null || { echo "thread_cpu.sh: curl is required" >&2; exit 1; }
trap cleanup EXIT
"$BUILD/bin/guts-node" --data-dir "$W/node" --api-addr 127.0.0.1:0 --p2p-addr 127.0.0.1:0 \
  --port-file "$W/api.port" --log-level warn --rate-limit-anonymous 0 >/dev/null 2>"$W/node.log" &
NODE=$!
for _ in $(seq 1 600); do [[ -s "$W/api.port" ]] && break; sleep 0.05; done
URL="http://127.0.0.1:$(cat "$W/api.port")"
for _ in $(seq 1 300); do curl -fs "$URL/api/guts/status" >/dev/null && break; sleep 0.1; done
# A short flood first: the node's caches and the client's set-up path warm.
"$BUILD/bin/guts-bench-consensus" --node "$URL" --mode flood --clients "$CLIENTS" --txs-per-client 10 >/dev/null
ticks() {  # utime + stime of a /proc stat file (the fields after "(comm)", which may hold spaces)
  sed 's/.*) //' "$1" | awk '{print $12 + $13}'
}
snapshot() {  # thread name -> CPU ticks, summed; then the whole process's (threads that ended too)
  for t in /proc/"$NODE"/task/*; do
    printf '%s %s\n' "$(tr ' ' '_' <"$t/comm")" "$(ticks "$t/stat")"
  done | awk '{a[$1] += $2} END {for (k in a) print k, a[k]}' | LC_ALL=C sort -k1,1
}
snapshot >"$W/before"
process_before=$(ticks /proc/"$NODE"/stat)
/usr/bin/time -o "$W/client.time" -f '%U %S' "$BUILD/bin/guts-bench-consensus" --node "$URL" \
  --mode flood --clients "$CLIENTS" --txs-per-client "$PER_CLIENT" >"$W/flood.out" 2>/dev/null
snapshot >"$W/after"
process_after=$(ticks /proc/"$NODE"/stat)
client_cpu=$(tail -1 "$W/client.time")
TXS=$((CLIENTS * PER_CLIENT))
HZ=$(getconf CLK_TCK)
grep -E "finalized|blocks" "$W/flood.out"
echo "client CPU: $(awk -v c="$client_cpu" -v n=$TXS 'BEGIN {split(c, a, " "); printf "%.1f us/tx", (a[1] + a[2]) * 1e6 / n}')"
echo "node CPU per finalized transaction, by thread (set-up of the run's identities included):"
LC_ALL=C join -a 2 -e 0 -o 0,1.2,2.2 "$W/before" "$W/after" |
  awk -v n=$TXS -v hz="$HZ" '{d = ($3 - $2) * 1e6 / hz / n; if (d > 0) printf "  %-16s %7.1f us\n", $1, d}'
# The process's own counters include threads that ended during the run.
awk -v a="$process_before" -v b="$process_after" -v n=$TXS -v hz="$HZ" \
  'BEGIN {printf "  %-16s %7.1f us\n", "total", (b - a) * 1e6 / hz / n}'
