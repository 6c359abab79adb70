// Finalization heads: how a full node learns what is final without taking part in consensus
// (docs/network.md §2).
//
// A head is a finalization certificate (consensus::Certificate of kind finalize: ≥ q validator
// signatures over (view, parent, block id)) with the height of the block it finalizes. It proves
// the block id final on its own; the blocks below it are linked to it by parent hashes, so a
// full node that holds one verified head can fetch every block from any peer and check each by
// hash before re-executing it. No peer is trusted: a head whose certificate does not verify
// against the genesis validator set blocks the peer that sent it.
//
//   validators   remember the finalization certificates their engine reports; when the block
//                a certificate finalizes is applied, announce {height, certificate} to every
//                connected non-validator peer
//   full nodes   verify every head they hear; a head newer than the best known one is handed
//                to the ledger (LedgerApp::finalized, which fetches, links, re-executes and
//                applies the blocks) and relayed to the other non-validator peers
//   everyone     answers "get head" with the newest head it holds; a full node asks its peers
//                when it connects to them and whenever it heard nothing new for a while
//
// Channel node::channel::kFinality, messages u8 tag ‖ body (consensus/head.h):
//   0 head      u64be height ‖ bytes(certificate)   (certificate ≤ 64 KiB, finalize kind)
//   1 get head  (empty)
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "consensus/application.h"
#include "consensus/head.h"
#include "consensus/types.h"
#include "state/block.h"
#include "state/genesis.h"

namespace guts::node {

class Network;

using consensus::FinalityHead;

class FinalityRelay {
 public:
  using Verified = std::function<void(const consensus::Finalized&)>;

  // `validator`: whether this node votes (it then only announces; it never follows heads).
  FinalityRelay(const state::Genesis& genesis, Network& network, bool validator);
  ~FinalityRelay();

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
  uint64_t network_height() const { return std::max(applied_height_.load(), hint_height_.load()); }
  consensus::View finalized_view() const { return finalized_view_.load(); }

 private:
  void on_message(const crypto::PublicKey& peer, const Bytes& payload);
  void on_peer(const crypto::PublicKey& peer, bool up);
  void send_head(const crypto::PublicKey& peer, const FinalityHead& head);
  void tick_loop();

  const std::string ns_;
  const std::vector<crypto::PublicKey> validators_;
  Network& network_;
  const bool validator_;
  Verified on_verified_;

  mutable std::mutex mu_;
  std::map<consensus::View, std::pair<Digest, Bytes>> certs_;  // validators: recent, by view
  std::optional<FinalityHead> best_;
  std::set<crypto::PublicKey> followers_;  // connected non-validator peers
  std::chrono::steady_clock::time_point last_news_{};
  std::atomic<uint64_t> applied_height_{0};
  std::atomic<uint64_t> hint_height_{0};  // the newest verified head's (unsigned) height
  std::atomic<consensus::View> finalized_view_{0};

  std::condition_variable cv_;
  bool stop_ = false;
  std::thread ticker_;
};

}  // namespace guts::node
