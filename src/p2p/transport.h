// The p2p transport (docs/p2p.md §4): authenticated, encrypted sessions over TCP with Boost.Asio.
// All Asio code lives in transport.cpp; this header is plain C++.
//
// One I/O thread per Transport runs every connection. Handlers (messages, peer up/down) are
// called on that thread; public methods are thread-safe and may also be called from handlers.
//
// Per connection: the Guts session handshake (handshake.h) under a deadline, then records
// (frame.h) in both directions, keep-alive pings and an idle timeout. Per peer and channel: a
// maximum message size and an inbound token-bucket quota; exceeding the quota delays reading
// from that peer (it is throttled, not punished). A protocol violation after authentication
// (bad record, decode error, unknown channel, oversize) disconnects the peer and blocks its
// identity for `block_duration`; the application blocks peers for its own reasons (invalid
// signatures, ...) with block(). A peer that does not drain its socket is disconnected once its
// send queue exceeds `max_send_queue_bytes` for longer than `write_stall_timeout`; messages to it
// beyond the queue bound are dropped and counted. Connections are capped (total, concurrent
// handshakes, inbound connection rate per IP).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "crypto/ed25519.h"
#include "p2p/channels.h"  // channel numbers
#include "p2p/handshake.h"

namespace guts::p2p {

struct ChannelConfig {
  uint64_t id = 0;
  size_t max_message_size = 1 << 20;
  double rate_per_sec = 1000;  // inbound messages per second per peer
  double burst = 1000;
  // Only peers in the allowed set (set_allowed) may send or receive on this channel; messages
  // from others are dropped and counted.
  bool restricted = false;
};

// Votes, certificates, blocks, gossip, git replication with production limits.
std::vector<ChannelConfig> default_channels();

struct TransportConfig {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 0;  // 0: any free port (see Transport::port())
  std::vector<ChannelConfig> channels = default_channels();
  std::chrono::milliseconds handshake_timeout{5000};
  std::chrono::milliseconds ping_interval{10000};
  std::chrono::milliseconds idle_timeout{30000};
  std::chrono::milliseconds write_stall_timeout{30000};
  std::chrono::milliseconds block_duration{4 * 3600 * 1000};
  size_t max_connections = 512;    // established + handshaking, both directions
  size_t max_handshakes = 64;      // concurrent handshakes
  double inbound_per_ip_rate = 5;  // new inbound connections per second per IP (token bucket)
  double inbound_per_ip_burst = 64;
  size_t max_send_queue_bytes = 32 << 20;
  size_t max_pending_bytes = 128 << 20;  // partial inbound messages, per connection
  // Allow-list mode: only identities in the allowed set may connect at all.
  bool allow_list_only = false;
};

struct PeerInfo {
  crypto::PublicKey id{};
  std::string did;
  std::string address;  // "ip:port" of the remote socket
  bool outbound = false;
  double latency_ms = -1;  // last ping round trip; -1 before the first pong
  uint64_t bytes_in = 0, bytes_out = 0, messages_in = 0, messages_out = 0;
};

class Transport {
 public:
  using MessageHandler =
      std::function<void(const crypto::PublicKey& peer, uint64_t channel, Bytes payload)>;
  using PeerHandler = std::function<void(const crypto::PublicKey& peer, bool connected)>;

  Transport(LocalIdentity identity, TransportConfig config);
  ~Transport();  // stop()s
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Set before start().
  void on_message(MessageHandler handler);
  void on_peer(PeerHandler handler);

  // Binds the listener and starts the I/O thread. Throws guts::Error if the address is taken.
  void start();
  // Closes every connection and joins the I/O thread. Idempotent. The peer handler hears about
  // the connections it closes; no handler runs after stop() returns.
  void stop();
  uint16_t port() const;
  const crypto::PublicKey& id() const;

  // Connects to the node `peer` at host:port (numeric address or name). The handshake aborts
  // unless the remote proves it holds `peer`'s key. No-op if connected or blocked.
  void dial(const crypto::PublicKey& peer, const std::string& host, uint16_t port);
  // Queues a message. False if the peer is not connected, the channel is unknown or restricted
  // for the peer, the payload exceeds the channel's maximum, or the send queue is full (retry
  // later: this is the backpressure). From another thread the call does not wait for the I/O
  // thread; a message accepted just before the peer disconnects is dropped, as on any lost link.
  bool send(const crypto::PublicKey& peer, uint64_t channel, ByteView payload);
  // Sends to every connected peer; returns how many accepted it.
  size_t broadcast(uint64_t channel, ByteView payload);

  // Disconnects and refuses `peer` until the block expires (default: config.block_duration).
  void block(const crypto::PublicKey& peer, std::optional<std::chrono::milliseconds> d = {});
  bool is_blocked(const crypto::PublicKey& peer);
  void unblock(const crypto::PublicKey& peer);
  // The allowed set (validators) for restricted channels and allow-list mode.
  void set_allowed(std::set<crypto::PublicKey> allowed);

  std::vector<PeerInfo> peers();
  bool connected(const crypto::PublicKey& peer);
  // Prometheus-style counters, e.g. p2p_handshakes_total{result="ok"}, p2p_peers_blocked_total,
  // p2p_bytes_total{dir="in"}, p2p_messages_total{dir="in",channel="3"}.
  std::map<std::string, uint64_t> metrics();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace guts::p2p
