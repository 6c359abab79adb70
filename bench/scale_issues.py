#!/usr/bin/env python3
"""Start-up time, RSS, list and search latency of a guts-node holding many issues
(docs/benchmarks.md "A node with a million issues"; issue 19 point 5).

    bench/scale_issues.py BUILD_DIR [--issues 1000000] [--clients 128] [--requests 200]

Starts a guts-node (fresh data directory, free port) and fills it with `guts-bench-consensus
--mode flood --text words`: CLIENTS identities, each with a username and one repository, open
ISSUES issues between them, signed transactions through the mempool door, every one finalized
and applied (so this also measures the write path under a long flood). Titles and bodies are
words of a Zipf vocabulary, plus one word unique to each issue (consensus_bench.cpp's header).
Waits for the search index to reach the chain's height, stops the node (SIGTERM), starts it
again on the same data directory and times the restart until `/health/ready`; then measures
REQUESTS sequential reads each: a repository's issue list (first page and a middle page of
100), one issue, and issue searches (a word found in one issue, a word of rank 1,000 and rank
100 (~0.5 % and ~5 % of issues), the most frequent word (nearly every issue), two words, and a
word within one repository); p50/p99 in ms and each search's total_count, and the node's RSS
and data size. Prints a Markdown table. Every process started here is stopped at exit; the work
directory (in $TMPDIR) is removed unless KEEP=1; `--reuse DIR` measures again a directory a
KEEP=1 run left (no fill: its fill figures are repeated from that run).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

from benchlib import Node, pct, rss_kib, timed_reads

SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo",
             "xe", "zu", "be", "do", "fa", "gi", "ho", "ju"]


def syllables(n):
    """consensus_bench.cpp's word for n: base-16 digits as syllables, least significant first."""
    word = ""
    while True:
        word += SYLLABLES[n % 16]
        n //= 16
        if n == 0:
            return word


def get_json(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=120) as r:
        return json.load(r)


def wait_for_index(port, deadline_s):
    """Until the search index has caught up with the chain (GET /api/guts/search)."""
    deadline = time.time() + deadline_s
    while True:
        s = get_json(port, "/api/guts/search")
        if s["indexed_height"] >= s["height"]:
            return
        if time.time() > deadline:
            raise SystemExit(f"the search index stayed behind: {s}")
        time.sleep(0.5)


def du_mib(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total / (1 << 20)


def fill(node, bindir, clients, per_client):
    """Starts the node and opens clients * per_client issues; (setup, fill s, index lag s)."""
    node.start()
    t0 = time.perf_counter()
    out = subprocess.run(
        [os.path.join(bindir, "guts-bench-consensus"), "--node",
         f"http://127.0.0.1:{node.port}", "--mode", "flood", "--text", "words",
         "--clients", str(clients), "--txs-per-client", str(per_client)],
        check=True, capture_output=True, text=True).stdout
    fill_s = time.perf_counter() - t0
    sys.stderr.write(out)
    setup = json.loads(next(line for line in out.splitlines() if line.startswith("SETUP "))[6:])
    t0 = time.perf_counter()
    wait_for_index(node.port, 3600)
    index_lag_s = time.perf_counter() - t0
    print(f"# {clients * per_client:,} issues in {fill_s:.0f} s; index caught up "
          f"{index_lag_s:.1f} s later", file=sys.stderr)
    return setup, fill_s, index_lag_s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir")
    ap.add_argument("--issues", type=int, default=1_000_000)
    ap.add_argument("--clients", type=int, default=128)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--reuse", help="a work directory kept by an earlier run (KEEP=1)")
    a = ap.parse_args()
    bindir = os.path.join(os.path.abspath(a.build_dir), "bin")
    per_client = -(-a.issues // a.clients)
    total = per_client * a.clients
    # Fresh identities: the door's rate limit for low-reputation authors is off
    # (docs/reputation.md), as in the other load benchmarks.
    os.environ["GUTS_DOOR_LIMIT_MIN_REPUTATION"] = "0"
    work = a.reuse or tempfile.mkdtemp(prefix="guts-scale-issues-")
    node = Node(bindir, work)
    try:
        if a.reuse:
            setup = json.load(open(os.path.join(work, "setup.json")))
            per_client, total = setup["per_client"], setup["total"]
            fill_s, index_lag_s = setup["fill_s"], setup["index_lag_s"]
            a.clients = len(setup["users"])
        else:
            setup, fill_s, index_lag_s = fill(node, bindir, a.clients, per_client)
            setup.update(per_client=per_client, total=total, fill_s=fill_s,
                         index_lag_s=index_lag_s)
            json.dump(setup, open(os.path.join(work, "setup.json"), "w"))
            node.stop()
        data_mib = du_mib(os.path.join(work, "node"))

        search_mib = sum(os.path.getsize(os.path.join(work, "node", f))
                         for f in os.listdir(os.path.join(work, "node"))
                         if f.startswith("search.sqlite"))
        restart = node.start()
        rss_start = rss_kib(node.proc.pid) / 1024

        owner, repo = setup["users"][a.clients // 2], setup["repo"]
        issues_path = f"/api/v3/repos/{owner}/{repo}/issues"
        middle_page = max(1, per_client // 200)
        rows = [
            ("list a repository's issues, first page (100)", f"{issues_path}?per_page=100"),
            (f"list, page {middle_page} of {-(-per_client // 100)} (100)",
             f"{issues_path}?per_page=100&page={middle_page}"),
            ("one issue", f"{issues_path}/{per_client // 2}"),
        ]
        unique = "uq" + syllables(a.clients // 2 * per_client + per_client // 3)
        searches = [
            ("search: a word in one issue", unique),
            ("search: a word of rank 1,000", syllables(1000)),
            ("search: a word of rank 100", syllables(100)),
            ("search: the most frequent word", syllables(1)),
            ("search: two words (ranks 100 and 1,000)", f"{syllables(100)} {syllables(1000)}"),
            ("search: rank 100 within one repository",
             f"{syllables(100)} repo:{owner}/{repo}"),
        ]
        for name, q in searches:
            rows.append((name, "/api/v3/search/issues?per_page=30&q=" + urllib.parse.quote(q)))
        # The figures are of real answers: a full first page, and the unique word found once.
        first_page = get_json(node.port, rows[0][1])
        if len(first_page) != min(100, per_client):
            raise SystemExit(f"the first page has {len(first_page)} issues")
        found = get_json(node.port, "/api/v3/search/issues?q=" + unique)["total_count"]
        if found != 1:
            raise SystemExit(f"the word unique to one issue was found {found} times")
        results = []
        for name, path in rows:
            xs = timed_reads(node.port, path, a.requests)
            count = ""
            if "/search/" in path:
                count = f"{get_json(node.port, path)['total_count']:,}"
            results.append((name, xs, count))
        rss_end = rss_kib(node.proc.pid) / 1024
        anon_end = rss_kib(node.proc.pid, "RssAnon") / 1024

        print(f"| figure ({total:,} issues in {a.clients} repositories) | value |")
        print("| --- | --- |")
        print(f"| filled through the mempool door (flood, {a.clients} clients) | {fill_s:.0f} s "
              f"({total / fill_s:,.0f} issues/s finalized) |")
        print(f"| search index caught up after the last block | {index_lag_s:.1f} s |")
        print(f"| data directory / of it the search index | {data_mib:,.0f} MiB / "
              f"{search_mib / (1 << 20):,.0f} MiB |")
        print(f"| restart until `/health/ready` | {restart:.2f} s |")
        print(f"| RSS after the restart / after the reads (of it anonymous) | {rss_start:.0f} / "
              f"{rss_end:.0f} ({anon_end:.0f}) MiB |")
        for name, xs, count in results:
            hits = f" ({count} results)" if count else ""
            print(f"| {name}{hits}: p50 / p99 | {pct(xs, 50):.2f} / {pct(xs, 99):.2f} ms |")
    finally:
        node.stop()
        if os.environ.get("KEEP") == "1" or a.reuse:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
