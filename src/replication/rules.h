// The pure decisions of replication, first step of its core (issue 12): no threads, sockets,
// clocks or git inside — every input (time included) is an argument, every result a value. The
// driver (object_sync.h) holds each object under its own lock and does the I/O.
//
//   ServeAdmission   server side: admit a Want or answer "busy" (per peer and in total).
//   candidate_order  client side: whom to ask, in order: hints, validators, hosting peers.
//   ChunkStream      client side: one Want's answer; chunk order and size bounds.
//   attempt_wait_until  client side: when a silent candidate gives way to the next.
//   may_share        both sides: whether a peer may be served or told about a repository
//                    (private repositories: validators and the repository's seeds only).
//   inventory_for    what our inventory names to one peer.
//
// The client's state machine built on them (coalescing, the walk over the candidates, retries,
// deadlines) is replication::Fetcher (fetcher.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include "crypto/ed25519.h"

namespace guts::replication {

// Bounded serving: at most `per_peer` requests queued or running per peer, `total` overall.
class ServeAdmission {
 public:
  ServeAdmission(size_t per_peer, size_t total) : per_peer_(per_peer), total_(total) {}
  // True: admitted (release() it when served); false: answer NotFound "busy".
  bool admit(const crypto::PublicKey& peer);
  void release(const crypto::PublicKey& peer);
  size_t in_use() const { return in_use_; }

 private:
  size_t per_peer_;
  size_t total_;
  size_t in_use_ = 0;
  std::map<crypto::PublicKey, size_t> by_peer_;
};

// The peers to ask for a repository, in order and without repeats or `self`: the hints (the
// block's proposer, the pusher's node), then the validators, then the peers whose inventory
// hosts the repository.
std::vector<crypto::PublicKey> candidate_order(const crypto::PublicKey& self,
                                               const std::vector<crypto::PublicKey>& hints,
                                               const std::vector<crypto::PublicKey>& validators,
                                               const std::vector<crypto::PublicKey>& hosting);

// One Want's answer as it arrives: chunks must come with seq 0, 1, … and nothing after `last`.
class ChunkStream {
 public:
  enum class Verdict {
    kAccepted,   // hand the bytes to index-pack
    kViolation,  // out of order or after the last: block the peer
    kOverflow,   // over the pack or buffer bound: fail the attempt, the peer is not punished
  };
  ChunkStream(uint64_t max_pack_bytes, size_t max_buffered_bytes)
      : max_pack_(max_pack_bytes), max_buffered_(max_buffered_bytes) {}
  Verdict on_chunk(uint64_t seq, bool last, size_t bytes);
  // index-pack consumed `bytes` of what was buffered.
  void consumed(size_t bytes) { buffered_ -= bytes; }
  bool eof() const { return eof_; }
  uint64_t total() const { return total_; }
  size_t buffered() const { return buffered_; }

 private:
  uint64_t max_pack_;
  size_t max_buffered_;
  uint64_t next_seq_ = 0;
  uint64_t total_ = 0;
  size_t buffered_ = 0;
  bool eof_ = false;
  bool broken_ = false;
};

// Before its first answer, a candidate gets half of the time left when the Want was sent (at least
// 300 ms), so that one silent peer cannot eat a whole deadline. Times in steady milliseconds.
uint64_t first_answer_by(uint64_t sent, uint64_t deadline);
// Until when an attempt waits for the candidate's next message: `idle` after its last one, never
// past the job's deadline, nor past first_answer_by while it has sent nothing.
uint64_t attempt_wait_until(uint64_t last_activity, uint64_t deadline, uint64_t idle, bool answered,
                            uint64_t first_answer);

// Private repositories (docs/git.md "Private repositories"): a repository's objects,
// and its name in an inventory, go to a peer only when the repository is public, or the peer's
// authenticated node key is a validator's or one of the repository's seeds. Unknown
// repositories are "public" here: the server answers them "not hosted" anyway, and a refused
// private repository gets exactly that answer (no existence leak).
struct RepoAudience {
  bool known = false;
  bool is_private = false;
  bool peer_is_validator = false;
  bool peer_is_seed = false;
};
bool may_share(const RepoAudience& a);

// Our inventory as sent to one peer: `hosted` (sorted) without the repositories `allowed`
// refuses for it. A "hosts all" inventory names nothing and is sent unchanged.
template <typename Allowed>
std::vector<uint64_t> inventory_for(const std::vector<uint64_t>& hosted, Allowed&& allowed) {
  std::vector<uint64_t> out;
  out.reserve(hosted.size());
  for (uint64_t id : hosted)
    if (allowed(id)) out.push_back(id);
  return out;
}

}  // namespace guts::replication
