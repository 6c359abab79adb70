#include "finality/relay.h"

#include <spdlog/spdlog.h>

#include "codec/codec.h"
#include "core/fs.h"
#include "core/time.h"
#include "crypto/did.h"

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
      core_("guts/" + genesis.chain_id, keys(genesis), validator) {
  // Hand-over heads kept before a restart (each verified when it was first received or made).
  if (opts_.hand_over_dir.empty() || !std::filesystem::exists(opts_.hand_over_dir)) return;
  for (const auto& entry : std::filesystem::directory_iterator(opts_.hand_over_dir)) {
    if (!entry.path().filename().string().starts_with("hand-over-")) continue;
    try {
      auto bytes = read_file(entry.path(), consensus::kMaxCertificateBytes + 64);
      if (bytes.empty() || bytes[0] != consensus::kHead) continue;
      auto h = consensus::decode_head(ByteView(bytes).subspan(1));
      MutexLock lock(mu_);
      core_.restore_hand_over(h);
    } catch (const std::exception& e) {
      spdlog::warn("finality: ignoring {}: {}", entry.path().string(), e.what());
    }
  }
}

FinalityRelay::~FinalityRelay() {
  stop();
}

void FinalityRelay::start() {
  MutexLock lock(mu_);
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
    a = core_.applied(block.header.height, block.id());
  }
  run(std::move(a));
}

void FinalityRelay::set_schedule(state::ValidatorSchedule schedule, bool validating) {
  MutexLock lock(mu_);
  core_.schedule(std::move(schedule));
  core_.set_validator(validating);
}

void FinalityRelay::behind(const crypto::PublicKey& peer) {
  Actions a;
  {
    MutexLock lock(mu_);
    a = core_.behind(peer, now_ms());
  }
  run(std::move(a));
}

std::optional<FinalityHead> FinalityRelay::hand_over_of(const Digest& block) const {
  MutexLock lock(mu_);
  for (const auto& [epoch, head] : core_.hand_overs())
    if (head.block == block) return head;
  return std::nullopt;
}

void FinalityRelay::keep(const FinalityHead& head) {
  if (opts_.hand_over_dir.empty()) return;
  try {
    std::filesystem::create_directories(opts_.hand_over_dir);
    atomic_write_file(opts_.hand_over_dir / ("hand-over-" + std::to_string(head.epoch)),
                      consensus::encode_head(head), 0644);
  } catch (const std::exception& e) {
    spdlog::warn("finality: cannot keep the hand-over of epoch {}: {}", head.epoch, e.what());
  }
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
  if (a.keep) keep(*a.keep);
  if (a.verified && on_verified_) on_verified_(*a.verified);
  for (const auto& h : a.heads) send_head(h);
  Bytes ask{consensus::kGetHead};
  for (const auto& peer : a.asks) net_.send(peer, ask);
  if (a.ask_everyone) net_.broadcast(ask);
  for (const auto& h : a.hand_over_asks) {
    spdlog::info("finality: behind an epoch boundary: asking {} for the hand-over of epoch {}",
                 crypto::did_from_key(h.to), h.epoch);
    codec::Writer w;
    w.u8(consensus::kGetHandOver).u64be(h.epoch);
    net_.send(h.to, w.data());
  }
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
