"""Helpers the Python benchmarks share (bench/http_conns.py, bench/scale_startup.py,
bench/scale_issues.py)."""
import http.client
import os
import signal
import subprocess
import time


def pct(xs, p):
    """The p-th percentile of xs (nearest rank)."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def rss_kib(pid, field="VmRSS"):
    """The resident set size of process `pid`, in KiB (0 when /proc does not say). `field`
    "RssAnon" counts only anonymous memory (heap, stacks), not mapped files such as the
    search index, whose pages the kernel can drop at any time."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class Node:
    """One guts-node on a free port over a data directory in `work`; restartable."""

    def __init__(self, bindir, work):
        self.bindir, self.work = bindir, work
        self.proc = None
        self.port = None

    def start(self):
        port_file = os.path.join(self.work, "port")
        if os.path.exists(port_file):
            os.remove(port_file)
        args = [os.path.join(self.bindir, "guts-node"), "--api-addr",
                f"127.0.0.1:{self.port or 0}", "--p2p-addr", "127.0.0.1:0", "--port-file",
                port_file, "--data-dir", os.path.join(self.work, "node"),
                "--rate-limit-anonymous", "100000000", "--log-level", "warn"]
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(args, stderr=open(os.path.join(self.work, "node.log"), "a"))
        deadline = time.time() + 3600
        while not (os.path.exists(port_file) and open(port_file).read().strip()):
            if self.proc.poll() is not None or time.time() > deadline:
                raise SystemExit("guts-node did not start (see node.log)")
            time.sleep(0.02)
        self.port = int(open(port_file).read().strip())
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                c.request("GET", "/health/ready")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                raise SystemExit("guts-node never became ready")
            time.sleep(0.02)
        return time.perf_counter() - t0

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def timed_reads(port, path, n, token=None):
    """n sequential GETs of path on one connection: their latencies in ms (200 expected)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": "token " + token} if token else {}
    out = []
    for _ in range(n):
        t = time.perf_counter()
        c.request("GET", path, headers=headers)
        r = c.getresponse()
        r.read()
        if r.status != 200:
            raise SystemExit(f"GET {path}: HTTP {r.status}")
        out.append((time.perf_counter() - t) * 1000)
    return out
