// The finality relay's driver: runs finality::RelayCore (relay_core.h, the logic and the
// protocol) for the node. The core lives under one mutex: events arrive from the transport's
// I/O thread (messages, peer events), the consensus driver thread (finalized_locally), the
// commit thread (applied) and this driver's ticker thread (full nodes ask for heads when they
// heard nothing for a while). Actions are carried out after the lock is released.
#pragma once

#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <thread>

#include "core/thread_annotations.h"
#include "finality/relay_core.h"
#include "state/block.h"
#include "state/genesis.h"

namespace guts::finality {

// What the relay needs of the p2p layer (the node passes its Network; tests pass a fake).
class Net {
 public:
  virtual ~Net() = default;
  virtual void send(const crypto::PublicKey& peer, ByteView payload) = 0;  // finality channel
  virtual void broadcast(ByteView payload) = 0;
  virtual void block(const crypto::PublicKey& peer) = 0;
};

struct RelayOptions {
  // Where hand-over heads are kept (one file per epoch, "hand-over-<epoch>"); empty: memory only.
  std::filesystem::path hand_over_dir;
  // Test seam (tests/support/byzantine_heads.h): when set, it may replace the bytes of each
  // head this node sends (nullopt: send the real one). Production nodes never set it.
  std::function<std::optional<Bytes>(const HeadSend&)> rewrite_outgoing;
};

class FinalityRelay {
 public:
  using Verified = std::function<void(const consensus::Finalized&)>;

  // `validator`: whether this node votes (it then only announces; it never follows heads).
  FinalityRelay(const state::Genesis& genesis, Net& net, bool validator, RelayOptions options = {});
  ~FinalityRelay();
  FinalityRelay(const FinalityRelay&) = delete;
  FinalityRelay& operator=(const FinalityRelay&) = delete;

  // Before start(): `on_verified` (full nodes) receives each verified head newer than the best
  // one, on the I/O thread; it must not block.
  void set_verified(Verified on_verified) { on_verified_ = std::move(on_verified); }
  void start();
  void stop();

  // Inputs (any thread).
  void on_message(const crypto::PublicKey& peer, ByteView payload);
  void on_peer(const crypto::PublicKey& peer, bool up);
  // Validators, driver thread: a finalization the engine reported.
  void finalized_locally(const consensus::Finalized& f);
  // Commit listener: `block` was applied; announce it if we hold its finalization.
  void applied(const state::Block& block);
  // The validator schedule of the applied state, and whether this node votes in the current
  // epoch (any thread).
  void set_schedule(state::ValidatorSchedule schedule, bool validating);
  // The consensus engine heard a later epoch from `peer`: ask it for our epoch's hand-over.
  void behind(const crypto::PublicKey& peer);
  // The hand-over head of `block`, when it is the last block of an epoch and this node holds
  // its certificate.
  std::optional<FinalityHead> hand_over_of(const Digest& block) const;

  uint64_t network_height() const;
  consensus::View finalized_view() const;
  // The newest head (validators: the last announced; full nodes: the last verified).
  std::optional<FinalityHead> best() const;

 private:
  void run(Actions a);
  void keep(const FinalityHead& head);
  void send_head(const HeadSend& h);
  void tick_loop();

  Net& net_;
  const RelayOptions opts_;
  Verified on_verified_;

  mutable Mutex mu_;
  RelayCore core_ GUTS_GUARDED_BY(mu_);
  bool stop_ GUTS_GUARDED_BY(mu_) = false;
  std::condition_variable cv_;
  std::thread ticker_;
};

}  // namespace guts::finality
