// The finality relay as a pure state machine: how a full node learns what is final without
// taking part in consensus (docs/network.md §2). No threads, sockets or clocks: it takes events
// and returns actions; the driver (finality/relay.h) owns the thread, the lock and the network.
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
//   full nodes   verify every head they hear (stale ones are dropped before their signatures
//                cost anything); a head newer than the best known one is handed to the ledger
//                and relayed to the other non-validator peers
//   everyone     answers "get head" with the newest head it holds; a full node asks its peers
//                when it connects to them and whenever it heard nothing new for a while
//
// Channel node::channel::kFinality, messages u8 tag ‖ body (consensus/head.h):
//   0 head      u64be height ‖ bytes(certificate)   (certificate ≤ 64 KiB, finalize kind)
//   1 get head  (empty)
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "consensus/application.h"
#include "consensus/head.h"
#include "consensus/types.h"

namespace guts::finality {

using consensus::FinalityHead;
using Peer = crypto::PublicKey;
using Clock = std::chrono::steady_clock;
using Time = Clock::time_point;

// TEST SEAM (byzantine tests only; empty in production). Called for every head message the relay
// is about to send: `head` is the honest head (nullopt when answering a get-head while holding
// none, where an honest relay sends nothing), `reply` is true when answering a get-head. Returns
// the whole message to send instead (tag included), or nullopt to send nothing.
// tests/support/byzantine_heads.h provides a forger.
using HeadRewriter =
    std::function<std::optional<Bytes>(const std::optional<FinalityHead>& head, bool reply)>;

struct Options {
  std::string ns;                // signing namespace, "guts/" + chain id
  std::vector<Peer> validators;  // the genesis validator set heads are verified against
  bool validator = false;        // this node votes: it announces and never follows heads
  std::chrono::milliseconds ask_interval{1000};  // full nodes: ask peers after this much silence
  size_t keep_certificates = 256;  // validators: recent certificates kept until applied
  HeadRewriter rewrite_head;       // TEST SEAM, see above
};

// What the driver must do after an event, in this order: block, follow, send, ask.
struct Actions {
  struct Block {
    Peer peer;
    bool forged = false;  // a head that does not verify (else: malformed bytes, see reason)
    std::string reason;   // for the log
  };
  std::vector<Block> block;                    // peers that sent a forged or malformed message
  std::optional<consensus::Finalized> follow;  // a verified newer head: hand it to the ledger
  std::vector<std::pair<Peer, Bytes>> send;    // finality-channel messages to single peers
  bool ask_all = false;                        // broadcast get-head to every connected peer
  std::optional<Time> wake;                    // call on_tick at this time (full nodes)
};

class RelayCore {
 public:
  explicit RelayCore(Options options);

  // A finality-channel message from `from` (malformed bytes block the peer).
  Actions on_message(const Peer& from, ByteView payload, Time now);
  // A peer connected (`up`) or disconnected; `is_validator`: it is in the genesis set.
  Actions on_peer(const Peer& peer, bool up, bool is_validator);
  // Validators: a finalization the engine reported.
  void on_finalized_locally(const consensus::Finalized& f);
  // The block `id` at `height`, proposed in `view`, was applied; validators announce it if they
  // hold its finalization.
  Actions on_applied(uint64_t height, consensus::View view, const Digest& id);
  // Timer: full nodes ask their peers when they heard nothing new for ask_interval.
  Actions on_tick(Time now);

  // The highest finalized height this node heard of (unsigned hint) or applied.
  uint64_t network_height() const { return std::max(applied_height_, hint_height_); }
  consensus::View finalized_view() const { return finalized_view_; }
  const std::optional<FinalityHead>& best() const { return best_; }
  const Options& options() const { return opt_; }
  bool validator() const { return opt_.validator; }
  // Certificates checked so far (tests: stale heads must cost none).
  uint64_t verifications() const { return verifications_; }

 private:
  // The message that carries `head` to a peer (through the test seam when set).
  std::optional<Bytes> head_message(const std::optional<FinalityHead>& head, bool reply) const;
  void send_head(Actions& a, const Peer& to, const FinalityHead& head) const;

  const Options opt_;
  std::map<consensus::View, std::pair<Digest, Bytes>> certs_;  // validators: recent, by view
  std::optional<FinalityHead> best_;
  std::set<Peer> followers_;  // connected non-validator peers
  Time last_news_{};
  uint64_t applied_height_ = 0;
  uint64_t hint_height_ = 0;  // the newest verified head's (unsigned) height
  consensus::View finalized_view_ = 0;
  uint64_t verifications_ = 0;
};

}  // namespace guts::finality
