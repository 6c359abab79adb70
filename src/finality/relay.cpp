#include "finality/relay.h"

#include <spdlog/spdlog.h>

#include "core/time.h"

namespace guts::finality {

namespace {

uint64_t now_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

std::vector<crypto::PublicKey> keys(const state::Genesis& g) {
  std::vector<crypto::PublicKey> v;
  for (const auto& x : g.validators) v.push_back(x.key);
  return v;
}

}  // namespace

FinalityRelay::FinalityRelay(const state::Genesis& genesis, Net& net, bool validator,
                             RelayOptions options)
    : net_(net),
      opts_(std::move(options)),
      core_("guts/" + genesis.chain_id, keys(genesis), validator) {}

FinalityRelay::~FinalityRelay() {
  stop();
}

void FinalityRelay::start() {
  MutexLock lock(mu_);
  if (core_.validator()) return;  // validators only answer and announce
  stop_ = false;
  ticker_ = std::thread([this] { tick_loop(); });
}

void FinalityRelay::stop() {
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
}

void FinalityRelay::on_message(const crypto::PublicKey& peer, ByteView payload) {
  Actions a;
  {
    MutexLock lock(mu_);
    a = core_.message(peer, payload, now_ms());
  }
  run(std::move(a));
}

void FinalityRelay::on_peer(const crypto::PublicKey& peer, bool up) {
  Actions a;
  {
    MutexLock lock(mu_);
    a = up ? core_.peer_up(peer, now_ms()) : core_.peer_down(peer);
  }
  run(std::move(a));
}

void FinalityRelay::finalized_locally(const consensus::Finalized& f) {
  Actions a;
  {
    MutexLock lock(mu_);
    a = core_.finalized_locally(f);
  }
  run(std::move(a));
}

void FinalityRelay::applied(const state::Block& block) {
  Actions a;
  {
    MutexLock lock(mu_);
    a = core_.applied(block.header.height, block.header.view, block.id());
  }
  run(std::move(a));
}

std::optional<FinalityHead> FinalityRelay::best() const {
  MutexLock lock(mu_);
  return core_.best();
}

uint64_t FinalityRelay::network_height() const {
  MutexLock lock(mu_);
  return core_.network_height();
}

consensus::View FinalityRelay::finalized_view() const {
  MutexLock lock(mu_);
  return core_.finalized_view();
}

void FinalityRelay::run(Actions a) {
  if (a.verified && on_verified_) on_verified_(*a.verified);
  for (const auto& h : a.heads) send_head(h);
  Bytes ask{consensus::kGetHead};
  for (const auto& peer : a.asks) net_.send(peer, ask);
  if (a.ask_everyone) net_.broadcast(ask);
  for (const auto& w : a.warnings) spdlog::warn("p2p: {}", w);
  for (const auto& peer : a.block) net_.block(peer);
}

void FinalityRelay::send_head(const HeadSend& h) {
  if (opts_.rewrite_outgoing) {
    if (auto bytes = opts_.rewrite_outgoing(h)) {
      net_.send(h.to, *bytes);
      return;
    }
  }
  if (h.head) net_.send(h.to, consensus::encode_head(*h.head));
}

void FinalityRelay::tick_loop() {
  MutexLock lock(mu_);
  while (!stop_) {
    lock.wait_for(cv_, std::chrono::milliseconds(kAskIntervalMs));
    if (stop_) break;
    Actions a = core_.tick(now_ms());
    lock.unlock();
    run(std::move(a));
    lock.lock();
  }
}

}  // namespace guts::finality
