# Sourced by the bench scripts that run a network of guts-node validators on loopback
# (throughput_figures.sh, overload.sh). Needs BUILD (the build directory) and W (a scratch
# directory); the caller traps EXIT with stop_nodes.
PIDS=()
NODES=()

# start_network N DIR [node args...]: N validators of a new genesis under DIR, each with the
# extra node args; waits until each answers. Sets NODES (--node URL ...) and appends to PIDS.
start_network() {
  local n=$1 d=$2
  shift 2
  mkdir -p "$d"
  "$BUILD/bin/guts-node" init-genesis --validators "$n" --out "$d" >/dev/null
  NODES=()
  for ((i = 0; i < n; i++)); do
    local addr
    addr=$(python3 -c "import json; print(json.load(open('$d/genesis.json'))['validators'][$i]['p2p_address'])")
    "$BUILD/bin/guts-node" --validator --genesis-file "$d/genesis.json" --data-dir "$d/node$i" \
      --p2p-addr "$addr" --api-addr 127.0.0.1:0 --port-file "$d/node$i/api.port" \
      --log-level "${NODE_LOG_LEVEL:-warn}" --rate-limit-anonymous 0 "$@" 2>"$d/node$i.log" &
    PIDS+=($!)
  done
  for ((i = 0; i < n; i++)); do
    for _ in $(seq 1 600); do [[ -s "$d/node$i/api.port" ]] && break; sleep 0.05; done
    local url="http://127.0.0.1:$(cat "$d/node$i/api.port")"
    for _ in $(seq 1 300); do curl -fs "$url/api/guts/status" >/dev/null && break; sleep 0.1; done
    NODES+=(--node "$url")
  done
}

stop_nodes() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}
