#include "finality/relay.h"

#include <spdlog/spdlog.h>

#include "crypto/did.h"
#include "node/network.h"
#include "p2p/transport.h"

namespace guts::finality {

namespace {

Options options_of(const state::Genesis& genesis, bool validator, HeadRewriter rewrite_head) {
  Options o;
  o.ns = "guts/" + genesis.chain_id;
  for (const auto& v : genesis.validators) o.validators.push_back(v.key);
  o.validator = validator;
  o.rewrite_head = std::move(rewrite_head);
  return o;
}

}  // namespace

FinalityRelay::FinalityRelay(const state::Genesis& genesis, node::Network& network, bool validator,
                             HeadRewriter rewrite_head)
    : network_(network), core_(options_of(genesis, validator, std::move(rewrite_head))) {}

FinalityRelay::~FinalityRelay() {
  stop();
}

void FinalityRelay::subscribe(Verified on_verified) {
  on_verified_ = std::move(on_verified);
  network_.subscribe(node::channel::kFinality,
                     [this](const crypto::PublicKey& peer, Bytes payload) {
                       Actions a;
                       {
                         MutexLock lock(mu_);
                         a = core_.on_message(peer, payload, Clock::now());
                       }
                       execute(std::move(a));
                     });
  network_.on_peer([this](const crypto::PublicKey& peer, bool up) {
    bool is_validator = network_.is_validator(peer);
    Actions a;
    {
      MutexLock lock(mu_);
      a = core_.on_peer(peer, up, is_validator);
    }
    execute(std::move(a));
  });
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

void FinalityRelay::finalized_locally(const consensus::Finalized& f) {
  MutexLock lock(mu_);
  core_.on_finalized_locally(f);
}

void FinalityRelay::applied(const state::Block& block) {
  Actions a;
  {
    MutexLock lock(mu_);
    a = core_.on_applied(block.header.height, block.header.view, block.id());
  }
  execute(std::move(a));
}

uint64_t FinalityRelay::network_height() const {
  MutexLock lock(mu_);
  return core_.network_height();
}

consensus::View FinalityRelay::finalized_view() const {
  MutexLock lock(mu_);
  return core_.finalized_view();
}

void FinalityRelay::execute(Actions a) {
  auto& transport = network_.transport();
  for (const auto& b : a.block) {
    if (b.forged)
      spdlog::warn("p2p: {} sent a finalization certificate that does not verify: blocked",
                   crypto::did_from_key(b.peer));
    else
      spdlog::warn("p2p: malformed finality message from {}: {}", crypto::did_from_key(b.peer),
                   b.reason);
    transport.block(b.peer);
  }
  if (a.follow && on_verified_) on_verified_(*a.follow);
  for (const auto& [peer, message] : a.send)
    transport.send(peer, node::channel::kFinality, message);
  if (a.ask_all) transport.broadcast(node::channel::kFinality, Bytes{consensus::kGetHead});
}

void FinalityRelay::tick_loop() {
  Time wake;
  {
    MutexLock lock(mu_);
    wake = Clock::now() + core_.options().ask_interval;
  }
  while (true) {
    Actions a;
    {
      MutexLock lock(mu_);
      while (!stop_ && Clock::now() < wake) lock.wait_until(cv_, wake);
      if (stop_) return;
      a = core_.on_tick(Clock::now());
      if (a.wake) wake = *a.wake;
    }
    execute(std::move(a));
  }
}

}  // namespace guts::finality
