// /api/guts: Guts-specific endpoints (transactions, blocks, identities, tokens, status).
#include <algorithm>
#include <mutex>
#include <optional>
#include <variant>

#include "api/auth.h"
#include "api/collab_common.h"
#include "api/github.h"
#include "api/routes.h"
#include "api/tx_batch_body.h"
#include "codec/codec.h"
#include "core/time.h"
#include "core/version.h"
#include "crypto/did.h"

namespace guts::api {

namespace {

json body_json(const state::TxBody& body) {
  return std::visit(
      [](const auto& b) -> json {
        using T = std::decay_t<decltype(b)>;
        using namespace state;
        if constexpr (std::is_same_v<T, RegisterUser>) {
          return {{"username", b.username}};
        } else if constexpr (std::is_same_v<T, GrantDelegation>) {
          return {{"node", crypto::did_from_key(b.node)},
                  {"scopes", b.scopes},
                  {"expires_at", iso8601(b.expires_ms)}};
        } else if constexpr (std::is_same_v<T, RevokeDelegation>) {
          return {{"node", crypto::did_from_key(b.node)}};
        } else if constexpr (std::is_same_v<T, CreateRepo>) {
          return {{"name", b.name},
                  {"description", b.description},
                  {"private", b.is_private},
                  {"default_branch", b.default_branch}};
        } else if constexpr (std::is_same_v<T, UpdateRepo>) {
          json j{{"repo_id", b.repo_id}};
          if (b.name) j["name"] = *b.name;
          if (b.description) j["description"] = *b.description;
          if (b.is_private) j["private"] = *b.is_private;
          if (b.default_branch) j["default_branch"] = *b.default_branch;
          if (b.allow_force_push) j["allow_force_pushes"] = *b.allow_force_push;
          return j;
        } else if constexpr (std::is_same_v<T, DeleteRepo>) {
          return {{"repo_id", b.repo_id}};
        } else if constexpr (std::is_same_v<T, UpdateRefs>) {
          json changes = json::array();
          for (const auto& c : b.changes)
            changes.push_back(
                {{"ref", c.ref}, {"old", hex_encode(c.old_oid)}, {"new", hex_encode(c.new_oid)}});
          return {{"repo_id", b.repo_id}, {"changes", changes}, {"force", b.force}};
        } else if constexpr (state::kIsOrgBody<T>) {
          // Governance kinds (state/org.h): the organization, team, user and repository.
          json j = json::object();
          if constexpr (requires { b.login; }) j["login"] = b.login;
          if constexpr (requires { b.org; }) j["org"] = crypto::did_from_key(b.org);
          if constexpr (requires { b.team_id; }) j["team_id"] = b.team_id;
          if constexpr (requires { b.user; }) j["user"] = crypto::did_from_key(b.user);
          if constexpr (requires { b.repo_id; }) j["repo_id"] = b.repo_id;
          if constexpr (requires { b.new_owner; })
            j["new_owner"] = crypto::did_from_key(b.new_owner);
          return j;
        } else {
          // Collaboration kinds (state/collab.h): their repository and item.
          json j = json::object();
          if constexpr (requires { b.repo_id; }) j["repo_id"] = b.repo_id;
          if constexpr (requires { b.parent_id; }) j["parent_id"] = b.parent_id;
          if constexpr (requires { b.number; }) j["number"] = b.number;
          return j;
        }
      },
      body);
}

json tx_json(const state::Transaction& tx) {
  return {{"id", hex_encode(tx.id())},
          {"kind", state::tx_kind_name(tx.kind())},
          {"chain_id", tx.chain_id},
          {"author", crypto::did_from_key(tx.author)},
          {"signer", crypto::did_from_key(tx.signer)},
          {"nonce", tx.nonce},
          {"timestamp", iso8601(tx.timestamp_ms)},
          {"body", body_json(tx.body)}};
}

json header_json(const state::BlockHeader& h) {
  return {{"height", h.height},
          {"id", hex_encode(h.id())},
          {"parent", hex_encode(h.parent)},
          {"view", h.view},
          {"timestamp", iso8601(h.timestamp_ms)},
          {"timestamp_ms", h.timestamp_ms},
          {"proposer", crypto::did_from_key(h.proposer)},
          {"tx_root", hex_encode(h.tx_root)},
          {"state_root", hex_encode(h.state_root)},
          {"tx_count", h.tx_count}};
}

Response outcome_response(const state::TxOutcome& o) {
  if (o.applied)
    return json_response(
        200, json{{"id", hex_encode(o.id)}, {"status", "applied"}, {"height", o.height}});
  Response r = status_response(o.status);
  json body = json::parse(r.body);
  body["message"] = "rejected: " + o.status.message();
  body["id"] = hex_encode(o.id);
  body["status"] = "rejected";
  r.body = body.dump();
  return r;
}

// GET /api/guts/status
void get_status(Services& svc, Request&, Responder respond) {
  auto head = svc.chain().head();
  const auto& g = svc.chain().genesis();
  json validators = json::array();
  for (const auto& v : g.validators)
    validators.push_back({{"did", crypto::did_from_key(v.key)}, {"p2p_address", v.p2p_address}});
  auto ns = svc.node_status();
  uint64_t network_height = std::max(ns.network_height, head.height);
  respond(json_response(
      200, json{{"node_did", crypto::did_from_key(svc.node_key().public_key())},
                {"role", ns.role},
                {"view", ns.view},
                {"peers", ns.peers},
                {"network_height", network_height},
                {"lag", network_height - head.height},
                {"chain_id", g.chain_id},
                {"genesis_id", hex_encode(g.id())},
                {"height", head.height},
                {"head", hex_encode(head.id)},
                {"state_root", hex_encode(head.state_root)},
                {"head_time", iso8601(head.timestamp_ms)},
                {"validators", validators},
                {"mempool", svc.mempool().size()},
                {"maintenance",
                 {{"state", ns.maintenance},
                  {"tasks_run", ns.maintenance_tasks},
                  {"failures", ns.maintenance_failures}}},
                {"version", std::string(version::software())},
                {"versions",
                 {{"software", std::string(version::software())},
                  {"p2p_protocol",
                   {{"min", version::kP2pProtocolMin}, {"max", version::kP2pProtocolMax}}},
                  {"storage", version::kStorage},
                  {"block_format", version::kBlockFormat},
                  {"tx_format", version::kTxFormat}}},
                {"storage",
                 {{"version", ns.storage_version},
                  {"found", ns.storage_found},
                  {"migrations", ns.storage_migrations}}}}));
}

// POST /api/guts/transactions
void submit_transaction(Services& svc, Request& req, Responder respond) {
  Bytes raw;
  auto ctype = req.headers.get("Content-Type").value_or("");
  if (ctype.rfind("application/octet-stream", 0) == 0) {
    raw = to_bytes(req.body);
  } else {
    auto body = collab::parse_body(req, respond, "Transaction");
    if (!body) return;
    auto it = body->find("tx");
    if (it == body->end() || !it->is_string()) {  // GitHub's missing_field, with what is asked
      respond(validation_failed("Transaction", "tx", "missing_field",
                                "hex-encoded transaction required"));
      return;
    }
    auto decoded = hex_decode(it->get<std::string>());
    if (!decoded) {
      respond(validation_failed("Transaction", "tx", "invalid", "not hexadecimal"));
      return;
    }
    raw = std::move(*decoded);
  }
  state::Transaction tx;
  try {
    tx = state::decode_transaction(raw);
  } catch (const codec::DecodeError& e) {
    respond(error_response(400, std::string("malformed transaction: ") + e.what()));
    return;
  }
  bool wait = req.query_param("wait").value_or("true") != "false";
  if (!wait) {
    // The door's verdict is immediate; acceptance answers 202 without waiting for the block.
    Status st = svc.mempool().submit(tx, [](const state::TxOutcome&) {});
    if (!st.ok()) return respond(outcome_response(state::TxOutcome{tx.id(), false, st, 0}));
    return respond(json_response(202, json{{"id", hex_encode(tx.id())}, {"status", "pending"}}));
  }
  svc.submit(tx, [respond = std::move(respond)](const state::TxOutcome& o) {
    respond(outcome_response(o));
  });
}

// One transaction's line of a batch's answer (docs/api.md "Transactions in batches").
json batch_item(const state::TxOutcome& o) {
  json j{{"id", hex_encode(o.id)}};
  if (o.applied) {
    j["status"] = "applied";
    j["height"] = o.height;
    return j;
  }
  Response r = status_response(o.status);
  bool refused = o.status.code() == Code::kUnavailable || o.status.code() == Code::kRateLimited;
  j["status"] = refused ? "refused" : "rejected";
  j["http_status"] = r.status;
  j["message"] = (refused ? "" : "rejected: ") + o.status.message();
  if (auto after = r.headers.get("Retry-After")) j["retry_after"] = std::stoi(std::string(*after));
  return j;
}

// Takes `txs` through the door in order and answers (see submit_transactions).
void run_batch(Services& svc, const std::vector<state::Transaction>& txs, bool wait,
               Responder respond) {
  struct Batch {
    std::mutex mu;
    json results = json::array();
    size_t outstanding = 1;  // the submitting loop's own, released when it is done
    int status = 0;
    std::optional<std::string> retry_after;
    Responder respond;
  };
  auto batch = std::make_shared<Batch>();
  batch->respond = std::move(respond);
  for (size_t i = 0; i < txs.size(); ++i) batch->results.push_back(json::object());
  auto release = [batch] {  // under batch->mu; answers once nothing is outstanding
    if (--batch->outstanding > 0) return std::optional<Response>();
    Response r = json_response(batch->status, json{{"results", std::move(batch->results)}});
    if (batch->retry_after) r.headers.set("Retry-After", *batch->retry_after);
    return std::optional<Response>(std::move(r));
  };
  size_t taken = 0;
  std::optional<Response> refusal;
  for (size_t i = 0; i < txs.size(); ++i) {
    const auto& tx = txs[i];
    if (refusal) {
      std::lock_guard lock(batch->mu);
      batch->results[i] = json{{"id", hex_encode(tx.id())}, {"status", "skipped"}};
      continue;
    }
    if (!wait) {
      if (auto loc = svc.chain().locate(tx.id())) {  // finalized already: say where
        std::lock_guard lock(batch->mu);
        batch->results[i] = batch_item(state::TxOutcome{tx.id(), true, Status::Ok(), loc->height});
        ++taken;
        continue;
      }
    }
    state::OutcomeFn done = [](const state::TxOutcome&) {};
    if (wait) {
      {
        std::lock_guard lock(batch->mu);
        ++batch->outstanding;
      }
      done = [batch, i, release](const state::TxOutcome& o) {
        std::optional<Response> answer;
        {
          std::lock_guard lock(batch->mu);
          batch->results[i] = batch_item(o);
          answer = release();
        }
        if (answer) batch->respond(std::move(*answer));
      };
    }
    Status st = svc.mempool().submit(tx, std::move(done));
    std::lock_guard lock(batch->mu);
    if (st.ok()) {
      ++taken;
      if (!wait) batch->results[i] = json{{"id", hex_encode(tx.id())}, {"status", "pending"}};
      continue;
    }
    if (wait) --batch->outstanding;  // its `done` will not be called
    batch->results[i] = batch_item(state::TxOutcome{tx.id(), false, st, 0});
    if (st.code() == Code::kUnavailable || st.code() == Code::kRateLimited) {
      refusal = status_response(st);
      batch->retry_after = refusal->headers.get("Retry-After");
    }
  }
  std::optional<Response> answer;
  {
    std::lock_guard lock(batch->mu);
    // Nothing taken because the first was refused: the refusal's own status (and Retry-After),
    // so that a client that only reads the status backs off.
    batch->status = taken == 0 && refusal ? refusal->status : wait ? 200 : 202;
    answer = release();
  }
  if (answer) batch->respond(std::move(*answer));
}

// POST /api/guts/transactions/batch
//
// Each transaction goes through the door in the order sent, as POST /transactions would take
// it, on one request: the per-request cost (HTTP, the client's round trip) is paid once for up
// to kMaxApiBatchTxs. The door's work runs here, on the HTTP I/O thread that took the request
// (~70 µs a transaction: up to ~70 ms for a full batch, during which that thread serves no other
// request). Handing it to threads of its own was tried and measured worse: the I/O threads then
// took every client's batch at once, the backlog bound refused the burst, and the clients'
// waits for Retry-After cost ~20 % of the flood's throughput (docs/benchmarks.md). At the first one
// the door refuses for lack of room (503 saturated or full, 429 rate-limited) the rest are not
// looked at ("skipped": a signer's later nonces would only fail behind it), so a client sends the
// refused one and what follows again after `Retry-After`.
void submit_transactions(Services& svc, Request& req, Responder respond) {
  auto body = parse_tx_batch_body(req.headers.get("Content-Type").value_or(""), req.body);
  if (!body.ok()) {
    if (body.status == 422)
      return respond(validation_failed("TransactionBatch", body.field, body.code, body.message));
    return respond(error_response(body.status, body.message));
  }
  run_batch(svc, body.txs, req.query_param("wait").value_or("true") != "false", std::move(respond));
}

// GET /api/guts/transactions/{id}
void get_transaction(Services& svc, Request& req, Responder respond) {
  auto id = hex_decode_fixed<32>(req.param("id"));
  if (!id) return respond(error_response(404, "Not Found"));
  auto loc = svc.chain().locate(*id);
  if (!loc) {
    return respond(error_response(404, "Not Found"));
  }
  auto block = svc.chain().block_at(loc->height);
  json j = tx_json(block->txs.at(loc->index));
  j["status"] = "applied";
  j["height"] = loc->height;
  j["index"] = loc->index;
  j["block"] = hex_encode(block->id());
  respond(json_response(200, j));
}

// GET /api/guts/blocks/{height}
void get_block(Services& svc, Request& req, Responder respond) {
  auto h = req.param("height");
  uint64_t height = 0;
  if (h == "latest") {
    height = svc.chain().head().height;
  } else {
    if (h.empty() || h.size() > 19 || h.find_first_not_of("0123456789") != std::string::npos)
      return respond(error_response(404, "Not Found"));
    height = std::stoull(h);
  }
  auto block = svc.chain().block_at(height);
  if (!block) return respond(error_response(404, "Not Found"));
  json j = header_json(block->header);
  json txs = json::array();
  for (const auto& tx : block->txs) txs.push_back(tx_json(tx));
  j["transactions"] = txs;
  respond(json_response(200, j));
}

// GET /api/guts/identities/{did}
void get_identity(Services& svc, Request& req, Responder respond) {
  auto key = crypto::parse_did(req.param("did"));
  if (!key) return respond(error_response(404, "Not Found"));
  auto view = svc.chain().view();
  auto node = svc.node_key().public_key();
  json j{{"did", req.param("did")}};
  auto acct = view.account(*key);
  j["username"] = acct ? json(acct->username) : json(nullptr);
  j["account_id"] = acct ? json(acct->id) : json(nullptr);
  json dels = json::array();
  for (const auto& d : view.delegations_of(*key))
    dels.push_back({{"node", crypto::did_from_key(d.node)},
                    {"scopes", d.scopes},
                    {"expires_at", iso8601(d.expires_ms)},
                    {"granted_at", iso8601(d.granted_ms)}});
  j["delegations"] = dels;
  j["next_nonce"] = svc.mempool().next_nonce(*key, *key);
  j["next_nonce_for_this_node"] = svc.mempool().next_nonce(*key, node);
  respond(json_response(200, j));
}

// POST /api/guts/tokens
void create_token(Services& svc, Request& req, Responder respond) {
  auto body = collab::read_body(req, respond, "Token",
                                {{"did", BodyField::kString, true},
                                 {"signature", BodyField::kString, true},
                                 {"timestamp_ms", BodyField::kUnsigned, true}});
  if (!body) return;
  auto did = string_field(*body, "did"), sig_hex = string_field(*body, "signature");
  uint64_t ts = body->at("timestamp_ms").get<uint64_t>();
  auto user = crypto::parse_did(*did);
  auto sig = hex_decode_fixed<64>(*sig_hex);
  if (!user) return respond(validation_failed("Token", "did", "invalid", "not a did:key"));
  if (!sig)
    return respond(
        validation_failed("Token", "signature", "invalid", "64-byte hex signature required"));
  uint64_t now = unix_millis();
  if (ts + 5 * 60 * 1000 < now || ts > now + 5 * 60 * 1000)
    return respond(error_response(401, "token request timestamp is outside the allowed window"));
  auto node = svc.node_key().public_key();
  auto payload = token_request_payload(svc.chain().genesis().chain_id, node, *user, ts);
  if (!crypto::verify(*user, kTokenRequestDomain, payload, *sig))
    return respond(error_response(401, "Bad credentials (signature does not verify)"));
  auto d = svc.chain().view().delegation(*user, node);
  if (!d || d->expires_ms <= now)
    return respond(error_response(
        403, "no active delegation from this identity to this node; grant one first"));
  TokenInfo info;
  auto token = svc.tokens().issue(*user, now, &info);
  respond(json_response(201, json{{"token", token},
                                  {"id", info.id},
                                  {"did", *did},
                                  {"node_did", crypto::did_from_key(node)}}));
}

// GET /api/guts/tokens/current
void get_current_token(Services&, Request& req, Responder respond) {
  respond(json_response(200, json{{"id", req.principal.token_id},
                                  {"did", req.principal.did},
                                  {"username", req.principal.username}}));
}

// DELETE /api/guts/tokens/current
void revoke_current_token(Services& svc, Request& req, Responder respond) {
  svc.tokens().revoke(bearer_token(req).value_or(""));
  respond(Response{204, {}, ""});
}

const RouteSpec<Services> kGutsRoutes[] = {
    {"GET", "/status", "public", &get_status},
    {"POST", "/transactions", "public", &submit_transaction},
    {"POST", "/transactions/batch", "public", &submit_transactions},
    {"GET", "/transactions/{id}", "public", &get_transaction},
    {"GET", "/blocks/{height}", "public", &get_block},
    {"GET", "/identities/{did}", "public", &get_identity},
    {"POST", "/tokens", "public", &create_token},
    {"GET", "/tokens/current", "user", &get_current_token},
    {"DELETE", "/tokens/current", "user", &revoke_current_token},
};

}  // namespace

void add_guts_routes(Router& router, Services& svc) {
  add_routes(router, svc, "/api/guts", kGutsRoutes);
  add_repo_seeds_routes(router, svc);
  add_placeholder_routes(router, svc);
  add_validator_routes(router, svc);
  add_nostr_routes(router, svc);
  add_proposal_routes(router, svc);
  add_proof_routes(router, svc);
}

}  // namespace guts::api
