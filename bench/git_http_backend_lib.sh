# Sourced by the bench scripts that compare guts-node with git's own smart HTTP server
# (git_bench.sh, maintenance_bench.sh). Needs W (a scratch directory).
#
# start_git_http_backend ROOT: `git http-backend` serving the repositories under ROOT (pushes
# only where a repository sets http.receivepack) behind lighttpd (CGI) when installed, else
# behind Python's CGI server. Sets GIT_HTTP_URL (ROOT/<path> is $GIT_HTTP_URL/<path>),
# GIT_HTTP_SERVER (which server) and GIT_HTTP_PID; stop_git_http_backend ends it.
GIT_HTTP_PID=

start_git_http_backend() {
  local root=$1 port
  port=$(python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
  if command -v lighttpd >/dev/null; then
    mkdir -p "$W/www"
    cat >"$W/lighttpd.conf" <<EOF
server.modules = ("mod_alias", "mod_cgi", "mod_setenv")
server.document-root = "$W/www"
server.bind = "127.0.0.1"
server.port = $port
server.pid-file = "$W/lighttpd.pid"
server.errorlog = "$W/lighttpd.err"
alias.url = ("/git/" => "$(git --exec-path)/git-http-backend/")
\$HTTP["url"] =~ "^/git/" {
  cgi.assign = ("" => "")
  setenv.add-environment = ("GIT_PROJECT_ROOT" => "$root", "GIT_HTTP_EXPORT_ALL" => "1")
}
EOF
    lighttpd -D -f "$W/lighttpd.conf" &
    GIT_HTTP_SERVER="lighttpd (CGI)"
    GIT_HTTP_URL="http://127.0.0.1:$port/git"
  else
    mkdir -p "$W/www/git"
    ln -sf "$(git --exec-path)/git-http-backend" "$W/www/git/http-backend"
    cat >"$W/cgi_server.py" <<'EOF'
import os, sys
from http.server import CGIHTTPRequestHandler, HTTPServer
from socketserver import ForkingMixIn

class Handler(CGIHTTPRequestHandler):
    cgi_directories = ["/git"]
    def log_message(self, *args):
        pass
    def run_cgi(self):
        # One process per request (ForkingMixIn): the environment is this request's own.
        os.environ["HTTP_GIT_PROTOCOL"] = self.headers.get("Git-Protocol", "")
        super().run_cgi()

class Server(ForkingMixIn, HTTPServer):
    pass

import http.server
http.server.nobody_uid = os.getuid  # the CGI runs as this user (the repositories are ours)
os.chdir(sys.argv[1])
Server(("127.0.0.1", int(sys.argv[2])), Handler).serve_forever()
EOF
    GIT_PROJECT_ROOT="$root" GIT_HTTP_EXPORT_ALL=1 python3 "$W/cgi_server.py" "$W/www" "$port" &
    GIT_HTTP_SERVER="Python CGI server"
    GIT_HTTP_URL="http://127.0.0.1:$port/git/http-backend"
  fi
  GIT_HTTP_PID=$!
}

stop_git_http_backend() {
  if [ -n "$GIT_HTTP_PID" ]; then
    kill "$GIT_HTTP_PID" 2>/dev/null || true
    wait "$GIT_HTTP_PID" 2>/dev/null || true
  fi
  GIT_HTTP_PID=
}
