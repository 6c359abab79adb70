#!/bin/sh
# Creates a network for deploy/docker/docker-compose.yml in OUT (default /network), once:
#   OUT/genesis.json          N validators at validator<i>:9000 (guts-node init-genesis)
#   OUT/node<i>/node.key      validator i's key and signing guard
#   OUT/full<j>.toml          full node j's config file: data-dir OUT/full<j>, the genesis,
#                             validator0 as bootstrap peer (docs/configuration.md)
# Usage: guts-init-network [--out DIR] [--validators N] [--full-nodes M]. An existing
# OUT/genesis.json is kept (exit 0): restarting the compose project resumes the network.
# GUTS_NODE_BIN selects the guts-node binary (default: guts-node from PATH).
set -eu
out=/network
validators=4
full_nodes=1
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --validators) validators=$2; shift 2 ;;
    --full-nodes) full_nodes=$2; shift 2 ;;
    *) echo "usage: guts-init-network [--out DIR] [--validators N] [--full-nodes M]" >&2; exit 2 ;;
  esac
done
node=${GUTS_NODE_BIN:-guts-node}
if [ -f "$out/genesis.json" ]; then
  echo "guts-init-network: $out/genesis.json exists; keeping the network"
  exit 0
fi
set -- init-genesis --validators "$validators" --out "$out" --chain-id "guts-compose-$(date +%s)"
i=0
while [ "$i" -lt "$validators" ]; do
  set -- "$@" --validator-addr "validator$i:9000"
  i=$((i + 1))
done
summary=$("$node" "$@")
echo "$summary"
# "node0 did:key:… p2p validator0:9000 data-dir …"
boot=$(echo "$summary" | awk '$1 == "node0" { print $2 "@" $4 }')
[ -n "$boot" ] || { echo "guts-init-network: no node0 in the init-genesis output" >&2; exit 1; }
j=0
while [ "$j" -lt "$full_nodes" ]; do
  cat > "$out/full$j.toml.tmp" <<TOML
# full$j: a full node of the compose network (written by guts-init-network)
data-dir = "$out/full$j"
genesis-file = "$out/genesis.json"
validator = false
bootstrap = ["$boot"]
external-addr = ["full$j:9000"]
TOML
  mv "$out/full$j.toml.tmp" "$out/full$j.toml"
  "$node" config check --config "$out/full$j.toml" > /dev/null
  j=$((j + 1))
done
echo "guts-init-network: $validators validators, $full_nodes full node(s) in $out"
