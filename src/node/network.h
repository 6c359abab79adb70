// The node's peer-to-peer network: one p2p::Transport (Noise sessions bound to the node key,
// network id = the genesis chain id), the validator allow-list for the consensus channels, and
// a dialer that keeps a session open to every validator listed in the genesis with a p2p
// address. Components subscribe to channels before start() and send through transport().
// Discovery and gossip (p2p::Discovery) share the transport: the gossip channel goes to them.
#pragma once

#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "crypto/ed25519.h"
#include "p2p/discovery.h"
#include "p2p/transport.h"
#include "state/genesis.h"

namespace guts::storage {
class Db;
}

namespace guts::node {

// Channel numbers are in p2p/channels.h.

struct NetworkOptions {
  std::string listen_addr = "127.0.0.1:9000";  // host:port; port 0 = any free port
  crypto::SigningKey key;
  std::string network_id;  // the chain id
  std::vector<state::Validator> validators;
  // A one-validator network has nobody to talk to yet: if the listen address is taken the node
  // runs without p2p (with a warning) instead of refusing to start.
  bool optional_listen = false;
  // Discovery and gossip (docs/p2p.md §5-6): bootstrap peers "did:key:…@host:port", addresses
  // announced to others (empty: the listen address unless it is 0.0.0.0/::), and the directory
  // of the address book (RocksDB <p2p_dir>; empty: kept in memory).
  std::vector<std::string> bootstrap;
  std::vector<std::string> external_addrs;
  std::filesystem::path p2p_dir;
  explicit NetworkOptions(crypto::SigningKey k) : key(k) {}  // SigningKey has no move
};

class Network {
 public:
  using Handler = std::function<void(const crypto::PublicKey& peer, Bytes payload)>;
  using PeerHandler = std::function<void(const crypto::PublicKey& peer, bool connected)>;

  explicit Network(NetworkOptions options);
  ~Network();  // stop()s
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  // Before start(): `handler` receives every message on `channel` (on the transport's I/O
  // thread; it must not block).
  void subscribe(uint64_t channel, Handler handler);
  // Before start(): `handler` hears every session coming up or going down (I/O thread; must
  // not block).
  void on_peer(PeerHandler handler);
  // Binds the listener, starts the transport and the dialer. Throws guts::Error when the
  // address is taken (unless optional_listen).
  void start();
  void stop();

  p2p::Transport& transport() { return *transport_; }
  // Discovery, gossip and the routing table; null when p2p is not running.
  p2p::Discovery* discovery() { return listening_ ? discovery_.get() : nullptr; }
  bool listening() const { return listening_; }
  uint16_t port() const;
  std::vector<crypto::PublicKey> validator_keys() const;
  bool is_validator(const crypto::PublicKey& k) const;
  // The validators of the current epoch and of those scheduled after it (docs/consensus.md
  // "Epochs"): the consensus allow-list, the dial targets and where transactions go. Any thread.
  void set_validators(std::vector<state::Validator> validators);
  // Sends to every validator but ourselves; returns how many accepted it.
  size_t send_to_validators(uint64_t channel, ByteView payload);

 private:
  void dial_loop();

  NetworkOptions opts_;
  mutable std::mutex validators_mu_;
  std::vector<state::Validator> validators_;       // guarded by validators_mu_
  std::vector<crypto::PublicKey> validator_keys_;  // guarded by validators_mu_
  std::unique_ptr<p2p::Transport> transport_;
  std::unique_ptr<storage::Db> p2p_db_;
  std::unique_ptr<p2p::Discovery> discovery_;
  std::map<uint64_t, Handler> handlers_;
  std::vector<PeerHandler> peer_handlers_;
  bool listening_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread dialer_;
};

}  // namespace guts::node
