#!/usr/bin/env python3
"""A byzantine Guts node for tests/network/trust_test.cpp: an HTTP server that proxies to an
honest node and lies in one way (argv: MODE TARGET_URL). It binds a free port and prints it on
its first line of stdout.

  forged   the proof's repository state says refs/heads/main is elsewhere (a forged ref)
  stale    git smart HTTP is served from another repository (OWNER/REPO-stale: older refs)
  badpack  the upload-pack response is cut in half (a pack missing objects)
  rollback=H  proofs are answered at height H (valid, finalized, but old: a rolled-back node)
"""
import http.server
import socketserver
import sys
import urllib.error
import urllib.request

MODE, TARGET = sys.argv[1], sys.argv[2].rstrip("/")


def forge_state(body: bytes) -> bytes:
    import json
    j = json.loads(body)
    repo = j.get("repository")
    if repo:
        state = bytearray(bytes.fromhex(repo["state"]))
        state[-1] ^= 1  # the last ref's target, last byte
        repo["state"] = state.hex()
        repo["refs"][-1]["sha"] = repo["refs"][-1]["sha"][:-2] + "00"
    return json.dumps(j).encode()


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def forward(self, method):
        path = self.path
        if MODE == "stale" and ".git/" in path:
            repo_end = path.index(".git/")
            path = path[:repo_end] + "-stale" + path[repo_end:]
        if MODE.startswith("rollback=") and path.startswith("/api/guts/proofs/"):
            path = path.split("?")[0] + "?height=" + MODE.split("=", 1)[1]
        length = int(self.headers.get("Content-Length", "0") or 0)
        data = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "content-length", "connection")}
        req = urllib.request.Request(TARGET + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                status, rheaders, body = r.status, r.getheaders(), r.read()
        except urllib.error.HTTPError as e:
            status, rheaders, body = e.code, e.headers.items(), e.read()
        if MODE == "forged" and path.startswith("/api/guts/proofs/") and status == 200:
            body = forge_state(body)
        if MODE == "badpack" and path.endswith("/git-upload-pack") and b"PACK" in body:
            # Only the response carrying the pack (protocol v2 lists refs over the same URL).
            at = body.index(b"PACK")
            body = body[: at + (len(body) - at) // 2]
        self.send_response(status)
        for k, v in rheaders:
            if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.forward("GET")

    def do_POST(self):
        self.forward("POST")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


server = Server(("127.0.0.1", 0), Proxy)
print(server.server_address[1], flush=True)
server.serve_forever()
