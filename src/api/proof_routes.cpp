// Proofs of a repository's refs against a finalized block (docs/protocol.md §4.4,
// docs/verify.md): every node serves them; a client checks them with verify/verify.h.
//
//   GET /api/guts/proofs/repos/{owner}/{repo}[?height=H]
//     → {chain_id, height, block_id, header, certificate, history, repos_root, key, proof,
//        repository: null | {state, id, owner, owner_did, name, private, default_branch,
//                            refs: [{ref, sha}]}}
//   Without `height`: the newest height this node holds a finalization certificate for.
//   Every hex field is what the verifier checks; the rest repeats the state for convenience.
//
//   GET /api/guts/proofs/validators
//     → {chain_id, epochs: [{epoch, activation_height, height, block_id, header, certificate,
//                            history, repos_root, key, proof, change}]}
//   The validator-set chain (docs/verify.md "Validator set changes"): for every epoch k ≥ 1
//   this node can prove, the hand-over of epoch k-1 — the finalization certificate of its last
//   block (height = activation_height - 1), signed by epoch k-1's set — with the proof that
//   this block's repository tree holds the change starting epoch k (`change`: its record).
#include "api/auth.h"
#include "api/github.h"
#include "api/routes.h"
#include "crypto/did.h"
#include "state/smt.h"
#include "state/validator_set_state.h"

namespace guts::api {

namespace {

void get_repo_proof(Services& svc, Request& req, Responder respond) {
  auto& chain = svc.chain();
  std::string owner = req.param("owner"), name = req.param("repo");
  if (name.size() > 4 && name.compare(name.size() - 4, 4, ".git") == 0)
    name.resize(name.size() - 4);
  std::optional<uint64_t> height;
  if (auto h = req.query_param("height"); h && *h != "latest") {
    if (h->empty() || h->size() > 19 || h->find_first_not_of("0123456789") != std::string::npos)
      return respond(error_response(400, "height must be a block height"));
    height = std::stoull(*h);
  }
  auto cert = state::finality_certificate(chain.db(), chain.schema(), height);
  if (!cert)
    return respond(error_response(
        404,
        height ? "This node holds no finalization certificate for height " + std::to_string(*height)
               : std::string("This node holds no finalization certificate yet")));
  auto p =
      state::prove_repo_at(chain.db(), chain.schema(), cert->first, owner, name, &chain.tree());
  auto block = chain.block_at(cert->first);
  if (!p || !block)
    return respond(error_response(
        404, "This node holds no repository tree at height " + std::to_string(cert->first)));
  if (p->version < state::kHeaderV2)
    return respond(error_response(
        404, "The block at height " + std::to_string(cert->first) +
                 " has a version-1 header: it does not commit to the repository tree"));
  json j{{"chain_id", chain.genesis().chain_id},    {"height", p->height},
         {"block_id", hex_encode(block->id())},     {"header", hex_encode(block->header.encode())},
         {"certificate", hex_encode(cert->second)}, {"history", hex_encode(p->history)},
         {"repos_root", hex_encode(p->repos_root)}, {"key", hex_encode(p->key)},
         {"proof", hex_encode(p->proof.encode())}};
  if (!p->state) {
    j["repository"] = nullptr;
  } else {
    auto st = state::decode_repo_state(*p->state);
    json refs = json::array();
    for (const auto& [ref, target] : st.refs)
      refs.push_back({{"ref", ref}, {"sha", hex_encode(target)}});
    j["repository"] = {{"state", hex_encode(*p->state)},
                       {"id", st.id},
                       {"owner", st.owner_login},
                       {"owner_did", crypto::did_from_key(st.owner)},
                       {"name", st.name},
                       {"private", st.is_private},
                       {"default_branch", st.default_branch},
                       {"refs", refs}};
  }
  respond(json_response(200, j));
}

void get_validator_proofs(Services& svc, Request&, Responder respond) {
  auto& chain = svc.chain();
  auto view = chain.view();
  json epochs = json::array();
  uint64_t number = 0;
  for (const auto& change : state::validator_changes(view)) {
    ++number;
    const uint64_t last = change.activation_height - 1;
    if (last > chain.head().height) break;  // not reached yet: nothing to hand over
    auto cert = state::finality_certificate(chain.db(), chain.schema(), last);
    auto block = chain.block_at(last);
    auto p =
        state::prove_key_at(chain.db(), chain.schema(), last,
                            state::validator_tree_key(change.activation_height), &chain.tree());
    // A node that followed a later head holds no certificate of that block: the chain stops
    // here (another node, a validator of that epoch, serves it).
    if (!cert || !block || !p || !p->state || p->version < state::kHeaderV2) break;
    epochs.push_back({{"epoch", number},
                      {"activation_height", change.activation_height},
                      {"height", last},
                      {"block_id", hex_encode(block->id())},
                      {"header", hex_encode(block->header.encode())},
                      {"certificate", hex_encode(cert->second)},
                      {"history", hex_encode(p->history)},
                      {"repos_root", hex_encode(p->repos_root)},
                      {"key", hex_encode(p->key)},
                      {"proof", hex_encode(p->proof.encode())},
                      {"change", hex_encode(*p->state)}});
  }
  respond(json_response(200, json{{"chain_id", chain.genesis().chain_id}, {"epochs", epochs}}));
}

// "repo:proof": as repo:read (a private repository needs read access), but an unknown
// repository passes the middleware so that its absence can be proven (api/auth.cpp).
const RouteSpec<Services> kProofRoutes[] = {
    {"GET", "/proofs/repos/{owner}/{repo}", "repo:proof", &get_repo_proof},
    {"GET", "/proofs/validators", "public", &get_validator_proofs},
};

}  // namespace

void add_proof_routes(Router& router, Services& svc) {
  add_routes(router, svc, "/api/guts", kProofRoutes);
}

}  // namespace guts::api
