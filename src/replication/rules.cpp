#include "replication/rules.h"

#include <algorithm>

#include "core/assert.h"

namespace guts::replication {

bool ServeAdmission::admit(const crypto::PublicKey& peer) {
  auto it = by_peer_.find(peer);
  size_t mine = it == by_peer_.end() ? 0 : it->second;
  if (in_use_ >= total_ || mine >= per_peer_) return false;
  ++by_peer_[peer];
  ++in_use_;
  return true;
}

void ServeAdmission::release(const crypto::PublicKey& peer) {
  auto it = by_peer_.find(peer);
  GUTS_ASSERT(it != by_peer_.end() && in_use_ > 0, "release without admit");
  --in_use_;
  if (--it->second == 0) by_peer_.erase(it);
}

std::vector<crypto::PublicKey> candidate_order(const crypto::PublicKey& self,
                                               const std::vector<crypto::PublicKey>& hints,
                                               const std::vector<crypto::PublicKey>& validators,
                                               const std::vector<crypto::PublicKey>& hosting) {
  std::vector<crypto::PublicKey> out;
  auto add = [&](const std::vector<crypto::PublicKey>& from) {
    for (const auto& k : from)
      if (k != self && std::find(out.begin(), out.end(), k) == out.end()) out.push_back(k);
  };
  add(hints);
  add(validators);
  add(hosting);
  return out;
}

ChunkStream::Verdict ChunkStream::on_chunk(uint64_t seq, bool last, size_t bytes) {
  if (broken_ || eof_ || seq != next_seq_) {
    broken_ = true;
    return Verdict::kViolation;
  }
  ++next_seq_;
  total_ += bytes;
  if (total_ > max_pack_ || buffered_ + bytes > max_buffered_) return Verdict::kOverflow;
  buffered_ += bytes;
  eof_ = last;
  return Verdict::kAccepted;
}

uint64_t first_answer_by(uint64_t sent, uint64_t deadline) {
  uint64_t half = deadline > sent ? (deadline - sent) / 2 : 0;
  return sent + std::max<uint64_t>(300, half);
}

uint64_t attempt_wait_until(uint64_t last_activity, uint64_t deadline, uint64_t idle, bool answered,
                            uint64_t first_answer) {
  auto until = std::min(last_activity + idle, deadline);
  if (!answered) until = std::min(until, first_answer);
  return until;
}

bool may_share(const RepoAudience& a) {
  if (!a.known || !a.is_private) return true;
  return a.peer_is_validator || a.peer_is_seed;
}

}  // namespace guts::replication
