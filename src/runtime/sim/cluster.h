// The whole-node deterministic simulator (issue 12 point 2): N whole nodes — the Simplex engine
// with its write-ahead journal, the ledger (state::Chain and state::Mempool over RocksDB in a
// per-node temporary directory, reopened on restart), a git object store fake that keeps real
// object ids, and object replication — over a simulated network, on one thread, with a seeded
// PRNG and virtual time. Faults: partitions, loss, reordering (jitter), crashes at any step
// (also between a journal append and its sync), torn journal tails, the last RocksDB commit
// batch lost at a crash, restarts from disk, and byzantine validators (equivocation, conflicting
// votes, withheld objects, corrupt objects, forged forwarded transactions).
//
// Invariants are checked as each event is processed (violations()): one block per height
// across honest nodes, equal state roots at equal heights, every finalized ref held or being
// fetched, every acknowledged client transaction in the final history, no honest validator
// signing two different votes of one kind in one view, no forged transaction committed, no
// honest node blocking an honest peer. Every event is folded into trace_hash(): the same seed
// and script give the same hash.
//
// The ledger is src/ledger's pure core (or, with Options::ledger_core = false, a direct model:
// build on propose, verify on verify, commit on finalize); replication is src/replication's
// client core (replication::Fetcher) with the git fake standing in for git's closure checks and
// pack verification.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "consensus/engine.h"
#include "consensus/sim/sim.h"
#include "ledger/core.h"
#include "replication/fetcher.h"
#include "runtime/sim/git_fake.h"
#include "state/block.h"
#include "state/genesis.h"

namespace guts::runtime::sim {

using consensus::Time;
using guts::sim::Link;
using guts::sim::Rng;

enum class Behavior {
  kHonest,
  kEquivocator,  // as leader, shows different proposals to the two halves of the peers
  kConflicter,   // signs a conflicting notarize / finalize next to every honest one
  kWithholder,   // never serves objects nor forwards transactions
  kCorrupter,    // serves objects with a flipped byte
  kForger,       // forwards transactions with bad signatures
};
const char* behavior_name(Behavior b);

struct Options {
  uint64_t seed = 1;
  uint32_t n = 4;
  uint32_t users = 3;  // genesis accounts, one repository each
  std::map<uint32_t, Behavior> byzantine;
  Link link{30, 5, 1.0};
  Time leader_timeout = 400;
  Time certification_timeout = 800;
  Time timeout_retry = 1500;
  Time skip_timeout = 2000;
  Time fetch_timeout = 300;
  Time tick = 100;          // node housekeeping: object fetch retries, block sync
  Time client_every = 150;  // mean gap between client pushes
  Time client_timeout = 3000;
  size_t max_block_txs = 8;
  // Drive each node's ledger through ledger::Core (src/ledger/core.h), as the real node does;
  // false: the simulator's own ledger glue (build / verify / commit on Chain directly).
  bool ledger_core = true;
  // Each node's RocksDB lives in an in-memory file system (storage::MemoryFs) that survives its
  // crashes as a disk would; disk = true puts it in files under `dir` instead (default /dev/shm,
  // or the temp dir): the same runs, same trace hashes, ~10x slower.
  bool disk = false;
  std::filesystem::path dir;
  // In memory, a crashed node's database is closed and reopened at its restart only with this
  // (RocksDB's recovery runs; same trace); without it the database stays open, ~1.5x faster.
  bool reopen_db = false;
};

struct Stats {
  uint64_t events = 0;
  uint64_t delivered = 0;
  uint64_t dropped = 0;
  uint64_t crashes = 0;
  uint64_t lost_batches = 0;
  uint64_t torn_bytes = 0;
  uint64_t submitted = 0;
  uint64_t acknowledged = 0;
  uint64_t objects_fetched = 0;
  uint64_t corrupt_objects = 0;
  uint64_t forged_rejected = 0;
  uint64_t synced_blocks = 0;
  uint64_t proposals = 0;     // blocks proposed
  uint64_t no_proposals = 0;  // proposal requests answered "none"
  uint64_t verified_ok = 0;
  uint64_t verified_bad = 0;
};

class Cluster {
 public:
  explicit Cluster(Options options);
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  void start_all();
  void run_until(Time t);
  void run_for(Time d) { run_until(now_ + d); }
  Time now() const { return now_; }
  uint32_t n() const { return opts_.n; }

  // Network.
  void set_all_links(Link l);
  void partition(const std::vector<std::vector<uint32_t>>& groups);
  void heal() { set_all_links(opts_.link); }

  // Faults. crash(): the node stops; un-synced journal bytes are lost (a random prefix survives
  // when torn); lose_batch: its last RocksDB commit batch is lost too.
  void crash(uint32_t i, bool torn, bool lose_batch);
  // The node dies in its next step that writes the journal, after the append, before the sync.
  void crash_on_next_write(uint32_t i);
  void cancel_pending_crashes();
  void restart(uint32_t i);
  void restart_all();
  bool up(uint32_t i) const;
  // Crash a random node at each processed event with this probability (0 = never).
  void set_random_crash(double p) { random_crash_ = p; }
  void set_clients(bool on) { clients_on_ = on; }

  // Observation.
  bool honest(uint32_t i) const;
  uint64_t height(uint32_t i) const;  // committed chain height (0 when down)
  uint64_t max_height() const;        // of the agreed history
  size_t fetching(uint32_t i) const;  // ref tips the node still fetches
  uint64_t last_finalized_view(uint32_t i) const;
  uint64_t trace_hash() const { return trace_.hash(); }
  const Stats& stats() const { return stats_; }
  const std::vector<std::string>& violations() const { return violations_; }
  // True when every honest node is up, at the agreed height, and fetches nothing.
  bool converged() const;
  // Final full check of every honest node's refs (closure of held objects). Adds violations.
  void check_final();
  std::string describe_nodes() const;

  struct Node;
  enum class MsgKind : uint8_t {
    kConsensus,
    kBlock,       // a proposed or requested block (payload: encoding)
    kBlockWant,   // id
    kTx,          // a forwarded transaction (payload: encoding)
    kObjWant,     // payload: replication::wire::Want (request id ‖ incarnation in the high bits)
    kObject,      // payload: replication::wire::PackChunk of a "pack" (cluster.cpp serve_want)
    kObjMissing,  // payload: replication::wire::NotFound
    kSyncReq,     // height: "send me finalized blocks above this height"
    kSyncResp,    // blocks above the height, up to one with its finalization certificate
    kLedger,      // ledger::Core's channels (channel byte in `height`)
  };
  struct Msg {
    MsgKind kind = MsgKind::kConsensus;
    consensus::Channel channel = consensus::Channel::kVote;
    Bytes payload;
    Digest id{};
    Oid oid{};
    std::string type;
    uint64_t height = 0;
    std::vector<Bytes> blocks;
  };
  struct Event {
    Time at = 0;
    uint64_t tie = 0;
    uint64_t seq = 0;
    enum class Type { kDeliver, kTimer, kApp, kTick, kClient, kCoreWake } type = Type::kDeliver;
    uint32_t node = 0;
    uint32_t from = 0;
    uint64_t incarnation = 0;
    Msg msg;
    consensus::AppRequest request;
    bool operator>(const Event& o) const {
      if (at != o.at) return at > o.at;
      if (tie != o.tie) return tie > o.tie;
      return seq > o.seq;
    }
  };

 private:
  void push(Event e);
  void process(Event& e);
  void apply(uint32_t i, consensus::Output out);
  void send(uint32_t from, uint32_t to, Msg m);
  void broadcast(uint32_t from, const Msg& m);
  void deliver(uint32_t i, uint32_t from, Msg& m);
  void on_app(uint32_t i, consensus::AppRequest& req);
  void on_tick(uint32_t i);
  void on_client();
  void client_done(uint32_t user, bool ok);

  // Ledger glue.
  bool ensure_executed(Node& node, const Digest& id, int depth = 0);
  void answer_verify(uint32_t i, const consensus::VerifyRequest& v);
  void retry_verifies(uint32_t i);
  void add_block(uint32_t i, const state::Block& b);
  void try_commit(uint32_t i);
  void commit(uint32_t i, const state::Block& b);
  void want_objects(Node& node, const state::Block& b);
  void load_refs(Node& node);
  // Replication through src/replication's client core (replication::Fetcher): the node fetches
  // `root` and its closure into its store unless it holds them (retrying past each deadline).
  void need(Node& node, uint64_t repo, const Oid& root, std::vector<crypto::PublicKey> hints);
  void run_fetcher(uint32_t i, replication::FetcherActions a);
  bool has_closure(const Node& node, const std::vector<Oid>& roots,
                   const std::map<Oid, GitObject>* extra = nullptr) const;
  uint32_t peer_index(const crypto::PublicKey& pk) const;
  void shuffle_validators(Node& node);
  void wire_want(uint32_t i, uint32_t peer, const replication::StartAttempt& at);
  void serve_want(uint32_t i, uint32_t from, const Msg& m);
  bool verify_pack(Node& node, const std::vector<std::string>& tips, const Bytes& data,
                   std::string* why);
  static constexpr uint64_t kFetchDeadlineTicks = 30;  // per ensure (then asked again)
  void open_ledger(Node& node, bool lose_last_batch);
  // ledger::Core mode: carry out its actions; hand it what the mempool accepted.
  void run_core(uint32_t i, ledger::Actions a);
  void feed_core(uint32_t i);
  void commit_job(uint32_t i, const ledger::CommitJob& job);
  void committed(uint32_t i, const state::Block& b);  // bookkeeping and checks of a commit

  // Byzantine consensus behaviours (as consensus/sim's actors).
  std::vector<consensus::Outbound> byzantine_filter(Node& node, consensus::Outbound o);
  void monitor_send(uint32_t from, const consensus::Outbound& o);
  void check_refs(uint32_t i);
  void violation(const std::string& what);
  void mix(uint64_t v);
  void mix(ByteView b);
  bool verify_cached(const crypto::PublicKey& pk, ByteView msg, const crypto::Signature& sig);

  Options opts_;
  Rng rng_;
  Time now_ = 0;
  uint64_t seq_ = 0;
  guts::sim::Trace trace_;
  Stats stats_;
  double random_crash_ = 0;
  bool clients_on_ = true;
  std::filesystem::path root_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<crypto::PublicKey> participants_;
  std::vector<std::optional<Link>> links_;  // from * n + to
  std::vector<Time> link_last_;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> queue_;
  std::vector<std::string> violations_;
  consensus::sim::VerifyCache verify_cache_;

  // Agreed history: the first honest commit at each height fixes it.
  struct Agreed {
    Digest id{};
    Digest state_root{};
    std::set<Digest> txs;
  };
  std::map<uint64_t, Agreed> history_;
  std::set<Digest> forged_;  // ids of forged transactions
  std::map<std::tuple<uint32_t, uint64_t, uint8_t>, Bytes> honest_votes_;

  // Clients: one per genesis user, one transaction in flight at a time.
  struct Client {
    crypto::SigningKey key;
    uint64_t repo_id = 0;
    bool busy = false;
    uint64_t attempt = 0;
    Time deadline = 0;
    uint64_t pushes = 0;
    explicit Client(crypto::SigningKey k) : key(std::move(k)) {}
  };
  std::vector<Client> clients_;
  std::string chain_id_;
  state::Genesis genesis_;
};

}  // namespace guts::runtime::sim
