// Finalization heads as a pure state machine: how a full node learns what is final without
// taking part in consensus (docs/network.md §2). No threads, sockets or clocks: every input is
// an event method (time passed in as `now_ms`, steady milliseconds) returning the Actions the
// driver (finality/relay.h) carries out. The deterministic simulator can run it as it is.
//
// A head is a finalization certificate (consensus::Certificate of kind finalize: ≥ q validator
// signatures over (view, parent, block id)) with the height of the block it finalizes. It proves
// the block id final on its own; the blocks below it are linked to it by parent hashes, so a
// full node that holds one verified head can fetch every block from any peer and check each by
// hash before re-executing it. No peer is trusted: a head whose certificate does not verify
// against the validator set of its epoch blocks the peer that sent it.
//
// Epochs (docs/consensus.md "Epochs"): the core knows the validator schedule of the applied
// state (schedule()). A head of an epoch the schedule does not know yet cannot be judged: the
// sender is not blocked (it is ahead of us), it is asked for the hand-over of the epoch we are
// in — the head of that epoch's last block, signed by the set we know — and once that block is
// applied the state names the next set. Every node keeps the hand-over heads it held (validators
// from their engine, followers from heads they verified) and answers "get hand-over".
//
//   validators   remember the finalization certificates their engine reports; when the block
//                a certificate finalizes is applied, announce {height, certificate} to every
//                connected non-validator peer
//   full nodes   verify every head they hear; a head newer than the best known one is handed
//                to the ledger (Actions::verified) and relayed to the other non-validator peers
//   everyone     answers "get head" with the newest head it holds; a full node asks its peers
//                when it connects to them and whenever it heard nothing new for a while; a
//                validator asks when it applied nothing for a while (a newer head it is handed
//                is applied like a full node's: finality proven by the certificate)
//
// Channel p2p::channel::kFinality, messages in consensus/head.h:
//   0 head          u64be height ‖ bytes(certificate)   (certificate ≤ 64 KiB, finalize kind)
//   1 get head      (empty)
//   2 get hand-over u64be epoch
//
// Events: finalized_locally (validators: the engine's report), applied (a block was applied),
// peer_up / peer_down, message (a finality-channel message from a peer), tick (timers).
// Actions, in this order: hand `verified` to the ledger; send `heads` and `asks`; block peers.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "consensus/application.h"
#include "consensus/head.h"
#include "consensus/types.h"
#include "state/validator_set.h"

namespace guts::finality {

using consensus::FinalityHead;

// How often a full node that heard nothing new asks its peers for their newest head (heads are
// pushed on every applied block, so this only matters after a lost message or a quiet network).
inline constexpr uint64_t kAskIntervalMs = 1000;
// Validators: finalization certificates kept while their blocks are being applied.
inline constexpr size_t kKeepCertificates = 256;

// One head to send. `head` is empty only for an answer to "get head" when this node knows no
// head yet (the driver then sends nothing); `answer` tells answers from announcements and
// relays (a test seam may rewrite what is sent: finality/relay.h).
struct HeadSend {
  crypto::PublicKey to{};
  std::optional<FinalityHead> head;
  bool answer = false;
};

struct HandOverAsk {
  crypto::PublicKey to{};
  consensus::Epoch epoch = 0;
};

struct Actions {
  std::optional<consensus::Finalized> verified;  // a newer verified head (not our engine's)
  std::vector<HeadSend> heads;
  std::vector<crypto::PublicKey> asks;  // send "get head" to these peers
  bool ask_everyone = false;            // broadcast "get head"
  std::vector<HandOverAsk> hand_over_asks;
  std::optional<FinalityHead> keep;  // a new hand-over head: keep it durably
  std::vector<crypto::PublicKey> block;
  std::vector<std::string> warnings;  // for the log (why a peer was blocked)
};

class RelayCore {
 public:
  // `ns`: the consensus namespace ("guts/<chain id>"); `validators`: the genesis set;
  // `validator`: whether this node votes (it then announces and answers, and follows only the
  // hand-overs it asks for when its engine is behind a boundary).
  RelayCore(std::string ns, std::vector<crypto::PublicKey> validators, bool validator);

  // The validator schedule of the applied state (a block changed it, or at start).
  void schedule(state::ValidatorSchedule s);
  // Whether this node votes in the current epoch.
  void set_validator(bool validator) { validator_ = validator; }
  // A hand-over head kept from before a restart.
  void restore_hand_over(const FinalityHead& head);
  // Our engine heard a vote of a later epoch from `peer`: ask it for the hand-over of ours.
  Actions behind(const crypto::PublicKey& peer, uint64_t now_ms);

  Actions finalized_locally(const consensus::Finalized& f);
  Actions applied(uint64_t height, const Digest& block);
  Actions peer_up(const crypto::PublicKey& peer, uint64_t now_ms);
  Actions peer_down(const crypto::PublicKey& peer);
  Actions message(const crypto::PublicKey& peer, ByteView payload, uint64_t now_ms);
  Actions tick(uint64_t now_ms);

  // The highest finalized height this node heard of (or applied), and the newest finalized view.
  uint64_t network_height() const { return std::max(applied_height_, hint_height_); }
  consensus::View finalized_view() const { return finalized_view_; }
  const std::optional<FinalityHead>& best() const { return best_; }
  bool validator() const { return validator_; }
  bool is_validator(const crypto::PublicKey& peer) const;
  const std::map<consensus::Epoch, FinalityHead>& hand_overs() const { return hand_overs_; }

 private:
  // The epoch after the applied height (the one being decided).
  consensus::Epoch current_epoch() const;
  void keep_if_hand_over(const FinalityHead& head, Actions& a);
  Actions ask_hand_over(const crypto::PublicKey& peer, uint64_t now_ms);

  const std::string ns_;
  state::ValidatorSchedule schedule_;
  std::vector<std::vector<crypto::PublicKey>> keys_;  // by epoch
  bool validator_;

  // Validators: recent finalizations by round (epoch, view).
  std::map<consensus::Round, std::pair<Digest, Bytes>> certs_;
  std::map<consensus::Epoch, FinalityHead> hand_overs_;
  std::map<crypto::PublicKey, uint64_t> asked_ms_;  // hand-over asks, per peer
  std::optional<FinalityHead> best_;
  std::set<crypto::PublicKey> followers_;  // connected non-validator peers
  uint64_t last_news_ms_ = 0;
  uint64_t last_ask_ms_ = 0;
  uint64_t applied_height_ = 0;
  uint64_t hint_height_ = 0;  // the newest verified head's (unsigned) height
  consensus::View finalized_view_ = 0;
  consensus::Round best_round_;  // best_'s round
  uint64_t ticked_height_ = 0;   // applied height at the last tick
  uint64_t progress_ms_ = 0;     // when a tick last saw it grow
};

}  // namespace guts::finality
