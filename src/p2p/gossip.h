// Gossip on the p2p gossip channel (docs/p2p.md §5), sans-I/O.
//
// Messages (first byte = type), canonical codec encoding, every decoder bounded:
//   1 NodeAnnouncement       signed: node, timestamp, features, user agent, addresses
//   2 InventoryAnnouncement  signed: node, timestamp, page/pages, repositories (one page)
//   3 RefsAnnouncement       signed: node, repository, timestamp, ref tips
//   4 Subscribe              "send me what you hold with timestamp >= since"
//   5 GetPeers               peer exchange request
//   6 Peers                  peer exchange response: signed node announcements
//
// Rules (Radicle's RIP-1, see docs/p2p.md §5.2), enforced by Gossip::handle():
//   - a bad signature or an undecodable message is misbehaviour of the sender (block it);
//   - the latest timestamp per (node, repository, kind) wins; an older or equal one is neither
//     stored nor relayed;
//   - timestamps further than max_clock_skew in the future are rejected, and ones older than
//     the ttl are stale;
//   - inventory and refs announcements of a node without a known node announcement are ignored;
//   - an accepted announcement is relayed once, to every peer except the one that sent it;
//   - entries expire when not refreshed within the ttl (prune()).
// The routing table repository -> nodes has no size cap: a node's inventory is split into pages
// (kInventoryPageSize repositories each) instead of being truncated.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/bytes.h"
#include "core/net_addr.h"
#include "crypto/ed25519.h"

namespace guts::p2p::gossip {

inline constexpr std::string_view kNodeDomain = "guts/p2p/node-announcement";
inline constexpr std::string_view kInventoryDomain = "guts/p2p/inventory";
inline constexpr std::string_view kRefsDomain = "guts/p2p/refs";

inline constexpr size_t kMaxAddresses = 16;
inline constexpr size_t kMaxAddressLen = kMaxHostPortLength;  // core/net_addr.h
inline constexpr size_t kMaxUserAgent = 64;
inline constexpr size_t kMaxRepoIdLen = 256;
inline constexpr size_t kInventoryPageSize = 1024;  // repositories per inventory page
inline constexpr uint64_t kMaxInventoryPages = 1 << 20;
inline constexpr size_t kMaxRefs = 4096;  // ref tips per refs announcement
inline constexpr size_t kMaxRefNameLen = 1024;
inline constexpr size_t kMaxOidLen = 64;
inline constexpr size_t kMaxPeers = 256;  // announcements per Peers message
inline constexpr size_t kMaxNodeAnnouncementLen = 8192;

enum class Type : uint8_t {
  kNode = 1,
  kInventory = 2,
  kRefs = 3,
  kSubscribe = 4,
  kGetPeers = 5,
  kPeers = 6,
};

// Signed announcements. encode() gives the full message (type byte .. signature); the signature
// is Ed25519 under the kind's domain over str(network) || the encoding without the signature.
struct NodeAnnouncement {
  crypto::PublicKey node{};
  uint64_t timestamp = 0;  // unix milliseconds
  uint64_t features = 0;
  std::string user_agent;
  std::vector<std::string> addresses;  // "host:port" (discovery.h: parse_host_port)
  crypto::Signature signature{};

  Bytes unsigned_bytes() const;
  Bytes encode() const;
  void sign(const crypto::SigningKey& key, std::string_view network);
  bool verify(std::string_view network) const;
  bool operator==(const NodeAnnouncement&) const = default;
};

struct InventoryAnnouncement {
  crypto::PublicKey node{};
  uint64_t timestamp = 0;
  uint64_t page = 0;   // 0 .. pages-1
  uint64_t pages = 1;  // every page of one inventory carries the same timestamp and count
  std::vector<std::string> repos;  // strictly ascending, each 1..kMaxRepoIdLen bytes
  crypto::Signature signature{};

  Bytes unsigned_bytes() const;
  Bytes encode() const;
  void sign(const crypto::SigningKey& key, std::string_view network);
  bool verify(std::string_view network) const;
  bool operator==(const InventoryAnnouncement&) const = default;
};

struct Ref {
  std::string name;
  Bytes oid;  // 1..kMaxOidLen bytes (SHA-1 or SHA-256 object id)
  bool operator==(const Ref&) const = default;
};

struct RefsAnnouncement {
  crypto::PublicKey node{};
  std::string repo;
  uint64_t timestamp = 0;
  std::vector<Ref> refs;  // strictly ascending by name
  crypto::Signature signature{};

  Bytes unsigned_bytes() const;
  Bytes encode() const;
  void sign(const crypto::SigningKey& key, std::string_view network);
  bool verify(std::string_view network) const;
  bool operator==(const RefsAnnouncement&) const = default;
};

struct Subscribe {
  uint64_t since = 0;
  Bytes encode() const;
  bool operator==(const Subscribe&) const = default;
};

struct GetPeers {
  uint64_t max = kMaxPeers;  // 1..kMaxPeers
  Bytes encode() const;
  bool operator==(const GetPeers&) const = default;
};

struct Peers {
  std::vector<NodeAnnouncement> nodes;
  Bytes encode() const;
  bool operator==(const Peers&) const = default;
};

using Message = std::variant<NodeAnnouncement, InventoryAnnouncement, RefsAnnouncement, Subscribe,
                             GetPeers, Peers>;

// Strict decoders: throw codec::DecodeError on any malformed, non-canonical or oversized input
// (trailing bytes, unsorted or duplicate repositories/refs, bad addresses, page >= pages, ...).
// They do not verify signatures.
Message decode(ByteView data);
NodeAnnouncement decode_node(ByteView data);
InventoryAnnouncement decode_inventory(ByteView data);
RefsAnnouncement decode_refs(ByteView data);

// Splits a repository set into signed inventory pages (at least one, possibly empty).
std::vector<InventoryAnnouncement> make_inventory(const crypto::SigningKey& key,
                                                  std::string_view network, uint64_t timestamp,
                                                  std::vector<std::string> repos);

struct GossipConfig {
  std::string network;
  uint64_t max_clock_skew_ms = 5 * 60 * 1000;         // future timestamps beyond: rejected
  uint64_t ttl_ms = uint64_t{14} * 24 * 3600 * 1000;  // entries expire without refresh
  // Known nodes (signed node announcements) held. Not silent: announcements of new nodes beyond
  // it are refused and counted (p2p_gossip_total{result="capacity"}); 0 = unlimited.
  size_t max_nodes = 1'000'000;
};

// What the driver must do after handle().
struct Outcome {
  enum class Result {
    kAccepted,     // stored; relay `relay` to every peer except the sender
    kDuplicate,    // already held, or older than what is held: dropped
    kStale,        // older than the ttl
    kFuture,       // timestamp too far in the future
    kUnknownNode,  // no known node announcement for its author
    kOwn,          // about ourselves (we are the authority on our announcements)
    kCapacity,     // max_nodes reached
    kRequest,      // Subscribe / GetPeers answered in `replies`
    kViolation,    // undecodable or bad signature: block the sender
  };
  Result result = Result::kDuplicate;
  std::string reason;                   // kViolation
  std::vector<Bytes> relay;             // messages to relay (a Peers message relays each new entry)
  std::vector<Bytes> replies;           // messages for the sender
  std::vector<NodeAnnouncement> nodes;  // node announcements accepted (for the address book)
  std::vector<RefsAnnouncement> refs;   // refs announcements accepted (for replication)
  bool reannounce = false;              // a copy of our own announcement newer than ours was seen
};

const char* result_name(Outcome::Result r);

// repository -> nodes that host it.
using RoutingTable = std::map<std::string, std::set<crypto::PublicKey>>;

// The gossip state machine of one node: known nodes, inventories (routing table) and refs.
// Not thread-safe; the caller serialises. Time is passed in (unix milliseconds).
class Gossip {
 public:
  Gossip(crypto::SigningKey key, GossipConfig config);

  Outcome handle(const crypto::PublicKey& from, ByteView message, uint64_t now);

  // Our own announcements: signed with a timestamp > every earlier one, stored, and returned
  // encoded for broadcasting.
  Bytes announce_node(uint64_t features, std::string user_agent, std::vector<std::string> addresses,
                      uint64_t now);
  std::vector<Bytes> announce_inventory(std::vector<std::string> repos, uint64_t now);
  Bytes announce_refs(std::string repo, std::vector<Ref> refs, uint64_t now);
  // Our latest node announcement, if any.
  std::optional<Bytes> own_node() const;

  // Everything held with timestamp >= since, in an order a receiver accepts: node announcements
  // first, then inventory pages, then refs.
  std::vector<Bytes> replay(uint64_t since) const;
  // Up to max node announcements (other than `exclude`), encoded as a Peers message.
  Bytes peers_message(size_t max, const crypto::PublicKey& exclude) const;

  // Seeds a node announcement from persistent storage (verified; not relayed). True if stored.
  bool restore_node(const NodeAnnouncement& ann, uint64_t now);

  // Drops entries older than the ttl. Returns how many were removed.
  size_t prune(uint64_t now);

  RoutingTable routing_table() const;
  std::set<crypto::PublicKey> nodes_for(const std::string& repo) const;
  std::optional<NodeAnnouncement> node(const crypto::PublicKey& pk) const;
  std::vector<NodeAnnouncement> nodes() const;
  std::optional<RefsAnnouncement> refs(const crypto::PublicKey& node,
                                       const std::string& repo) const;
  size_t node_count() const { return nodes_.size(); }
  size_t routing_entries() const;
  const crypto::PublicKey& id() const { return key_.public_key(); }

 private:
  uint64_t next_timestamp(uint64_t now);
  Outcome on_node(const crypto::PublicKey& from, NodeAnnouncement ann, ByteView raw, uint64_t now);
  Outcome on_inventory(InventoryAnnouncement inv, ByteView raw, uint64_t now);
  Outcome on_refs(RefsAnnouncement refs, ByteView raw, uint64_t now);
  std::optional<Outcome::Result> check_time(uint64_t ts, uint64_t now) const;
  void store_inventory(const InventoryAnnouncement& inv, Bytes raw);
  void drop_node(const crypto::PublicKey& pk);

  struct NodeEntry {
    NodeAnnouncement ann;
    Bytes raw;
  };
  struct Inventory {
    uint64_t timestamp = 0;
    uint64_t pages = 0;
    std::map<uint64_t, Bytes> raw;  // pages of the current generation received
    bool complete = false;
  };
  struct RefsEntry {
    RefsAnnouncement ann;
    Bytes raw;
  };

  crypto::SigningKey key_;
  GossipConfig cfg_;
  uint64_t last_own_ts_ = 0;
  std::map<crypto::PublicKey, NodeEntry> nodes_;
  std::map<crypto::PublicKey, Inventory> inventories_;
  std::map<std::string, std::map<crypto::PublicKey, uint64_t>> routes_;  // repo -> node -> ts
  std::map<crypto::PublicKey, std::set<std::string>> hosted_;            // node -> repos
  std::map<std::pair<crypto::PublicKey, std::string>, RefsEntry> refs_;
};

}  // namespace guts::p2p::gossip
