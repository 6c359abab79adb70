// The node's consensus wiring: for a validator, the Simplex driver (journal in
// <data>/consensus) over the ledger driver (ledger/driver.h); for a full node the ledger alone,
// fed finalizations by the finality relay (finality/relay.h). Construct before Network::start()
// (it subscribes to its channels), start() after.
//
// Epochs (docs/consensus.md "Epochs"): the validator set of each height is the schedule of the
// applied state (state/validator_set.h). A commit that ends an epoch switches the Simplex driver
// to the next epoch's engine (journal in <data>/consensus-epoch-N), or to none when this node
// is not in the new set; `on_epochs` tells the node (network, finality relay) the schedule and
// whether this node validates the current epoch.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>

#include "ledger/driver.h"
#include "runtime/simplex_driver.h"
#include "state/chain.h"
#include "state/mempool.h"
#include "state/validator_set.h"

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
  // The schedule changed or an epoch began: at construction, then on the committing thread.
  std::function<void(const state::ValidatorSchedule&, consensus::Epoch current, bool validating)>
      on_epochs;
  // The engine heard a vote or certificate of a later epoch (consensus driver thread).
  std::function<void(const crypto::PublicKey& peer)> on_behind;
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
  // A verified finalization from the finality relay (full nodes; validators behind a boundary).
  void finalized(const consensus::Finalized& f) { ledger_->finalized(f); }
  // Whether this node votes in the current epoch.
  bool validating() const { return driver_ && driver_->active(); }

 private:
  consensus::Config epoch_config(const state::ValidatorEpoch& e) const;
  std::filesystem::path journal_dir(consensus::Epoch e) const;
  void on_commit(const state::Block& b);  // committing thread

  state::Chain& chain_;
  const crypto::SigningKey key_;
  const std::filesystem::path data_dir_;
  const bool validator_mode_;
  std::function<void(const state::ValidatorSchedule&, consensus::Epoch, bool)> on_epochs_;
  // Committing thread (and the constructor).
  state::ValidatorSchedule schedule_;
  consensus::Epoch epoch_ = 0;
  // Whether a journal of a new epoch may start with a fresh signing guard: this data directory
  // kept its consensus journal since the key first signed (docs/consensus.md §9).
  bool fresh_epochs_ = false;
  std::unique_ptr<ledger::Net> net_;
  std::unique_ptr<ledger::Driver> ledger_;
  std::unique_ptr<runtime::SimplexDriver> driver_;
};

}  // namespace guts::node
