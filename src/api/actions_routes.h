// GitHub Actions' REST shapes over Guts CI state (docs/ci.md "REST"): workflow runs, jobs,
// workflows (the files under .guts/workflows at the default branch), dispatches, runners and
// registration tokens under /api/v3/repos/{o}/{r}/actions/...; check runs built from jobs
// under /api/v3/repos/{o}/{r}/commits/{ref}/check-runs and .../check-runs/{id}; the runner
// trust policy under /api/guts/repos/{o}/{r}/actions/policy. Access is declared per route
// (the middleware enforces it); validity is the state machine's (state/ci.h,
// state/runner_policy.h).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "api/router.h"
#include "api/services.h"
#include "state/ci.h"

namespace guts::git {
class RepoStore;
}  // namespace guts::git

namespace guts::api {

void add_actions_routes(Router& router, Services& services, git::RepoStore& store);

// Stable JavaScript-safe (53-bit) ids of things Guts keys otherwise: a workflow file of a
// repository, a runner's key.
uint64_t workflow_id(uint64_t repo_id, std::string_view path);
uint64_t runner_id(const crypto::PublicKey& key);

// GitHub's workflow run object of `run`, and the workflow object of its file (as recorded in
// the run), outside a request: the workflow_run webhook (api/webhook_payloads.cpp).
nlohmann::ordered_json workflow_run_json(Services& svc, const state::Repo& repo,
                                         const state::Account& owner, const state::Run& run);
nlohmann::ordered_json run_workflow_json(Services& svc, const state::Repo& repo,
                                         const state::Account& owner, const state::Run& run);

}  // namespace guts::api
