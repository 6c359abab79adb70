// CI/CD artifacts in GitHub Actions' REST shapes (api/artifact_routes.h).
#include "api/artifact_routes.h"

#include "api/auth.h"
#include "api/collab_common.h"
#include "api/errors.h"
#include "api/github.h"
#include "core/time.h"
#include "state/artifact_state.h"
#include "state/ci.h"

namespace guts::api {

namespace {

using json = nlohmann::json;

struct ArtifactEnv {
  Services& svc;
  storage::BlobStore& blobs;
};

uint64_t block_time(Services& svc) {
  return svc.chain().head().timestamp_ms;
}

std::string repo_api(Services& svc, const RepoContext& rc) {
  return svc.public_url() + "/api/v3/repos/" + rc.owner.username + "/" + rc.repo.name;
}

std::string branch_of(const std::string& ref) {
  for (std::string_view p : {"refs/heads/", "refs/tags/"})
    if (ref.rfind(p, 0) == 0) return ref.substr(p.size());
  return ref;
}

json artifact_json(Services& svc, const RepoContext& rc, const state::StateView& view,
                   const state::Artifact& a, uint64_t now) {
  const std::string url = repo_api(svc, rc) + "/actions/artifacts/" + std::to_string(a.id);
  auto run = state::runs::run(view.schema(), view.kv(), a.run_id);
  json wr{{"id", a.run_id},
          {"repository_id", a.repo_id},
          {"head_repository_id", a.repo_id},
          {"head_branch", run ? json(branch_of(run->ref)) : json(nullptr)},
          {"head_sha", run ? json(hex_encode(run->sha)) : json(nullptr)}};
  return json{{"id", a.id},
              {"node_id", node_id("Artifact", a.id)},
              {"name", a.name},
              {"size_in_bytes", a.size},
              {"url", url},
              {"archive_download_url", url + "/zip"},
              {"expired", state::artifact_expired(a, now)},
              {"created_at", iso8601(a.created_ms)},
              {"updated_at", iso8601(a.created_ms)},
              {"expires_at", iso8601(a.expires_ms)},
              {"digest", "sha256:" + storage::sha256_hex(a.sha256)},
              {"job_id", a.job_id},  // Guts
              {"workflow_run", wr}};
}

Response artifacts_page(ArtifactEnv& env, Request& req, uint64_t run_id) {
  const auto& rc = repo_context(req);
  auto view = env.svc.chain().view();
  const uint64_t now = block_time(env.svc);
  auto all = state::artifacts_of_repo(view, rc.repo.id, now, run_id);
  auto name = req.query_param("name");
  std::vector<const state::Artifact*> hits;
  for (const auto& a : all)
    if (!name || name->empty() || a.name == *name) hits.push_back(&a);
  Page page = page_of(req);
  json arr = json::array();
  size_t start = (page.page - 1) * page.per_page;
  for (size_t i = start; i < hits.size() && i < start + page.per_page; ++i)
    arr.push_back(artifact_json(env.svc, rc, view, *hits[i], now));
  Response resp = collab::get_response(req, json{{"total_count", hits.size()}, {"artifacts", arr}});
  add_link_header(resp, req, env.svc.public_url(), page, hits.size());
  return resp;
}

// The artifact of the path in the request's repository (expired ones included).
std::optional<state::Artifact> path_artifact(Services& svc, const Request& req) {
  auto id = collab::number_param(req, "artifact_id");
  if (!id) return std::nullopt;
  auto a = state::artifact(svc.chain().view(), *id);
  if (!a || a->repo_id != repo_context(req).repo.id) return std::nullopt;
  return a;
}

// GET /actions/artifacts[?name=]
void list_artifacts(ArtifactEnv& env, Request& req, Responder respond) {
  respond(artifacts_page(env, req, 0));
}

// GET /actions/runs/{run_id}/artifacts
void list_run_artifacts(ArtifactEnv& env, Request& req, Responder respond) {
  auto id = collab::number_param(req, "run_id");
  auto view = env.svc.chain().view();
  auto run = id ? state::runs::run(view.schema(), view.kv(), *id) : std::nullopt;
  if (!run || run->repo_id != repo_context(req).repo.id)
    return respond(error_response(404, "Not Found"));
  respond(artifacts_page(env, req, run->id));
}

// GET /actions/artifacts/{artifact_id}
void get_artifact(ArtifactEnv& env, Request& req, Responder respond) {
  auto a = path_artifact(env.svc, req);
  if (!a) return respond(error_response(404, "Not Found"));
  respond(collab::get_response(
      req,
      artifact_json(env.svc, repo_context(req), env.svc.chain().view(), *a, block_time(env.svc))));
}

// DELETE /actions/artifacts/{artifact_id}: 204 (kind 72).
void delete_artifact(ArtifactEnv& env, Request& req, Responder respond) {
  auto a = path_artifact(env.svc, req);
  if (!a) return respond(error_response(404, "Not Found"));
  collab::submit(env.svc, req, std::move(respond), state::DeleteArtifact{a->repo_id, a->id},
                 "Artifact", collab::no_content);
}

void answer(Exchange& ex, int status, std::string_view message) {
  Headers h;
  h.set("Content-Type", "application/json; charset=utf-8");
  ex.begin_response(status, h);
  ex.write(json{{"message", message}}.dump());
  ex.finish();
}

// GET /actions/artifacts/{artifact_id}/{archive_format}: the zip itself (GitHub redirects to
// a storage URL; clients follow either).
void download_artifact(ArtifactEnv& env, Request& req, Exchange& ex) {
  if (req.param("archive_format") != "zip") return answer(ex, 404, "Not Found");
  auto a = path_artifact(env.svc, req);
  if (!a) return answer(ex, 404, "Not Found");
  if (state::artifact_expired(*a, block_time(env.svc)))
    return answer(ex, 410, "Artifact has expired");
  if (!env.blobs.contains(a->sha256))
    return answer(ex, 503, "this node does not hold the artifact's bytes yet");
  Headers h;
  h.set("Content-Type", "application/zip");
  h.set("Content-Length", std::to_string(a->size));
  h.set("Content-Disposition", "attachment; filename=\"" + a->name + ".zip\"");
  ex.begin_response(200, h);
  for (uint64_t off = 0; off < a->size; off += 1 << 20) {
    auto b = env.blobs.read_range(a->sha256, off, 1 << 20);
    if (b.empty()) break;
    ex.write(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
  }
  ex.finish();
}

// POST /api/guts/runners/jobs/{job}/artifacts?name=N: the zip into the BlobStore.
void upload_artifact(ArtifactEnv& env, Request& req, Exchange& ex) {
  const auto& job = *runner_context(req).job;
  if (job.status != state::kRunInProgress)
    return answer(ex, 409, "the job is completed: it takes no more artifacts");
  auto name = req.query_param("name").value_or("");
  if (!state::valid_artifact_name(name))
    return answer(ex, 422, "name: 1-200 bytes, without \" : < > | * ? \\ / or control characters");
  storage::Sha256 sha{};
  uint64_t size = 0;
  try {
    auto w = env.blobs.begin(state::kMaxArtifactBytes);
    uint8_t buf[64 * 1024];
    for (size_t n; (n = ex.read_body(buf, sizeof buf)) > 0;) w->write(ByteView(buf, n));
    size = w->size();
    sha = w->commit();
  } catch (const Error& e) {
    if (e.code() == Code::kTooLarge) return answer(ex, 413, "an artifact is at most 64 MiB");
    throw;
  }
  Headers h;
  h.set("Content-Type", "application/json; charset=utf-8");
  ex.begin_response(200, h);
  ex.write(json{{"sha256", storage::sha256_hex(sha)}, {"size", size}}.dump());
  ex.finish();
}

const RouteSpec<ArtifactEnv> kRunnerRoutes[] = {
    {"POST", "/jobs/{job}/artifacts", "runner:job", nullptr, &upload_artifact},
};

const RouteSpec<ArtifactEnv> kRepoRoutes[] = {
    {"GET", "/actions/artifacts", "repo:read", &list_artifacts},
    {"GET", "/actions/runs/{run_id}/artifacts", "repo:read", &list_run_artifacts},
    {"GET", "/actions/artifacts/{artifact_id}", "repo:read", &get_artifact},
    {"GET", "/actions/artifacts/{artifact_id}/{archive_format}", "repo:read", nullptr,
     &download_artifact},
    {"DELETE", "/actions/artifacts/{artifact_id}", "repo:write", &delete_artifact},
};

}  // namespace

void add_artifact_routes(Router& router, Services& services, storage::BlobStore& blobs) {
  auto env = std::make_shared<ArtifactEnv>(ArtifactEnv{services, blobs});
  add_routes(router, env, "/api/guts/runners", kRunnerRoutes);
  add_routes(router, env, "/api/v3/repos/{owner}/{repo}", kRepoRoutes);
}

}  // namespace guts::api
