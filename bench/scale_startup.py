#!/usr/bin/env python3
"""Start-up time, RSS and list latency of a guts-node holding many repositories
(docs/benchmarks.md "A node with many repositories"; issue 19 point 5).

    bench/scale_startup.py BUILD_DIR [--repos 10000] [--clients 16] [--requests 500]

Starts a guts-node (fresh data directory, free port), signs up CLIENTS users with the guts CLI
(`bench`, `bench1`, …: one user's transactions are ordered by its nonces, so one user per client
thread), creates REPOS repositories through `POST /api/v3/user/repos` (each a transaction and a
bare repository), then stops the node (SIGTERM) and starts it again on the same
data directory, timing the restart until `/health/ready` answers 200 (the node reconciles every
bare repository with the state at start: GitProjection::reconcile_all). Then measures REQUESTS
sequential reads of `bench`'s repository list (`GET /api/v3/users/bench/repos?per_page=100`,
the first page, and a page from the middle) and of one repository, p50/p99 in ms, and the node's
RSS. Prints a Markdown table. Every process started here is stopped at exit; the work directory
(in $TMPDIR) is removed unless KEEP=1.
"""
import argparse
import concurrent.futures
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from benchlib import Node, pct, rss_kib, timed_reads


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir")
    ap.add_argument("--repos", type=int, default=10000)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--requests", type=int, default=500)
    a = ap.parse_args()
    bindir = os.path.join(os.path.abspath(a.build_dir), "bin")
    # Fresh identities: the door's rate limit for low-reputation authors is off
    # (docs/reputation.md); with it, the last few hundred creations were refused (429).
    os.environ["GUTS_DOOR_LIMIT_MIN_REPUTATION"] = "0"
    work = tempfile.mkdtemp(prefix="guts-scale-")
    node = Node(bindir, work)
    try:
        first_start = node.start()
        url = f"http://127.0.0.1:{node.port}"
        users = ["bench"] + [f"bench{i}" for i in range(1, a.clients)]
        tokens = {}
        for user in users:
            env = dict(os.environ, GUTS_HOME=os.path.join(work, user))
            subprocess.run([os.path.join(bindir, "guts"), "identity", "new"], env=env,
                           check=True, capture_output=True)
            subprocess.run([os.path.join(bindir, "guts"), "--node", url, "auth", "login",
                            "--username", user], env=env, check=True, capture_output=True)
            config = json.load(open(os.path.join(work, user, "config.json")))
            tokens[user] = config["logins"][url]["token"]
        token = tokens["bench"]

        # Client k creates the repositories i with i % CLIENTS == k, as users[k]: `bench` owns
        # every CLIENTS-th one.
        def create_all(k):
            c = http.client.HTTPConnection("127.0.0.1", node.port, timeout=120)
            for i in range(k, a.repos, a.clients):
                create(c, users[k], i)

        def create(c, user, i):
            body = json.dumps({"name": f"repo-{i:06d}", "description": f"repository {i}"})
            c.request("POST", "/api/v3/user/repos", body=body,
                      headers={"Authorization": "token " + tokens[user],
                               "Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
            if r.status != 201:
                raise SystemExit(f"creating repo-{i}: HTTP {r.status}")
        t0 = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(a.clients) as ex:
            list(ex.map(create_all, range(a.clients)))
        create_seconds = time.perf_counter() - t0
        print(f"# created {a.repos:,} repositories in {create_seconds:.0f} s", file=sys.stderr)
        node.stop()
        restart = node.start()
        rss = rss_kib(node.proc.pid) / 1024
        first = timed_reads(node.port, "/api/v3/users/bench/repos?per_page=100", a.requests, token)
        owned = len(range(0, a.repos, a.clients))
        middle_page = max(1, owned // 200)
        middle = timed_reads(node.port,
                             f"/api/v3/users/bench/repos?per_page=100&page={middle_page}",
                             a.requests, token)
        one = timed_reads(node.port, f"/api/v3/repos/bench/repo-{(owned // 2) * a.clients:06d}",
                          a.requests, token)
        print(f"| figure ({a.repos:,} repositories) | value |")
        print("| --- | --- |")
        print(f"| creation through REST ({a.clients} clients) | {create_seconds:.0f} s "
              f"({a.repos / create_seconds:.0f} repositories/s) |")
        print(f"| first start (empty) until ready | {first_start:.2f} s |")
        print(f"| restart until `/health/ready` | {restart:.2f} s |")
        print(f"| RSS after the restart | {rss:.0f} MiB |")
        for name, xs in (("list, first page (100)", first),
                         (f"list, page {middle_page} (100)", middle),
                         ("one repository", one)):
            print(f"| {name}: p50 / p99 | {pct(xs, 50):.2f} / {pct(xs, 99):.2f} ms |")
    finally:
        node.stop()
        if os.environ.get("KEEP") == "1":
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
