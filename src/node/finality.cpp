#include "node/finality.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <string_view>

#include "codec/codec.h"
#include "crypto/did.h"
#include "crypto/ed25519.h"
#include "node/network.h"
#include "p2p/transport.h"

namespace guts::node {

namespace {

using Clock = std::chrono::steady_clock;

using consensus::encode_head;
using consensus::kGetHead;
using consensus::kHead;
using consensus::verify_head;

constexpr size_t kKeepCertificates = 256;
// A full node that heard no new head for this long asks its peers (heads are pushed on every
// applied block, so this only matters after a lost message or a quiet network).
constexpr auto kAskInterval = std::chrono::milliseconds(1000);

#ifdef GUTS_BYZANTINE_TESTS
// Test build only (guts-node-byzantine): with GUTS_BYZANTINE=forge-head this node answers and
// announces heads whose certificate is forged (signatures flipped, a block id of its own, a
// view far ahead). Honest full nodes must reject them and block this node.
bool forging() {
  const char* b = std::getenv("GUTS_BYZANTINE");
  return b && std::string_view(b) == "forge-head";
}

Bytes forged_head(const std::optional<FinalityHead>& real, uint64_t nonce) {
  consensus::Certificate c;
  if (real) c = consensus::decode_certificate(real->certificate);
  c.kind = consensus::Kind::kFinalize;
  c.proposal.round.view += 1000 + nonce;
  c.proposal.payload[0] ^= 0x5a;
  c.proposal.payload[31] = static_cast<uint8_t>(nonce);
  if (c.signers.empty()) {
    c.participants = 4;
    c.signers = {0, 1, 2};
    c.signatures.resize(3);
  }
  for (auto& s : c.signatures) s[0] ^= 0xff;
  FinalityHead h{(real ? real->height : 0) + 1000 + nonce, c.view(), c.proposal.payload,
                 consensus::encode_certificate(c)};
  return encode_head(h);
}
#endif

}  // namespace

FinalityRelay::FinalityRelay(const state::Genesis& genesis, Network& network, bool validator)
    : ns_("guts/" + genesis.chain_id),
      validators_([&] {
        std::vector<crypto::PublicKey> v;
        for (const auto& x : genesis.validators) v.push_back(x.key);
        return v;
      }()),
      network_(network),
      validator_(validator) {}

FinalityRelay::~FinalityRelay() {
  stop();
}

void FinalityRelay::subscribe(Verified on_verified) {
  on_verified_ = std::move(on_verified);
  network_.subscribe(channel::kFinality, [this](const crypto::PublicKey& peer, Bytes payload) {
    on_message(peer, payload);
  });
  network_.on_peer([this](const crypto::PublicKey& peer, bool up) { on_peer(peer, up); });
}

void FinalityRelay::start() {
  if (validator_) return;  // validators only answer and announce
  std::lock_guard lock(mu_);
  stop_ = false;
  ticker_ = std::thread([this] { tick_loop(); });
}

void FinalityRelay::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
}

void FinalityRelay::finalized_locally(const consensus::Finalized& f) {
  if (f.implied || f.certificate.kind != consensus::Kind::kFinalize) return;
  std::lock_guard lock(mu_);
  certs_[f.proposal.round.view] = {f.proposal.payload,
                                   consensus::encode_certificate(f.certificate)};
  while (certs_.size() > kKeepCertificates) certs_.erase(certs_.begin());
  if (f.proposal.round.view > finalized_view_) finalized_view_ = f.proposal.round.view;
}

void FinalityRelay::applied(const state::Block& block) {
  uint64_t h = block.header.height;
  if (h > applied_height_) applied_height_ = h;
  if (!validator_) {
    std::lock_guard lock(mu_);
    if (best_ && best_->block == block.id()) hint_height_ = h;
    return;  // full nodes relay heads when they verify them
  }
  std::vector<crypto::PublicKey> to;
  FinalityHead head;
  {
    std::lock_guard lock(mu_);
    auto it = certs_.find(block.header.view);
    if (it == certs_.end() || it->second.first != block.id()) return;  // implied by a later one
    head = FinalityHead{h, block.header.view, it->second.first, it->second.second};
    certs_.erase(certs_.begin(), std::next(it));
    best_ = head;
    to.assign(followers_.begin(), followers_.end());
  }
  for (const auto& peer : to) send_head(peer, head);
}

void FinalityRelay::send_head(const crypto::PublicKey& peer, const FinalityHead& head) {
#ifdef GUTS_BYZANTINE_TESTS
  if (forging()) {
    network_.transport().send(peer, channel::kFinality, forged_head(head, head.height));
    return;
  }
#endif
  network_.transport().send(peer, channel::kFinality, encode_head(head));
}

void FinalityRelay::on_peer(const crypto::PublicKey& peer, bool up) {
  bool follower = !network_.is_validator(peer);
  std::optional<FinalityHead> head;
  {
    std::lock_guard lock(mu_);
    if (!up) {
      followers_.erase(peer);
      return;
    }
    if (follower) followers_.insert(peer);
    head = best_;
  }
  if (validator_) {
    if (follower && head) send_head(peer, *head);
  } else {
    // Ask whoever we meet; a full node answers with what it verified.
    Bytes ask{kGetHead};
    network_.transport().send(peer, channel::kFinality, ask);
  }
}

void FinalityRelay::on_message(const crypto::PublicKey& peer, const Bytes& payload) {
  try {
    codec::Reader r(payload);
    uint8_t tag = r.u8();
    if (tag == kGetHead) {
      r.finish();
      std::optional<FinalityHead> head;
      {
        std::lock_guard lock(mu_);
        head = best_;
      }
#ifdef GUTS_BYZANTINE_TESTS
      if (forging()) {
        network_.transport().send(peer, channel::kFinality, forged_head(head, 1));
        return;
      }
#endif
      if (head) send_head(peer, *head);
      return;
    }
    if (tag != kHead) throw codec::DecodeError("unknown finality message");
    if (validator_) return;  // validators learn finality from their own engine
    auto body = ByteView(payload).subspan(1);
    {
      // Stale heads (a relay, a replay) are dropped before their signatures cost anything.
      auto view = consensus::head_view(body);
      std::lock_guard lock(mu_);
      if (best_ && view <= best_->view) return;
    }
    auto head = verify_head(body, ns_, validators_);
    if (!head) {
      spdlog::warn("p2p: {} sent a finalization certificate that does not verify: blocked",
                   crypto::did_from_key(peer));
      network_.transport().block(peer);
      return;
    }
    std::vector<crypto::PublicKey> relay;
    {
      std::lock_guard lock(mu_);
      if (best_ && head->view <= best_->view) return;
      best_ = *head;
      last_news_ = Clock::now();
      for (const auto& f : followers_)
        if (f != peer) relay.push_back(f);
    }
    // The height is not signed: a hint, replaced by the next head and corrected to the real
    // height once the block is applied (never a monotonic maximum a liar could pin).
    hint_height_ = head->height;
    if (head->view > finalized_view_) finalized_view_ = head->view;
    if (on_verified_) {
      auto cert = consensus::decode_certificate(head->certificate);
      on_verified_(consensus::Finalized{cert.proposal, cert, false});
    }
    for (const auto& f : relay) send_head(f, *head);
  } catch (const codec::DecodeError& e) {
    spdlog::warn("p2p: malformed finality message from {}: {}", crypto::did_from_key(peer),
                 e.what());
    network_.transport().block(peer);
  }
}

void FinalityRelay::tick_loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, kAskInterval, [&] { return stop_; });
    if (stop_) break;
    if (Clock::now() - last_news_ < kAskInterval) continue;
    lock.unlock();
    Bytes ask{kGetHead};
    network_.transport().broadcast(channel::kFinality, ask);
    lock.lock();
  }
}

}  // namespace guts::node
