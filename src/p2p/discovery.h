// Peer discovery's driver (docs/p2p.md §6): runs the discovery state machine
// (discovery_core.h: address book decisions, announcements, peer exchange) over a Transport
// (transport.h), driven through its public API only (no Asio here). It owns one maintenance
// thread (a tick every DiscoveryConfig::tick, or sooner when poked) and the clock; the address
// book persists to RocksDB when given a storage::Db. The owner of the transport forwards messages
// and peer events to handle_message() and handle_peer() (or lets attach() install the handlers
// when nothing else dispatches).
//
// Threads: handle_message()/handle_peer() run on the transport's I/O thread, maintenance rounds on
// this component's thread, queries on any thread. mu_ guards the core and is never held while
// calling the transport, whose synchronous methods wait for the I/O thread (which may be waiting
// for mu_).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/bytes.h"
#include "core/thread_annotations.h"
#include "crypto/ed25519.h"
#include "p2p/address_book.h"
#include "p2p/discovery_core.h"
#include "p2p/gossip.h"

namespace guts::storage {
class Db;
}

namespace guts::p2p {

class Transport;
struct LocalIdentity;

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
  // Performs the actions of the core (see DiscoveryActions), without holding mu_.
  void perform(const crypto::PublicKey& from, DiscoveryActions actions);
  void send_to(const crypto::PublicKey& peer, const std::vector<Bytes>& msgs);

  Transport& transport_;
  const std::chrono::milliseconds tick_;  // maintenance period
  guts::Mutex mu_;                        // never held while calling the transport
  DiscoveryCore core_ GUTS_GUARDED_BY(mu_);
  RefsHandler on_refs_;  // set before start(), then only read

  guts::Mutex run_mu_;  // the maintenance thread's lifecycle and wake-ups
  std::condition_variable run_cv_;
  bool running_ GUTS_GUARDED_BY(run_mu_) = false;
  bool stopping_ GUTS_GUARDED_BY(run_mu_) = false;
  bool poked_ GUTS_GUARDED_BY(run_mu_) = false;
  std::thread thread_;  // started by start(), joined by stop()
};

}  // namespace guts::p2p
