#include "node/network.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/status.h"
#include "crypto/did.h"
#include "node/config.h"
#include "storage/db.h"

namespace guts::node {

namespace {

std::vector<p2p::ChannelConfig> node_channels() {
  auto chans = p2p::default_channels();
  for (auto& c : chans) {
    // Blocks: pushes of proposals, fetches by digest and by height range during catch-up.
    if (c.id == p2p::channel::kBlocks) {
      c.rate_per_sec = 1000;
      c.burst = 2000;
    }
  }
  // Consensus resolver requests and responses (certificates by view), validators only.
  chans.push_back({p2p::channel::kResolver, 1 << 20, 500, 1000, true});
  // Batches of pending transactions forwarded between validators' mempools.
  chans.push_back({p2p::channel::kTransactions, 8 << 20, 1000, 2000, false});
  // Finalization heads (a certificate and a height) announced to and asked by full nodes.
  chans.push_back({p2p::channel::kFinality, 1 << 20, 200, 400, false});
  // Blob chunks (LFS objects, release assets; replication/blob_sync.h): ≤ 1 MiB + header.
  chans.push_back({p2p::channel::kBlobs, (1 << 20) + 1024, 2000, 4000, false});
  return chans;
}

constexpr auto kDialInterval = std::chrono::milliseconds(500);

}  // namespace

Network::Network(NetworkOptions options) : opts_(std::move(options)) {
  p2p::TransportConfig cfg;
  auto [host, port] = split_host_port(opts_.listen_addr);
  cfg.listen_host = host;
  cfg.listen_port = port;
  cfg.channels = node_channels();
  auto identity = p2p::LocalIdentity::create(opts_.key, opts_.network_id);
  transport_ = std::make_unique<p2p::Transport>(identity, std::move(cfg));
  set_validators(opts_.validators);
  // Discovery and gossip (docs/p2p.md §5-6) own the gossip channel.
  p2p::DiscoveryConfig dcfg;
  for (const auto& b : opts_.bootstrap) dcfg.bootstrap.push_back(p2p::parse_bootstrap(b));
  dcfg.external_addresses = opts_.external_addrs;
  dcfg.listen_host = host;
  if (!opts_.p2p_dir.empty()) {
    p2p_db_ = storage::Db::open(opts_.p2p_dir, {std::string(p2p::AddressBook::kFamily)});
  }
  discovery_ =
      std::make_unique<p2p::Discovery>(*transport_, identity, p2p_db_.get(), std::move(dcfg));
  transport_->on_message([this](const crypto::PublicKey& peer, uint64_t ch, Bytes payload) {
    if (discovery_->handle_message(peer, ch, payload)) return;
    auto it = handlers_.find(ch);  // immutable once started
    if (it != handlers_.end()) it->second(peer, std::move(payload));
  });
  transport_->on_peer([this](const crypto::PublicKey& peer, bool up) {
    spdlog::debug("p2p: peer {} {}", crypto::did_from_key(peer), up ? "connected" : "disconnected");
    discovery_->handle_peer(peer, up);
    for (const auto& h : peer_handlers_) h(peer, up);  // immutable once started
  });
}

Network::~Network() {
  stop();
}

void Network::subscribe(uint64_t ch, Handler handler) {
  handlers_[ch] = std::move(handler);
}

void Network::on_peer(PeerHandler handler) {
  peer_handlers_.push_back(std::move(handler));
}

bool Network::is_validator(const crypto::PublicKey& k) const {
  std::lock_guard lock(validators_mu_);
  return std::find(validator_keys_.begin(), validator_keys_.end(), k) != validator_keys_.end();
}

std::vector<crypto::PublicKey> Network::validator_keys() const {
  std::lock_guard lock(validators_mu_);
  return validator_keys_;
}

void Network::set_validators(std::vector<state::Validator> validators) {
  std::set<crypto::PublicKey> allowed;
  std::vector<crypto::PublicKey> keys;
  for (const auto& v : validators) {
    if (allowed.insert(v.key).second) keys.push_back(v.key);
  }
  {
    std::lock_guard lock(validators_mu_);
    if (keys == validator_keys_) return;
    validators_ = std::move(validators);
    validator_keys_ = std::move(keys);
  }
  transport_->set_allowed(std::move(allowed));
}

void Network::start() {
  try {
    transport_->start();
    listening_ = true;
  } catch (const Error& e) {
    if (!opts_.optional_listen) throw;
    spdlog::warn("{}; running without p2p (a one-validator network needs no peers)", e.what());
    return;
  }
  spdlog::info("p2p listening on {} (port {}), {} validator(s)", opts_.listen_addr,
               transport_->port(), validator_keys().size());
  dialer_ = std::thread([this] { dial_loop(); });
  discovery_->start();
}

void Network::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (dialer_.joinable()) dialer_.join();
  if (discovery_) discovery_->stop();
  if (transport_) transport_->stop();
}

uint16_t Network::port() const {
  return listening_ ? transport_->port() : 0;
}

size_t Network::send_to_validators(uint64_t ch, ByteView payload) {
  size_t n = 0;
  for (const auto& k : validator_keys())
    if (k != opts_.key.public_key()) n += transport_->send(k, ch, payload) ? 1 : 0;
  return n;
}

void Network::dial_loop() {
  // Keep a session to every validator we know an address for; the transport ignores dials to
  // peers that are connected, blocked or ourselves, and settles duplicate sessions.
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    std::vector<state::Validator> validators;
    {
      std::lock_guard vlock(validators_mu_);
      validators = validators_;
    }
    for (const auto& v : validators) {
      if (v.key == opts_.key.public_key() || v.p2p_address.empty() || transport_->connected(v.key))
        continue;
      try {
        auto [host, port] = split_host_port(v.p2p_address);
        transport_->dial(v.key, host, port);
      } catch (const Error& e) {
        spdlog::warn("validator {}: {}", crypto::did_from_key(v.key), e.what());
      }
    }
    lock.lock();
    cv_.wait_for(lock, kDialInterval, [&] { return stop_; });
  }
}

}  // namespace guts::node
