#!/usr/bin/env python3
"""A webhook receiver for the webhook e2e tests (tests/e2e/webhooks_test.cpp).

Listens on 127.0.0.1 (a free port, written to --port-file), verifies X-Hub-Signature-256
(HMAC-SHA256 of the raw body with --secret, compared in constant time) and appends one JSON line
per request to --log: event, delivery GUID, whether the signature verified, the status answered
and the parsed payload. A bad or missing signature is answered 401. While the file
<dir of --log>/fail_next holds a number N > 0, requests are answered 500 and N is decremented.
Stops on SIGTERM.
"""
import argparse
import hashlib
import hmac
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--secret", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    secret = args.secret.encode()
    fail_file = os.path.join(os.path.dirname(os.path.abspath(args.log)), "fail_next")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            if length > 30 * 1024 * 1024:
                self.send_response(413)
                self.end_headers()
                return
            body = self.rfile.read(length)
            expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
            got = self.headers.get("X-Hub-Signature-256", "")
            sig_ok = hmac.compare_digest(expected, got)
            with LOCK:
                status = 200 if sig_ok else 401
                if sig_ok and os.path.exists(fail_file):
                    try:
                        n = int(open(fail_file).read().strip() or "0")
                    except ValueError:
                        n = 0
                    if n > 0:
                        status = 500
                        with open(fail_file, "w") as f:
                            f.write(str(n - 1))
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = None
                rec = {
                    "event": self.headers.get("X-GitHub-Event", ""),
                    "guid": self.headers.get("X-GitHub-Delivery", ""),
                    "user_agent": self.headers.get("User-Agent", ""),
                    "content_type": self.headers.get("Content-Type", ""),
                    "signature_ok": sig_ok,
                    "status": status,
                    "payload": payload,
                }
                with open(args.log, "a") as f:
                    f.write(json.dumps(rec) + "\n")
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok" if status == 200 else b"no")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]) + "\n")
    os.rename(tmp, args.port_file)
    signal.signal(signal.SIGTERM, lambda *a: threading.Thread(target=server.shutdown).start())
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
