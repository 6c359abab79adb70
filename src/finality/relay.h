// The finality relay's driver: wires the pure core (finality/relay_core.h, which documents the
// protocol) to the node's network, its thread and its clock.
//
// Threads: network handlers run on the I/O thread, finalized_locally on the consensus driver
// thread, applied on the commit listener's thread, the ask timer on this object's own ticker
// thread (full nodes only). All of them go through `mu_`, which guards the core; actions are
// carried out after the lock is released.
#pragma once

#include <condition_variable>
#include <functional>
#include <thread>

#include "consensus/application.h"
#include "core/thread_annotations.h"
#include "finality/relay_core.h"
#include "state/block.h"
#include "state/genesis.h"

namespace guts::node {
class Network;
}

namespace guts::finality {

class FinalityRelay {
 public:
  using Verified = std::function<void(const consensus::Finalized&)>;

  // `validator`: whether this node votes (it then only announces; it never follows heads).
  // `rewrite_head`: TEST SEAM (relay_core.h), empty in production.
  FinalityRelay(const state::Genesis& genesis, node::Network& network, bool validator,
                HeadRewriter rewrite_head = {});
  ~FinalityRelay();
  FinalityRelay(const FinalityRelay&) = delete;
  FinalityRelay& operator=(const FinalityRelay&) = delete;

  // Before Network::start(): the channel and peer events. `on_verified` (full nodes) receives
  // each verified head newer than the best one, on the I/O thread; it must not block.
  void subscribe(Verified on_verified);
  void start();
  void stop();

  // Validators, driver thread: a finalization the engine reported.
  void finalized_locally(const consensus::Finalized& f);
  // Commit listener: `block` was applied; announce it if we hold its finalization.
  void applied(const state::Block& block);

  // The highest finalized height this node heard of (or applied), and the newest finalized view.
  uint64_t network_height() const;
  consensus::View finalized_view() const;

 private:
  void execute(Actions actions);  // without mu_ held
  void tick_loop();

  node::Network& network_;
  Verified on_verified_;  // set before start(), read-only afterwards

  mutable Mutex mu_;
  RelayCore core_ GUTS_GUARDED_BY(mu_);
  bool stop_ GUTS_GUARDED_BY(mu_) = false;
  std::condition_variable cv_;
  std::thread ticker_;  // started and joined by the owner's thread (start/stop)
};

}  // namespace guts::finality
