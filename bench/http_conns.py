#!/usr/bin/env python3
"""Many concurrent HTTP connections held by one guts-node, and the latency of a simple read
under that load (docs/benchmarks.md "HTTP connections held by one node"; issue 19 point 5).

    bench/http_conns.py BUILD_DIR [--connections 10000] [--requests 2000] [--hold 60]

Starts a guts-node on a free port with a fresh data directory (its per-IP rate limit raised:
every connection comes from 127.0.0.1). Measures REQUESTS sequential `GET /api/guts/status` on
one keep-alive connection, 20 ms apart (--pause-ms), with no other load (the baseline). Then
opens CONNECTIONS keep-alive connections from one asyncio client, each sending
`GET /health/live` every 10 s (the node closes connections idle for 30 s: about CONNECTIONS/10
requests per second in the background), and once all are open measures the same REQUESTS reads
again while they are held, for at least HOLD seconds, counting connections the node closed or
refused.
Prints a Markdown table: p50/p99 in ms with and without the held connections and their ratio,
the node's RSS before and after (and per connection), and how many connections stayed open.

Raises RLIMIT_NOFILE to its hard limit for itself and the node (needs CONNECTIONS + a few
hundred descriptors). Every process started here is stopped at exit; the work directory (in
$TMPDIR) is removed unless KEEP=1.
"""
import argparse
import asyncio
import http.client
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import pct, rss_kib


def reads(port, n, pause=0.0):
    """n sequential GET /api/guts/status on one keep-alive connection, `pause` seconds apart (so
    the reads span the hold): latencies in ms."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    out = []
    for _ in range(n):
        if pause:
            time.sleep(pause)
        t = time.perf_counter()
        c.request("GET", "/api/guts/status")
        r = c.getresponse()
        r.read()
        if r.status != 200:
            raise SystemExit(f"GET /api/guts/status: HTTP {r.status}")
        out.append((time.perf_counter() - t) * 1000)
    c.close()
    return out


REQUEST = b"GET /health/live HTTP/1.1\r\nHost: bench\r\n\r\n"


async def hold_one(port, opened, stats, stop):
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        stats["refused"] += 1
        opened.release()
        return
    stats["open"] += 1
    opened.release()
    try:
        while not stop.is_set():
            writer.write(REQUEST)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if length:
                await reader.readexactly(length)
            try:
                await asyncio.wait_for(stop.wait(), timeout=10)
            except asyncio.TimeoutError:
                pass
    except (OSError, asyncio.IncompleteReadError):
        stats["closed"] += 1
    finally:
        stats["open"] -= 1
        writer.close()


async def held(port, conns, requests, hold, node_pid, pause):
    stats = {"open": 0, "refused": 0, "closed": 0}
    stop = asyncio.Event()
    opened = asyncio.Semaphore(0)
    tasks = []
    start = time.perf_counter()
    for i in range(conns):
        tasks.append(asyncio.create_task(hold_one(port, opened, stats, stop)))
        if i % 200 == 199:
            await asyncio.sleep(0.01)  # no SYN flood: the accept queue is 4096 deep
    for _ in range(conns):
        await opened.acquire()
    open_seconds = time.perf_counter() - start
    rss_held = rss_kib(node_pid)
    t0 = time.perf_counter()
    loaded = await asyncio.to_thread(reads, port, requests, pause)
    left = hold - (time.perf_counter() - t0)
    if left > 0:
        await asyncio.sleep(left)
    still_open = stats["open"]
    stop.set()
    await asyncio.gather(*tasks)
    return loaded, stats, still_open, open_seconds, rss_held


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir")
    ap.add_argument("--connections", type=int, default=10000)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--hold", type=float, default=60)
    ap.add_argument("--pause-ms", type=float, default=20,
                    help="between two measured reads (default 20: 2,000 reads span 40 s)")
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < a.connections + 256:
        raise SystemExit(f"RLIMIT_NOFILE hard limit {hard} < {a.connections + 256}")
    bindir = os.path.join(os.path.abspath(a.build_dir), "bin")
    work = tempfile.mkdtemp(prefix="guts-http-conns-")
    port_file = os.path.join(work, "port")
    node = subprocess.Popen(
        [os.path.join(bindir, "guts-node"), "--api-addr", "127.0.0.1:0", "--p2p-addr",
         "127.0.0.1:0", "--port-file", port_file, "--data-dir", os.path.join(work, "node"),
         "--rate-limit-anonymous", "100000000", "--log-level", "warn"],
        stderr=open(os.path.join(work, "node.log"), "w"))
    try:
        deadline = time.time() + 60
        while not (os.path.exists(port_file) and open(port_file).read().strip()):
            if node.poll() is not None or time.time() > deadline:
                raise SystemExit("guts-node did not start (see node.log)")
            time.sleep(0.05)
        port = int(open(port_file).read().strip())
        reads(port, 200)  # warm-up
        rss_idle = rss_kib(node.pid)
        base = reads(port, a.requests, a.pause_ms / 1000)
        loaded, stats, still_open, open_seconds, rss_held = asyncio.run(
            held(port, a.connections, a.requests, a.hold, node.pid, a.pause_ms / 1000))
        b50, b99 = pct(base, 50), pct(base, 99)
        l50, l99 = pct(loaded, 50), pct(loaded, 99)
        print(f"| figure | without | with {a.connections:,} held connections | ratio |")
        print("| --- | --- | --- | --- |")
        print(f"| GET /api/guts/status p50 | {b50:.2f} ms | {l50:.2f} ms | {l50 / b50:.2f}x |")
        print(f"| GET /api/guts/status p99 | {b99:.2f} ms | {l99:.2f} ms | {l99 / b99:.2f}x |")
        print(f"| node RSS | {rss_idle / 1024:.0f} MiB | {rss_held / 1024:.0f} MiB | "
              f"{(rss_held - rss_idle) / max(1, a.connections):.1f} KiB per connection |")
        print(f"\nopened {a.connections:,} connections in {open_seconds:.1f} s; "
              f"refused {stats['refused']}, closed by the node {stats['closed']}, "
              f"open at the end of the {a.hold:.0f} s hold: {still_open:,}")
        print(f"(mean {statistics.mean(loaded):.2f} ms over {a.requests} reads)")
    finally:
        node.send_signal(signal.SIGTERM)
        try:
            node.wait(timeout=30)
        except subprocess.TimeoutExpired:
            node.kill()
            node.wait()
        if os.environ.get("KEEP") == "1":
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
