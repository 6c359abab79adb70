// The discovery driver (discovery.h) over a Transport (guts_p2p_net; no Asio here): the clock,
// the maintenance thread, the transport calls and the log. Every decision is DiscoveryCore's
// (discovery_core.cpp).
#include <spdlog/spdlog.h>

#include <random>

#include "core/time.h"
#include "crypto/did.h"
#include "p2p/discovery.h"
#include "p2p/transport.h"

namespace guts::p2p {

Discovery::Discovery(Transport& transport, const LocalIdentity& identity, storage::Db* db,
                     DiscoveryConfig config)
    : transport_(transport),
      tick_(config.tick),
      core_(identity.key, identity.network, db, std::move(config), std::random_device{}()) {}

Discovery::~Discovery() {
  stop();
}

void Discovery::attach() {
  transport_.on_message([this](const crypto::PublicKey& from, uint64_t ch, Bytes payload) {
    handle_message(from, ch, payload);
  });
  transport_.on_peer([this](const crypto::PublicKey& peer, bool up) { handle_peer(peer, up); });
}

void Discovery::on_refs(RefsHandler handler) {
  on_refs_ = std::move(handler);
}

bool Discovery::handle_message(const crypto::PublicKey& from, uint64_t channel, ByteView payload) {
  if (channel != channel::kGossip) return false;
  DiscoveryActions a;
  {
    MutexLock l(mu_);
    a = core_.on_message(from, payload, unix_millis());
  }
  perform(from, std::move(a));
  return true;
}

void Discovery::handle_peer(const crypto::PublicKey& peer, bool up) {
  DiscoveryActions a;
  {
    MutexLock l(mu_);
    a = core_.on_peer(peer, up, unix_millis());
  }
  perform(peer, std::move(a));
}

void Discovery::perform(const crypto::PublicKey& from, DiscoveryActions a) {
  if (a.violation) {
    spdlog::warn("p2p: {} sent an invalid gossip message: {}", crypto::did_from_key(from),
                 *a.violation);
    transport_.block(from);
    return;
  }
  if (a.poke) poke();
  for (const auto& d : a.dials) transport_.dial(d.id, d.addr.host, d.addr.port);
  for (const auto& s : a.sends) send_to(s.to, s.messages);
  if (on_refs_) {
    for (const auto& r : a.refs) on_refs_(r);
  }
}

void Discovery::send_to(const crypto::PublicKey& peer, const std::vector<Bytes>& msgs) {
  size_t dropped = 0;
  for (const auto& m : msgs) dropped += transport_.send(peer, channel::kGossip, m) ? 0 : 1;
  if (dropped) {
    MutexLock l(mu_);
    core_.send_failed(dropped);
  }
}

void Discovery::start() {
  {
    MutexLock rl(run_mu_);
    if (running_) return;
  }
  uint16_t port = transport_.port();
  {
    MutexLock l(mu_);
    auto s = core_.start(unix_millis(), port);
    spdlog::info("p2p: address book: {} peers loaded ({} announcements), {} bootstrap", s.loaded,
                 s.restored, s.bootstrap);
  }
  MutexLock rl(run_mu_);
  running_ = true;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void Discovery::stop() {
  {
    MutexLock rl(run_mu_);
    if (!running_) return;
    stopping_ = true;
  }
  run_cv_.notify_all();
  thread_.join();
  MutexLock rl(run_mu_);
  running_ = false;
}

void Discovery::poke() {
  {
    MutexLock rl(run_mu_);
    poked_ = true;
  }
  run_cv_.notify_all();
}

void Discovery::run() {
  while (true) {
    {
      MutexLock rl(run_mu_);
      if (stopping_) return;
    }
    try {
      maintain();
    } catch (const std::exception& e) {
      spdlog::warn("p2p: discovery round failed: {}", e.what());
    }
    MutexLock rl(run_mu_);
    auto deadline = std::chrono::steady_clock::now() + tick_;
    while (!stopping_ && !poked_) {
      if (rl.wait_until(run_cv_, deadline) == std::cv_status::timeout) break;
    }
    poked_ = false;
  }
}

void Discovery::maintain() {
  std::vector<LivePeer> live;
  for (const auto& p : transport_.peers()) live.push_back({p.id, p.outbound});  // before mu_
  DiscoveryActions a;
  {
    MutexLock l(mu_);
    a = core_.on_tick(unix_millis(), live);
  }
  perform(crypto::PublicKey{}, std::move(a));
}

void Discovery::set_inventory(std::vector<std::string> repos) {
  DiscoveryActions a;
  {
    MutexLock l(mu_);
    a = core_.set_inventory(std::move(repos), unix_millis());
  }
  perform(crypto::PublicKey{}, std::move(a));
}

void Discovery::announce_refs(std::string repo, std::vector<gossip::Ref> refs) {
  DiscoveryActions a;
  {
    MutexLock l(mu_);
    a = core_.announce_refs(std::move(repo), std::move(refs), unix_millis());
  }
  perform(crypto::PublicKey{}, std::move(a));
}

gossip::RoutingTable Discovery::routing_table() {
  MutexLock l(mu_);
  return core_.routing_table();
}

std::set<crypto::PublicKey> Discovery::nodes_for(const std::string& repo) {
  MutexLock l(mu_);
  return core_.nodes_for(repo);
}

std::vector<gossip::NodeAnnouncement> Discovery::known_nodes() {
  MutexLock l(mu_);
  return core_.known_nodes();
}

std::vector<AddressEntry> Discovery::address_book() {
  MutexLock l(mu_);
  return core_.address_book();
}

std::vector<PeerSummary> Discovery::peers() {
  auto live = transport_.peers();
  std::vector<PeerSummary> out;
  MutexLock l(mu_);
  for (const auto& p : live) {
    PeerSummary s;
    s.did = p.did;
    s.address = p.address;
    s.outbound = p.outbound;
    s.latency_ms = p.latency_ms;
    s.bytes_in = p.bytes_in;
    s.bytes_out = p.bytes_out;
    if (auto n = core_.node(p.id)) s.user_agent = n->user_agent;
    out.push_back(std::move(s));
  }
  return out;
}

std::map<std::string, uint64_t> Discovery::metrics() {
  auto m = transport_.metrics();
  MutexLock l(mu_);
  for (const auto& [k, v] : core_.metrics()) m[k] += v;
  return m;
}

}  // namespace guts::p2p
