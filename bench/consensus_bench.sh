#!/usr/bin/env bash
# Consensus figures on loopback (docs/benchmarks.md, "Consensus"): starts N guts-node validators
# (separate processes, Simplex over the Noise transport), runs guts-bench-consensus against
# them, stops the nodes cleanly and prints each node's proposal→finalization figures
# (<data>/consensus/stats.json, written at shutdown; a node measures its own proposals).
#
#   bench/consensus_bench.sh [BUILD_DIR] [N] -- <guts-bench-consensus options without --node>
#   e.g. bench/consensus_bench.sh build 4 -- --mode flood --clients 64 --txs-per-client 200
set -euo pipefail
# Load from a few keys: the door's rate limit for low-reputation identities is off (docs/reputation.md).
export GUTS_DOOR_LIMIT_MIN_REPUTATION=${GUTS_DOOR_LIMIT_MIN_REPUTATION:-0}
BUILD=${1:-build}
N=${2:-4}
shift $(( $# >= 2 ? 2 : $# ))
[[ "${1:-}" == "--" ]] && shift
W=$(mktemp -d /tmp/guts-consensus-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

"$BUILD/bin/guts-node" init-genesis --validators "$N" --out "$W" >/dev/null
NODES=()
for ((i = 0; i < N; i++)); do
  addr=$(python3 -c "import json,sys; print(json.load(open('$W/genesis.json'))['validators'][$i]['p2p_address'])")
  "$BUILD/bin/guts-node" --validator --genesis-file "$W/genesis.json" --data-dir "$W/node$i" \
    --p2p-addr "$addr" --api-addr 127.0.0.1:0 --port-file "$W/node$i/api.port" --log-level warn \
    2>"$W/node$i/node.log" &
  PIDS+=($!)
done
for ((i = 0; i < N; i++)); do
  for _ in $(seq 1 600); do [[ -s "$W/node$i/api.port" ]] && break; sleep 0.05; done
  NODES+=(--node "http://127.0.0.1:$(cat "$W/node$i/api.port")")
done
"$BUILD/bin/guts-bench-consensus" "${NODES[@]}" "$@"
cleanup
PIDS=()
for ((i = 0; i < N; i++)); do
  python3 - "$W/node$i/consensus/stats.json" "$i" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
f, a = s["proposal_to_finalized"], s["proposal_to_applied"]
print(f"node{sys.argv[2]}: {f['count']} own proposals; proposal->finalized p50 {f['p50_ms']:.1f} ms "
      f"p99 {f['p99_ms']:.1f} ms; ->applied p50 {a['p50_ms']:.1f} ms p99 {a['p99_ms']:.1f} ms; "
      f"{s['blocks_applied']} blocks, {s['transactions_applied']} txs applied")
EOF
done
rm -rf "$W"
