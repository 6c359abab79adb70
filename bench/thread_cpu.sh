#!/usr/bin/env bash
# CPU per finalized transaction, by node thread (issue 19 point 4; docs/benchmarks.md "Where one
# node's CPU goes"): starts a fresh network (by default the one-validator guts-node; with
# VALIDATORS=N, N validator processes on loopback), floods it with ~1 KB signed create_issue
# transactions (guts-bench-consensus --mode flood, clients spread over the nodes) and reads
# each thread's CPU time from /proc/<pid>/task/*/stat before and after, summed by thread name
# over the nodes (the node names its long-lived threads: guts-http, guts-commit, guts-ledger,
# guts-index, guts-verify, ...), then each node's total. The client runs on the same machine;
# its own CPU is printed apart.
#
#   [VALIDATORS=N] [BATCH=B] bench/thread_cpu.sh BUILD_DIR [TXS_PER_CLIENT] [CLIENTS]
#   e.g. bench/thread_cpu.sh build 200 128;  VALIDATORS=4 bench/thread_cpu.sh build 50 128
# BATCH=B: each client sends B transactions per request (POST /api/guts/transactions/batch).
set -euo pipefail
BUILD=$(cd "${1:?usage: thread_cpu.sh BUILD_DIR [TXS_PER_CLIENT] [CLIENTS]}" && pwd)
PER_CLIENT=${2:-200}
CLIENTS=${3:-128}
VALIDATORS=${VALIDATORS:-1}
BATCH_ARGS=()
if ((${BATCH:-1} > 1)); then BATCH_ARGS=(--batch "$BATCH"); fi
export GUTS_DOOR_LIMIT_MIN_REPUTATION=0  # fresh identities: no reputation-based door limit
W=$(mktemp -d /tmp/guts-thread-cpu.XXXXXX)
# shellcheck source=bench/network_lib.sh
source "$(dirname "$0")/network_lib.sh"
cleanup() {
  stop_nodes
  rm -rf "$W"
}
command -v curl >/dev/null || { echo "thread_cpu.sh: curl is required" >&2; exit 1; }
trap cleanup EXIT
if ((VALIDATORS == 1)); then  # the default embedded network, as `guts-node` alone starts it
  "$BUILD/bin/guts-node" --data-dir "$W/node" --api-addr 127.0.0.1:0 --p2p-addr 127.0.0.1:0 \
    --port-file "$W/api.port" --log-level warn --rate-limit-anonymous 0 >/dev/null 2>"$W/node.log" &
  PIDS+=($!)
  for _ in $(seq 1 600); do [[ -s "$W/api.port" ]] && break; sleep 0.05; done
  URL="http://127.0.0.1:$(cat "$W/api.port")"
  for _ in $(seq 1 300); do curl -fs "$URL/api/guts/status" >/dev/null && break; sleep 0.1; done
  NODES=(--node "$URL")
else
  start_network "$VALIDATORS" "$W/net"
fi
# A short flood first: the node's caches and the client's set-up path warm.
"$BUILD/bin/guts-bench-consensus" "${NODES[@]}" --mode flood --clients "$CLIENTS" --txs-per-client 10 >/dev/null
ticks() {  # utime + stime of a /proc stat file (the fields after "(comm)", which may hold spaces)
  sed 's/.*) //' "$1" | awk '{print $12 + $13}'
}
snapshot() {  # thread name -> CPU ticks, summed over every node's threads
  for pid in "${PIDS[@]}"; do
    for t in /proc/"$pid"/task/*; do
      printf '%s %s\n' "$(tr ' ' '_' <"$t/comm")" "$(ticks "$t/stat")"
    done
  done | awk '{a[$1] += $2} END {for (k in a) print k, a[k]}' | LC_ALL=C sort -k1,1
}
processes() {  # each node's own counters (threads that ended included)
  for pid in "${PIDS[@]}"; do ticks /proc/"$pid"/stat; done
}
snapshot >"$W/before"
processes >"$W/process.before"
/usr/bin/time -o "$W/client.time" -f '%U %S' "$BUILD/bin/guts-bench-consensus" "${NODES[@]}" \
  --mode flood --clients "$CLIENTS" --txs-per-client "$PER_CLIENT" "${BATCH_ARGS[@]}" >"$W/flood.out" 2>/dev/null
snapshot >"$W/after"
processes >"$W/process.after"
client_cpu=$(tail -1 "$W/client.time")
TXS=$((CLIENTS * PER_CLIENT))
HZ=$(getconf CLK_TCK)
grep -E "finalized|blocks|refused" "$W/flood.out"
echo "client CPU: $(awk -v c="$client_cpu" -v n=$TXS 'BEGIN {split(c, a, " "); printf "%.1f us/tx", (a[1] + a[2]) * 1e6 / n}')"
echo "node CPU per finalized transaction, by thread, summed over $VALIDATORS node(s) (set-up of the run's identities included):"
LC_ALL=C join -a 2 -e 0 -o 0,1.2,2.2 "$W/before" "$W/after" |
  awk -v n=$TXS -v hz="$HZ" '{d = ($3 - $2) * 1e6 / hz / n; if (d > 0) printf "  %-16s %7.1f us\n", $1, d}'
paste "$W/process.before" "$W/process.after" |
  awk -v n=$TXS -v hz="$HZ" '{d = ($2 - $1) * 1e6 / hz / n; t += d; printf "  node %-11d %7.1f us\n", NR - 1, d}
                             END {printf "  %-16s %7.1f us\n", "total", t}'
