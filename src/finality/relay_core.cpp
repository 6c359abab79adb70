#include "finality/relay_core.h"

#include <algorithm>

#include "codec/codec.h"
#include "crypto/did.h"

namespace guts::finality {

RelayCore::RelayCore(std::string ns, std::vector<crypto::PublicKey> validators, bool validator)
    : ns_(std::move(ns)), validators_(std::move(validators)), validator_(validator) {}

bool RelayCore::is_validator(const crypto::PublicKey& peer) const {
  return std::find(validators_.begin(), validators_.end(), peer) != validators_.end();
}

Actions RelayCore::finalized_locally(const consensus::Finalized& f) {
  if (f.implied || f.certificate.kind != consensus::Kind::kFinalize) return {};
  certs_[f.proposal.round.view] = {f.proposal.payload,
                                   consensus::encode_certificate(f.certificate)};
  while (certs_.size() > kKeepCertificates) certs_.erase(certs_.begin());
  finalized_view_ = std::max(finalized_view_, f.proposal.round.view);
  return {};
}

Actions RelayCore::applied(uint64_t height, consensus::View view, const Digest& block) {
  applied_height_ = std::max(applied_height_, height);
  if (!validator_) {
    // Full nodes relay heads when they verify them; the applied block gives the real height.
    if (best_ && best_->block == block) hint_height_ = height;
    return {};
  }
  auto it = certs_.find(view);
  if (it == certs_.end() || it->second.first != block) return {};  // implied by a later one
  FinalityHead head{height, view, it->second.first, it->second.second};
  certs_.erase(certs_.begin(), std::next(it));
  best_ = head;
  Actions a;
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
    if (tag != consensus::kHead) throw codec::DecodeError("unknown finality message");
    if (validator_) return a;  // validators learn finality from their own engine
    auto body = payload.subspan(1);
    // Stale heads (a relay, a replay) are dropped before their signatures cost anything.
    if (best_ && consensus::head_view(body) <= best_->view) return a;
    auto head = consensus::verify_head(body, ns_, validators_);
    if (!head) {
      a.block.push_back(peer);
      a.warnings.push_back(crypto::did_from_key(peer) +
                           " sent a finalization certificate that does not verify: blocked");
      return a;
    }
    best_ = *head;
    last_news_ms_ = now_ms;
    // The height is not signed: a hint, replaced by the next head and corrected to the real
    // height once the block is applied (never a monotonic maximum a liar could pin).
    hint_height_ = head->height;
    finalized_view_ = std::max(finalized_view_, head->view);
    auto cert = consensus::decode_certificate(head->certificate);
    a.verified = consensus::Finalized{cert.proposal, cert, false};
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
  if (validator_) return a;  // validators only answer and announce
  if (now_ms - last_news_ms_ < kAskIntervalMs || now_ms - last_ask_ms_ < kAskIntervalMs) return a;
  last_ask_ms_ = now_ms;
  a.ask_everyone = true;
  return a;
}

}  // namespace guts::finality
