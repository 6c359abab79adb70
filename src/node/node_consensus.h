// The node's consensus wiring: for a validator, the Simplex driver (journal in
// <data>/consensus) over the ledger driver (ledger/driver.h); for a full node the ledger alone,
// fed finalizations by the finality relay (finality/relay.h). Construct before Network::start()
// (it subscribes to its channels), start() after.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>

#include "ledger/driver.h"
#include "runtime/simplex_driver.h"
#include "state/chain.h"
#include "state/mempool.h"

namespace guts::node {

class Network;

// The namespace consensus votes are signed in: "guts/<chain id>".
std::string consensus_namespace(const state::Genesis& genesis);

struct NodeConsensusOptions {
  bool validator = true;
  size_t max_block_txs = 5000;
  std::function<void(const consensus::Finalized&)> on_finalized;  // validators
  ledger::AvailabilityFn availability;                            // validators
  std::function<void(const consensus::Fault&)> on_fault;          // validators (evidence)
  // Test seam (node::TestSeams::extra_votes): extra votes broadcast after each vote.
  std::function<std::vector<Bytes>(const crypto::SigningKey&, std::string_view ns, ByteView vote)>
      extra_votes;
  std::function<void(state::Block&)> forge_block;  // test seam (node::TestSeams::forge_block)
};

class NodeConsensus {
 public:
  NodeConsensus(state::Chain& chain, state::Mempool& mempool, const crypto::SigningKey& key,
                Network& network, const std::filesystem::path& data_dir,
                NodeConsensusOptions options);
  ~NodeConsensus();
  void start();
  void stop();
  // Null on a full node.
  runtime::SimplexDriver* driver() { return driver_.get(); }
  // Full nodes: a verified finalization (from the finality relay).
  void finalized(const consensus::Finalized& f) { ledger_->finalized(f); }

 private:
  std::unique_ptr<ledger::Net> net_;
  std::unique_ptr<ledger::Driver> ledger_;
  std::unique_ptr<runtime::SimplexDriver> driver_;
};

}  // namespace guts::node
