// GitHub Actions REST shapes over the CI state (api/actions_routes.h; docs/ci.md "REST").
// Reads come from the committed state (state/ci.h); workflow files from the bare repository
// through libgit2 (git::Browser), on the worker pool; writes are transactions signed for the
// caller like every other REST write (collab::submit).
#include "api/actions_routes.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "api/auth.h"
#include "api/collab_common.h"
#include "api/errors.h"
#include "api/git_routes.h"
#include "api/github.h"
#include "api/routes.h"
#include "ci/workflow.h"
#include "core/time.h"
#include "crypto/did.h"
#include "crypto/hash.h"
#include "git/browse.h"
#include "git/repo_store.h"
#include "state/ci.h"
#include "state/runner_policy.h"
#include "storage/db.h"

namespace guts::api {

namespace {

using collab::Shapes;
using collab::submit;

constexpr size_t kMaxListedRuns = 1000;  // the newest runs a listing filters
constexpr uint64_t kRegistrationTokenLifetimeMs = 60 * 60 * 1000;  // GitHub's: one hour
constexpr std::string_view kWorkflowDir = ".guts/workflows";

struct ActionsEnv {
  Services& svc;
  git::RepoStore& store;
};

uint64_t id53(std::string_view bytes) {
  auto d = crypto::sha256(bytes);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | d[i];
  return (v & ((uint64_t{1} << 53) - 1)) | 1;
}

json time_or_null(uint64_t ms) {
  return ms ? json(iso8601(ms)) : json(nullptr);
}

// workflow_dispatch inputs (Guts: GitHub shows them only in the webhook's payload).
json inputs_json(const state::Run& r) {
  json o = json::object();
  for (const auto& [k, v] : r.inputs) o[k] = v;
  return o;
}

json conclusion_json(uint8_t c) {
  const char* n = state::conclusion_name(c);
  return *n ? json(n) : json(nullptr);
}

std::string branch_of(const std::string& ref) {
  for (std::string_view p : {"refs/heads/", "refs/tags/"})
    if (ref.rfind(p, 0) == 0) return ref.substr(p.size());
  return ref;
}

std::string file_name(std::string_view path) {
  auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

// A ref of the path or body: a full object id, a full ref, a branch, a tag. Fills the full ref
// name when it was one.
std::optional<Bytes> resolve_ref(const state::StateView& view, uint64_t repo,
                                 const std::string& ref, std::string* full = nullptr) {
  if (ref.size() == 40 || ref.size() == 64)
    if (auto b = hex_decode(ref)) return b;
  for (const char* prefix : {"", "refs/heads/", "refs/tags/"}) {
    std::string name = prefix + ref;
    if (*prefix == 0 && name.rfind("refs/", 0) != 0) continue;
    if (auto v = view.ref(repo, name)) {
      if (full) *full = name;
      return *v;
    }
  }
  return std::nullopt;
}

// Shapes of one request.
struct Ctx {
  Services& svc;
  const RepoContext& rc;
  Shapes shapes;
  std::string api, html;
  Ctx(Services& s, const RepoContext& r)
      : svc(s),
        rc(r),
        shapes(s, r.repo, r.owner),
        api(s.public_url() + "/api/v3/repos/" + r.owner.username + "/" + r.repo.name),
        html(s.public_url() + "/" + r.owner.username + "/" + r.repo.name) {}
  const state::StateView& view() const { return shapes.view(); }

  json run(const state::Run& r) {
    std::string run_url = api + "/actions/runs/" + std::to_string(r.id);
    std::string sha = hex_encode(r.sha);
    json prs = json::array();
    if (r.pull_number)
      prs.push_back(
          {{"number", r.pull_number}, {"url", api + "/pulls/" + std::to_string(r.pull_number)}});
    uint64_t wid = workflow_id(r.repo_id, r.workflow_path);
    json actor = shapes.user(r.actor);
    // A pull request's run: its head branch (r.ref is the base branch it would merge into).
    std::string head_branch = branch_of(r.ref);
    if (r.event == state::kEventPullRequest)
      if (auto x = view().issue(r.repo_id, r.pull_number)) head_branch = x->head_ref;
    return {{"id", r.id},
            {"name", r.workflow_name},
            {"node_id", node_id("WorkflowRun", r.id)},
            {"head_branch", head_branch},
            {"head_sha", sha},
            {"path", r.workflow_path},
            {"display_title", r.workflow_name},
            {"run_number", r.id},
            {"event", state::run_event_name(r.event)},
            {"status", state::run_status_name(r.status)},
            {"conclusion", conclusion_json(r.conclusion)},
            {"workflow_id", wid},
            {"check_suite_id", r.id},
            {"url", run_url},
            {"html_url", html + "/actions/runs/" + std::to_string(r.id)},
            {"pull_requests", prs},
            {"created_at", iso8601(r.created_ms)},
            {"updated_at", iso8601(r.updated_ms)},
            {"run_attempt", r.attempt},
            {"run_started_at", iso8601(r.created_ms)},
            {"actor", actor},
            {"triggering_actor", actor},
            {"jobs_url", run_url + "/jobs"},
            {"logs_url", run_url + "/logs"},
            {"check_suite_url", api + "/check-suites/" + std::to_string(r.id)},
            {"cancel_url", run_url + "/cancel"},
            {"rerun_url", run_url + "/rerun"},
            {"artifacts_url", run_url + "/artifacts"},
            {"workflow_url", api + "/actions/workflows/" + std::to_string(wid)},
            {"head_commit", {{"id", sha}, {"tree_id", nullptr}}},
            {"repository", shapes.repo(r.repo_id)},
            {"head_repository", shapes.repo(r.repo_id)},
            {"error", r.error.empty() ? json(nullptr) : json(r.error)},
            {"inputs", inputs_json(r)}};
  }

  // The steps of a job: the reported ones, and the workflow's others as queued (or, for a
  // completed job, skipped).
  json steps(const state::Run& r, const state::Job& j) {
    std::vector<std::pair<std::string, uint32_t>> planned;
    auto parsed = ci::parse_workflow(r.workflow_path, r.content);
    if (auto* wf = std::get_if<ci::Workflow>(&parsed))
      if (auto* job = wf->job(j.key)) {
        uint32_t n = 0;
        for (const auto& s : job->steps) {
          std::string name = s.name;
          if (name.empty()) name = "Run " + s.run.substr(0, s.run.find('\n'));
          planned.emplace_back(name, ++n);
        }
      }
    json out = json::array();
    size_t reported = 0;
    for (const auto& s : j.steps) {
      out.push_back({{"name", s.name},
                     {"status", state::run_status_name(s.status)},
                     {"conclusion", conclusion_json(s.conclusion)},
                     {"number", s.number},
                     {"started_at", time_or_null(s.started_ms)},
                     {"completed_at", time_or_null(s.completed_ms)}});
      reported = std::max<size_t>(reported, s.number);
    }
    for (const auto& [name, n] : planned) {
      if (n <= reported) continue;
      bool done = j.status == state::kRunCompleted;
      out.push_back({{"name", name},
                     {"status", done ? "completed" : "queued"},
                     {"conclusion", done ? json("skipped") : json(nullptr)},
                     {"number", n},
                     {"started_at", nullptr},
                     {"completed_at", nullptr}});
    }
    return out;
  }

  json job(const state::Run& r, const state::Job& j) {
    std::string url = api + "/actions/jobs/" + std::to_string(j.id);
    json runner_id_json = nullptr, runner_name = nullptr;
    if (j.runner != crypto::PublicKey{}) {
      runner_id_json = runner_id(j.runner);
      auto reg = state::runs::runner(view().schema(), view().kv(), r.repo_id, j.runner);
      runner_name = reg ? json(reg->name) : json(crypto::did_from_key(j.runner));
    }
    return {{"id", j.id},
            {"run_id", r.id},
            {"run_url", api + "/actions/runs/" + std::to_string(r.id)},
            {"run_attempt", r.attempt},
            {"node_id", node_id("WorkflowJob", j.id)},
            {"head_sha", hex_encode(r.sha)},
            {"head_branch", branch_of(r.ref)},
            {"url", url},
            {"html_url",
             html + "/actions/runs/" + std::to_string(r.id) + "#job-" + std::to_string(j.id)},
            {"status", state::run_status_name(j.status)},
            {"conclusion", conclusion_json(j.conclusion)},
            {"created_at", iso8601(r.created_ms)},
            {"started_at", time_or_null(j.started_ms)},
            {"completed_at", time_or_null(j.completed_ms)},
            {"name", j.name},
            {"steps", steps(r, j)},
            {"check_run_url", api + "/check-runs/" + std::to_string(j.id)},
            {"labels", j.runs_on},
            {"runner_id", runner_id_json},
            {"runner_name", runner_name},
            {"runner_group_id", nullptr},
            {"runner_group_name", nullptr},
            {"workflow_name", r.workflow_name},
            {"guts_results", results(j)}};
  }

  // Agreeing runners (state/runner_policy.h): each runner's completion so far (Guts' field).
  json results(const state::Job& j) {
    json out = json::array();
    for (const auto& x : j.results) {
      auto reg = state::runs::runner(view().schema(), view().kv(), j.repo_id, x.runner);
      out.push_back({{"runner_id", runner_id(x.runner)},
                     {"runner_name", reg ? json(reg->name) : json(crypto::did_from_key(x.runner))},
                     {"conclusion", state::conclusion_name(x.conclusion)},
                     {"trusted", state::runner_trusted(view(), j.repo_id, x.runner)},
                     {"completed_at", iso8601(x.completed_ms)}});
    }
    return out;
  }

  // GitHub's check run, from a job.
  json check_run(const state::Run& r, const state::Job& j) {
    std::string url = api + "/check-runs/" + std::to_string(j.id);
    std::string summary = j.status == state::kRunCompleted
                              ? std::string("Job ") + state::conclusion_name(j.conclusion)
                              : std::string("Job ") + state::run_status_name(j.status);
    json runner = nullptr;
    if (j.runner != crypto::PublicKey{}) {
      auto reg = state::runs::runner(view().schema(), view().kv(), r.repo_id, j.runner);
      runner = {{"id", runner_id(j.runner)},
                {"name", reg ? json(reg->name) : json(nullptr)},
                {"key", crypto::did_from_key(j.runner)}};
    }
    return {{"id", j.id},
            {"head_sha", hex_encode(r.sha)},
            {"node_id", node_id("CheckRun", j.id)},
            {"external_id", std::to_string(j.id)},
            {"url", url},
            {"html_url",
             html + "/actions/runs/" + std::to_string(r.id) + "#job-" + std::to_string(j.id)},
            {"details_url", html + "/actions/runs/" + std::to_string(r.id)},
            {"status", state::run_status_name(j.status)},
            {"conclusion", conclusion_json(j.conclusion)},
            {"started_at", time_or_null(j.started_ms)},
            {"completed_at", time_or_null(j.completed_ms)},
            {"output",
             {{"title", summary},
              {"summary", summary},
              {"text", nullptr},
              {"annotations_count", 0},
              {"annotations_url", url + "/annotations"}}},
            {"name", state::job_status_context(r, j)},
            {"check_suite", {{"id", r.id}}},
            {"app",
             {{"id", 0},
              {"slug", "guts-actions"},
              {"node_id", node_id("App", 0)},
              {"name", "Guts Actions"},
              {"owner", nullptr}}},
            {"runner", runner},
            {"pull_requests", json::array()}};
  }

  json runner_json(const state::Runner& r, bool busy, bool online) {
    json labels = json::array();
    for (const auto& l : r.labels)
      labels.push_back({{"id", id53(l)}, {"name", l}, {"type", "custom"}});
    return {{"id", runner_id(r.key)},
            {"name", r.name},
            {"os", "linux"},
            {"status", online ? "online" : "offline"},
            {"busy", busy},
            {"labels", labels},
            {"key", crypto::did_from_key(r.key)},
            {"registered_at", iso8601(r.registered_ms)},
            {"registered_by", shapes.user(r.token_creator)}};
  }
};

std::optional<uint64_t> id_param(const Request& req, const char* name) {
  return collab::number_param(req, name);
}

// The run of the path's {run_id} in the request's repository.
std::optional<state::Run> path_run(const Request& req, const state::StateView& view) {
  auto id = id_param(req, "run_id");
  if (!id) return std::nullopt;
  auto r = state::runs::run(view.schema(), view.kv(), *id);
  if (!r || r->repo_id != repo_context(req).repo.id) return std::nullopt;
  return r;
}

Response not_found() {
  return error_response(404, "Not Found");
}

// Whether a run passes the listing's query filters.
bool run_matches(const Request& req, const state::Run& r) {
  if (auto b = req.query_param("branch"); b && !b->empty() && branch_of(r.ref) != *b) return false;
  if (auto e = req.query_param("event"); e && !e->empty() && *e != state::run_event_name(r.event))
    return false;
  if (auto s = req.query_param("status"); s && !s->empty()) {
    bool is_status = *s == "queued" || *s == "in_progress" || *s == "completed";
    if (is_status ? *s != state::run_status_name(r.status)
                  : *s != state::conclusion_name(r.conclusion))
      return false;
  }
  if (auto h = req.query_param("head_sha"); h && !h->empty() && *h != hex_encode(r.sha))
    return false;
  return true;
}

Response runs_page(const Request& req, Services& svc, std::optional<uint64_t> workflow) {
  const auto& rc = repo_context(req);
  Ctx c(svc, rc);
  auto all =
      state::runs::runs_of_repo(c.view().schema(), c.view().kv(), rc.repo.id, kMaxListedRuns);
  std::vector<const state::Run*> hits;
  for (const auto& r : all)
    if (run_matches(req, r) && (!workflow || workflow_id(r.repo_id, r.workflow_path) == *workflow))
      hits.push_back(&r);
  Page page = page_of(req);
  json arr = json::array();
  size_t start = (page.page - 1) * page.per_page;
  for (size_t i = start; i < hits.size() && i < start + page.per_page; ++i)
    arr.push_back(c.run(*hits[i]));
  Response resp = collab::get_response(req, {{"total_count", hits.size()}, {"workflow_runs", arr}});
  add_link_header(resp, req, svc.public_url(), page, hits.size());
  return resp;
}

// GET /actions/runs
void list_runs(ActionsEnv& env, Request& req, Responder respond) {
  respond(runs_page(req, env.svc, std::nullopt));
}

// GET /actions/runs/{run_id}
void get_run(ActionsEnv& env, Request& req, Responder respond) {
  Ctx c(env.svc, repo_context(req));
  auto r = path_run(req, c.view());
  if (!r) return respond(not_found());
  respond(collab::get_response(req, c.run(*r)));
}

// GET /actions/runs/{run_id}/jobs
void list_jobs(ActionsEnv& env, Request& req, Responder respond) {
  Ctx c(env.svc, repo_context(req));
  auto r = path_run(req, c.view());
  if (!r) return respond(not_found());
  auto jobs = state::runs::jobs_of(c.view().schema(), c.view().kv(), *r);
  Page page = page_of(req);
  json arr = json::array();
  size_t start = (page.page - 1) * page.per_page;
  for (size_t i = start; i < jobs.size() && i < start + page.per_page; ++i)
    arr.push_back(c.job(*r, jobs[i]));
  Response resp = collab::get_response(req, {{"total_count", jobs.size()}, {"jobs", arr}});
  add_link_header(resp, req, env.svc.public_url(), page, jobs.size());
  respond(std::move(resp));
}

// The job of the path's {name} in the request's repository, with its run.
std::optional<std::pair<state::Run, state::Job>> path_job(const Request& req,
                                                          const state::StateView& view,
                                                          const char* name) {
  auto id = id_param(req, name);
  if (!id) return std::nullopt;
  auto j = state::runs::job(view.schema(), view.kv(), *id);
  if (!j || j->repo_id != repo_context(req).repo.id) return std::nullopt;
  auto r = state::runs::run(view.schema(), view.kv(), j->run_id);
  if (!r) return std::nullopt;
  return std::make_pair(std::move(*r), std::move(*j));
}

// GET /actions/jobs/{job_id}
void get_job(ActionsEnv& env, Request& req, Responder respond) {
  Ctx c(env.svc, repo_context(req));
  auto rj = path_job(req, c.view(), "job_id");
  if (!rj) return respond(not_found());
  respond(collab::get_response(req, c.job(rj->first, rj->second)));
}

void run_action(ActionsEnv& env, Request& req, Responder respond, uint8_t action, int status) {
  auto r = path_run(req, env.svc.chain().view());
  if (!r) return respond(not_found());
  if (!req.principal.authenticated) return respond(error_response(401, "Requires authentication"));
  // GitHub answers 409 for a cancel of a completed run (and a re-run of an open one).
  env.svc.submit_as(req.principal, state::RunAction{r->id, action},
                    [respond = std::move(respond), status](const state::TxOutcome& o) {
                      if (o.applied) return respond(json_response(status, json::object()));
                      if (o.status.code() == Code::kFailedPrecondition)
                        return respond(error_response(409, o.status.message()));
                      respond(status_response(o.status, "WorkflowRun"));
                    });
}

// POST /actions/runs/{run_id}/cancel: 202 as GitHub.
void cancel_run(ActionsEnv& env, Request& req, Responder respond) {
  run_action(env, req, std::move(respond), state::kRunCancel, 202);
}
// POST /actions/runs/{run_id}/rerun: 201 as GitHub.
void rerun_run(ActionsEnv& env, Request& req, Responder respond) {
  run_action(env, req, std::move(respond), state::kRunRerun, 201);
}

// GET /actions/runs/{run_id}/attempts/{attempt}... not provided: a run keeps its latest
// attempt only.

// ---- workflows (files at the default branch; worker routes: libgit2 blocks) ----

struct WorkflowFile {
  std::string path, name;
  bool parses = false;
};

// The workflow files at `rev` (a sha), sorted by path.
std::vector<WorkflowFile> workflow_files(git::Browser& b, const std::string& rev) {
  std::vector<WorkflowFile> out;
  if (!b.entry(rev, kWorkflowDir)) return out;
  for (const auto& e : b.tree(rev, kWorkflowDir)) {
    std::string path = std::string(kWorkflowDir) + "/" + e.name;
    if (e.type != "blob" || !ci::workflow_path_error(path).empty()) continue;
    WorkflowFile f{path, path, false};
    auto blob = b.blob(rev, path, state::kMaxWorkflowContent);
    if (!blob.truncated) {
      auto parsed = ci::parse_workflow(path, blob.content);
      if (auto* wf = std::get_if<ci::Workflow>(&parsed)) {
        f.name = wf->name;
        f.parses = true;
      }
    }
    out.push_back(std::move(f));
  }
  std::sort(out.begin(), out.end(),
            [](const WorkflowFile& x, const WorkflowFile& y) { return x.path < y.path; });
  return out;
}

json workflow_json(Ctx& c, const WorkflowFile& f) {
  uint64_t id = workflow_id(c.rc.repo.id, f.path);
  return {{"id", id},
          {"node_id", node_id("Workflow", id)},
          {"name", f.name},
          {"path", f.path},
          {"state", f.parses ? "active" : "disabled_manually"},
          {"created_at", iso8601(c.rc.repo.created_ms)},
          {"updated_at", iso8601(std::max(c.rc.repo.pushed_ms, c.rc.repo.created_ms))},
          {"url", c.api + "/actions/workflows/" + std::to_string(id)},
          {"html_url", c.html + "/blob/" + c.rc.repo.default_branch + "/" + f.path},
          {"badge_url", c.html + "/workflows/" + file_name(f.path) + "/badge.svg"}};
}

// Opens the request's repository and its default branch's sha (nullopt: empty or no git dir).
struct Opened {
  std::unique_ptr<git::Browser> git;
  std::string rev;
};
Opened open_repo(ActionsEnv& env, const Request& req, const std::string& ref = "") {
  Opened o;
  const auto& rc = repo_context(req);
  auto key = git_repo_key(rc.repo.id);
  if (!env.store.exists(key)) return o;
  auto view = env.svc.chain().view();
  auto sha =
      resolve_ref(view, rc.repo.id, ref.empty() ? "refs/heads/" + rc.repo.default_branch : ref);
  if (!sha) return o;
  o.git = std::make_unique<git::Browser>(env.store.path_for(key));
  o.rev = hex_encode(*sha);
  return o;
}

// The workflow of the path's {workflow_id}: a numeric id, a file name ("ci.yml") or a path.
const WorkflowFile* find_workflow(const std::vector<WorkflowFile>& files, const Request& req) {
  std::string want = req.param("workflow_id");
  uint64_t repo = repo_context(req).repo.id;
  for (const auto& f : files)
    if (f.path == want || file_name(f.path) == want ||
        std::to_string(workflow_id(repo, f.path)) == want)
      return &f;
  return nullptr;
}

// GET /actions/workflows
Response list_workflows(ActionsEnv& env, Request& req) {
  Ctx c(env.svc, repo_context(req));
  auto o = open_repo(env, req);
  std::vector<WorkflowFile> files;
  if (o.git) files = workflow_files(*o.git, o.rev);
  json arr = json::array();
  for (const auto& f : files) arr.push_back(workflow_json(c, f));
  return with_etag(req, json_response(200, {{"total_count", files.size()}, {"workflows", arr}}));
}

// GET /actions/workflows/{workflow_id}
Response get_workflow(ActionsEnv& env, Request& req) {
  Ctx c(env.svc, repo_context(req));
  auto o = open_repo(env, req);
  if (!o.git) return not_found();
  auto files = workflow_files(*o.git, o.rev);
  auto* f = find_workflow(files, req);
  if (!f) return not_found();
  return with_etag(req, json_response(200, workflow_json(c, *f)));
}

// GET /actions/workflows/{workflow_id}/runs: like /actions/runs, for one workflow file (by
// its id or file name; the file need not exist any more at the default branch).
void list_workflow_runs(ActionsEnv& env, Request& req, Responder respond) {
  std::string want = req.param("workflow_id");
  uint64_t repo = repo_context(req).repo.id;
  uint64_t id = 0;
  if (!want.empty() && std::all_of(want.begin(), want.end(), [](char ch) {
        return std::isdigit(static_cast<unsigned char>(ch)) != 0;
      }))
    id = std::stoull(want.substr(0, 18));
  else
    id = workflow_id(
        repo, want.find('/') == std::string::npos ? std::string(kWorkflowDir) + "/" + want : want);
  respond(runs_page(req, env.svc, id));
}

// POST /actions/workflows/{workflow_id}/dispatches {ref, inputs}: reads the file at the ref's
// tip and requests its runs (event workflow_dispatch), signed for the caller. 204.
Response dispatch(ActionsEnv& env, Request& req) {
  Response error;
  auto body = collab::read_body(req, &error, "Workflow", {{"ref", BodyField::kString, true}});
  if (!body) return error;
  std::map<std::string, std::string> inputs;  // sorted by name, as state wants them
  if (body->contains("inputs") && !(*body)["inputs"].is_null()) {
    const auto& in = (*body)["inputs"];
    if (!in.is_object() || in.size() > state::kMaxDispatchInputs)
      return validation_failed("Workflow", "inputs", "invalid",
                               "inputs must be an object of at most 25 values");
    for (auto it = in.begin(); it != in.end(); ++it) {
      const auto& v = it.value();
      std::string text = v.is_string()    ? v.get<std::string>()
                         : v.is_boolean() ? std::string(v.get<bool>() ? "true" : "false")
                         : v.is_number()  ? v.dump()
                                          : std::string();
      if (!(v.is_string() || v.is_boolean() || v.is_number()) || it.key().empty() ||
          it.key().size() > state::kMaxDispatchInputName ||
          text.size() > state::kMaxDispatchInputValue)
        return validation_failed("Workflow", "inputs", "invalid",
                                 "inputs: names of 1-100 bytes, string, boolean or number "
                                 "values of at most 4 KiB");
      inputs[it.key()] = std::move(text);
    }
  }
  const auto& rc = repo_context(req);
  std::string ref = *string_field(*body, "ref"), full;
  auto view = env.svc.chain().view();
  auto sha = resolve_ref(view, rc.repo.id, ref, &full);
  if (!sha || full.empty())
    return validation_failed("Workflow", "ref", "invalid", "No ref found for: " + ref);
  auto o = open_repo(env, req, full);
  if (!o.git) return not_found();
  auto files = workflow_files(*o.git, o.rev);
  auto* f = find_workflow(files, req);
  if (!f) return not_found();
  auto blob = o.git->blob(o.rev, f->path, state::kMaxWorkflowContent);
  if (blob.truncated)
    return validation_failed("Workflow", "path", "invalid", f->path + " is larger than 64 KiB");
  state::RequestRuns rr;
  rr.repo_id = rc.repo.id;
  rr.workflow_path = f->path;
  rr.content = blob.content;
  rr.event = state::kEventDispatch;
  rr.ref = full;
  rr.sha = *sha;
  rr.inputs.assign(inputs.begin(), inputs.end());
  auto outcome = collab::submit_wait(env.svc, req.principal, std::move(rr));
  if (!outcome.applied) return status_response(outcome.status, "Workflow");
  return Response::json(204, "");
}

// ---- runners ----

// GET /actions/runners: registered runners; online while a job they hold heart-beats.
void list_runners(ActionsEnv& env, Request& req, Responder respond) {
  const auto& rc = repo_context(req);
  Ctx c(env.svc, rc);
  const auto& view = c.view();
  auto runners = state::runs::runners_of_repo(view.schema(), view.kv(), rc.repo.id);
  std::map<crypto::PublicKey, uint64_t> last_beat;
  view.kv().scan_prefix(view.schema().governance, "Wq", [&](std::string_view k, std::string_view) {
    auto j = state::runs::job(view.schema(), view.kv(), storage::read_be64(k.substr(2)));
    if (j && j->repo_id == rc.repo.id && j->status == state::kRunInProgress)
      last_beat[j->runner] = std::max(last_beat[j->runner], j->heartbeat_ms);
    return true;
  });
  uint64_t now = unix_millis();
  Page page = page_of(req);
  json arr = json::array();
  size_t start = (page.page - 1) * page.per_page;
  for (size_t i = start; i < runners.size() && i < start + page.per_page; ++i) {
    auto it = last_beat.find(runners[i].key);
    bool busy = it != last_beat.end();
    bool online = busy && it->second + state::kJobHeartbeatDeadlineMs >= now;
    arr.push_back(c.runner_json(runners[i], busy, online));
  }
  Response resp = collab::get_response(req, {{"total_count", runners.size()}, {"runners", arr}});
  add_link_header(resp, req, env.svc.public_url(), page, runners.size());
  respond(std::move(resp));
}

// POST /actions/runners/registration-token: the node makes an Ed25519 key pair, records the
// public key (kind 53) and answers the seed, hex, as the token. 201 {token, expires_at}.
void registration_token(ActionsEnv& env, Request& req, Responder respond) {
  const auto& rc = repo_context(req);
  auto key = crypto::SigningKey::generate();
  uint64_t expires = unix_millis() + kRegistrationTokenLifetimeMs;
  std::string token = hex_encode(ByteView(key.seed().data(), key.seed().size()));
  submit(env.svc, req, std::move(respond),
         state::CreateRunnerToken{rc.repo.id, key.public_key(), expires}, "Runner",
         [token, expires](const state::TxOutcome&) {
           return json_response(201, {{"token", token}, {"expires_at", iso8601(expires)}});
         });
}

// ---- check runs (from jobs) ----

// GET /commits/{ref}/check-runs (check_name, status filters)
void list_check_runs(ActionsEnv& env, Request& req, Responder respond) {
  const auto& rc = repo_context(req);
  Ctx c(env.svc, rc);
  auto sha = resolve_ref(c.view(), rc.repo.id, req.param("ref"));
  if (!sha) return respond(error_response(404, "No commit found for SHA: " + req.param("ref")));
  auto name = req.query_param("check_name");
  auto status = req.query_param("status");
  json arr = json::array();
  for (const auto& r :
       state::runs::runs_of_repo(c.view().schema(), c.view().kv(), rc.repo.id, kMaxListedRuns)) {
    if (r.sha != *sha) continue;
    for (const auto& j : state::runs::jobs_of(c.view().schema(), c.view().kv(), r)) {
      if (name && !name->empty() && *name != j.name && *name != state::job_status_context(r, j))
        continue;
      if (status && !status->empty() && *status != state::run_status_name(j.status)) continue;
      arr.push_back(c.check_run(r, j));
    }
  }
  Page page = page_of(req);
  json slice = json::array();
  size_t start = (page.page - 1) * page.per_page;
  for (size_t i = start; i < arr.size() && i < start + page.per_page; ++i) slice.push_back(arr[i]);
  Response resp = collab::get_response(req, {{"total_count", arr.size()}, {"check_runs", slice}});
  add_link_header(resp, req, env.svc.public_url(), page, arr.size());
  respond(std::move(resp));
}

// GET /check-runs/{check_run_id}
void get_check_run(ActionsEnv& env, Request& req, Responder respond) {
  Ctx c(env.svc, repo_context(req));
  auto rj = path_job(req, c.view(), "check_run_id");
  if (!rj) return respond(not_found());
  respond(collab::get_response(req, c.check_run(rj->first, rj->second)));
}

// ---- runner trust policy (/api/guts) ----

json policy_json(Ctx& c, const std::optional<state::RunnerPolicy>& p) {
  json keys = json::array();
  if (p)
    for (const auto& k : p->trusted_runners) {
      auto reg = state::runs::runner(c.view().schema(), c.view().kv(), c.rc.repo.id, k);
      keys.push_back({{"key", crypto::did_from_key(k)},
                      {"id", runner_id(k)},
                      {"name", reg ? json(reg->name) : json(nullptr)}});
    }
  bool any = !p || p->trusted_runners.empty();
  return {{"trusted_runners", keys},
          {"trust", any ? "registered_by_admin" : "listed"},
          {"agreeing_runners", p ? p->agreeing : 1},
          {"updated_at", p ? json(iso8601(p->updated_ms)) : json(nullptr)},
          {"updated_by", p ? c.shapes.user(p->updated_by) : json(nullptr)}};
}

// GET /api/guts/repos/{o}/{r}/actions/policy
void get_policy(ActionsEnv& env, Request& req, Responder respond) {
  const auto& rc = repo_context(req);
  Ctx c(env.svc, rc);
  respond(collab::get_response(req, policy_json(c, state::runner_policy(c.view(), rc.repo.id))));
}

// PUT /api/guts/repos/{o}/{r}/actions/policy
//   {trusted_runners: [did:key | runner name | id], agreeing_runners: 1-5 (default 1)}
void put_policy(ActionsEnv& env, Request& req, Responder respond) {
  auto body = collab::read_body(
      req, respond, "RunnerPolicy",
      {{"trusted_runners", BodyField::kArray, true}, {"agreeing_runners", BodyField::kUnsigned}});
  if (!body) return;
  const auto& rc = repo_context(req);
  auto view = env.svc.chain().view();
  auto runners = state::runs::runners_of_repo(view.schema(), view.kv(), rc.repo.id);
  state::SetRunnerPolicy p;
  p.repo_id = rc.repo.id;
  if (body->contains("agreeing_runners")) {
    auto n = (*body)["agreeing_runners"].get<uint64_t>();
    if (n < 1 || n > state::kMaxAgreeingRunners)
      return respond(validation_failed("RunnerPolicy", "agreeing_runners", "invalid",
                                       "must be 1-" + std::to_string(state::kMaxAgreeingRunners)));
    p.agreeing = static_cast<uint32_t>(n);
  }
  for (const auto& v : (*body)["trusted_runners"]) {
    std::optional<crypto::PublicKey> key;
    std::string s = v.is_string() ? v.get<std::string>() : v.dump();
    if (v.is_string()) key = crypto::parse_did(s);
    for (const auto& r : runners)
      if (!key && (r.name == s || std::to_string(runner_id(r.key)) == s)) key = r.key;
    if (!key)
      return respond(validation_failed("RunnerPolicy", "trusted_runners", "invalid",
                                       "'" + s + "' is not a did:key or a registered runner"));
    p.trusted_runners.push_back(*key);
  }
  submit(env.svc, req, std::move(respond), std::move(p), "RunnerPolicy",
         [&svc = env.svc, rc](const state::TxOutcome&) {
           Ctx c(svc, rc);
           return json_response(200, policy_json(c, state::runner_policy(c.view(), rc.repo.id)));
         });
}

const RouteSpec<ActionsEnv> kActionsRoutes[] = {
    {"GET", "/actions/runs", "repo:read", &list_runs},
    {"GET", "/actions/runs/{run_id}", "repo:read", &get_run},
    {"GET", "/actions/runs/{run_id}/jobs", "repo:read", &list_jobs},
    {"POST", "/actions/runs/{run_id}/cancel", "repo:write", &cancel_run},
    {"POST", "/actions/runs/{run_id}/rerun", "repo:write", &rerun_run},
    {"GET", "/actions/jobs/{job_id}", "repo:read", &get_job},
    {"GET", "/actions/workflows", "repo:read", nullptr,
     &collab::worker<ActionsEnv, &list_workflows>},
    {"GET", "/actions/workflows/{workflow_id}", "repo:read", nullptr,
     &collab::worker<ActionsEnv, &get_workflow>},
    {"GET", "/actions/workflows/{workflow_id}/runs", "repo:read", &list_workflow_runs},
    {"POST", "/actions/workflows/{workflow_id}/dispatches", "repo:write", nullptr,
     &collab::worker<ActionsEnv, &dispatch>},
    {"GET", "/actions/runners", "repo:admin", &list_runners},
    {"POST", "/actions/runners/registration-token", "repo:admin", &registration_token},
    {"GET", "/commits/{ref}/check-runs", "repo:read", &list_check_runs},
    {"GET", "/check-runs/{check_run_id}", "repo:read", &get_check_run},
};

const RouteSpec<ActionsEnv> kPolicyRoutes[] = {
    {"GET", "/actions/policy", "repo:read", &get_policy},
    {"PUT", "/actions/policy", "repo:admin", &put_policy},
};

}  // namespace

uint64_t workflow_id(uint64_t repo_id, std::string_view path) {
  return id53("workflow/" + std::to_string(repo_id) + "/" + std::string(path));
}

uint64_t runner_id(const crypto::PublicKey& key) {
  return id53("runner/" + guts::to_string(ByteView(key.data(), key.size())));
}

json workflow_run_json(Services& svc, const state::Repo& repo, const state::Account& owner,
                       const state::Run& run) {
  RepoContext rc{repo, owner, state::Permission::kNone};
  Ctx c(svc, rc);
  return c.run(run);
}

json run_workflow_json(Services& svc, const state::Repo& repo, const state::Account& owner,
                       const state::Run& run) {
  RepoContext rc{repo, owner, state::Permission::kNone};
  Ctx c(svc, rc);
  return workflow_json(c, WorkflowFile{run.workflow_path, run.workflow_name, run.error.empty()});
}

void add_actions_routes(Router& router, Services& services, git::RepoStore& store) {
  auto env = std::make_shared<ActionsEnv>(ActionsEnv{services, store});
  add_routes(router, env, "/api/v3/repos/{owner}/{repo}", kActionsRoutes);
  add_routes(router, env, "/api/guts/repos/{owner}/{repo}", kPolicyRoutes);
}

}  // namespace guts::api
