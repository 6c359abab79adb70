// Discovery's pure building blocks (docs/p2p.md §6), no threads, sockets or clocks (time is
// passed in): the bootstrap-peer parser (fuzzed), the address book with dial-failure backoff,
// expiry and candidate choice, and the Prometheus renderer of the p2p counters. The address book
// writes each change through to an optional storage::Db column family (null in tests).
// The decisions of discovery built on these are in discovery_core.h; the driver that runs them
// on a thread over a Transport is discovery.h.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/net_addr.h"
#include "crypto/ed25519.h"
#include "p2p/gossip.h"

namespace guts::storage {
class Db;
}

namespace guts::p2p {

// Strict "host:port" (core/net_addr.h): peer addresses never have port 0.
using guts::HostPort;
using guts::parse_host_port;

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

// Prometheus text exposition of a counter map ("name{labels}" -> value), sorted, with one
// "# TYPE" line per metric family (gauges: p2p_peers, p2p_connections, ...).
std::string render_prometheus(const std::map<std::string, uint64_t>& metrics);

}  // namespace guts::p2p
