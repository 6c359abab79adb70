// A private repository's seeds (state/repo_seeds.h; docs/git.md "Private
// repositories"): the nodes, besides the validators, that may hold and fetch its git objects.
//
//   GET /api/guts/repos/{owner}/{repo}/seeds            repo:admin → {private, seeds: [did]}
//   PUT /api/guts/repos/{owner}/{repo}/seeds {seeds}    repo:admin → the same, after the block
//
// PUT replaces the whole list with one kind-42 transaction; the state machine re-checks admin
// permission (state::effective_permission) and every key.
#include <algorithm>

#include "api/auth.h"
#include "api/collab_common.h"
#include "api/errors.h"
#include "api/github.h"
#include "api/routes.h"
#include "crypto/did.h"
#include "state/repo_seeds_state.h"

namespace guts::api {

using collab::read_body;
using collab::submit;

namespace {

json seeds_json(const state::StateView& view, uint64_t repo_id) {
  json seeds = json::array();
  for (const auto& k : state::repo_seeds(view, repo_id)) seeds.push_back(crypto::did_from_key(k));
  auto repo = view.repo(repo_id);
  return json{{"private", repo && repo->is_private}, {"seeds", std::move(seeds)}};
}

// GET /api/guts/repos/{owner}/{repo}/seeds
void get_seeds(Services& svc, Request& req, Responder respond) {
  const auto& ctx = repo_context(req);
  respond(json_response(200, seeds_json(svc.chain().view(), ctx.repo.id)));
}

// PUT /api/guts/repos/{owner}/{repo}/seeds {"seeds": ["did:key:…", …]}
void put_seeds(Services& svc, Request& req, Responder respond) {
  auto body = read_body(req, respond, "RepoSeeds", {{"seeds", BodyField::kArray, true}});
  if (!body) return;
  const auto& list = (*body)["seeds"];
  if (list.size() > state::kMaxRepoSeeds)
    return respond(validation_failed("RepoSeeds", "seeds", "invalid",
                                     "at most " + std::to_string(state::kMaxRepoSeeds) + " nodes"));
  state::SetRepoSeeds tx;
  tx.repo_id = repo_context(req).repo.id;
  for (const auto& v : list) {
    auto key = v.is_string() ? crypto::parse_did(v.get<std::string>()) : std::nullopt;
    if (!key || !crypto::is_valid_public_key(*key))
      return respond(validation_failed("RepoSeeds", "seeds", "invalid",
                                       "each seed must be a node's did:key identifier"));
    tx.seeds.push_back(*key);
  }
  std::sort(tx.seeds.begin(), tx.seeds.end());
  tx.seeds.erase(std::unique(tx.seeds.begin(), tx.seeds.end()), tx.seeds.end());
  submit(svc, req, std::move(respond), tx, "RepoSeeds",
         [&svc, id = tx.repo_id](const state::TxOutcome&) {
           return json_response(200, seeds_json(svc.chain().view(), id));
         });
}

const RouteSpec<Services> kRepoSeedsRoutes[] = {
    {"GET", "/repos/{owner}/{repo}/seeds", "repo:admin", &get_seeds},
    {"PUT", "/repos/{owner}/{repo}/seeds", "repo:admin", &put_seeds},
};

}  // namespace

void add_repo_seeds_routes(Router& router, Services& svc) {
  add_routes(router, svc, "/api/guts", kRepoSeedsRoutes);
}

}  // namespace guts::api
