#include "api/runner_routes.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <mutex>
#include <thread>

#include "api/artifact_routes.h"
#include "api/auth.h"
#include "api/ci_trigger.h"
#include "api/collab_common.h"
#include "api/errors.h"
#include "api/github.h"
#include "api/job_log_live.h"
#include "ci/workflow.h"
#include "core/time.h"
#include "crypto/did.h"
#include "state/ci.h"
#include "state/ci_runner_state.h"
#include "state/view.h"

namespace guts::api {

namespace {

using json = nlohmann::json;

struct RunnerEnv {
  RunnerEnv(Services& s, storage::BlobStore& b, std::filesystem::path d)
      : svc(s), blobs(b), log_dir(std::move(d)) {}
  Services& svc;
  storage::BlobStore& blobs;
  std::filesystem::path log_dir;
  std::mutex append_mu;  // one append at a time (each is one write of whole lines)
  std::shared_ptr<JobLogFeed> feed = std::make_shared<JobLogFeed>();  // live followers
};

std::string base64(ByteView b) {
  std::string out(sodium_base64_encoded_len(b.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), b.data(), b.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the NUL
  return out;
}

std::optional<Bytes> unbase64(std::string_view s) {
  Bytes out(s.size());
  size_t len = 0;
  if (sodium_base642bin(out.data(), out.size(), s.data(), s.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0)
    return std::nullopt;
  out.resize(len);
  return out;
}

std::filesystem::path log_path(const RunnerEnv& env, uint64_t job) {
  return env.log_dir / (std::to_string(job) + ".log");
}

uint64_t size_of(const std::filesystem::path& p) {
  std::error_code ec;
  auto n = std::filesystem::file_size(p, ec);
  return ec ? 0 : n;
}

json job_summary(const state::Job& j, const state::Run& run) {
  return json{{"id", j.id},
              {"run_id", j.run_id},
              {"repo_id", j.repo_id},
              {"name", j.name},
              {"labels", j.runs_on},
              {"status", state::run_status_name(j.status)},
              {"workflow", run.workflow_path},
              {"head_sha", hex_encode(run.sha)}};
}

// GET /api/guts/runners/jobs[?repo=owner/name]
void list_jobs(RunnerEnv& env, Request& req, Responder respond) {
  const auto& me = runner_context(req).key;
  auto view = env.svc.chain().view();
  std::vector<state::Runner> mine;
  std::optional<uint64_t> only;
  if (auto r = req.query_param("repo")) {
    auto slash = r->find('/');
    auto owner =
        slash == std::string::npos ? std::nullopt : view.account_by_username(r->substr(0, slash));
    auto repo = owner ? view.repo_by_name(owner->key, r->substr(slash + 1)) : std::nullopt;
    if (!repo) return respond(error_response(404, "Not Found"));
    only = repo->id;
  }
  view.kv().scan_prefix(view.schema().governance, "Wu", [&](std::string_view, std::string_view v) {
    auto runner = state::decode_runner(v);
    if (runner.key == me && (!only || runner.repo_id == *only)) mine.push_back(std::move(runner));
    return true;
  });
  json jobs = json::array();
  uint64_t now = unix_millis();
  for (const auto& r : mine) {
    for (const auto& j :
         state::runs::claimable_jobs(view.schema(), view.kv(), r.repo_id, now, 100, &me)) {
      if (!state::runs::labels_fit(r.labels, j)) continue;
      auto run = state::runs::run(view.schema(), view.kv(), j.run_id);
      if (run) jobs.push_back(job_summary(j, *run));
    }
  }
  respond(json_response(200, json{{"runner", crypto::did_from_key(me)}, {"jobs", jobs}}));
}

json env_json(const ci::Env& e) {
  json o = json::object();
  for (const auto& [k, v] : e) o[k] = v;
  return o;
}

// GET /api/guts/runners/jobs/{job}: the job's spec. Texts are as written in the workflow: the
// runner interpolates `${{ }}` with `context` and the secrets only it can open.
void job_spec(RunnerEnv& env, Request& req, Responder respond) {
  const auto& job = *runner_context(req).job;
  auto view = env.svc.chain().view();
  auto run = state::runs::run(view.schema(), view.kv(), job.run_id);
  auto repo = view.repo(job.repo_id);
  if (!run || !repo) return respond(error_response(404, "Not Found"));
  auto owner = view.account(repo->owner);
  auto parsed = ci::parse_workflow(run->workflow_path, run->content);
  auto* wf = std::get_if<ci::Workflow>(&parsed);
  const ci::Job* cj = wf ? wf->job(job.key) : nullptr;
  if (!cj) return respond(error_response(409, "the job's workflow no longer describes it"));
  json steps = json::array();
  uint32_t n = 0;
  for (const auto& s : cj->steps) {
    steps.push_back(json{{"number", ++n},
                         {"name", s.name},
                         {"run", s.run},
                         {"env", env_json(s.env)},
                         {"working_directory", s.working_directory},
                         {"if", s.if_condition},
                         {"continue_on_error", s.continue_on_error},
                         {"timeout_minutes", s.timeout_minutes}});
  }
  json matrix = json::object();
  for (const auto& [k, v] : job.matrix) matrix[k] = v;
  std::string full_name = (owner ? owner->username : std::string()) + "/" + repo->name;
  // A fork's pull request checks out from the fork (api/ci_trigger.h).
  auto source = view.repo(checkout_repo(view, *run));
  if (!source) return respond(error_response(409, "the pull request's head repository is gone"));
  auto source_owner = view.account(source->owner);
  std::string source_name =
      (source_owner ? source_owner->username : std::string()) + "/" + source->name;
  json needs = json::object();
  for (const auto& other : state::runs::jobs_of(view.schema(), view.kv(), *run))
    for (const auto& need : job.needs)
      if (other.key == need && other.status == state::kRunCompleted)
        needs[need] = state::conclusion_name(other.conclusion);
  json inputs = json::object();  // workflow_dispatch inputs: inputs.* and github.event.inputs.*
  for (const auto& [k, v] : run->inputs) inputs[k] = v;
  json j{{"id", job.id},
         {"run_id", run->id},
         {"repo_id", run->repo_id},
         {"attempt", run->attempt},
         {"name", job.name},
         {"key", job.key},
         {"repository", full_name},
         {"clone_url", env.svc.public_url() + "/" + source_name + ".git"},
         {"private", source->is_private},
         {"sha", hex_encode(run->sha)},
         {"ref", run->ref},
         {"event", state::run_event_name(run->event)},
         {"workflow", run->workflow_path},
         {"timeout_minutes", job.timeout_minutes},
         {"network", job.network},
         {"matrix", matrix},
         {"env", env_json(wf->env)},
         {"job_env", env_json(cj->env)},
         {"steps", steps},
         {"context", json{{"sha", hex_encode(run->sha)},
                          {"ref", run->ref},
                          {"event_name", state::run_event_name(run->event)},
                          {"repository", full_name},
                          {"actor", crypto::did_from_key(run->actor)},
                          {"run_id", std::to_string(run->id)},
                          {"run_attempt", std::to_string(run->attempt)}}},
         {"needs", needs},
         {"inputs", inputs},
         {"max_log_bytes", state::kMaxJobLogBytes}};
  respond(json_response(200, j));
}

// POST /api/guts/runners/jobs/{job}/logs: whole lines, appended.
void append_log(RunnerEnv& env, Request& req, Responder respond) {
  const auto& job = *runner_context(req).job;
  if (job.status != state::kRunInProgress)
    return respond(error_response(409, "the job is completed: its log is closed"));
  if (!req.body.empty() && req.body.back() != '\n')
    return respond(error_response(400, "a log upload is whole lines (ends with a newline)"));
  auto path = log_path(env, job.id);
  std::lock_guard lock(env.append_mu);
  if (size_of(path) + req.body.size() > state::kMaxJobLogBytes)
    return respond(error_response(413, "a job's log is at most 16 MiB"));
  std::error_code ec;
  std::filesystem::create_directories(env.log_dir, ec);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return respond(error_response(500, "cannot open the job's log"));
  size_t off = 0;
  while (off < req.body.size()) {
    ssize_t w = ::write(fd, req.body.data() + off, req.body.size() - off);
    if (w <= 0) break;
    off += static_cast<size_t>(w);
  }
  ::close(fd);
  if (off != req.body.size()) return respond(error_response(500, "cannot write the job's log"));
  env.feed->appended(job.id);  // live followers (api/job_log_live.h)
  respond(json_response(200, json{{"size", size_of(path)}}));
}

// POST /api/guts/runners/jobs/{job}/logs/store: the node-local log into the BlobStore; the
// runner then signs SetJobLog with the answer (after checking it against its own copy).
void store_log(RunnerEnv& env, Request& req, Responder respond) {
  const auto& job = *runner_context(req).job;
  auto path = log_path(env, job.id);
  std::string data;
  {
    std::lock_guard lock(env.append_mu);
    std::ifstream in(path, std::ios::binary);
    data.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto sha = env.blobs.put(as_bytes(data));
  respond(json_response(200, json{{"sha256", storage::sha256_hex(sha)}, {"size", data.size()}}));
}

// GET /api/guts/runners/jobs/{job}/secrets
void job_secrets(RunnerEnv& env, Request& req, Responder respond) {
  const auto& ctx = runner_context(req);
  auto view = env.svc.chain().view();
  json out = json::array();
  // A pull request's run requested by someone without write permission (a fork's) runs code
  // nobody with write permission has seen: it gets no secrets, as on GitHub.
  auto run = state::runs::run(view.schema(), view.kv(), ctx.job->run_id);
  auto repo = view.repo(ctx.job->repo_id);
  if (!run || !repo ||
      (run->event == state::kEventPullRequest &&
       view.permission(*repo, run->actor) < state::Permission::kWrite))
    return respond(json_response(200, json{{"secrets", out}}));
  for (const auto& s : state::actions_secrets(view, ctx.job->repo_id))
    for (const auto& v : s.sealed)
      if (v.runner == ctx.key) out.push_back(json{{"name", s.name}, {"sealed", base64(v.sealed)}});
  respond(json_response(200, json{{"secrets", out}}));
}

std::optional<state::Job> path_job(Services& svc, const Request& req) {
  auto id = req.param("id");
  if (id.empty() || id.size() > 19 || id.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  auto view = svc.chain().view();
  auto j = state::runs::job(view.schema(), view.kv(), std::stoull(id));
  if (!j || j->repo_id != repo_context(req).repo.id) return std::nullopt;
  return j;
}

// GET /repos/{o}/{r}/actions/jobs/{id}/logs[?follow=1]
void job_logs(RunnerEnv& env, Request& req, Exchange& ex) {
  auto job = path_job(env.svc, req);
  if (!job) {
    Headers h;
    h.set("Content-Type", "application/json; charset=utf-8");
    ex.begin_response(404, h);
    ex.write(R"({"message":"Not Found"})");
    return ex.finish();
  }
  Headers h;
  h.set("Content-Type", "text/plain; charset=utf-8");
  auto path = log_path(env, job->id);
  bool follow = req.query_param("follow").value_or("") == "1";
  if (!std::filesystem::exists(path)) {
    auto stored = state::job_log(env.svc.chain().view(), job->id);
    if (stored && env.blobs.contains(stored->sha256)) {
      ex.begin_response(200, h);
      for (uint64_t off = 0; off < stored->size; off += 1 << 20) {
        auto b = env.blobs.read_range(stored->sha256, off, 1 << 20);
        ex.write(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
      }
      return ex.finish();
    }
    if (!follow) {
      ex.begin_response(404, h);
      ex.write("no log for this job on this node yet\n");
      return ex.finish();
    }
  }
  ex.begin_response(200, h);
  uint64_t sent = 0;
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::minutes(std::max<uint32_t>(job->timeout_minutes, 1) + 10);
  for (;;) {
    bool done = false;
    if (follow) {
      auto now_job =
          state::runs::job(env.svc.chain().view().schema(), env.svc.chain().view().kv(), job->id);
      done = !now_job || now_job->status == state::kRunCompleted;
    }
    std::ifstream in(path, std::ios::binary);
    if (in) {
      in.seekg(static_cast<std::streamoff>(sent));
      std::string chunk(64 * 1024, '\0');
      while (in.read(chunk.data(), chunk.size()) || in.gcount() > 0) {
        ex.write(std::string_view(chunk.data(), static_cast<size_t>(in.gcount())));
        sent += static_cast<uint64_t>(in.gcount());
      }
    }
    if (!follow || done || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // poll the append-only file
  }
  ex.finish();
}

// Where a follower reads job `id`'s log on this node, and the job's state (api/job_log_live.h).
// `keep` holds the environment for sources that outlive a request (WebSocket channels).
JobLogSource log_source(RunnerEnv* env, uint64_t id, std::shared_ptr<RunnerEnv> keep = nullptr) {
  JobLogSource src;
  src.read = [env, keep, id](uint64_t offset, size_t max) -> std::optional<std::string> {
    auto path = log_path(*env, id);
    std::ifstream in(path, std::ios::binary);
    if (in) {
      in.seekg(static_cast<std::streamoff>(offset));
      std::string out(max, '\0');
      in.read(out.data(), static_cast<std::streamsize>(max));
      out.resize(static_cast<size_t>(in.gcount()));
      return out;
    }
    auto stored = state::job_log(env->svc.chain().view(), id);
    if (!stored || !env->blobs.contains(stored->sha256)) return std::nullopt;
    if (offset >= stored->size) return std::string();
    auto b =
        env->blobs.read_range(stored->sha256, offset,
                              static_cast<size_t>(std::min<uint64_t>(max, stored->size - offset)));
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
  };
  src.state = [env, keep, id]() {
    JobLogSource::State st;
    auto view = env->svc.chain().view();
    auto j = state::runs::job(view.schema(), view.kv(), id);
    if (!j) return st;
    st.exists = true;
    st.status = state::run_status_name(j->status);
    st.conclusion = state::conclusion_name(j->conclusion);
    // Complete once the lines are all here: the local file is final when the job is (appends
    // are refused after completion), a stored log is whole, a job never claimed has none; a
    // node that holds neither waits for the stored log (a minute at most, for a runner that
    // died between its conclusion and storing the log).
    auto stored = state::job_log(view, id);
    bool have_log = std::filesystem::exists(log_path(*env, id)) ||
                    (stored && env->blobs.contains(stored->sha256));
    st.completed = j->status == state::kRunCompleted &&
                   (have_log || j->claims == 0 || unix_millis() > j->completed_ms + 60'000);
    return st;
  };
  return src;
}

// Parses ?line=N (the last line the client has; default 0).
std::optional<uint64_t> after_line(const Request& req) {
  auto v = req.query_param("line").value_or("0");
  if (v.empty() || v.size() > 12 || v.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::stoull(std::string(v));
}

// GET /repos/{o}/{r}/actions/jobs/{id}/logs/live without the upgrade: one page of lines.
void job_log_live_page(RunnerEnv& env, Request& req, Responder respond) {
  auto job = path_job(env.svc, req);
  auto after = after_line(req);
  if (!job) return respond(error_response(404, "Not Found"));
  if (!after) return respond(error_response(422, "line: a line number"));
  Response r;
  r.status = 200;
  r.headers.set("Content-Type", "application/json; charset=utf-8");
  r.headers.set("Cache-Control", "no-cache");
  r.body = job_log_page(log_source(&env, job->id), *after, 1000);
  respond(std::move(r));
}

// GET /repos/{o}/{r}/actions/secrets
void list_secrets(RunnerEnv& env, Request& req, Responder respond) {
  auto view = env.svc.chain().view();
  json items = json::array();
  for (const auto& s : state::actions_secrets(view, repo_context(req).repo.id)) {
    json runners = json::array();
    for (const auto& v : s.sealed) runners.push_back(crypto::did_from_key(v.runner));
    items.push_back(json{{"name", s.name},
                         {"created_at", iso8601(s.created_ms)},
                         {"updated_at", iso8601(s.updated_ms)},
                         {"runners", runners}});
  }
  respond(json_response(200, json{{"total_count", items.size()}, {"secrets", items}}));
}

// PUT /repos/{o}/{r}/actions/secrets/{name}  {"sealed":[{"runner": did, "value": base64}]}
void put_secret(RunnerEnv& env, Request& req, Responder respond) {
  auto body = collab::parse_body(req, respond, "Secret");
  if (!body) return;
  auto it = body->find("sealed");
  if (it == body->end() || !it->is_array())
    return respond(validation_failed("Secret", "sealed", "missing_field",
                                     "sealed: [{runner, value}] (the value sealed to each "
                                     "runner's key; `guts secret set` does it)"));
  state::SetActionsSecret b;
  b.repo_id = repo_context(req).repo.id;
  b.name = req.param("name");
  for (const auto& e : *it) {
    if (!e.is_object() || !e.contains("runner") || !e["runner"].is_string() ||
        !e.contains("value") || !e["value"].is_string())
      return respond(validation_failed("Secret", "sealed", "invalid", "{runner, value} entries"));
    auto key = crypto::parse_did(e["runner"].get<std::string>());
    auto value = unbase64(e["value"].get<std::string>());
    if (!key || !value)
      return respond(
          validation_failed("Secret", "sealed", "invalid", "runner is a did:key, value base64"));
    b.sealed.push_back({*key, std::move(*value)});
  }
  collab::submit(env.svc, req, std::move(respond), std::move(b), "Secret", collab::no_content);
}

// DELETE /repos/{o}/{r}/actions/secrets/{name}
void delete_secret(RunnerEnv& env, Request& req, Responder respond) {
  collab::submit(env.svc, req, std::move(respond),
                 state::DeleteActionsSecret{repo_context(req).repo.id, req.param("name")}, "Secret",
                 collab::no_content);
}

// GET /api/guts/repos/{o}/{r}/runners: the registered runners (what `guts secret set` seals to).
void list_runners(RunnerEnv& env, Request& req, Responder respond) {
  auto view = env.svc.chain().view();
  json out = json::array();
  for (const auto& r :
       state::runs::runners_of_repo(view.schema(), view.kv(), repo_context(req).repo.id))
    out.push_back(json{{"did", crypto::did_from_key(r.key)},
                       {"name", r.name},
                       {"labels", r.labels},
                       {"registered_at", iso8601(r.registered_ms)}});
  respond(json_response(200, out));
}

const RouteSpec<RunnerEnv> kRunnerRoutes[] = {
    {"GET", "/jobs", "runner", &list_jobs},
    {"GET", "/jobs/{job}", "runner:job", &job_spec},
    {"POST", "/jobs/{job}/logs", "runner:job", &append_log},
    {"POST", "/jobs/{job}/logs/store", "runner:job", &store_log},
    {"GET", "/jobs/{job}/secrets", "runner:job", &job_secrets},
};

const RouteSpec<RunnerEnv> kRepoRoutes[] = {
    {"GET", "/actions/jobs/{id}/logs", "repo:read", nullptr, &job_logs},
    {"GET", "/actions/jobs/{id}/logs/live", "repo:read", &job_log_live_page},
    {"GET", "/actions/secrets", "repo:admin", &list_secrets},
    {"PUT", "/actions/secrets/{name}", "repo:admin", &put_secret},
    {"DELETE", "/actions/secrets/{name}", "repo:admin", &delete_secret},
};

const RouteSpec<RunnerEnv> kGutsRepoRoutes[] = {
    {"GET", "/runners", "repo:admin", &list_runners},
};

}  // namespace

RunnerRoutes add_runner_routes(Router& router, Services& services, storage::BlobStore& blobs,
                               std::filesystem::path log_dir) {
  auto env = std::make_shared<RunnerEnv>(services, blobs, std::move(log_dir));
  add_routes(router, env, "/api/guts/runners", kRunnerRoutes);
  add_routes(router, env, "/api/v3/repos/{owner}/{repo}", kRepoRoutes);
  add_routes(router, env, "/api/guts/repos/{owner}/{repo}", kGutsRepoRoutes);
  add_artifact_routes(router, services, blobs);  // api/artifact_routes.h
  RunnerRoutes out;
  out.on_block = [feed = env->feed] { feed->on_block(); };
  // WebSocket upgrades of GET .../actions/jobs/{id}/logs/live: the middlewares authorized the
  // route (repo:read) and resolved the repository before this runs.
  out.log_websocket = [env](Request& req) -> std::optional<WsResult> {
    if (!req.path.ends_with("/logs/live") || !req.path.starts_with("/api/v3/repos/"))
      return std::nullopt;
    auto job = path_job(env->svc, req);
    if (!job) return WsResult(error_response(404, "Not Found"));
    auto after = after_line(req);
    if (!after) return WsResult(error_response(422, "line: a line number"));
    return WsResult(
        job_log_channel(env->feed, job->id, log_source(env.get(), job->id, env), *after));
  };
  return out;
}

}  // namespace guts::api
