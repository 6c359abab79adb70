#!/usr/bin/env bash
# Throughput and latency figures (issue 19 point 4; docs/benchmarks.md "Latency against
# throughput"): for each network size in NETS, starts that many guts-node validators on loopback
# (separate processes, Simplex over Noise), offers increasing loads (RATES, transactions per
# second, ~1 KB signed transactions, guts-bench-consensus --mode rate: open loop, latency from
# each transaction's due time to its acknowledgement, i.e. submit -> finalized and applied on
# the node that took it), prints one row per load and writes a CSV and an SVG plot of p50/p99
# latency against the achieved throughput.
#
#   bench/throughput_figures.sh BUILD_DIR OUT_PREFIX
#   e.g. NETS="1 4" RATES="250 500 1000 2000 4000" DURATION=10 \
#        bench/throughput_figures.sh build /tmp/figures   # -> /tmp/figures.csv, /tmp/figures.svg
#
# Environment: NETS ("1 4"), RATES ("250 500 1000 2000 3000 4000 6000 8000"), DURATION (10 s
# per load), CLIENTS (256: concurrent submitters; each waits for its answer), STOP_P99_MS (2000:
# a network's sweep stops after the first load whose p99 exceeds it, saturation), BATCH (1: one
# request per transaction; B > 1: each client sends all its due transactions, at most B, in one
# waited POST /api/guts/transactions/batch).
set -euo pipefail
BUILD=$(cd "${1:?usage: throughput_figures.sh BUILD_DIR OUT_PREFIX}" && pwd)
OUT=${2:?usage: throughput_figures.sh BUILD_DIR OUT_PREFIX}
NETS=${NETS:-"1 4"}
RATES=${RATES:-"250 500 1000 2000 3000 4000 6000 8000"}
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-256}
STOP_P99_MS=${STOP_P99_MS:-2000}
BATCH=${BATCH:-1}
# Load from fresh keys: the door's rate limit for low-reputation identities is off (docs/reputation.md).
export GUTS_DOOR_LIMIT_MIN_REPUTATION=0
W=$(mktemp -d /tmp/guts-figures.XXXXXX)
# shellcheck source=bench/network_lib.sh
source "$(dirname "$0")/network_lib.sh"
trap 'stop_nodes; rm -rf "$W"' EXIT

echo "validators,offered_tx_s,achieved_tx_s,p50_ms,p99_ms,max_ms,refused,transactions" >"$OUT.csv"
printf '%-10s %10s %10s %9s %9s %8s\n' validators offered achieved p50_ms p99_ms refused
for n in $NETS; do
  start_network "$n" "$W/net$n"
  for rate in $RATES; do
    per_client=$(python3 -c "import math; print(max(1, math.ceil($rate * $DURATION / $CLIENTS)))")
    line=$("$BUILD/bin/guts-bench-consensus" "${NODES[@]}" --mode rate --rate "$rate" \
      --clients "$CLIENTS" --txs-per-client "$per_client" --batch "$BATCH" 2>>"$W/bench.err" |
      grep '^RESULT ' || true)
    if [[ -z "$line" ]]; then
      echo "validators $n, offered $rate: the run failed (see below)" >&2
      tail -5 "$W/bench.err" >&2
      break
    fi
    row=$(python3 -c "
import json, sys
r = json.loads(sys.argv[1][7:])
print(f\"$n,{r['offered']:.0f},{r['achieved']:.0f},{r['p50_ms']:.1f},{r['p99_ms']:.1f},{r['max_ms']:.1f},{r['refused']},{r['transactions']}\")
" "$line")
    echo "$row" >>"$OUT.csv"
    IFS=, read -r _ offered achieved p50 p99 _ refused _ <<<"$row"
    printf '%-10s %10s %10s %9s %9s %8s\n' "$n" "$offered" "$achieved" "$p50" "$p99" "$refused"
    if python3 -c "import sys; sys.exit(0 if float('$p99') > $STOP_P99_MS or int('$refused') > 0 else 1)"; then
      break  # saturated: p99 over the limit or the door pushed back
    fi
  done
  stop_nodes
done
python3 "$(dirname "$0")/plot_latency.py" "$OUT.csv" "$OUT.svg"
echo "wrote $OUT.csv and $OUT.svg"
