// A local Guts network of separate guts-node processes on loopback, for tests: `guts-node
// init-genesis` writes the genesis (validator keys, p2p addresses on free ports), then each
// validator runs as a NodeProcess; full nodes (non-validators) can be added that bootstrap from
// validator 0. Nodes are indexed 0..size()-1, validators first, full nodes after them in the
// order they were added. Nothing here sleeps for a fixed time: waits poll with deadlines.
//
//   Cluster net({.validators = 4});
//   net.start_all();
//   auto r = submit_tx(net.node(1).url(), tx);             // 200 once applied on node 1
//   ASSERT_TRUE(net.wait_converged(net.all(), h, 30s)) << net.logs();
//   net.node(3).kill9();  ...  net.node(3).start();
//   int f = net.add_full_node();  net.node(f).start();
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/http_client.h"
#include "state/tx.h"
#include "tests/support/node_harness.h"

namespace guts::testing {

struct ClusterOptions {
  int validators = 4;
  // Consensus timeouts written into the genesis. Short, so the faulty phases of a test (a
  // leader down, no quorum) move on quickly; raise them on a slow or heavily loaded machine.
  uint64_t leader_timeout_ms = 500;
  uint64_t certification_timeout_ms = 1000;
  uint64_t timeout_retry_ms = 1500;
  std::vector<std::string> validator_args;  // appended to every validator's command line
  // Every node's --log-level unless GUTS_TEST_LOG_LEVEL is set. Debug: a multi-node failure is
  // only diagnosable with the consensus and ledger lines (about 15 KB per node and test).
  std::string log_level = "debug";
  // Appended to `guts-node init-genesis` (e.g. --account, --governance).
  std::vector<std::string> init_args;
};

class Cluster {
 public:
  // Runs init-genesis in a fresh directory; starts no node.
  explicit Cluster(ClusterOptions opts = {});
  // SIGKILLs and reaps every node. The directory (genesis, data dirs, node.log files) is removed
  // unless the current test failed or keep_test_dirs(); a kept directory is named on stderr.
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  // Adds a full node (--no-validator) with its own data dir and a p2p port picked free now,
  // bootstrapping from validator `bootstrap`; `extra_args` are appended. Returns its index.
  // Does not start it.
  int add_full_node(std::vector<std::string> extra_args = {}, int bootstrap = 0);
  // Adds a node run with --validator whose key is not in the genesis set (it votes once an
  // epoch names it: docs/consensus.md "Epochs"), otherwise as add_full_node. is_validator(i) is
  // false for it: it is not one of the genesis validators.
  int add_spare_validator(std::vector<std::string> extra_args = {}, int bootstrap = 0);

  void start_all();  // starts every node not running (each start waits for its API)
  // Starts node i; a full node whose p2p port was taken meanwhile is retried on a new port.
  void start(int i);

  NodeProcess& node(int i) { return *nodes_.at(i); }
  int size() const { return static_cast<int>(nodes_.size()); }
  int validators() const { return validators_; }
  bool is_validator(int i) const { return i < validators_; }
  std::vector<int> all() const;      // 0..size()-1
  std::vector<int> running() const;  // the nodes started and not killed or stopped

  const std::string& chain_id() const { return chain_id_; }
  const fs::path& dir() const { return dir_; }
  fs::path genesis_file() const { return dir_ / "genesis.json"; }
  const nlohmann::json& genesis() const { return genesis_; }
  // did:key of node i: from the genesis for validators, from GET status for full nodes (which
  // create their key on first start).
  std::string did(int i);
  const std::string& p2p_addr(int i) const { return p2p_addrs_.at(i); }

  // GET /api/guts/status of node i (throws when it does not answer 200 within 5 s).
  nlohmann::json status(int i);
  std::optional<nlohmann::json> try_status(int i);  // nullopt instead of throwing
  uint64_t height(int i) { return status(i)["height"].get<uint64_t>(); }

  // Every node in `which` is at `height` or above.
  bool reached(const std::vector<int>& which, uint64_t height);
  // Every node in `which` is at one height >= `height` with one state root (out: that root).
  bool converged(const std::vector<int>& which, uint64_t height, std::string* root = nullptr);
  bool wait_reached(const std::vector<int>& which, uint64_t height,
                    std::chrono::milliseconds deadline);
  bool wait_converged(const std::vector<int>& which, uint64_t height,
                      std::chrono::milliseconds deadline, std::string* root = nullptr);

  // Every node's log (node.log over all its starts) with its state: for failure messages.
  std::string logs();

 private:
  std::unique_ptr<NodeProcess> make_node(const fs::path& data_dir, std::vector<std::string> args);
  int add_node(const char* role_flag, const char* dir_prefix, std::vector<std::string> extra_args,
               int bootstrap);

  ClusterOptions opts_;
  fs::path dir_;
  nlohmann::json genesis_;
  std::string chain_id_;
  int validators_ = 0;
  std::vector<std::unique_ptr<NodeProcess>> nodes_;
  std::vector<std::string> p2p_addrs_;
  std::vector<std::string> dids_;  // "" for a full node not yet asked
};

// A key that signs its own transactions with consecutive nonces (set `nonce` to the last one
// used when the genesis or another client used some).
struct TxAccount {
  crypto::SigningKey key = crypto::SigningKey::generate();
  uint64_t nonce = 0;
  // The next transaction of this account on chain `chain_id`, signed, timestamped now.
  state::Transaction sign_next(const std::string& chain_id, state::TxBody body);
};

// POST /api/guts/transactions (hex body): the node answers once the transaction is applied on it
// (200), rejected (4xx) or after `timeout` (throws guts::Error(kUnavailable)).
cli::HttpResult submit_tx(const std::string& url, const state::Transaction& tx,
                          std::chrono::milliseconds timeout = std::chrono::seconds(30));
// GET /api/guts/transactions/{id} answers 200: the transaction is in a block applied on the node.
bool tx_applied(const std::string& url, const state::Transaction& tx);

}  // namespace guts::testing
