// The single-validator sequencer: the consensus of a one-node network. It takes pending
// transactions in arrival order, builds a block on the head, commits it durably (one fsynced
// batch) and reports the outcomes. It drives the ledger through the same build/verify/commit
// calls a Simplex engine uses, so replacing it changes nothing above.
#pragma once

#include <atomic>
#include <thread>

#include "crypto/ed25519.h"
#include "state/chain.h"
#include "state/mempool.h"

namespace guts::node {

class SoloSequencer {
 public:
  SoloSequencer(state::Chain& chain, state::Mempool& mempool, crypto::PublicKey proposer,
                size_t max_block_txs = 5000);
  ~SoloSequencer();
  void start();
  void stop();

 private:
  void run();
  state::Chain& chain_;
  state::Mempool& mempool_;
  crypto::PublicKey proposer_;
  size_t max_block_txs_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace guts::node
