#include "finality/relay_core.h"

#include <algorithm>

#include "codec/codec.h"
#include "crypto/did.h"

namespace guts::finality {

namespace {
// A peer ahead of us by an epoch is asked for a hand-over at most this often.
constexpr uint64_t kHandOverAskMs = 1000;
// A validator that applied nothing for this long asks its peers for their newest head.
constexpr uint64_t kValidatorAskMs = 5000;
}  // namespace

RelayCore::RelayCore(std::string ns, std::vector<crypto::PublicKey> validators, bool validator)
    : ns_(std::move(ns)), validator_(validator) {
  std::vector<state::Validator> vs;
  for (const auto& k : validators) vs.push_back({k, ""});
  schedule(state::ValidatorSchedule::fixed(std::move(vs)));
}

void RelayCore::schedule(state::ValidatorSchedule s) {
  schedule_ = std::move(s);
  keys_.clear();
  for (const auto& e : schedule_.epochs()) keys_.push_back(e.keys());
}

consensus::Epoch RelayCore::current_epoch() const {
  return schedule_.at_height(applied_height_ + 1).number;
}

bool RelayCore::is_validator(const crypto::PublicKey& peer) const {
  // A validator of the current epoch or of one scheduled after it.
  for (size_t e = current_epoch(); e < keys_.size(); ++e)
    if (std::find(keys_[e].begin(), keys_[e].end(), peer) != keys_[e].end()) return true;
  return false;
}

void RelayCore::restore_hand_over(const FinalityHead& head) {
  hand_overs_[head.epoch] = head;
}

void RelayCore::keep_if_hand_over(const FinalityHead& head, Actions& a) {
  auto last = schedule_.last_height(head.epoch);
  if (!last || head.height != *last || hand_overs_.count(head.epoch)) return;
  hand_overs_[head.epoch] = head;
  a.keep = head;
}

Actions RelayCore::ask_hand_over(const crypto::PublicKey& peer, uint64_t now_ms) {
  Actions a;
  auto& at = asked_ms_[peer];
  if (at != 0 && now_ms - at < kHandOverAskMs) return a;
  at = now_ms;
  a.hand_over_asks.push_back({peer, current_epoch()});
  return a;
}

Actions RelayCore::behind(const crypto::PublicKey& peer, uint64_t now_ms) {
  return ask_hand_over(peer, now_ms);
}

Actions RelayCore::finalized_locally(const consensus::Finalized& f) {
  if (f.implied || f.certificate.kind != consensus::Kind::kFinalize) return {};
  certs_[f.proposal.round] = {f.proposal.payload, consensus::encode_certificate(f.certificate)};
  while (certs_.size() > kKeepCertificates) certs_.erase(certs_.begin());
  finalized_view_ = std::max(finalized_view_, f.proposal.round.view);
  return {};
}

Actions RelayCore::applied(uint64_t height, const Digest& block) {
  applied_height_ = std::max(applied_height_, height);
  Actions a;
  if (best_ && best_->block == block) {
    // A head we verified (or announced): its height is now known for certain.
    hint_height_ = height;
    keep_if_hand_over(*best_, a);
  }
  // The finalization our engine reported for this block (the newest one, when a re-proposal
  // finalized the epoch's last block again); none when it was implied by a later one, or on a
  // node without an engine (full nodes relay heads when they verify them). Looked up also when
  // this node just stopped validating: the last block of its last epoch is a hand-over.
  auto it = certs_.end();
  for (auto c = certs_.begin(); c != certs_.end(); ++c)
    if (c->second.first == block) it = c;
  if (it == certs_.end()) return a;
  FinalityHead head{height, it->first.view, it->second.first, it->second.second, it->first.epoch};
  best_round_ = it->first;
  certs_.erase(certs_.begin(), std::next(it));
  best_ = head;
  keep_if_hand_over(head, a);
  for (const auto& peer : followers_) a.heads.push_back({peer, head, false});
  return a;
}

Actions RelayCore::peer_up(const crypto::PublicKey& peer, uint64_t now_ms) {
  bool follower = !is_validator(peer);
  if (follower) followers_.insert(peer);
  Actions a;
  if (validator_) {
    if (follower && best_) a.heads.push_back({peer, best_, false});
  } else {
    a.asks.push_back(peer);  // ask whoever we meet; a full node answers with what it verified
  }
  return a;
}

Actions RelayCore::peer_down(const crypto::PublicKey& peer) {
  followers_.erase(peer);
  asked_ms_.erase(peer);
  return {};
}

Actions RelayCore::message(const crypto::PublicKey& peer, ByteView payload, uint64_t now_ms) {
  Actions a;
  try {
    codec::Reader r(payload);
    uint8_t tag = r.u8();
    if (tag == consensus::kGetHead) {
      r.finish();
      a.heads.push_back({peer, best_, true});
      return a;
    }
    if (tag == consensus::kGetHandOver) {
      consensus::Epoch e = r.u64be();
      r.finish();
      auto it = hand_overs_.find(e);
      if (it != hand_overs_.end()) a.heads.push_back({peer, it->second, true});
      return a;
    }
    if (tag != consensus::kHead) throw codec::DecodeError("unknown finality message");
    auto body = payload.subspan(1);
    // Stale heads (a relay, a replay) are dropped before their signatures cost anything.
    const consensus::Round round = consensus::head_round(body);
    if (best_ && round <= best_round_) return a;
    if (round.epoch >= keys_.size()) {
      // Signed by a set our state does not name yet: we are behind an epoch boundary.
      return ask_hand_over(peer, now_ms);
    }
    auto head = consensus::verify_head(body, ns_, keys_[round.epoch]);
    if (!head) {
      a.block.push_back(peer);
      a.warnings.push_back(crypto::did_from_key(peer) +
                           " sent a finalization certificate that does not verify: blocked");
      return a;
    }
    best_ = *head;
    best_round_ = round;
    last_news_ms_ = now_ms;
    // The height is not signed: a hint, replaced by the next head and corrected to the real
    // height once the block is applied (never a monotonic maximum a liar could pin).
    hint_height_ = head->height;
    finalized_view_ = std::max(finalized_view_, head->view);
    auto cert = consensus::decode_certificate(head->certificate);
    a.verified = consensus::Finalized{cert.proposal, cert, false};
    if (!validator_)
      for (const auto& f : followers_)
        if (f != peer) a.heads.push_back({f, *head, false});
  } catch (const codec::DecodeError& e) {
    a = Actions{};
    a.block.push_back(peer);
    a.warnings.push_back("malformed finality message from " + crypto::did_from_key(peer) + ": " +
                         e.what());
  }
  return a;
}

Actions RelayCore::tick(uint64_t now_ms) {
  Actions a;
  if (applied_height_ != ticked_height_) {
    ticked_height_ = applied_height_;
    progress_ms_ = now_ms;
  }
  if (validator_) {
    // A validator learns finality from its engine; only when nothing was applied for a while
    // (stuck behind an epoch boundary its engine cannot cross, or a quiet network) it asks.
    if (now_ms - progress_ms_ < kValidatorAskMs || now_ms - last_ask_ms_ < kValidatorAskMs)
      return a;
    last_ask_ms_ = now_ms;
    a.ask_everyone = true;
    return a;
  }
  if (now_ms - last_news_ms_ < kAskIntervalMs || now_ms - last_ask_ms_ < kAskIntervalMs) return a;
  last_ask_ms_ = now_ms;
  a.ask_everyone = true;
  return a;
}

}  // namespace guts::finality
