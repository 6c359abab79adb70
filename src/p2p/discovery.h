// Peer discovery (docs/p2p.md §6): bootstrap peers, an address book persisted in RocksDB with
// dial-failure backoff and expiry, signed node announcements and peer exchange over gossip, and a
// target number of outbound connections.
//
// Layers:
//   - parse_host_port / parse_bootstrap: strict parsers (fuzzed);
//   - AddressBook: sans-I/O policy (time passed in) over an optional storage::Db column family;
//   - Discovery: the live component. It owns the Gossip state machine (gossip.h) and the address
//     book, and drives a Transport (transport.h) through its public API only: it needs no Asio.
//     The owner of the transport forwards messages and peer events to handle_message() and
//     handle_peer() (or lets attach() install the handlers when nothing else dispatches).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/bytes.h"
#include "crypto/ed25519.h"
#include "p2p/gossip.h"

namespace guts::storage {
class Db;
}

namespace guts::p2p {

class Transport;
struct LocalIdentity;

struct HostPort {
  std::string host;  // IPv4 dotted quad, IPv6 (without brackets) or a DNS name
  uint16_t port = 0;
  std::string to_string() const;  // IPv6 in brackets
  bool operator==(const HostPort&) const = default;
};

// Strict "host:port": host is a dotted-quad IPv4 address, a bracketed IPv6 address or a DNS
// name (LDH labels of 1..63 bytes, 253 bytes at most); port is 1..65535 in decimal without
// leading zeros. Throws guts::Error(kInvalidArgument) with a message saying what is wrong.
HostPort parse_host_port(std::string_view text);

struct BootstrapPeer {
  crypto::PublicKey id{};
  HostPort addr;
  bool operator==(const BootstrapPeer&) const = default;
};

// "did:key:z6Mk…@host:port". Throws guts::Error(kInvalidArgument).
BootstrapPeer parse_bootstrap(std::string_view text);

// ---------------------------------------------------------------------------------------------

struct AddressEntry {
  crypto::PublicKey id{};
  std::vector<std::string> addresses;  // host:port, tried in turn
  bool bootstrap = false;              // configured: never expires
  uint64_t last_seen = 0;              // latest announcement timestamp or connection (unix ms)
  uint64_t last_success = 0;           // last established connection
  uint32_t failures = 0;               // consecutive failed dials
  uint64_t next_attempt = 0;           // no dial before (backoff)
  Bytes announcement;                  // latest signed node announcement (may be empty)

  Bytes encode() const;
  static AddressEntry decode(ByteView data);  // throws codec::DecodeError
  bool operator==(const AddressEntry&) const = default;
};

struct AddressBookConfig {
  uint64_t backoff_unit_ms = 1000;                    // after n failures wait unit * 2^n ...
  uint64_t backoff_cap_ms = 3600 * 1000;              // ... at most this
  uint64_t ttl_ms = uint64_t{14} * 24 * 3600 * 1000;  // not seen for this long: forgotten
};

struct DialCandidate {
  crypto::PublicKey id{};
  HostPort addr;
};

// Known peers and their addresses. Not thread-safe. Every change is written through to the
// column family (key: the 32-byte public key; value: AddressEntry::encode()) when a Db is given.
class AddressBook {
 public:
  static constexpr std::string_view kFamily = "p2p_peers";

  AddressBook(storage::Db* db, AddressBookConfig config);
  // Loads the persisted entries (undecodable ones are dropped). Returns how many.
  size_t load();

  void add_bootstrap(const BootstrapPeer& peer);
  // From an accepted node announcement (encoded = its signed bytes). False if nothing changed.
  bool add_announcement(const gossip::NodeAnnouncement& ann, Bytes encoded);
  void dial_failed(const crypto::PublicKey& id, uint64_t now);
  void connected(const crypto::PublicKey& id, uint64_t now);
  // Up to n peers to dial now: not in `exclude`, backoff elapsed, with an address. Bootstrap
  // peers and recently successful ones first, then at random.
  std::vector<DialCandidate> candidates(uint64_t now, const std::set<crypto::PublicKey>& exclude,
                                        size_t n, std::mt19937_64& rng) const;
  // Forgets entries not seen within the ttl (never bootstrap peers). Returns how many.
  size_t expire(uint64_t now);

  std::optional<AddressEntry> get(const crypto::PublicKey& id) const;
  std::vector<AddressEntry> entries() const;
  size_t size() const { return entries_.size(); }
  // Delay after `failures` consecutive failures.
  uint64_t backoff(uint32_t failures) const;

 private:
  void persist(const AddressEntry& e);
  void erase(const crypto::PublicKey& id);

  storage::Db* db_;
  AddressBookConfig cfg_;
  std::map<crypto::PublicKey, AddressEntry> entries_;
};

// ---------------------------------------------------------------------------------------------

struct DiscoveryConfig {
  std::vector<BootstrapPeer> bootstrap;
  // Addresses announced to others (--external-addr). When empty and listen_host is a specific
  // address, listen_host:<transport port> is announced.
  std::vector<std::string> external_addresses;
  std::string listen_host;
  size_t target_outbound = 8;
  uint64_t features = 0;
  std::string user_agent = "guts/0.1";
  std::chrono::milliseconds tick{1000};
  std::chrono::milliseconds dial_timeout{10000};             // no session by then: a failure
  std::chrono::milliseconds announce_interval{3600 * 1000};  // refresh our announcements
  std::chrono::milliseconds get_peers_interval{30000};       // peer exchange when short of peers
  gossip::GossipConfig gossip;                               // network is filled from the identity
  AddressBookConfig book;
};

// Peer listing for operators (/api/guts/peers, guts node peers).
struct PeerSummary {
  std::string did;
  std::string address;
  bool outbound = false;
  double latency_ms = -1;
  uint64_t bytes_in = 0, bytes_out = 0;
  std::string user_agent;  // from its node announcement, if known
};

class Discovery {
 public:
  using RefsHandler = std::function<void(const gossip::RefsAnnouncement&)>;

  // db may be null (in-memory address book). The db must hold AddressBook::kFamily.
  Discovery(Transport& transport, const LocalIdentity& identity, storage::Db* db,
            DiscoveryConfig config);
  ~Discovery();  // stop()s
  Discovery(const Discovery&) = delete;
  Discovery& operator=(const Discovery&) = delete;

  // Installs this component as the transport's message and peer handler (before
  // transport.start()). An owner that dispatches itself calls handle_*() instead.
  void attach();
  // Gossip-channel messages; returns false (ignores) for other channels.
  bool handle_message(const crypto::PublicKey& from, uint64_t channel, ByteView payload);
  void handle_peer(const crypto::PublicKey& peer, bool connected);

  // Loads the address book, announces this node and starts the maintenance thread (after
  // transport.start()). stop() joins it; the transport is stopped by its owner.
  void start();
  void stop();
  // Runs one maintenance round now (dials, expiry, announcements) on the maintenance thread.
  void poke();

  // The repositories this node hosts (announced now and at every refresh).
  void set_inventory(std::vector<std::string> repos);
  void announce_refs(std::string repo, std::vector<gossip::Ref> refs);
  // Called (on the transport thread) for every accepted refs announcement. Set before start().
  void on_refs(RefsHandler handler);

  gossip::RoutingTable routing_table();
  std::set<crypto::PublicKey> nodes_for(const std::string& repo);
  std::vector<gossip::NodeAnnouncement> known_nodes();
  std::vector<AddressEntry> address_book();
  std::vector<PeerSummary> peers();
  // Transport counters plus discovery and gossip counters: the p2p registry.
  std::map<std::string, uint64_t> metrics();

 private:
  void run();
  void maintain();
  void announce_all(uint64_t now);
  void send_to(const crypto::PublicKey& peer, const std::vector<Bytes>& msgs);
  void relay(const crypto::PublicKey& except, const std::vector<Bytes>& msgs);
  void count(const std::string& name, uint64_t n = 1);
  std::vector<std::string> own_addresses() const;

  Transport& transport_;
  crypto::SigningKey key_;
  DiscoveryConfig cfg_;
  std::mutex mu_;  // everything below; never held while calling the transport
  gossip::Gossip gossip_;
  AddressBook book_;
  std::vector<std::string> inventory_;
  std::set<crypto::PublicKey> connected_;
  std::map<crypto::PublicKey, uint64_t> pending_dials_;  // id -> deadline (unix ms)
  std::map<std::string, uint64_t> counters_;
  std::mt19937_64 rng_;
  uint64_t last_announce_ = 0, last_get_peers_ = 0;
  RefsHandler on_refs_;

  std::mutex run_mu_;
  std::condition_variable run_cv_;
  bool running_ = false, stopping_ = false, poked_ = false;
  std::thread thread_;
};

// Prometheus text exposition of a counter map ("name{labels}" -> value), sorted, with one
// "# TYPE" line per metric family (gauges: p2p_peers, p2p_connections, ...).
std::string render_prometheus(const std::map<std::string, uint64_t>& metrics);

}  // namespace guts::p2p
