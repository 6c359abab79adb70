#!/usr/bin/env bash
# The cost of verification on clone (docs/benchmarks.md "Verified clones: guts:// against plain
# HTTP"; issue 18 point 6): the same repository cloned from the same node with the stock git
# over plain smart HTTP and through `git-remote-guts` (guts://: proof, finalization certificate,
# fetch into a private namespace, compare refs, walk every object), alternately, in one run.
#
#   bench/guts_clone_bench.sh BUILD_DIR [COMMITS=3000] [RUNS=7]
#
# Starts a guts-node (free port, fresh data directory), signs up `bench`, pushes a generated
# repository (bench/git_gen_repo.py: COMMITS commits over 300 files, ~20 MB), trusts the node's
# genesis (`guts network trust`) and adds it (`guts network nodes add`), then clones RUNS times
# each way and prints the medians and their ratio. Everything started here is stopped at exit.
set -euo pipefail
BIN=$(cd "$1/bin" && pwd)
COMMITS=${2:-3000}
RUNS=${3:-7}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/guts-clone-bench.XXXXXX")
NODE_PID=""
cleanup() {
  [ -n "$NODE_PID" ] && { kill "$NODE_PID" 2>/dev/null || true; wait "$NODE_PID" 2>/dev/null || true; }
  [ "${KEEP:-0}" = "1" ] && echo "kept $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN/guts-node" --api-addr 127.0.0.1:0 --p2p-addr 127.0.0.1:0 --port-file "$WORK/port" \
  --data-dir "$WORK/node" --log-level warn --rate-limit-anonymous 100000000 2>"$WORK/node.log" &
NODE_PID=$!
for _ in $(seq 1 600); do [ -s "$WORK/port" ] && break; sleep 0.05; done
URL="http://127.0.0.1:$(cat "$WORK/port")"
export GUTS_HOME="$WORK/home" PATH="$BIN:$PATH"
guts identity new >/dev/null
guts --node "$URL" auth login --username bench >/dev/null
guts --node "$URL" repo create big >/dev/null

git init -q --bare "$WORK/src.git"
python3 "$HERE/git_gen_repo.py" "$COMMITS" 300 20 | git -C "$WORK/src.git" fast-import --quiet
git -C "$WORK/src.git" -c credential.helper= -c "credential.helper=!$BIN/guts --node $URL credential" \
  push -q "$URL/bench/big.git" main
echo "# pushed $(du -sh "$WORK/src.git" | cut -f1) ($COMMITS commits)" >&2

guts network trust "$WORK/node/genesis.json" >/dev/null
guts network nodes add "$URL" >/dev/null

ms() { echo $(( $(date +%s%N) / 1000000 )); }
http=() guts=()
for i in $(seq 1 "$RUNS"); do
  t=$(ms); git clone -q "$URL/bench/big.git" "$WORK/h$i"; http+=($(( $(ms) - t )))
  t=$(ms); git clone -q "guts://bench/big" "$WORK/g$i"; guts+=($(( $(ms) - t )))
  [ "$(git -C "$WORK/h$i" rev-parse HEAD)" = "$(git -C "$WORK/g$i" rev-parse HEAD)" ] ||
    { echo "the clones differ" >&2; exit 1; }
  rm -rf "$WORK/h$i" "$WORK/g$i"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mh=$(median "${http[@]}")
mg=$(median "${guts[@]}")
echo "| clone ($COMMITS commits, $RUNS runs each) | median | all runs (ms) |"
echo "| --- | --- | --- |"
echo "| git clone http:// | $mh ms | ${http[*]} |"
echo "| git clone guts:// (verified) | $mg ms | ${guts[*]} |"
awk -v g="$mg" -v h="$mh" 'BEGIN { printf "| ratio guts:// / http:// | %.2fx | |\n", g / h }'
