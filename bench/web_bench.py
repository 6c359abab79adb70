#!/usr/bin/env python3
"""Web page times: guts-node's pages against cgit on the same repository (docs/benchmarks.md,
"## Web pages vs cgit"; issue 13, "Figures").

    bench/web_bench.py BUILD_DIR [--commits 20000] [--requests 60] [--concurrency 16]

One run does everything: generates a repository (bench/git_gen_repo.py: COMMITS commits over
2,000 source-like files, plus one commit adding a 5,000-line C file), starts a guts-node on a free
port with a fresh data directory, signs up `bench` with the guts CLI, pushes the repository with
the stock git, and, when Debian's cgit is installed (/usr/lib/cgit/cgit.cgi), serves a bare copy
of the same repository with cgit as a CGI program behind Python's threading HTTP server (started
here; no cache: `cache-size=0`). Then, for each page (repository home, tree, blob of the
5,000-line file, log, commit), on each server (both repositories with a commit-graph: the node's
maintenance writes one after the push, waited for here; the cgit copy gets one with
`git commit-graph write --reachable`): 3 warm-up requests, REQUESTS sequential requests
(time to first byte and to the full page, a new connection each), then REQUESTS x 4 requests
from CONCURRENCY threads (full page). Prints a Markdown table: median, p95 and p99 in ms, and
the guts/cgit ratio of medians.

Without cgit the guts figures are printed alone (install it with `apt-get install cgit`; this
script installs nothing). Every process started here is stopped at exit; the work directory
(in $TMPDIR) is removed unless KEEP=1.
"""
import argparse
import concurrent.futures
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
CGIT = "/usr/lib/cgit/cgit.cgi"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(fn, what, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if fn():
                return
        except OSError:
            pass
        time.sleep(0.05)
    sys.exit(f"timed out waiting for {what}")


def run(*args, cwd=None, env=None, stdin=None, capture=True):
    r = subprocess.run(args, cwd=cwd, env=env, stdin=stdin, check=True,
                       stdout=subprocess.PIPE if capture else subprocess.DEVNULL)
    return r.stdout.decode().strip() if capture else ""


def fetch(port, path):
    """(status, seconds to first byte, seconds to the full body, bytes) over a new connection."""
    t0 = time.perf_counter()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("GET", path, headers={"Accept": "text/html", "Connection": "close"})
    r = c.getresponse()
    first = r.read(1)
    t1 = time.perf_counter()
    rest = r.read()
    t2 = time.perf_counter()
    c.close()
    return r.status, t1 - t0, t2 - t0, len(first) + len(rest)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def measure(port, path, n, conc):
    for _ in range(3):
        status, _, _, size = fetch(port, path)
        if status != 200:
            sys.exit(f"GET {path} on port {port}: {status}")
    ttfb, full = [], []
    for _ in range(n):
        _, a, b, _ = fetch(port, path)
        ttfb.append(a * 1000)
        full.append(b * 1000)
    with concurrent.futures.ThreadPoolExecutor(conc) as pool:
        loaded = [r[2] * 1000 for r in pool.map(lambda _: fetch(port, path), range(n * 4))]
    return {"bytes": size, "ttfb": ttfb, "full": full, "loaded": loaded}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--commits", type=int, default=20000)
    ap.add_argument("--requests", type=int, default=60)
    ap.add_argument("--concurrency", type=int, default=16)
    a = ap.parse_args()
    bindir = os.path.join(os.path.abspath(a.build), "bin")
    work = tempfile.mkdtemp(prefix="guts-web-bench.")
    procs = []

    def cleanup(*_):
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if not os.environ.get("KEEP"):
            shutil.rmtree(work, ignore_errors=True)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        env = dict(os.environ, HOME=work, GUTS_HOME=os.path.join(work, "guts"),
                   GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0", LC_ALL="C",
                   GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.com",
                   GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.com")
        src = os.path.join(work, "src")
        print(f"# generating {a.commits} commits", file=sys.stderr)
        run("git", "init", "-q", "-b", "main", src, env=env)
        gen = subprocess.Popen([sys.executable, os.path.join(HERE, "git_gen_repo.py"),
                                str(a.commits), "2000", "5"], stdout=subprocess.PIPE)
        run("git", "fast-import", "--quiet", cwd=src, env=env, stdin=gen.stdout, capture=False)
        if gen.wait() != 0:
            sys.exit("git_gen_repo.py failed")
        run("git", "checkout", "-q", "main", cwd=src, env=env)
        with open(os.path.join(src, "src", "big.c"), "w") as f:
            for i in range(1, 5001):
                f.write(f"int big_{i}(int x) {{ return x * {i} + {i % 7}; /* line {i} */ }}\n")
        run("git", "add", "src/big.c", cwd=src, env=env)
        run("git", "commit", "-q", "-m", "Add a 5,000-line file", cwd=src, env=env)
        head = run("git", "rev-parse", "HEAD~1", cwd=src, env=env)

        print("# starting guts-node", file=sys.stderr)
        port_file = os.path.join(work, "port")
        log = open(os.path.join(work, "node.log"), "w")
        procs.append(subprocess.Popen(
            [os.path.join(bindir, "guts-node"), "--api-addr", "127.0.0.1:0", "--p2p-addr",
             "127.0.0.1:0", "--port-file", port_file, "--data-dir", os.path.join(work, "node"),
             "--log-level", "warn"], stderr=log, env=env))
        wait_for(lambda: os.path.getsize(port_file) > 0, "the node's port")
        gport = int(open(port_file).read().strip())
        url = f"http://127.0.0.1:{gport}"
        run(os.path.join(bindir, "guts"), "identity", "new", env=env, capture=False)
        run(os.path.join(bindir, "guts"), "--node", url, "auth", "login", "--username", "bench",
            env=env, capture=False)
        token = json.load(open(os.path.join(work, "guts", "config.json")))["logins"][url]["token"]
        req = urllib.request.Request(url + "/api/v3/user/repos", data=b'{"name":"bench"}',
                                     headers={"Authorization": f"token {token}",
                                              "Content-Type": "application/json"})
        urllib.request.urlopen(req).read()
        print("# pushing with git", file=sys.stderr)
        t = time.perf_counter()
        run("git", "push", "-q", f"http://bench:{token}@127.0.0.1:{gport}/bench/bench.git",
            "main", cwd=src, env=env, capture=False)
        print(f"# pushed in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        # The node's maintenance writes the commit-graph after a push (docs/maintenance.md); the
        # log page walks by it. Measure the steady state: wait for it (bounded).
        import glob
        graph = os.path.join(work, "node", "**", "objects", "info", "commit-graph*")
        t = time.perf_counter()
        while not glob.glob(graph, recursive=True) and time.perf_counter() - t < 120:
            time.sleep(0.2)
        print(f"# guts commit-graph: {'written' if glob.glob(graph, recursive=True) else 'NOT written'}"
              f" {time.perf_counter() - t:.1f} s after the push", file=sys.stderr)

        pages = [
            ("repository home", "/bench/bench", "/cgit/bench/"),
            ("tree (src/mod0)", "/bench/bench/tree/main/src/mod0", "/cgit/bench/tree/src/mod0"),
            ("blob (5,000 lines)", "/bench/bench/blob/main/src/big.c", "/cgit/bench/tree/src/big.c"),
            ("log (first page)", "/bench/bench/commits/main", "/cgit/bench/log/"),
            ("commit", f"/bench/bench/commit/{head}", f"/cgit/bench/commit/?id={head}"),
        ]
        cport = None
        if os.path.exists(CGIT):
            print("# starting cgit behind python3 -m http.server --cgi", file=sys.stderr)
            bare = os.path.join(work, "bench.git")
            run("git", "clone", "-q", "--bare", src, bare, env=env, capture=False)
            # The same help for cgit's walks as the node has.
            run("git", "commit-graph", "write", "--reachable", cwd=bare, env=env, capture=False)
            root = os.path.join(work, "www")
            os.makedirs(os.path.join(root, "cgi-bin"))
            with open(os.path.join(work, "cgitrc"), "w") as f:
                f.write(f"virtual-root=/cgit/\ncache-size=0\nenable-commit-graph=0\n"
                        f"repo.url=bench\nrepo.path={bare}\n")
            # /cgit/... is rewritten to /cgi-bin/cgit.cgi/... by a tiny handler (see below).
            os.symlink(CGIT, os.path.join(root, "cgi-bin", "cgit.cgi"))
            cport = free_port()
            server = (
                "import http.server,os,sys\n"
                # Run as root, the CGI handler switches the child to `nobody`, which cannot read
                # the private work directory (cgit then prints nothing): keep our own user.
                "http.server.nobody_uid=lambda: os.getuid()\n"
                "class H(http.server.CGIHTTPRequestHandler):\n"
                "  def parse_request(self):\n"
                "    ok=super().parse_request()\n"
                "    if ok and self.path.startswith('/cgit/'):\n"
                "      self.path='/cgi-bin/cgit.cgi/'+self.path[len('/cgit/'):]\n"
                "    return ok\n"
                "http.server.ThreadingHTTPServer(('127.0.0.1',int(sys.argv[1])),H).serve_forever()\n")
            procs.append(subprocess.Popen([sys.executable, "-c", server, str(cport)], cwd=root,
                                          env=dict(env, CGIT_CONFIG=os.path.join(work, "cgitrc")),
                                          stderr=subprocess.DEVNULL))
            wait_for(lambda: fetch(cport, "/cgit/bench/")[0] == 200, "cgit")
            if fetch(cport, "/cgit/bench/")[3] < 1000:
                sys.exit("cgit answered an empty page: see its configuration above")
        else:
            print(f"# {CGIT} not found (apt-get install cgit): guts figures only", file=sys.stderr)

        rows = []
        for name, gpath, cpath in pages:
            print(f"# {name}", file=sys.stderr)
            g = measure(gport, gpath, a.requests, a.concurrency)
            c = measure(cport, cpath, a.requests, a.concurrency) if cport else None
            rows.append((name, g, c))

        def cell(m, key):
            xs = m[key]
            return f"{statistics.median(xs):.1f} / {pct(xs, 95):.1f} / {pct(xs, 99):.1f}"

        print(f"\n{a.commits + 1} commits; {a.requests} sequential requests per page, then "
              f"{a.requests * 4} from {a.concurrency} threads; ms: median / p95 / p99\n")
        print("| page | server | bytes | first byte | full page | full page, "
              f"{a.concurrency} concurrent | median ratio guts/cgit (full, concurrent) |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for name, g, c in rows:
            ratio = ""
            if c:
                ratio = (f"{statistics.median(g['full']) / statistics.median(c['full']):.2f}, "
                         f"{statistics.median(g['loaded']) / statistics.median(c['loaded']):.2f}")
            print(f"| {name} | guts | {g['bytes']} | {cell(g, 'ttfb')} | {cell(g, 'full')} | "
                  f"{cell(g, 'loaded')} | {ratio} |")
            if c:
                print(f"| | cgit | {c['bytes']} | {cell(c, 'ttfb')} | {cell(c, 'full')} | "
                      f"{cell(c, 'loaded')} | |")
    finally:
        cleanup()


if __name__ == "__main__":
    main()
