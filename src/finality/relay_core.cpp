#include "finality/relay_core.h"

#include <algorithm>
#include <iterator>

#include "codec/codec.h"

namespace guts::finality {

using consensus::encode_head;
using consensus::kGetHead;
using consensus::kHead;

RelayCore::RelayCore(Options options) : opt_(std::move(options)) {}

std::optional<Bytes> RelayCore::head_message(const std::optional<FinalityHead>& head,
                                             bool reply) const {
  if (opt_.rewrite_head) return opt_.rewrite_head(head, reply);
  if (!head) return std::nullopt;
  return encode_head(*head);
}

void RelayCore::send_head(Actions& a, const Peer& to, const FinalityHead& head) const {
  if (auto m = head_message(head, false)) a.send.emplace_back(to, std::move(*m));
}

void RelayCore::on_finalized_locally(const consensus::Finalized& f) {
  if (f.implied || f.certificate.kind != consensus::Kind::kFinalize) return;
  certs_[f.proposal.round.view] = {f.proposal.payload,
                                   consensus::encode_certificate(f.certificate)};
  while (certs_.size() > opt_.keep_certificates) certs_.erase(certs_.begin());
  finalized_view_ = std::max(finalized_view_, f.proposal.round.view);
}

Actions RelayCore::on_applied(uint64_t height, consensus::View view, const Digest& id) {
  Actions a;
  applied_height_ = std::max(applied_height_, height);
  if (!opt_.validator) {
    if (best_ && best_->block == id) hint_height_ = height;
    return a;  // full nodes relay heads when they verify them
  }
  auto it = certs_.find(view);
  if (it == certs_.end() || it->second.first != id) return a;  // implied by a later one
  FinalityHead head{height, view, it->second.first, it->second.second};
  certs_.erase(certs_.begin(), std::next(it));
  best_ = head;
  for (const auto& peer : followers_) send_head(a, peer, head);
  return a;
}

Actions RelayCore::on_peer(const Peer& peer, bool up, bool is_validator) {
  Actions a;
  if (!up) {
    followers_.erase(peer);
    return a;
  }
  bool follower = !is_validator;
  if (follower) followers_.insert(peer);
  if (opt_.validator) {
    if (follower && best_) send_head(a, peer, *best_);
  } else {
    // Ask whoever we meet; a full node answers with what it verified.
    a.send.emplace_back(peer, Bytes{kGetHead});
  }
  return a;
}

Actions RelayCore::on_message(const Peer& from, ByteView payload, Time now) {
  Actions a;
  try {
    codec::Reader r(payload);
    uint8_t tag = r.u8();
    if (tag == kGetHead) {
      r.finish();
      if (auto m = head_message(best_, true)) a.send.emplace_back(from, std::move(*m));
      return a;
    }
    if (tag != kHead) throw codec::DecodeError("unknown finality message");
    if (opt_.validator) return a;  // validators learn finality from their own engine
    auto body = payload.subspan(1);
    // Stale heads (a relay, a replay) are dropped before their signatures cost anything.
    if (best_ && consensus::head_view(body) <= best_->view) return a;
    ++verifications_;
    auto head = consensus::verify_head(body, opt_.ns, opt_.validators);
    if (!head) {
      a.block.push_back({from, true, "finalization certificate does not verify"});
      return a;
    }
    if (best_ && head->view <= best_->view) return a;
    best_ = *head;
    last_news_ = now;
    // The height is not signed: a hint, replaced by the next head and corrected to the real
    // height once the block is applied (never a monotonic maximum a liar could pin).
    hint_height_ = head->height;
    finalized_view_ = std::max(finalized_view_, head->view);
    auto cert = consensus::decode_certificate(head->certificate);
    a.follow = consensus::Finalized{cert.proposal, cert, false};
    for (const auto& f : followers_)
      if (f != from) send_head(a, f, *head);
  } catch (const codec::DecodeError& e) {
    a = Actions{};
    a.block.push_back({from, false, e.what()});
  }
  return a;
}

Actions RelayCore::on_tick(Time now) {
  Actions a;
  if (opt_.validator) return a;  // validators only answer and announce
  if (now - last_news_ >= opt_.ask_interval) a.ask_all = true;
  a.wake = now + opt_.ask_interval;
  return a;
}

}  // namespace guts::finality
