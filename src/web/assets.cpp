#include "web/assets.h"

#include <cstdint>
#include <cstdio>

namespace guts::web {

namespace {

constexpr std::string_view kCss = R"css(
:root{--fg:#1f2328;--muted:#59636e;--border:#d1d9e0;--bg:#fff;--soft:#f6f8fa;--link:#0969da;
--add:#dafbe1;--del:#ffebe9;--hunk:#ddf4ff;--mark:#fff8c5}
*{box-sizing:border-box}
body{margin:0;font:14px/1.5 -apple-system,"Segoe UI","Noto Sans",Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--link);text-decoration:none}a:hover{text-decoration:underline}
header.top{display:flex;gap:16px;align-items:center;padding:10px 24px;background:#24292f;color:#fff}
header.top a{color:#fff;font-weight:600}header.top .node{color:#c9d1d9;font-size:12px}
header.top nav{display:flex;gap:14px;margin-left:auto}
main{max-width:1200px;margin:0 auto;padding:16px 24px}
footer{max-width:1200px;margin:24px auto;padding:12px 24px;border-top:1px solid var(--border);color:var(--muted);font-size:12px}
h1{font-size:22px;margin:8px 0 12px}h2{font-size:17px;margin:20px 0 8px}
.muted{color:var(--muted)}.note{color:var(--muted);font-style:italic}
.box{border:1px solid var(--border);border-radius:6px;margin:12px 0;overflow:hidden}
.box>.head{background:var(--soft);padding:8px 12px;border-bottom:1px solid var(--border)}
.box>.body{padding:12px 16px}
ul.list{list-style:none;margin:0;padding:0}ul.list>li{padding:8px 12px;border-top:1px solid var(--border)}
ul.list>li:first-child{border-top:0}
table.files{width:100%;border-collapse:collapse}table.files td{padding:6px 12px;border-top:1px solid var(--border)}
table.files tr:first-child td{border-top:0}table.files td.age{color:var(--muted);text-align:right;white-space:nowrap}
.crumbs{font-size:16px;margin:8px 0}.tabs{display:flex;gap:16px;border-bottom:1px solid var(--border);margin-bottom:12px}
.tabs a{padding:6px 2px}.tabs a.on{border-bottom:2px solid #fd8c73;font-weight:600;color:var(--fg)}
.pill{display:inline-block;padding:0 7px;border:1px solid var(--border);border-radius:2em;font-size:12px;color:var(--muted)}
.label{display:inline-block;padding:0 7px;border-radius:2em;font-size:12px;background:var(--soft);border:1px solid var(--border)}
.state-open{background:#1f883d;color:#fff;border-color:#1f883d}.state-closed{background:#8250df;color:#fff;border-color:#8250df}
.run-ok{background:#1f883d;color:#fff;border-color:#1f883d}.run-bad{background:#cf222e;color:#fff;border-color:#cf222e}.run-wait{background:#bf8700;color:#fff;border-color:#bf8700}pre.log{margin:4px 0 0;max-height:20em}
code,pre,.code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
pre{background:var(--soft);padding:12px;overflow:auto;border-radius:6px}
table.code{border-collapse:collapse;width:100%}table.code td{padding:0 10px;vertical-align:top;white-space:pre}
table.code td.ln{width:1%;min-width:50px;text-align:right;color:var(--muted);user-select:none}
table.code td.ln a{color:var(--muted)}table.code tr:target{background:var(--mark)}
table.code tr:target td.ln a{color:var(--fg);font-weight:600}
table.diff td.add{background:var(--add)}table.diff td.del{background:var(--del)}table.diff td.hunk{background:var(--hunk);color:var(--muted)}
.markdown{overflow-wrap:break-word}.markdown img{max-width:100%}
.markdown table{border-collapse:collapse}.markdown td,.markdown th{border:1px solid var(--border);padding:4px 10px}
.markdown blockquote{margin:0;padding:0 12px;color:var(--muted);border-left:4px solid var(--border)}
.clone input{width:100%;font-family:ui-monospace,monospace;font-size:12px;padding:4px 8px;border:1px solid var(--border);border-radius:6px}
.pager{display:flex;gap:12px;margin:12px 0}
header.top form.search input{padding:4px 8px;border-radius:6px;border:1px solid #57606a;background:#24292f;color:#fff}
.search-form{display:flex;gap:8px;margin:8px 0 16px}.search-form input{flex:1;padding:6px 10px;border:1px solid var(--border);border-radius:6px}
.tabs .count{background:var(--border);border-radius:10px;padding:0 6px;font-size:12px}
pre.fragment{background:var(--hunk);padding:6px 8px;border-radius:6px;overflow-x:auto;font-size:12px}
.flash.error{color:#cf222e}
header.top .count{background:#57606a;border-radius:10px;padding:0 6px;font-size:12px}
ul.notifications li.unread{font-weight:600}ul.notifications form.inline{float:right}
.err{text-align:center;padding:48px 0}.err .code{font-size:48px;color:var(--muted)}
.hl.kwa,.hl.kwb{color:#cf222e}.hl.kwc{color:#0550ae}.hl.kwd{color:#8250df}.hl.str,.hl.sng{color:#0a3069}
.hl.num{color:#0550ae}.hl.com,.hl.slc{color:#6e7781;font-style:italic}.hl.ppc{color:#953800}
.hl.pps{color:#0a3069}.hl.esc{color:#116329}.hl.opt{color:#1f2328}.hl.ipl{color:#0550ae}
form.inline{display:inline;margin:0}header.top nav form.inline button{background:none;border:0;color:#fff;font:inherit;font-weight:600;cursor:pointer;padding:0}
button,a.button{display:inline-block;padding:4px 12px;border:1px solid var(--border);border-radius:6px;background:#f6f8fa;color:var(--fg);font:inherit;cursor:pointer}
form.form{padding:12px 16px}form.form input[type=text],form.form textarea{width:100%;box-sizing:border-box;font:inherit;padding:6px 8px;border:1px solid var(--border);border-radius:6px}
.signin{padding:12px 16px}.user-code{font-size:28px;letter-spacing:4px;font-family:ui-monospace,monospace}
table.sessions{width:100%;border-collapse:collapse}table.sessions td,table.sessions th{padding:6px 10px;text-align:left;border-top:1px solid var(--border)}
table.split{table-layout:fixed}table.split td.code{white-space:pre-wrap;overflow-wrap:anywhere}table.split col.code-col{width:calc(50% - 56px)}
table.split col.ln-col{width:56px}table.split td.ln{width:auto;min-width:0;padding:0 6px}table.diff td.empty{background:var(--soft)}table.diff tr.inline td{white-space:normal;padding:6px 10px;background:var(--soft)}
.thread .review-comment{border:1px solid var(--border);border-radius:6px;background:#fff;margin:4px 0}.thread .review-comment .head{padding:4px 8px}
.thread .review-comment .body{padding:4px 8px}.diff-toggle strong{text-decoration:underline}
.merge-box ul.checks li.ok::before{content:"✓ ";color:#1f883d}.merge-box ul.checks li.blocked::before{content:"✗ ";color:#cf222e}
.reactions{padding:4px 16px 8px;display:flex;flex-wrap:wrap;gap:4px;align-items:center}.reactions .reaction{border-radius:12px;padding:0 8px;font-size:13px}
.reactions button.mine{background:#ddf4ff;border-color:#54aeff}details.react{display:inline-block}details.react summary{cursor:pointer;color:var(--muted);font-size:13px;list-style:none;padding:0 6px}
.watch{display:flex;gap:8px;align-items:center;margin:0 0 12px}form.filter{display:flex;gap:8px;margin:8px 0}form.filter input{flex:1;padding:4px 8px;border:1px solid var(--border);border-radius:6px}
a.person{color:inherit}
.joblog>p{margin:0;padding:8px 12px}.joblog details.log-group>summary{padding:4px 12px;background:var(--soft);border-top:1px solid var(--border);cursor:pointer;font-weight:600}
.joblog summary a.ln{color:var(--muted);font-weight:400;margin-right:6px}.joblog summary:target{background:var(--mark)}
table.log td.lt{white-space:pre-wrap;overflow-wrap:anywhere}table.log tr.log-err td.lt{color:#cf222e}table.log tr.log-warn td.lt{color:#9a6700}
table.api code{overflow-wrap:anywhere}table.blame td.blame-commit{width:30%;white-space:normal;font-family:inherit;border-right:1px solid var(--border)}table.blame tr.blame-start td{border-top:1px solid var(--border)}
)css";

// Live updates (docs/web.md "Live updates"): pages mark regions with data-live; this script
// follows /-/events over a WebSocket and, when an event concerns a region, fetches the page
// again and swaps that region in. Pages work the same without it.
constexpr std::string_view kLiveJs = R"js((function () {
  "use strict";
  var body = document.body;
  if (!body || !window.WebSocket || !window.fetch || !window.DOMParser) return;
  var since = body.getAttribute("data-height");
  var tries = 0, timer = null, pending = {};
  function regions() { return Array.prototype.slice.call(document.querySelectorAll("[data-live]")); }
  if (regions().length === 0 && !document.getElementById("notif-count")) return;
  function concerns(el, ev) {
    var kind = el.getAttribute("data-live");
    if (kind === "blocks") return ev.type === "block";
    if (kind === "issue")
      return ev.repo === el.getAttribute("data-repo") && !!ev.issue &&
             String(ev.issue.number) === el.getAttribute("data-number");
    if (kind === "notifications") return ev.type === "block";
    return false;
  }
  function refresh() {
    timer = null;
    var ids = Object.keys(pending);
    pending = {};
    fetch(location.href, {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (text) {
        if (text === null) return;
        var doc = new DOMParser().parseFromString(text, "text/html");
        ids.forEach(function (id) {
          var now = document.getElementById(id), next = doc.getElementById(id);
          if (now && next) now.replaceWith(document.importNode(next, true));
        });
        ["live-height", "notif-count"].forEach(function (id) {
          var now = document.getElementById(id), next = doc.getElementById(id);
          if (now && next) now.replaceWith(document.importNode(next, true));
        });
        body.setAttribute("data-live-refreshed", String(Date.now()));
      })
      .catch(function () {});
  }
  // The header's unread count: one small JSON request per block, not the whole page.
  function count() {
    fetch("/notifications/count", {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) {
        var el = document.getElementById("notif-count");
        if (!j || !el || typeof j.unread !== "number") return;
        el.textContent = String(j.unread);
        body.setAttribute("data-count-refreshed", String(Date.now()));
      })
      .catch(function () {});
  }
  function schedule(id) {
    pending[id] = true;
    if (!timer) timer = setTimeout(refresh, 50);
  }
  function connect() {
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/-/events";
    if (since) url += "?since=" + encodeURIComponent(since);
    var ws = new WebSocket(url);
    ws.onopen = function () { tries = 0; body.setAttribute("data-live-state", "open"); };
    ws.onmessage = function (m) {
      var ev;
      try { ev = JSON.parse(m.data); } catch (e) { return; }
      if (ev.type === "hello") { since = String(ev.height); return; }
      if (ev.type === "reset") {
        since = String(ev.height);
        regions().forEach(function (el) { if (el.id) schedule(el.id); });
        return;
      }
      if (ev.type === "block") {
        since = String(ev.height);
        var h = document.getElementById("live-height");
        if (h) h.textContent = String(ev.height);
      }
      regions().forEach(function (el) { if (el.id && concerns(el, ev)) schedule(el.id); });
      if (ev.type === "block" && document.getElementById("notif-count")) count();
    };
    ws.onclose = function () {
      body.setAttribute("data-live-state", "closed");
      tries = Math.min(tries + 1, 6);
      setTimeout(connect, 500 * Math.pow(2, tries - 1));
    };
  }
  connect();
})();
)js";

// The job log script (docs/web.md "Job page"): a job page whose job runs carries, on #job-log,
// the last line it rendered (data-line), whether its last section is open (data-open), and
// where to follow the log: data-ws (the API's live log WebSocket, public repositories) or
// data-poll (the same lines as JSON on a web path, for the session cookie). New lines are
// appended with the rules of web/job_log_view.h, as text nodes only; after a drop the script
// resumes after the last line it has (?line=N), backing off, at most kMaxTries times in a row
// without news. The end frame sets the job's state and the page's head and steps are fetched
// again.
constexpr std::string_view kJobLogJs = R"js((function () {
  "use strict";
  var log = document.getElementById("job-log");
  if (!log) return;
  var wsPath = log.getAttribute("data-ws"), pollPath = log.getAttribute("data-poll");
  if (!window.WebSocket) wsPath = null;
  if (!window.fetch) pollPath = null;
  if (!wsPath && !pollPath) return;
  var kMaxTries = 8;
  var last = Number(log.getAttribute("data-line")) || 0;
  var sections = log.querySelectorAll(".log-group");
  var current = log.getAttribute("data-open") === "1" && sections.length > 0
                    ? sections[sections.length - 1] : null;
  var tries = 0, done = false, everOpened = false;
  var GROUP = "##[group]", ENDGROUP = "##[endgroup]", ERROR = "##[error]", WARNING = "##[warning]";
  var SYMBOLS = {success: "\u2713", failure: "\u2717", timed_out: "\u23f1", cancelled: "\u2298",
                 skipped: "\u2013", in_progress: "\u25cf"};
  function starts(s, prefix) { return s.slice(0, prefix.length) === prefix; }
  function lineLink(n, time) {
    var a = document.createElement("a");
    a.href = "#L" + n;
    a.textContent = String(n);
    if (time) a.title = time;
    return a;
  }
  function state() {
    var el = document.querySelector("#job-state .run-state");
    return el ? el.title : "";
  }
  function setState(s) {
    var el = document.querySelector("#job-state .run-state");
    if (!el || !s) return;
    var cls = s === "success" ? "run-ok"
            : s === "failure" || s === "timed_out" ? "run-bad"
            : s === "in_progress" || s === "queued" ? "run-wait" : "run-off";
    el.className = "label run-state " + cls;
    el.title = s;
    el.textContent = (SYMBOLS[s] || "\u25cb") + " " + s;
  }
  function start(group, marker) {
    var empty = document.getElementById("job-log-empty");
    if (empty) empty.remove();
    var details = marker > 0 || group !== "";
    var s = document.createElement(details ? "details" : "div");
    s.className = "log-group";
    s.setAttribute("data-group", group);
    if (details) {
      s.open = true;
      var summary = document.createElement("summary");
      if (marker > 0) {
        summary.id = "L" + marker;
        var a = lineLink(marker, "");
        a.className = "ln";
        summary.appendChild(a);
        summary.appendChild(document.createTextNode(" " + group));
      } else {
        summary.textContent = group;
      }
      s.appendChild(summary);
    }
    var table = document.createElement("table");
    table.className = "code log";
    table.appendChild(document.createElement("tbody"));
    s.appendChild(table);
    log.appendChild(s);
    return s;
  }
  function add(l) {
    if (!l || typeof l.line !== "number" || l.line <= last) return;
    last = l.line;
    log.setAttribute("data-line", String(last));
    var text = typeof l.text === "string" ? l.text : "";
    var group = typeof l.group === "string" ? l.group : "";
    if (starts(text, GROUP)) { current = start(group, l.line); return; }
    if (text === ENDGROUP) { current = null; return; }
    if (!current || current.getAttribute("data-group") !== group) current = start(group, 0);
    var tr = document.createElement("tr");
    tr.id = "L" + l.line;
    if (starts(text, ERROR)) {
      tr.className = "log-err";
      text = text.slice(ERROR.length);
    } else if (starts(text, WARNING)) {
      tr.className = "log-warn";
      text = text.slice(WARNING.length);
    }
    var ln = document.createElement("td");
    ln.className = "ln";
    ln.appendChild(lineLink(l.line, typeof l.time === "string" ? l.time : ""));
    var td = document.createElement("td");
    td.className = "lt";
    td.textContent = text;
    tr.appendChild(ln);
    tr.appendChild(td);
    current.querySelector("tbody").appendChild(tr);
  }
  function addAll(lines) {
    if (lines.length === 0) return;
    var doc = document.documentElement;
    var atBottom = window.innerHeight + window.scrollY >= doc.scrollHeight - 40;
    if (state() === "queued") setState("in_progress");
    lines.forEach(function (l) { add(l); });
    if (atBottom) window.scrollTo(0, doc.scrollHeight);
  }
  // The job's head and steps as the node has them now (its conclusion, its time).
  function refresh() {
    if (!window.DOMParser) return;
    fetch(location.pathname + location.search,
          {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (text) {
        if (text === null) return;
        var doc = new DOMParser().parseFromString(text, "text/html");
        ["job-head", "job-steps"].forEach(function (id) {
          var now = document.getElementById(id), next = doc.getElementById(id);
          if (now && next) now.replaceWith(document.importNode(next, true));
        });
        log.setAttribute("data-refreshed", String(Date.now()));
      })
      .catch(function () {});
  }
  function end(f) {
    done = true;
    setState(f.conclusion || f.status);
    log.setAttribute("data-live-state", "ended");
    if (window.fetch) refresh();
  }
  function retry(fn) {
    tries += 1;
    if (tries > kMaxTries) {
      log.setAttribute("data-live-state", "gave-up");
      var p = document.createElement("p");
      p.className = "muted";
      p.id = "job-log-lost";
      p.textContent = "The live log was lost: reload the page to follow it again.";
      log.parentNode.insertBefore(p, log.nextSibling);
      return;
    }
    setTimeout(fn, Math.min(8000, 500 * Math.pow(2, tries - 1)));
  }
  function connect() {
    if (done) return;
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + wsPath +
              "?line=" + last;
    var ws = new WebSocket(url);
    ws.onopen = function () {
      everOpened = true;
      log.setAttribute("data-live-state", "open");
    };
    ws.onmessage = function (m) {
      var f;
      try { f = JSON.parse(m.data); } catch (e) { return; }
      if (f.type === "line") {
        tries = 0;
        addAll([f]);
      } else if (f.type === "end") {
        end(f);
      }
    };
    ws.onclose = function () {
      if (done) return;
      log.setAttribute("data-live-state", "closed");
      // Refused before it ever opened (no WebSocket through a proxy): poll instead.
      if (!everOpened && pollPath) return poll();
      retry(connect);
    };
  }
  function poll() {
    if (done) return;
    fetch(pollPath + "?line=" + last, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (p) {
        var lines = Array.isArray(p.lines) ? p.lines : [];
        log.setAttribute("data-live-state", "polling");
        if (lines.length > 0) tries = 0;
        addAll(lines);
        if (p.complete) return end(p);
        setTimeout(poll, lines.length >= 1000 ? 0 : 1000);
      })
      .catch(function () { retry(poll); });
  }
  if (wsPath) connect(); else poll();
})();
)js";

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

std::string_view stylesheet() {
  return kCss;
}

const std::string& stylesheet_path() {
  static const std::string path = [] {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(fnv1a(kCss)));
    return "/-/static/guts." + std::string(buf) + ".css";
  }();
  return path;
}

std::string_view live_script() {
  return kLiveJs;
}

const std::string& live_script_path() {
  static const std::string path = [] {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(fnv1a(kLiveJs)));
    return "/-/static/live." + std::string(buf) + ".js";
  }();
  return path;
}

std::string_view job_log_script() {
  return kJobLogJs;
}

const std::string& job_log_script_path() {
  static const std::string path = [] {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(fnv1a(kJobLogJs)));
    return "/-/static/joblog." + std::string(buf) + ".js";
  }();
  return path;
}

}  // namespace guts::web
