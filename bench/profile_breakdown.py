#!/usr/bin/env python3
"""CPU profile of a guts-node by component (issue 19 point 4; docs/benchmarks.md "Where one
node's CPU goes").

    perf record -F 999 -p <guts-node pid> -o perf.data -- sleep 10   # while a load runs
    bench/profile_breakdown.py perf.data

Reads `perf report` (self time per DSO and symbol, every thread of the process) and sums the
samples into components by symbol and library name, first rule that matches. Prints a Markdown
table, largest first; `--top N` also lists the N largest symbols of "other". Samples in child
processes (git) and threads that name themselves (rocksdb:high) are reported by that name.
"""
import argparse
import re
import subprocess
from collections import defaultdict

# (component, regular expression over "dso symbol"), first match wins.
RULES = [
    # Debian's libsodium is stripped: its samples cannot be told apart by symbol. On one node
    # (no peers) they are Ed25519 verification and its SHA-512, and BLAKE2b ids; with peers
    # also Noise's ChaCha20-Poly1305 and X25519.
    ("libsodium (Ed25519 verification; hashes; Noise with peers)", r"libsodium"),
    # SHA-256 is OpenSSL's (libcrypto; a node without TLS uses it for nothing else).
    ("hashing (SHA-256, BLAKE2)", r"(sha256|SHA256|blake|Blake|libcrypto)"),
    ("RocksDB", r"(rocksdb|librocksdb|crc32c|snappy|lz4|zstd|ZSTD)"),
    ("SQLite (search index)", r"(sqlite3|libsqlite)"),
    ("JSON (nlohmann)", r"nlohmann"),
    ("HTTP (Boost.Beast/Asio)", r"(boost::beast|boost::asio|http_server|api::Router|"
                                r"guts::api::(Request|Response|Route))"),
    ("git (libgit2)", r"(libgit2|git_)"),
    ("state: execution and validity", r"guts::state::"),
    ("consensus and ledger drivers", r"guts::(consensus|ledger|runtime)::"),
    ("p2p framing", r"guts::p2p::"),
    ("codec, hex, UTF-8", r"guts::(hex|is_valid_utf8|codec|Reader|Writer|varint|encode|decode)"),
    ("memory allocation", r"(malloc|free|_int_|operator new|operator delete|cfree|"
                          r"unlink_chunk|sysmalloc|tcache|calloc|realloc)"),
    ("memcpy, memcmp, strings", r"(memmove|memcpy|memcmp|memset|strlen|strcmp|__mem|__str)"),
    ("locks, futexes, scheduling (user)", r"(pthread_|futex|__lll_)"),
    ("kernel: I/O, network, scheduling", r"\[kernel"),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("perf_data")
    ap.add_argument("--top", type=int, default=0)
    a = ap.parse_args()
    out = subprocess.run(
        ["perf", "report", "-i", a.perf_data, "--no-children", "-g", "none", "--stdio",
         "--sort", "comm,dso,symbol", "--percent-limit", "0", "-F", "overhead,comm,dso,symbol"],
        check=True, capture_output=True, text=True).stdout
    by_component = defaultdict(float)
    other = defaultdict(float)
    total = 0.0
    line_re = re.compile(r"^\s*([\d.]+)%\s+(\S+)\s+(\S+)\s+(.*)$")
    for line in out.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        m = line_re.match(line)
        if not m:
            continue
        pct, comm, dso = float(m.group(1)), m.group(2), m.group(3)
        sym = re.sub(r"(\s+-)+\s*$", "", m.group(4)).strip()  # perf's empty trailing columns
        total += pct
        if comm != "guts-node":
            by_component[f"threads or processes named {comm}"] += pct
            continue
        key = f"{dso} {sym}"
        for name, rx in RULES:
            if re.search(rx, key):
                by_component[name] += pct
                break
        else:
            by_component["other"] += pct
            other[key] += pct
    print("| component | share of the node's CPU samples |")
    print("| --- | --- |")
    for name, pct in sorted(by_component.items(), key=lambda kv: -kv[1]):
        print(f"| {name} | {pct / total * 100:.1f} % |")
    if a.top:
        print()
        for key, pct in sorted(other.items(), key=lambda kv: -kv[1])[:a.top]:
            print(f"{pct / total * 100:5.2f} %  {key[:150]}")


if __name__ == "__main__":
    main()
