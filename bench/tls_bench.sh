#!/usr/bin/env bash
# Clone over HTTPS vs HTTP from the same node (docs/benchmarks.md, "Clone over HTTPS").
#
#   bench/tls_bench.sh BUILD_DIR
#
# Generates a repository (bench/git_gen_repo.py), pushes it to a guts-node and repacks it
# (one pack + bitmap), then clones it RUNS times over HTTP; restarts the same node (same data
# directory) with a certificate of a throwaway CA (EC P-256, made with the openssl CLI) and
# clones it RUNS times over HTTPS (TLS 1.3); then RUNS times over HTTP again, and prints the
# medians and the ratio HTTPS / HTTP (over the median of both HTTP rounds).
#
# Environment: RUNS (default 5), COMMITS (default 5000), MB (default 60), KEEP=1 keeps the work
# directory.
set -euo pipefail

BUILD=$(cd "${1:?usage: tls_bench.sh BUILD_DIR}" && pwd)
RUNS=${RUNS:-5}
COMMITS=${COMMITS:-5000}
MB=${MB:-60}
HERE=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d /tmp/guts-tls-bench.XXXXXX)
NODE_PID=
cleanup() {
  [ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null && wait "$NODE_PID" 2>/dev/null || true
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
    --p2p-addr 127.0.0.1:0 --no-maintenance --log-level warn "$@" 2>>"$W/node.log" &
  NODE_PID=$!
  for _ in $(seq 1 600); do [ -s "$W/port" ] && break; sleep 0.1; done
  PORT=$(cat "$W/port")
}
stop_node() {
  kill "$NODE_PID" && wait "$NODE_PID" || true
  NODE_PID=
}
wait_ready() {  # url [curl args]
  local url=$1; shift
  for _ in $(seq 1 300); do curl -fs "$@" "$url/api/guts/status" >/dev/null && return; sleep 0.1; done
  echo "node not ready: $url" >&2; exit 1
}
median() { sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
clones() {  # label url
  : >"$W/times-$1"
  for _ in $(seq 1 "$RUNS"); do
    rm -rf "$W/clone"
    local s; s=$(now_ms)
    git clone -q --bare "$2" "$W/clone"
    echo $(( $(now_ms) - s )) >>"$W/times-$1"
  done
  echo "$1: median $(median "$W/times-$1") ms [$(tr '\n' ' ' <"$W/times-$1")]"
}

# A throwaway CA and a certificate for 127.0.0.1.
mkdir -p "$W/tls"
printf '[req]\ndistinguished_name=dn\nprompt=no\n[dn]\nCN=x\n[ext]\nsubjectAltName=IP:127.0.0.1\n' >"$W/tls/cnf"
openssl req -x509 -config "$W/tls/cnf" -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$W/tls/ca.key" -out "$W/tls/ca.pem" -subj /CN=bench-ca -days 1 2>/dev/null
openssl req -new -config "$W/tls/cnf" -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$W/tls/key.pem" -out "$W/tls/csr" -subj /CN=127.0.0.1 2>/dev/null
openssl x509 -req -in "$W/tls/csr" -CA "$W/tls/ca.pem" -CAkey "$W/tls/ca.key" -set_serial 1 \
  -days 1 -extfile "$W/tls/cnf" -extensions ext -out "$W/tls/cert.pem" 2>/dev/null

start_node
export GUTS_NODE=http://127.0.0.1:$PORT
wait_ready "$GUTS_NODE"
"$BUILD/bin/guts" identity new >/dev/null
"$BUILD/bin/guts" auth login --username bench >/dev/null
TOKEN=$(python3 -c "import json; print(json.load(open('$GUTS_HOME/config.json'))['logins']['$GUTS_NODE']['token'])")
git init -q -b main "$W/src"
python3 "$HERE/git_gen_repo.py" "$COMMITS" 2000 "$MB" | (cd "$W/src" && git fast-import --quiet)
"$BUILD/bin/guts" repo create big >/dev/null
git -C "$W/src" push -q "http://bench:$TOKEN@127.0.0.1:$PORT/bench/big.git" main
ID=$("$BUILD/bin/guts" repo show bench/big --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
git -C "$W/node/repos/$ID.git" repack -A -d -b -q --write-midx
echo "repository: $(du -sm "$W/node/repos/$ID.git/objects/pack" | cut -f1) MB packed, $COMMITS commits"

# Warm the page cache once, then the rounds.
git clone -q --bare "http://127.0.0.1:$PORT/bench/big.git" "$W/warm" && rm -rf "$W/warm"
clones http1 "http://127.0.0.1:$PORT/bench/big.git"
stop_node
start_node --tls-cert-file "$W/tls/cert.pem" --tls-key-file "$W/tls/key.pem"
wait_ready "https://127.0.0.1:$PORT" --cacert "$W/tls/ca.pem"
GIT_SSL_CAINFO=$W/tls/ca.pem clones https "https://127.0.0.1:$PORT/bench/big.git"
stop_node
start_node
wait_ready "http://127.0.0.1:$PORT"
clones http2 "http://127.0.0.1:$PORT/bench/big.git"
cat "$W/times-http1" "$W/times-http2" >"$W/times-http"
H=$(median "$W/times-http")
S=$(median "$W/times-https")
echo "HTTP median ${H} ms, HTTPS median ${S} ms: HTTPS/HTTP = $(awk -v s="$S" -v h="$H" 'BEGIN{printf "%.2f", s/h}')x"
