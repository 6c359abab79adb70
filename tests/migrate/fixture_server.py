#!/usr/bin/env python3
"""A tiny GitHub stand-in for the migration test (tests/migrate/run.sh).

Serves, on 127.0.0.1 (port written to --port-file):
  * /api/v3/...: hand-written GitHub REST responses from fixtures/ (GitHub Enterprise's API base,
    as GitHub Enterprise Server answers it); {{NAME}} placeholders are filled from --vars
    (commit ids of the test's git repository) and {{BASE}} (this server's URL);
  * /octo/hello.git/...: a bare repository over git's dumb HTTP protocol (static files);
  * /storage/...: release asset bytes (the API answers asset downloads with a 302 here, as
    GitHub redirects to its object storage).
--fail PATH --fail-while FILE: while FILE exists, requests for PATH get their connection closed
with no answer (a source that stops mid-way).
"""
import argparse
import json
import os
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

ROUTES = {
    "/api/v3/repos/octo/hello": "repo.json",
    "/api/v3/repos/octo/hello/labels": "labels.json",
    "/api/v3/repos/octo/hello/milestones": "milestones.json",
    "/api/v3/repos/octo/hello/issues": "issues.json",
    "/api/v3/repos/octo/hello/pulls": "pulls.json",
    "/api/v3/repos/octo/hello/pulls/2": "pull-2.json",
    "/api/v3/repos/octo/hello/pulls/4": "pull-4.json",
    "/api/v3/repos/octo/hello/issues/1/comments": "issue-1-comments.json",
    "/api/v3/repos/octo/hello/issues/2/comments": "issue-2-comments.json",
    "/api/v3/repos/octo/hello/issues/4/comments": "empty.json",
    "/api/v3/repos/octo/hello/issues/5/comments": "issue-5-comments.json",
    "/api/v3/repos/octo/hello/pulls/2/comments": "pull-2-comments.json",
    "/api/v3/repos/octo/hello/pulls/4/comments": "empty.json",
    "/api/v3/repos/octo/hello/releases": "releases.json",
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--git-dir", required=True, help="bare repository served as octo/hello.git")
    ap.add_argument("--vars", required=True, help="JSON object of {{NAME}} values")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--fail", default="")
    ap.add_argument("--fail-while", default="")
    args = ap.parse_args()
    with open(args.vars) as f:
        values = json.load(f)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            sys.stderr.write("fixture: " + (fmt % a) + "\n")

        def send(self, status, body, ctype="application/json; charset=utf-8", headers=()):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self):
            url = urlsplit(self.path)
            path = url.path
            if path == args.fail and os.path.exists(args.fail_while):
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if path.startswith("/octo/hello.git/"):
                rel = os.path.normpath(path[len("/octo/hello.git/"):])
                full = os.path.join(args.git_dir, rel)
                if rel.startswith("..") or not os.path.isfile(full):
                    return self.send(404, b"not found", "text/plain")
                with open(full, "rb") as f:
                    return self.send(200, f.read(), "application/octet-stream")
            if path == "/api/v3/repos/octo/hello/releases/assets/9001":
                if "octet-stream" in self.headers.get("Accept", ""):
                    return self.send(302, b"", "text/plain",
                                     [("Location", values["BASE"] + "/storage/hello-1.0.txt")])
                path = "/api/v3/repos/octo/hello/releases/assets/9001"
            if path == "/storage/hello-1.0.txt":
                return self.send(200, b"hello 1.0 release asset\n", "application/octet-stream")
            page = re.search(r"(?:^|&)page=(\d+)", url.query or "")
            if path not in ROUTES:
                return self.send(404, b'{"message":"Not Found","documentation_url":'
                                      b'"https://docs.github.com/rest"}')
            if page and int(page.group(1)) > 1:
                return self.send(200, b"[]")
            with open(os.path.join(args.fixtures, ROUTES[path])) as f:
                text = f.read()
            for k, v in values.items():
                text = text.replace("{{" + k + "}}", v)
            self.send(200, text.encode())

        do_HEAD = do_GET

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    values["BASE"] = "http://127.0.0.1:%d" % server.server_address[1]
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
