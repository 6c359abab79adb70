// guts-runner's client of one node (docs/ci.md "Runner endpoints"): requests signed with the
// runner's key (the X-Guts-Runner header, api/auth.h), and the runner's own transactions
// (kinds 54-58, 68) signed and submitted through POST /api/guts/transactions, one at a time
// (each waits for its block, so nonces follow each other).
#pragma once

#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/http_client.h"
#include "core/status.h"
#include "crypto/ed25519.h"
#include "state/tx.h"

namespace guts::runner {

class NodeClient {
 public:
  NodeClient(std::string node_url, crypto::SigningKey key);

  // GET /api/guts/status once: the chain id and the node's key (what requests are signed for).
  void connect();
  // A request signed by the runner's key. Throws guts::Error(kUnavailable) when unreachable.
  cli::HttpResult signed_request(std::string_view method, std::string_view path,
                                 std::string_view body = {},
                                 std::string_view content_type = "application/json");
  // The value of the X-Guts-Runner-Job header that lets `git` fetch the repository of job
  // `job` while this runner holds it (docs/ci.md "Private repositories").
  std::string job_git_header(uint64_t job) const;
  // An unsigned request (public reads).
  cli::HttpResult plain(std::string_view method, std::string_view path);
  // Signs `body` as the runner (author and signer) and waits for its outcome.
  Status submit(state::TxBody body);

  const crypto::SigningKey& key() const { return key_; }
  const std::string& url() const { return url_; }

 private:
  std::string url_;
  crypto::SigningKey key_;
  std::string chain_id_;
  crypto::PublicKey node_{};
  std::mutex http_mu_;    // one HttpClient, one request at a time
  std::mutex submit_mu_;  // nonce, sign, submit, wait: one transaction at a time
  cli::HttpClient http_;
};

}  // namespace guts::runner
