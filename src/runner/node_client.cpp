#include "runner/node_client.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "core/time.h"
#include "crypto/did.h"
#include "state/token_request.h"

namespace guts::runner {

namespace {

constexpr int kSubmitAttempts = 6;

Code code_of(int http) {
  switch (http) {
    case 400:
    case 422:
      return Code::kInvalidArgument;
    case 401:
      return Code::kUnauthenticated;
    case 403:
      return Code::kPermissionDenied;
    case 404:
      return Code::kNotFound;
    case 409:
      return Code::kConflict;
    case 412:
      return Code::kFailedPrecondition;
    default:
      return Code::kUnavailable;
  }
}

std::string message_of(const cli::HttpResult& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("message") && j["message"].is_string())
    return j["message"].get<std::string>();
  return "HTTP " + std::to_string(r.status);
}

}  // namespace

NodeClient::NodeClient(std::string node_url, crypto::SigningKey key)
    : url_(std::move(node_url)), key_(std::move(key)), http_(url_) {
  http_.set_timeout(std::chrono::minutes(2));
}

void NodeClient::connect() {
  auto r = plain("GET", "/api/guts/status");
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (r.status != 200 || !j.is_object())
    throw Error(Code::kUnavailable, "node " + url_ + " answered " + std::to_string(r.status));
  chain_id_ = j.at("chain_id").get<std::string>();
  auto node = crypto::parse_did(j.at("node_did").get<std::string>());
  if (!node) throw Error(Code::kUnavailable, "node " + url_ + " has no valid did");
  node_ = *node;
}

cli::HttpResult NodeClient::signed_request(std::string_view method, std::string_view path,
                                           std::string_view body, std::string_view content_type) {
  uint64_t ts = unix_millis();
  std::string_view bare = path.substr(0, path.find('?'));
  auto payload = api::runner_request_payload(chain_id_, node_, key_.public_key(), ts, method, bare);
  auto sig = key_.sign(api::kRunnerRequestDomain, payload);
  std::lock_guard lock(http_mu_);
  http_.set_header("X-Guts-Runner", crypto::did_from_key(key_.public_key()) + " " +
                                        std::to_string(ts) + " " + hex_encode(sig));
  auto r = http_.request(method, path, body, content_type);
  http_.set_header("X-Guts-Runner", "");
  return r;
}

std::string NodeClient::job_git_header(uint64_t job) const {
  uint64_t ts = unix_millis();
  const std::string path = "/jobs/" + std::to_string(job);
  auto payload = api::runner_request_payload(chain_id_, node_, key_.public_key(), ts, "GIT", path);
  auto sig = key_.sign(api::kRunnerRequestDomain, payload);
  return crypto::did_from_key(key_.public_key()) + " " + std::to_string(job) + " " +
         std::to_string(ts) + " " + hex_encode(sig);
}

cli::HttpResult NodeClient::plain(std::string_view method, std::string_view path) {
  std::lock_guard lock(http_mu_);
  return http_.request(method, path);
}

Status NodeClient::submit(state::TxBody body) {
  std::lock_guard lock(submit_mu_);
  const auto me = key_.public_key();
  const auto did = crypto::did_from_key(me);
  auto id = plain("GET", "/api/guts/identities/" + did);
  auto j = nlohmann::json::parse(id.body, nullptr, false);
  if (id.status != 200 || !j.is_object() || !j.contains("next_nonce"))
    return Status(Code::kUnavailable, "cannot read the runner's next nonce: " + message_of(id));
  state::Transaction tx;
  tx.chain_id = chain_id_;
  tx.author = tx.signer = me;
  tx.nonce = j["next_nonce"].get<uint64_t>();
  tx.timestamp_ms = unix_millis();
  tx.body = std::move(body);
  tx.sign(key_);
  auto req = nlohmann::json{{"tx", hex_encode(tx.encode())}}.dump();
  cli::HttpResult r;
  // A saturated or rate-limiting door (503, 429) says when to come back: the same transaction
  // is offered again then, a few times (a job's result must not be lost to a busy minute).
  for (int attempt = 0;; ++attempt) {
    {
      std::lock_guard hl(http_mu_);
      r = http_.post("/api/guts/transactions", req);
    }
    if (r.status == 200) return Status::Ok();
    if ((r.status != 503 && r.status != 429) || attempt == kSubmitAttempts - 1) break;
    int after_s = 1;
    try {
      after_s = std::clamp(std::stoi(r.header("retry-after")), 1, 30);
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::seconds(after_s));
  }
  return Status(code_of(r.status), message_of(r));
}

}  // namespace guts::runner
