// What request handlers work with: the ledger, the mempool, the node's key and tokens. Writes
// made through the API become transactions signed by the node on the caller's behalf, under
// the delegation the caller granted to this node (docs/architecture.md §2).
#pragma once

#include <algorithm>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "api/http.h"
#include "api/tokens.h"
#include "crypto/ed25519.h"
#include "state/chain.h"
#include "state/mempool.h"

namespace guts::api {

class Services {
 public:
  Services(state::Chain& chain, state::Mempool& mempool, crypto::SigningKey node_key,
           TokenStore& tokens, std::string public_url);

  state::Chain& chain() { return chain_; }
  state::Mempool& mempool() { return mempool_; }
  const crypto::SigningKey& node_key() const { return node_key_; }
  TokenStore& tokens() { return tokens_; }
  const std::string& public_url() const { return public_url_; }           // "http://host:port"
  void set_public_url(std::string url) { public_url_ = std::move(url); }  // before serving

  // What the node adds to GET /api/guts/status (role, view, peers, lag; docs/api.md).
  struct NodeStatus {
    std::string role = "validator";  // or "full"
    uint64_t view = 0;               // consensus view (validators) or newest finalized view
    uint64_t peers = 0;
    uint64_t network_height = 0;  // highest finalized height this node knows of
    // Repository maintenance (git/maintenance.h): "off", "idle", "running" or "paused".
    std::string maintenance = "off";
    uint64_t maintenance_tasks = 0, maintenance_failures = 0;
    // The state database (state/migrations.h): its storage version now, the one this start
    // found, and the migrations this start ran.
    uint32_t storage_version = 0, storage_found = 0;
    std::vector<std::string> storage_migrations;
  };
  void set_node_status(std::function<NodeStatus()> fn) {
    node_status_ = std::move(fn);
  }  // before serving
  NodeStatus node_status() const { return node_status_ ? node_status_() : NodeStatus{}; }

  // The node's operators (option `operators`): who may read the whole audit log (access
  // "operator", api/auth.h). Set before serving.
  void set_operators(std::vector<std::string> dids) { operators_ = std::move(dids); }
  bool is_operator(const std::string& did) const {
    return std::find(operators_.begin(), operators_.end(), did) != operators_.end();
  }

  // Submits a transaction; `done` is called once: with the door's rejection at once, or with
  // the outcome when its block is applied.
  void submit(const state::Transaction& tx, state::OutcomeFn done);
  // Builds, signs with the node key and submits a transaction authored by the caller. `origin`
  // kNode for what the node submits on its own (state::Mempool::Origin).
  void submit_as(const Principal& who, state::TxBody body, state::OutcomeFn done,
                 state::Mempool::Origin origin = state::Mempool::Origin::kClient);

 private:
  state::Chain& chain_;
  state::Mempool& mempool_;
  crypto::SigningKey node_key_;
  TokenStore& tokens_;
  std::string public_url_;
  std::function<NodeStatus()> node_status_;
  std::vector<std::string> operators_;
  std::mutex sign_mu_;  // allocates node-signed nonces one at a time
};

}  // namespace guts::api
