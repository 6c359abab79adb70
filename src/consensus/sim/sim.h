// A deterministic simulator for the Simplex engine (docs/simplex-spec.md §2): one thread, a seeded
// PRNG, virtual time in milliseconds, unidirectional links with latency / jitter / loss that
// deliver in order, partitions (links removed), crash and restart of nodes with loss of un-synced
// journal writes (optionally a torn prefix), whole-cluster crashes, byzantine actors, and safety
// checkers. Every processed event is folded into a trace hash: the same seed and script give the
// same hash.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "consensus/engine.h"
#include "consensus/journal.h"
#include "sim/network.h"
#include "sim/trace.h"

namespace guts::consensus::sim {

using guts::sim::Link;
using guts::sim::Rng;

// Signature checks remembered by (key, signature, message): a simulated cluster verifies each
// vote once, not once per node.
class VerifyCache {
 public:
  bool operator()(const crypto::PublicKey& pk, ByteView msg, const crypto::Signature& sig);

 private:
  std::unordered_map<std::string, bool> known_;
};

enum class Behavior {
  kHonest,
  kConflicter,        // signs a conflicting notarize / finalize next to every honest one
  kEquivocator,       // as leader, shows different proposals to the two halves of the peers
  kImpersonator,      // sends its votes under another validator's signer index
  kCorruptSignature,  // flips a bit in every vote signature
  kNuller,            // sends nullify and finalize in the same view
  kOutdated,          // re-sends its own old votes (must not be blocked)
  kWrongNamespace,    // signs under another namespace
  kWrongEpoch,        // votes in another epoch
};
const char* behavior_name(Behavior b);

struct Options {
  uint64_t seed = 1;
  uint32_t n = 4;
  std::map<uint32_t, Behavior> byzantine;
  std::set<uint32_t> offline;  // never started
  Link link;
  Time app_latency = 1;
  Time leader_timeout = 1000;
  Time certification_timeout = 2000;
  Time timeout_retry = 2500;
  Time skip_timeout = 3000;
  Time fetch_timeout = 500;
  View view_retention = 10;
  View views_per_section = 16;
  View reserve_ahead = 8;  // signing guard reservation step (the real driver uses 64)
  std::string ns = "guts/sim";
  // Honest applications refuse to certify blocks led by these validators.
  std::set<uint32_t> reject_leaders;
};

struct Stats {
  uint64_t events = 0;
  uint64_t delivered = 0;
  uint64_t dropped = 0;
  uint64_t crashes = 0;
  uint64_t torn_bytes = 0;  // journal bytes discarded by replay after crashes
};

class Simulation {
 public:
  explicit Simulation(Options options);
  ~Simulation();

  void start_all();
  void start(uint32_t i);
  void run_until(Time t);
  void run_for(Time d) { run_until(now_ + d); }
  // Runs until every honest, running node finalized at least `view`, or `deadline`.
  bool run_until_finalized(View view, Time deadline);
  Time now() const { return now_; }

  // Network.
  void set_link(uint32_t from, uint32_t to, Link l);
  void remove_link(uint32_t from, uint32_t to);
  void set_all_links(Link l);
  // Keep only links inside each group.
  void partition(const std::vector<std::vector<uint32_t>>& groups);
  void heal() { set_all_links(opts_.link); }

  // Faults. crash(): the node stops; un-synced journal bytes are lost (a random prefix may
  // survive when torn). crash_on_next_write(): the node dies in the middle of its next step that
  // writes the journal — after the append, before the sync and before anything is sent.
  void crash(uint32_t i, bool torn = true);
  void crash_on_next_write(uint32_t i);
  void cancel_pending_crash(uint32_t i);
  void restart(uint32_t i);
  void crash_all();
  void restart_all();
  // A wiped data directory that kept node.key: the node stops, its journal is gone and, unless
  // keep_guard, its signing guard too. It must not sign again in any view it signed in before.
  void wipe(uint32_t i, bool keep_guard = false);
  bool up(uint32_t i) const;
  // The node's signing guard (nullopt: wiped).
  std::optional<GuardState> guard(uint32_t i) const;
  // True while the node's signing floor may keep it from voting where the others are.
  bool signing_blocked(uint32_t i) const;

  // Observation.
  uint32_t n() const { return opts_.n; }
  bool honest(uint32_t i) const;
  const Engine* engine(uint32_t i) const;
  View last_finalized(uint32_t i) const;
  View min_honest_finalized() const;  // over honest nodes that are running
  View max_view() const;
  uint64_t trace_hash() const { return trace_.hash(); }
  const Stats& stats() const { return stats_; }
  bool blocked_by(uint32_t blocker, uint32_t blocked) const;
  // Honest nodes that blocked `byz`.
  size_t honest_blockers(uint32_t byz) const;
  // Safety and attribution violations found so far (empty = all invariants hold).
  const std::vector<std::string>& violations() const { return violations_; }
  // Per finalized view: time from the leader's proposal to each honest node's finalization.
  std::vector<Time> finality_latencies() const;
  size_t finalized_views() const { return finalized_.size(); }
  // Every view some honest node finalized, with its digest.
  const std::map<View, Digest>& finalized() const { return finalized_; }

 private:
  struct Node;
  struct Event {
    Time at = 0;
    uint64_t tie = 0;
    uint64_t seq = 0;
    enum class Type { kDeliver, kTimer, kApp } type = Type::kDeliver;
    uint32_t node = 0;
    uint32_t from = 0;
    uint64_t incarnation = 0;  // of the destination (a restarted node never gets older messages)
    Channel channel = Channel::kVote;
    Bytes payload;
    AppRequest request;
    bool operator>(const Event& o) const {
      if (at != o.at) return at > o.at;
      if (tie != o.tie) return tie > o.tie;
      return seq > o.seq;
    }
  };
  struct LinkState {
    Link link;
    Time last = 0;
  };

  void push(Event e);
  void process(Event& e);
  void apply(uint32_t i, Output out);
  void send(uint32_t from, uint32_t to, Channel ch, const Bytes& payload);
  std::vector<Outbound> byzantine_filter(Node& node, Outbound o);
  void monitor_send(uint32_t from, Channel ch, const Bytes& payload);
  void record_finalized(uint32_t i, const Finalized& f);
  void violation(std::string what);
  void mix(uint64_t v);
  void mix(ByteView b);
  std::unique_ptr<Engine> make_engine(uint32_t i);
  bool verify_cached(const crypto::PublicKey& pk, ByteView msg, const crypto::Signature& sig);

  Options opts_;
  Rng rng_;
  Time now_ = 0;
  uint64_t seq_ = 0;
  guts::sim::Trace trace_;
  Stats stats_;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> queue_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<crypto::PublicKey> participants_;
  std::map<std::pair<uint32_t, uint32_t>, LinkState> links_;
  std::vector<std::string> violations_;
  std::map<View, Digest> finalized_;                        // first honest finalization per view
  std::map<View, Time> proposed_at_;                        // leader's proposal sent
  std::map<std::pair<View, uint32_t>, Time> finalized_at_;  // (view, node) → time
  // Honest vote monitor: (signer, view, kind) → subject encoding.
  std::map<std::tuple<uint32_t, View, uint8_t>, Bytes> honest_votes_;
  VerifyCache verify_cache_;
};

}  // namespace guts::consensus::sim
