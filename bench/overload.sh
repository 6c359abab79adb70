#!/usr/bin/env bash
# Overload figures (issue 19 point 3; docs/benchmarks.md "Back-pressure under overload"): starts
# VALIDATORS guts-node validators on loopback and floods them (guts-bench-consensus --mode flood: CLIENTS submitters
# of ~1 KB signed transactions with ?wait=false, each sending its next one as soon as the door
# answered, and offering a refused one (503/429) again after its Retry-After), so transactions are offered
# faster than the node finalizes them. Prints the finalized rate, the refusals, the most
# transactions that waited for a block at once (sampled from /metrics every 100 ms; divided by
# the rate, the wait an accepted transaction had) and the node's memory (VmHWM: peak RSS), once
# for each door setting in DOORS.
#
#   bench/overload.sh BUILD_DIR
#   e.g. TXS=200 CLIENTS=256 DOORS="2000 0" bench/overload.sh build
#
# Environment: VALIDATORS (4; the clients spread over them; the waiting count and memory are
# the first node's), TXS (200 per client), CLIENTS (256), DOORS ("2000 0": values of
# --door-max-wait-ms; 0 is the door without the backlog bound, only the mempool's size).
set -euo pipefail
BUILD=$(cd "${1:?usage: overload.sh BUILD_DIR}" && pwd)
VALIDATORS=${VALIDATORS:-4}
TXS=${TXS:-200}
CLIENTS=${CLIENTS:-256}
DOORS=${DOORS:-"2000 0"}
export GUTS_DOOR_LIMIT_MIN_REPUTATION=0  # fresh keys: the reputation rate limit is off
W=$(mktemp -d /tmp/guts-overload.XXXXXX)
# shellcheck source=bench/network_lib.sh
source "$(dirname "$0")/network_lib.sh"
trap 'stop_nodes; rm -rf "$W"' EXIT

printf '%-8s %12s %10s %10s %12s %10s %9s\n' door_ms transactions final_tx_s refused \
  max_waiting wait_s hwm_mib
for door in $DOORS; do
  d=$W/door$door
  start_network "$VALIDATORS" "$d" --door-max-wait-ms "$door"
  NODE_PID=${PIDS[0]}
  url=${NODES[1]}
  # The most transactions waiting at once, sampled while the flood runs.
  (
    max=0
    while kill -0 "$NODE_PID" 2>/dev/null && [[ ! -e "$d/done" ]]; do
      n=$(curl -fs "$url/metrics" | awk '/^guts_mempool_transactions / {print int($2)}' || true)
      if [[ -n "$n" ]] && ((n > max)); then max=$n; echo "$max" >"$d/max_waiting"; fi
      sleep 0.1
    done
  ) &
  SAMPLER=$!
  out=$("$BUILD/bin/guts-bench-consensus" "${NODES[@]}" --mode flood --clients "$CLIENTS" \
    --txs-per-client "$TXS" 2>>"$W/bench.err" || true)
  touch "$d/done"
  wait "$SAMPLER" 2>/dev/null || true
  rate=$(sed -n 's/^finalized and applied \([0-9]*\) tx\/s.*/\1/p' <<<"$out")
  if [[ -z "$rate" ]]; then
    echo "door $door: the run failed" >&2
    echo "$out" >&2
    tail -5 "$W/bench.err" >&2
    exit 1
  fi
  if ! grep -q 'failures 0,' <<<"$out"; then
    echo "door $door: some clients failed" >&2
    echo "$out" >&2
    tail -5 "$W/bench.err" >&2
    exit 1
  fi
  refused=$(sed -n 's/.*refused and offered again \([0-9]*\).*/\1/p' <<<"$out")
  max_waiting=$(cat "$d/max_waiting" 2>/dev/null || echo 0)
  hwm=$(awk '/^VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$NODE_PID/status")
  wait_s=$(python3 -c "print(f'{$max_waiting / max(1, $rate):.1f}')")
  printf '%-8s %12s %10s %10s %12s %10s %9s\n' "$door" "$((TXS * CLIENTS))" "$rate" \
    "${refused:-0}" "$max_waiting" "$wait_s" "$hwm"
  stop_nodes
done
