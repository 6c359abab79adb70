// The decisions of peer discovery (docs/p2p.md §6) as a state machine: no threads, sockets or
// clocks. Inputs are events with the time passed in — a gossip message, a peer session up or
// down, a maintenance tick with the live sessions — and each returns the actions for the driver
// (discovery.h) to perform: messages to send, peers to dial, a peer to block. It owns the gossip
// state machine (gossip.h), the address book (address_book.h) and the discovery counters.
// Not thread-safe: one owner (the driver serialises every call under its mutex).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "crypto/ed25519.h"
#include "p2p/address_book.h"
#include "p2p/gossip.h"

namespace guts::p2p {

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

// What the driver does after an event, in this order: block `violation`'s sender (and nothing
// else), schedule a maintenance round if `poke`, dial `dials`, send every message of `sends`,
// hand `refs` to the refs handler.
struct DiscoveryActions {
  struct Send {
    crypto::PublicKey to{};
    std::vector<Bytes> messages;
  };
  std::optional<std::string> violation;  // the sender misbehaved: block it (reason for the log)
  bool poke = false;                     // run a maintenance round soon
  std::vector<Send> sends;
  std::vector<DialCandidate> dials;
  std::vector<gossip::RefsAnnouncement> refs;  // accepted refs announcements
};

// A live session, as the transport lists it.
struct LivePeer {
  crypto::PublicKey id{};
  bool outbound = false;
};

class DiscoveryCore {
 public:
  // db may be null (in-memory address book); it must hold AddressBook::kFamily. Throws
  // guts::Error(kInvalidArgument) for a malformed external address. `seed` seeds the choice of
  // dial candidates and of the peer asked for more peers.
  DiscoveryCore(const crypto::SigningKey& key, const std::string& network, storage::Db* db,
                DiscoveryConfig config, uint64_t seed);

  struct Started {
    size_t loaded = 0;     // address book entries read from the db
    size_t restored = 0;   // of which node announcements were restored into gossip
    size_t bootstrap = 0;  // configured bootstrap peers
  };
  // Loads the address book, restores the persisted announcements and adds the bootstrap peers.
  // `listen_port` is the transport's bound port (0: none), announced with listen_host.
  Started start(uint64_t now, uint16_t listen_port);

  // A gossip-channel message.
  DiscoveryActions on_message(const crypto::PublicKey& from, ByteView payload, uint64_t now);
  // A session came up (hello: our node announcement and a subscription) or went down.
  DiscoveryActions on_peer(const crypto::PublicKey& peer, bool up, uint64_t now);
  // A maintenance round: dial timeouts, new dials up to target_outbound, peer exchange when short
  // of candidates, expiry, and our announcements when due.
  DiscoveryActions on_tick(uint64_t now, const std::vector<LivePeer>& live);
  // The repositories this node hosts (announced now and at every refresh).
  DiscoveryActions set_inventory(std::vector<std::string> repos, uint64_t now);
  DiscoveryActions announce_refs(std::string repo, std::vector<gossip::Ref> refs, uint64_t now);
  // `n` messages could not be queued by the transport.
  void send_failed(size_t n);

  gossip::RoutingTable routing_table() const { return gossip_.routing_table(); }
  std::set<crypto::PublicKey> nodes_for(const std::string& repo) const {
    return gossip_.nodes_for(repo);
  }
  std::vector<gossip::NodeAnnouncement> known_nodes() const { return gossip_.nodes(); }
  std::optional<gossip::NodeAnnouncement> node(const crypto::PublicKey& id) const {
    return gossip_.node(id);
  }
  std::vector<AddressEntry> address_book() const { return book_.entries(); }
  const std::set<crypto::PublicKey>& connected() const { return connected_; }
  // Discovery and gossip counters and gauges (metric name -> value).
  std::map<std::string, uint64_t> metrics() const;
  std::vector<std::string> own_addresses() const;

 private:
  void count(const std::string& name, uint64_t n = 1);
  // `msgs` to every connected peer except `except`.
  void relay(const crypto::PublicKey& except, const std::vector<Bytes>& msgs,
             DiscoveryActions& out);

  crypto::PublicKey self_;
  DiscoveryConfig cfg_;
  gossip::Gossip gossip_;
  AddressBook book_;
  uint16_t listen_port_ = 0;
  std::vector<std::string> inventory_;
  std::set<crypto::PublicKey> connected_;
  std::map<crypto::PublicKey, uint64_t> pending_dials_;  // id -> deadline (unix ms)
  std::map<std::string, uint64_t> counters_;
  std::mt19937_64 rng_;
  uint64_t last_announce_ = 0, last_get_peers_ = 0;
};

}  // namespace guts::p2p
