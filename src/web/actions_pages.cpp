// The Actions tab (docs/web.md, docs/ci.md): workflow runs of a repository and a run's jobs
// and steps, from the CI state (state/ci.h); writers get Cancel / Re-run buttons, forms with the
// CSRF token posting the same RunAction transaction (kind 59) REST and the CLI submit.
//
//   GET  .../actions                   runs, newest first, 25 per page (?page=N)
//   GET  .../actions/runs/{id}         a run: its jobs, their steps, conclusions, log tails
//   GET  .../actions/jobs/{id}         a job: its steps and its whole log so far, followed live
//                                      by the job log script while the job runs
//   GET  .../actions/jobs/{id}/lines   the job's lines after ?line=N as JSON (the API's live
//                                      log page, reached with the session cookie)
//   POST .../actions/runs/{id}/cancel  RunAction cancel → 303 to the run
//   POST .../actions/runs/{id}/rerun   RunAction rerun  → 303 to the run
#include "web/actions_pages.h"

#include <memory>
#include <nlohmann/json.hpp>

#include "api/collab_common.h"
#include "api/errors.h"
#include "api/router.h"
#include "core/bytes.h"
#include "core/status.h"
#include "core/time.h"
#include "state/ci.h"
#include "web/assets.h"
#include "web/job_log_view.h"
#include "web/pages.h"
#include "web/repo_view.h"

namespace guts::web {

namespace {

constexpr size_t kPerPage = 25;

// The state a run, job or step shows: its conclusion when completed, else its status.
std::string shown_state(uint8_t status, uint8_t conclusion) {
  if (status == state::kRunCompleted && *state::conclusion_name(conclusion))
    return state::conclusion_name(conclusion);
  return state::run_status_name(status);
}

// A status icon: a pill with a symbol and the state's name as its text for screen readers.
void state_icon(Html& h, uint8_t status, uint8_t conclusion) {
  std::string s = shown_state(status, conclusion);
  const char* symbol = s == "success"       ? "\u2713"
                       : s == "failure"     ? "\u2717"
                       : s == "timed_out"   ? "\u23f1"
                       : s == "cancelled"   ? "\u2298"
                       : s == "skipped"     ? "\u2013"
                       : s == "in_progress" ? "\u25cf"
                                            : "\u25cb";
  const char* cls = s == "success"                        ? "run-ok"
                    : s == "failure" || s == "timed_out"  ? "run-bad"
                    : s == "in_progress" || s == "queued" ? "run-wait"
                                                          : "run-off";
  h.raw("<span class=\"label run-state ")
      << cls << Safe{"\" title=\""} << s << Safe{"\">"} << symbol << " " << s << Safe{"</span>"};
}

std::string branch_of(const std::string& ref) {
  for (std::string_view p : {"refs/heads/", "refs/tags/"})
    if (ref.rfind(p, 0) == 0) return ref.substr(p.size());
  return ref;
}

std::string run_url(const RepoView& rv, uint64_t id) {
  return rv.base + "/actions/runs/" + std::to_string(id);
}

std::optional<state::Run> path_run(const api::Request& req, const state::StateView& view) {
  auto id = api::collab::number_param(req, "id");
  if (!id) return std::nullopt;
  auto r = state::runs::run(view.schema(), view.kv(), *id);
  if (!r || r->repo_id != api::repo_context(req).repo.id) return std::nullopt;
  return r;
}

void run_summary(Html& h, const RepoView& rv, const state::StateView& view, const state::Run& r,
                 uint64_t now) {
  std::string sha = hex_encode(r.sha);
  h << "#" << r.id << " · " << state::run_event_name(r.event) << " · ";
  h.raw("<a href=\"") << rv.base + "/tree/" + url_path(branch_of(r.ref));
  h.raw("\">") << branch_of(r.ref) << Safe{"</a> · <a href=\""};
  h << rv.base + "/commit/" + sha;
  h.raw("\"><code>") << sha.substr(0, 7) << Safe{"</code></a> · "};
  h << age(r.created_ms, now) << " by " << display_name(view, r.actor);
  if (r.attempt > 1) h << " · attempt " << static_cast<uint64_t>(r.attempt);
}

// What a job runs on, its runner, when it started and how long it took.
void job_meta(Html& h, const state::StateView& view, const state::Job& j, uint64_t now) {
  if (!j.runs_on.empty()) {
    std::string labels;
    for (const auto& l : j.runs_on) labels += (labels.empty() ? "" : ", ") + l;
    h << "runs on " << labels;
  }
  if (j.runner != crypto::PublicKey{}) {
    auto reg = state::runs::runner(view.schema(), view.kv(), j.repo_id, j.runner);
    h << " · runner " << (reg ? reg->name : display_name(view, j.runner));
  }
  if (j.started_ms) h << " · started " << age(j.started_ms, now);
  if (j.completed_ms && j.started_ms && j.completed_ms >= j.started_ms)
    h << " · took " << std::to_string((j.completed_ms - j.started_ms + 999) / 1000) << " s";
}

}  // namespace

api::Response actions_page(WebEnv& env, api::Request& req) {
  RepoView rv = open_repo(env, req);
  auto view = env.svc.chain().view();
  size_t page_no = page_number(req);
  auto runs =
      state::runs::runs_of_repo(view.schema(), view.kv(), rv.rc->repo.id, page_no * kPerPage + 1);
  size_t skip = (page_no - 1) * kPerPage;
  bool more = runs.size() > skip + kPerPage;
  Html h;
  repo_header(h, rv, "actions");
  h.raw("<div class=\"box\"><ul class=\"list runs\">");
  uint64_t now = unix_millis();
  size_t shown = 0;
  for (size_t i = skip; i < runs.size() && i < skip + kPerPage; ++i) {
    const auto& r = runs[i];
    ++shown;
    h.raw("<li>");
    state_icon(h, r.status, r.conclusion);
    h.raw(" <a href=\"") << run_url(rv, r.id);
    h.raw("\"><strong>") << r.workflow_name << Safe{"</strong></a> <span class=\"muted\">"};
    h << r.workflow_path;
    h.raw("</span><br><span class=\"muted\">");
    run_summary(h, rv, view, r, now);
    h.raw("</span></li>");
  }
  if (shown == 0)
    h.raw(
        "<li class=\"muted\">No workflow runs yet. Workflows live in <code>.guts/workflows/"
        "</code>.</li>");
  h.raw("</ul></div><nav class=\"pager\">");
  std::string q = rv.base + "/actions?page=";
  if (page_no > 1)
    h.raw("<a rel=\"prev\" href=\"") << q + std::to_string(page_no - 1) << Safe{"\">Newer</a>"};
  if (more)
    h.raw("<a rel=\"next\" href=\"") << q + std::to_string(page_no + 1) << Safe{"\">Older</a>"};
  h.raw("</nav>");
  return page(env, 200, "Actions · " + rv.full, h);
}

api::Response run_page(WebEnv& env, api::Request& req) {
  RepoView rv = open_repo(env, req);
  auto view = env.svc.chain().view();
  auto r = path_run(req, view);
  if (!r) throw Error(Code::kNotFound, "No such run");
  uint64_t now = unix_millis();
  Html h;
  repo_header(h, rv, "actions");
  h.raw("<h2 id=\"run-title\">");
  state_icon(h, r->status, r->conclusion);
  h << " " << r->workflow_name;
  h.raw("</h2><p class=\"muted\">");
  run_summary(h, rv, view, *r, now);
  h << " · " << r->workflow_path;
  h.raw("</p>");
  if (!r->error.empty()) h.raw("<pre class=\"run-error\">") << r->error << Safe{"</pre>"};
  const auto& rc = api::repo_context(req);
  if (req.principal.authenticated && rc.permission >= state::Permission::kWrite) {
    h.raw("<p id=\"run-actions\">");
    if (r->status != state::kRunCompleted)
      post_button(h, req, run_url(rv, r->id) + "/cancel", "Cancel run");
    else if (!r->jobs.empty())
      post_button(h, req, run_url(rv, r->id) + "/rerun", "Re-run all jobs");
    h.raw("</p>");
  }
  auto jobs = state::runs::jobs_of(view.schema(), view.kv(), *r);
  for (const auto& j : jobs) {
    h.raw("<div class=\"box job\" id=\"job-") << j.id << Safe{"\"><div class=\"head\">"};
    state_icon(h, j.status, j.conclusion);
    h.raw(" <a href=\"") << rv.base + "/actions/jobs/" + std::to_string(j.id);
    h.raw("\"><strong>") << j.name << Safe{"</strong></a> <span class=\"muted\">"};
    job_meta(h, view, j, now);
    h.raw("</span></div><ul class=\"list steps\">");
    if (j.steps.empty()) h.raw("<li class=\"muted\">No steps reported yet.</li>");
    for (const auto& s : j.steps) {
      h.raw("<li>");
      state_icon(h, s.status, s.conclusion);
      h << " " << static_cast<uint64_t>(s.number) << ". " << s.name;
      if (!s.log_tail.empty()) h.raw("<pre class=\"log\">") << s.log_tail << Safe{"</pre>"};
      h.raw("</li>");
    }
    h.raw("</ul></div>");
  }
  return page(env, 200, r->workflow_name + " #" + std::to_string(r->id) + " · " + rv.full, h);
}

namespace {

// How many lines the job page renders (pages of 1,000 from the API); past them it links the
// whole log, and a running job's script follows on from the last one.
constexpr uint64_t kMaxRenderedLines = 20'000;

std::optional<state::Job> path_job(const api::Request& req, const state::StateView& view) {
  auto id = api::collab::number_param(req, "id");
  if (!id) return std::nullopt;
  auto j = state::runs::job(view.schema(), view.kv(), *id);
  if (!j || j->repo_id != api::repo_context(req).repo.id) return std::nullopt;
  return j;
}

// "/api/v3/repos/{o}/{r}/actions/jobs/{id}/logs" of the request's repository, percent-encoded.
std::string api_job_url(const api::Request& req, uint64_t job) {
  return "/api/v3/repos" + repo_base_url(api::repo_context(req)) + "/actions/jobs/" +
         std::to_string(job) + "/logs";
}

// The lines of `job` after `after` as the API's live log page answers them (api/job_log_live.h:
// {"status","conclusion","lines":[…],"next","complete"}), from the API's own handler of
// GET .../actions/jobs/{id}/logs/live found through the router: the one reader of this node's
// job logs (the runner's local file, else the stored blob). The web route was authorized with
// the same access (repo:read) on the same repository, so the request's principal and repository
// context go along unchanged. nullopt: no such route (a node without CI routes).
std::optional<api::Response> api_log_page(WebEnv& env, const api::Request& req, uint64_t job,
                                          uint64_t after) {
  if (!env.router) return std::nullopt;
  std::string raw = api_job_url(req, job) + "/live";
  auto m = env.router->match("GET", raw);
  if (!m.found() || m.streaming()) return std::nullopt;
  const auto& rc = api::repo_context(req);
  api::Request sub;
  sub.method = "GET";
  sub.path = "/api/v3/repos/" + rc.owner.username + "/" + rc.repo.name + "/actions/jobs/" +
             std::to_string(job) + "/logs/live";
  sub.query = "line=" + std::to_string(after);
  sub.target = raw + "?" + sub.query;
  sub.headers.set("Accept", "application/json");
  sub.remote_address = req.remote_address;
  sub.request_id = req.request_id;
  sub.params = std::move(m.params);
  sub.access = std::move(m.access);
  sub.route = std::move(m.pattern);
  sub.principal = req.principal;
  sub.route_data = req.route_data;
  // The handler answers before it returns (it reads files, it waits for nothing).
  auto answer = std::make_shared<std::optional<api::Response>>();
  try {
    (*m.handler)(sub, [answer](api::Response r) { *answer = std::move(r); });
  } catch (const std::exception&) {
    return std::nullopt;
  }
  return std::move(*answer);
}

struct JobLog {
  LogView view;
  bool found = false;  // the API answered with lines (a log exists on this node)
  bool more = false;   // stopped at kMaxRenderedLines with more to come
};

JobLog render_log(WebEnv& env, const api::Request& req, uint64_t job) {
  JobLog out;
  for (;;) {
    auto r = api_log_page(env, req, job, out.view.last());
    if (!r || r->status != 200) break;
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    if (!j.is_object() || !j["lines"].is_array()) break;
    const auto& lines = j["lines"];
    for (const auto& l : lines) {
      if (!l.is_object()) continue;
      LogRow row;
      row.number = l.value("line", uint64_t{0});
      row.time = l.value("time", "");
      row.group = l.value("group", "");
      row.text = l.value("text", "");
      out.view.add(row);
      out.found = true;
    }
    if (lines.empty() || j.value("complete", false)) break;
    if (out.view.last() >= kMaxRenderedLines) {
      out.more = true;
      break;
    }
  }
  return out;
}

}  // namespace

api::Response job_page(WebEnv& env, api::Request& req) {
  RepoView rv = open_repo(env, req);
  auto view = env.svc.chain().view();
  auto j = path_job(req, view);
  if (!j) throw Error(Code::kNotFound, "No such job");
  auto r = state::runs::run(view.schema(), view.kv(), j->run_id);
  if (!r) throw Error(Code::kNotFound, "No such job");
  uint64_t now = unix_millis();
  // The state before the lines: a job seen completed has all its lines in what follows.
  bool completed = j->status == state::kRunCompleted;
  JobLog log = render_log(env, req, j->id);
  Html h;
  repo_header(h, rv, "actions");
  h.raw("<p class=\"crumbs\"><a href=\"") << run_url(rv, r->id);
  h.raw("\">") << r->workflow_name << " #" << r->id << Safe{"</a></p>"};
  h.raw("<div id=\"job-head\"><h2 id=\"job-title\"><span id=\"job-state\">");
  state_icon(h, j->status, j->conclusion);
  h.raw("</span> ") << j->name << Safe{"</h2><p class=\"muted\" id=\"job-summary\">"};
  job_meta(h, view, *j, now);
  if (r->attempt > 1) h << " · attempt " << static_cast<uint64_t>(r->attempt);
  h.raw("</p></div>");
  h.raw(
      "<div class=\"box\" id=\"job-steps\"><div class=\"head\">Steps</div><ul class=\"list "
      "steps\">");
  if (j->steps.empty()) h.raw("<li class=\"muted\">No steps reported yet.</li>");
  for (const auto& s : j->steps) {
    h.raw("<li>");
    state_icon(h, s.status, s.conclusion);
    h << " " << static_cast<uint64_t>(s.number) << ". ";
    auto g = log.view.groups().find(s.name);
    if (g != log.view.groups().end())
      h.raw("<a href=\"#L") << g->second << Safe{"\">"} << s.name << Safe{"</a>"};
    else
      h << s.name;
    h.raw("</li>");
  }
  h.raw("</ul></div>");
  // The log: data-* tell the job log script (web/assets.cpp) where to follow it while the job
  // runs. A private repository's is polled through the web path (the API's WebSocket path takes
  // no session cookie, api/auth.h); a public one's follows the WebSocket.
  // The raw log is the API's, which reads no session cookie: linked for public repositories.
  std::string raw_log = api_job_url(req, j->id);
  bool is_public = !rv.rc->repo.is_private;
  h.raw("<div class=\"box\"><div class=\"head\">Log");
  if (is_public) h.raw(" <a class=\"muted\" href=\"") << raw_log << Safe{"\">raw</a>"};
  h.raw("</div><div class=\"joblog\" id=\"job-log\" data-line=\"") << log.view.last();
  h.raw("\" data-open=\"") << (log.view.open() ? "1" : "0") << Safe{"\""};
  if (!completed) {
    if (is_public) h.raw(" data-ws=\"") << raw_log + "/live" << Safe{"\""};
    h.raw(" data-poll=\"") << rv.base + "/actions/jobs/" + std::to_string(j->id) + "/lines";
    h.raw("\"");
  }
  h.raw(">");
  if (!log.found)
    h.raw("<p class=\"muted\" id=\"job-log-empty\">")
        << (completed ? "No log for this job on this node." : "No log lines yet.") << Safe{"</p>"};
  h << Safe{log.view.html()};
  h.raw("</div>");
  if (log.more) {
    h.raw("<p class=\"muted\" id=\"job-log-cut\">The first ") << log.view.last() << " lines";
    if (is_public) h.raw(": the whole log is <a href=\"") << raw_log << Safe{"\">here</a>"};
    h.raw(".</p>");
  }
  h.raw("</div><script src=\"") << job_log_script_path() << Safe{"\" defer></script>"};
  return page(env, 200,
              j->name + " · " + r->workflow_name + " #" + std::to_string(r->id) + " · " + rv.full,
              h);
}

void job_lines(WebEnv& env, api::Request& req, api::Responder respond) {
  auto j = path_job(req, env.svc.chain().view());
  if (!j) return respond(api::error_response(404, "Not Found"));
  auto after = decimal(req.query_param("line").value_or(""));
  if (!after) return respond(api::error_response(422, "line: a line number"));
  auto r = api_log_page(env, req, j->id, *after);
  if (!r) return respond(api::error_response(404, "Not Found"));
  r->headers.set("Cache-Control", "no-cache");
  security_headers(r->headers);
  respond(std::move(*r));
}

namespace {
void run_form(WebEnv& env, api::Request& req, api::Responder respond, uint8_t action) {
  if (!req.principal.authenticated) return respond(api::error_response(401, "Sign in to do this"));
  auto r = path_run(req, env.svc.chain().view());
  if (!r) return respond(api::error_response(404, "Not Found"));
  const auto& rc = api::repo_context(req);
  std::string to = "/" + url_path(rc.owner.username) + "/" + url_path(rc.repo.name) +
                   "/actions/runs/" + std::to_string(r->id);
  api::collab::submit(env.svc, req, std::move(respond), state::RunAction{r->id, action},
                      "WorkflowRun", [to](const state::TxOutcome&) { return see_other(to); });
}
}  // namespace

void cancel_run_form(WebEnv& env, api::Request& req, api::Responder respond) {
  run_form(env, req, std::move(respond), state::kRunCancel);
}
void rerun_run_form(WebEnv& env, api::Request& req, api::Responder respond) {
  run_form(env, req, std::move(respond), state::kRunRerun);
}

}  // namespace guts::web
