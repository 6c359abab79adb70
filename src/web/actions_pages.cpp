// The Actions tab (docs/web.md, docs/ci.md): workflow runs of a repository and a run's jobs
// and steps, from the CI state (state/ci.h); writers get Cancel / Re-run buttons, forms with the
// CSRF token posting the same RunAction transaction (kind 59) REST and the CLI submit.
//
//   GET  .../actions                   runs, newest first, 25 per page (?page=N)
//   GET  .../actions/runs/{id}         a run: its jobs, their steps, conclusions, log tails
//   POST .../actions/runs/{id}/cancel  RunAction cancel → 303 to the run
//   POST .../actions/runs/{id}/rerun   RunAction rerun  → 303 to the run
#include "web/actions_pages.h"

#include "api/collab_common.h"
#include "api/errors.h"
#include "core/bytes.h"
#include "core/status.h"
#include "core/time.h"
#include "state/ci.h"
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
    h.raw(" <strong>") << j.name << Safe{"</strong> <span class=\"muted\">"};
    if (!j.runs_on.empty()) {
      std::string labels;
      for (const auto& l : j.runs_on) labels += (labels.empty() ? "" : ", ") + l;
      h << "runs on " << labels;
    }
    if (j.runner != crypto::PublicKey{}) {
      auto reg = state::runs::runner(view.schema(), view.kv(), r->repo_id, j.runner);
      h << " · runner " << (reg ? reg->name : display_name(view, j.runner));
    }
    if (j.started_ms) h << " · started " << age(j.started_ms, now);
    if (j.completed_ms && j.started_ms && j.completed_ms >= j.started_ms)
      h << " · took " << std::to_string((j.completed_ms - j.started_ms + 999) / 1000) << " s";
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
