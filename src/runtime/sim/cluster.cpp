#include "runtime/sim/cluster.h"

#include <unistd.h>

#include <algorithm>
#include <deque>
#include <sstream>

#include "codec/codec.h"
#include "consensus/journal.h"
#include "crypto/hash.h"
#include "replication/fetcher.h"
#include "replication/messages.h"
#include "state/chain.h"
#include "state/mempool.h"
#include "storage/db.h"

namespace guts::runtime::sim {

namespace {

// Virtual time 0 is this Unix time (2100-01-01): later than any wall clock the mempool door
// compares with, so the door's verdicts depend only on virtual time (the block timestamps).
constexpr uint64_t kBaseMs = 4102444800000ull;
constexpr const char* kRef = "refs/heads/main";
constexpr const char* kNs = "guts/sim-node";

Bytes u64_bytes(uint64_t v) {
  Bytes b(8);
  for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
  return b;
}

crypto::SigningKey derive_key(std::string_view what, uint64_t i) {
  crypto::Sha256 h;
  h.update(as_bytes(what)).update(u64_bytes(i));
  return crypto::SigningKey::from_seed(h.finish());
}

std::string short_hex(const Digest& d) {
  return hex_encode(ByteView(d.data(), 4));
}

// ledger::Core's window on the chain: state::Chain itself.
class ChainAdapter : public ledger::ChainPort {
 public:
  explicit ChainAdapter(state::Chain& c) : c_(c) {}
  state::Head head() const override { return c_.head(); }
  std::optional<state::TxLocation> locate(const Digest& id) const override { return c_.locate(id); }
  std::optional<state::Block> block_at(uint64_t h) const override { return c_.block_at(h); }
  state::BuildResult build(const Digest& parent, std::vector<state::PendingTx> txs, uint64_t view,
                           uint64_t unix_ms, const crypto::PublicKey& proposer) override {
    return c_.build(parent, std::move(txs), view, unix_ms, proposer);
  }
  Status verify(const state::Block& b, const std::function<bool(const Digest&)>& checked) override {
    return c_.verify(b, checked);
  }

 private:
  state::Chain& c_;
};

// In memory, every node's database is at this path of its own MemoryFs.
const std::filesystem::path kMemoryDbDir = "/guts-sim/db";

// The files of an empty node database, created once per process: a node's disk starts as a
// copy of them (creating the 24 column families costs more than a whole simulated seed).
std::shared_ptr<storage::MemoryFs> blank_disk() {
  static const std::shared_ptr<const storage::MemoryFs> empty = [] {
    auto fs = storage::make_memory_fs();
    storage::OpenOptions o;
    o.memory = fs;
    o.light = true;
    storage::Db::open(kMemoryDbDir, state::Schema::families(), o);  // created, then closed
    return fs;
  }();
  return storage::copy_memory_fs(*empty, kMemoryDbDir);
}

Bytes tx_batch(const std::vector<Bytes>& txs) {
  codec::Writer w;
  w.u8(0).varint(txs.size());
  for (const auto& t : txs) w.bytes(t);
  return w.data();
}

}  // namespace

const char* behavior_name(Behavior b) {
  switch (b) {
    case Behavior::kHonest:
      return "honest";
    case Behavior::kEquivocator:
      return "equivocator";
    case Behavior::kConflicter:
      return "conflicter";
    case Behavior::kWithholder:
      return "withholder";
    case Behavior::kCorrupter:
      return "corrupter";
    case Behavior::kForger:
      return "forger";
  }
  return "?";
}

// ---------------------------------------------------------------- nodes

struct Cluster::Node {
  uint32_t idx = 0;
  Behavior behavior = Behavior::kHonest;
  crypto::SigningKey key;
  // Durable: survives crashes.
  consensus::MemoryJournalStore disk;
  std::filesystem::path db_dir;
  std::shared_ptr<storage::MemoryFs> fs;  // the database's files (null: on disk at db_dir)
  // In memory, the database stays open across crashes unless Options::reopen_db: every write
  // of state::Chain is synced, so reopening would find exactly what it holds (a lost batch is
  // modelled by rebuilding the database, see open_ledger).
  bool keep_db_open = false;
  std::unique_ptr<storage::Db> kept_db;
  GitStore git;
  std::map<Digest, consensus::Certificate> certs;  // finalization certificate by block id
  // Block bodies: stored before the node proposes or votes for them (a notarized block whose
  // only copy died with its leader would stall every later view).
  std::map<Digest, state::Block> blocks;
  bool lose_batch = false;  // at the next open
  // Volatile: one incarnation.
  bool up = false;
  bool crash_on_write = false;
  uint64_t incarnation = 0;
  uint64_t ticks = 0;
  std::optional<Time> timer_at;
  std::unique_ptr<consensus::Journal> journal;
  std::unique_ptr<consensus::Engine> engine;
  std::unique_ptr<storage::Db> db;
  std::unique_ptr<state::Chain> chain;
  std::unique_ptr<state::Mempool> mempool;
  std::set<uint32_t> blocked;       // by consensus (equivocation evidence)
  std::set<uint32_t> repl_blocked;  // served an object whose id did not match
  std::set<Digest> executed;        // built or verified by this incarnation
  std::set<Digest> final_ids;       // finalized, not committed yet
  std::vector<consensus::VerifyRequest> pending_verify;
  // Ref tips being fetched → repository id.
  std::map<Oid, uint64_t> fetching;
  // Replication: src/replication's client core, as in the real node (volatile, like its jobs).
  std::unique_ptr<replication::Fetcher> fetcher;
  std::map<replication::WaiterId, Oid> fetch_waiters;  // one per tip being fetched
  replication::WaiterId next_waiter = 1;
  struct PackIn {
    uint32_t peer = 0;
    std::vector<std::string> tips;
    Bytes data;
  };
  // Answers being received, by request.
  std::map<replication::RequestId, PackIn> packs;
  std::map<uint64_t, Oid> refs;        // committed refs/heads/main by repo id
  std::vector<state::PendingTx> pool;  // taken from the mempool, offered to blocks
  std::set<Digest> pooled;
  std::set<Digest> received;  // forwarded to us (not forwarded again)
  // ledger::Core mode.
  std::unique_ptr<ChainAdapter> port;
  std::unique_ptr<ledger::Core> core;
  std::optional<Time> core_wake;
  std::map<Digest, uint32_t> tx_from;  // forwarded transactions: who sent them
  std::set<uint32_t> ledger_blocked;
  explicit Node(crypto::SigningKey k) : key(std::move(k)) {}

  void close() {
    core.reset();
    port.reset();
    core_wake.reset();
    tx_from.clear();
    ledger_blocked.clear();
    mempool.reset();
    chain.reset();
    if (db && keep_db_open) kept_db = std::move(db);
    db.reset();
    engine.reset();
    journal.reset();
    executed.clear();
    final_ids.clear();
    pending_verify.clear();
    fetching.clear();
    fetcher.reset();
    fetch_waiters.clear();
    packs.clear();
    refs.clear();
    pool.clear();
    pooled.clear();
    received.clear();
    blocked.clear();
    timer_at.reset();
  }
};

Cluster::Cluster(Options options) : opts_(std::move(options)), rng_(opts_.seed) {
  std::filesystem::path base = opts_.dir;
  if (base.empty()) {
    base = std::filesystem::exists("/dev/shm") ? std::filesystem::path("/dev/shm")
                                               : std::filesystem::temp_directory_path();
  }
  root_ = base / ("guts-sim-" + std::to_string(::getpid()) + "-" + std::to_string(opts_.seed));
  if (opts_.disk) {
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_);
  }

  genesis_.chain_id = "sim";
  genesis_.genesis_time_ms = kBaseMs;
  for (uint32_t i = 0; i < opts_.n; ++i) {
    auto node = std::make_unique<Node>(derive_key("guts-sim-node", i));
    node->idx = i;
    auto b = opts_.byzantine.find(i);
    if (b != opts_.byzantine.end()) node->behavior = b->second;
    if (opts_.disk) {
      node->db_dir = root_ / ("node" + std::to_string(i));
    } else {
      node->db_dir = kMemoryDbDir;
      node->fs = blank_disk();
      node->keep_db_open = !opts_.reopen_db;
    }
    participants_.push_back(node->key.public_key());
    genesis_.validators.push_back({node->key.public_key(), ""});
    nodes_.push_back(std::move(node));
  }
  for (uint32_t u = 0; u < opts_.users; ++u) {
    Client c(derive_key("guts-sim-user", u));
    genesis_.accounts.push_back({c.key.public_key(), "user" + std::to_string(u), {"repo"}});
    clients_.push_back(std::move(c));
  }
  links_.assign(size_t{opts_.n} * opts_.n, std::nullopt);
  link_last_.assign(size_t{opts_.n} * opts_.n, 0);
  set_all_links(opts_.link);
  mix(opts_.seed);
}

Cluster::~Cluster() {
  for (auto& n : nodes_) n->close();
  std::error_code ec;
  if (opts_.disk) std::filesystem::remove_all(root_, ec);
}

bool Cluster::up(uint32_t i) const {
  return nodes_[i]->up;
}
bool Cluster::honest(uint32_t i) const {
  return nodes_[i]->behavior == Behavior::kHonest;
}
uint64_t Cluster::height(uint32_t i) const {
  return nodes_[i]->up ? nodes_[i]->chain->head().height : 0;
}
uint64_t Cluster::max_height() const {
  return history_.empty() ? 0 : history_.rbegin()->first;
}
size_t Cluster::fetching(uint32_t i) const {
  return nodes_[i]->fetching.size();
}
uint64_t Cluster::last_finalized_view(uint32_t i) const {
  return nodes_[i]->engine ? nodes_[i]->engine->last_finalized() : 0;
}

bool Cluster::converged() const {
  for (uint32_t i = 0; i < opts_.n; ++i) {
    if (!honest(i)) continue;
    const Node& node = *nodes_[i];
    if (!node.up || !node.fetching.empty() || node.chain->head().height != max_height()) {
      return false;
    }
  }
  return true;
}

std::string Cluster::describe_nodes() const {
  std::ostringstream s;
  s << "t=" << now_;
  for (uint32_t i = 0; i < opts_.n; ++i) {
    const Node& node = *nodes_[i];
    s << " [" << i << (honest(i) ? "" : "*");
    if (!node.up) {
      s << " down]";
      continue;
    }
    s << " v=" << node.engine->view() << " f=" << node.engine->last_finalized()
      << " h=" << node.chain->head().height << " obj=" << node.git.size()
      << " fetch=" << node.fetching.size() << "]";
  }
  return s.str();
}

// ---------------------------------------------------------------- trace, violations

void Cluster::mix(uint64_t v) {
  trace_.mix(v);
}
void Cluster::mix(ByteView b) {
  trace_.mix(b);
}

void Cluster::violation(const std::string& what) {
  std::ostringstream s;
  s << "t=" << now_ << "ms: " << what;
  violations_.push_back(s.str());
}

bool Cluster::verify_cached(const crypto::PublicKey& pk, ByteView msg,
                            const crypto::Signature& sig) {
  return verify_cache_(pk, msg, sig);
}

// ---------------------------------------------------------------- network

void Cluster::set_all_links(Link l) {
  for (uint32_t a = 0; a < opts_.n; ++a) {
    for (uint32_t b = 0; b < opts_.n; ++b) {
      if (a != b) links_[a * opts_.n + b] = l;
    }
  }
}

void Cluster::partition(const std::vector<std::vector<uint32_t>>& groups) {
  for (auto [a, b] : guts::sim::cut_links(opts_.n, groups)) links_[a * opts_.n + b].reset();
}

void Cluster::send(uint32_t from, uint32_t to, Msg m) {
  if (from == to || to >= opts_.n) return;
  const auto& link = links_[from * opts_.n + to];
  if (!link || !rng_.chance(link->success)) {
    ++stats_.dropped;
    return;
  }
  Event e;
  // Consensus traffic is delivered in order per link (as by one TCP stream); everything else
  // may be reordered by the jitter.
  e.at = now_ + guts::sim::sample_delay(*link, rng_);
  if (m.kind == MsgKind::kConsensus) {
    Time& last = link_last_[from * opts_.n + to];
    e.at = std::max(e.at, last);
    last = e.at;
  }
  e.type = Event::Type::kDeliver;
  e.node = to;
  e.from = from;
  e.msg = std::move(m);
  push(std::move(e));
}

void Cluster::broadcast(uint32_t from, const Msg& m) {
  for (uint32_t j = 0; j < opts_.n; ++j) {
    if (j != from) send(from, j, m);
  }
}

void Cluster::push(Event e) {
  e.seq = seq_++;
  e.tie = rng_.next();
  queue_.push(std::move(e));
}

// ---------------------------------------------------------------- lifecycle

void Cluster::start_all() {
  for (uint32_t i = 0; i < opts_.n; ++i) restart(i);
  Event c;
  c.at = now_ + opts_.client_every;
  c.type = Event::Type::kClient;
  push(std::move(c));
}

void Cluster::open_ledger(Node& node, bool lose_last_batch) {
  storage::OpenOptions oo;
  oo.memory = node.fs;
  oo.light = true;
  node.db = node.kept_db ? std::move(node.kept_db)
                         : storage::Db::open(node.db_dir, state::Schema::families(), oo);
  node.chain = std::make_unique<state::Chain>(*node.db, genesis_);
  if (lose_last_batch && node.chain->head().height > 0) {
    // The last commit batch never reached the disk: rebuild the database without it (what
    // RocksDB would hold had its WAL lost that write).
    std::vector<state::Block> keep;
    for (uint64_t h = 1; h < node.chain->head().height; ++h)
      keep.push_back(*node.chain->block_at(h));
    node.chain.reset();
    node.db.reset();
    if (node.fs) {
      oo.memory = node.fs = blank_disk();
    } else {
      std::filesystem::remove_all(node.db_dir);
    }
    node.db = storage::Db::open(node.db_dir, state::Schema::families(), oo);
    node.chain = std::make_unique<state::Chain>(*node.db, genesis_);
    for (const auto& b : keep) {
      Status st = node.chain->verify(b);
      if (!st.ok()) violation("node " + std::to_string(node.idx) + " cannot replay its blocks");
      node.chain->commit(b);
    }
    ++stats_.lost_batches;
    mix(0x10570000ull + node.idx);
  }
  node.mempool = std::make_unique<state::Mempool>(*node.chain, 100000, [this] {
    return state::Mempool::TimePoint(std::chrono::milliseconds(now_));
  });
}

void Cluster::load_refs(Node& node) {
  state::StateView view = node.chain->view();
  node.refs.clear();
  for (const auto& c : clients_) {
    if (c.repo_id == 0) continue;
    if (auto oid = view.ref(c.repo_id, kRef)) node.refs[c.repo_id] = oid_from_bytes(*oid);
  }
  // What the refs need and the store lacks (the fetch jobs died with the last incarnation).
  for (const auto& [repo, oid] : node.refs) need(node, repo, oid, {});
}

void Cluster::need(Node& node, uint64_t repo, const Oid& root,
                   std::vector<crypto::PublicKey> hints) {
  // A held root may still lack descendants (a push's objects half stored before a crash): the
  // Fetcher checks the whole closure first, as the real node's git does.
  if (!node.fetching.emplace(root, repo).second) return;
  if (!node.fetcher) {
    replication::FetcherOptions fo;
    fo.self = node.key.public_key();
    fo.attempt_idle_ms = 3 * opts_.tick;
    fo.retry_backoff_ms = opts_.tick;
    node.fetcher = std::make_unique<replication::Fetcher>(fo);
  }
  shuffle_validators(node);
  auto waiter = node.next_waiter++;
  node.fetch_waiters[waiter] = root;
  run_fetcher(node.idx, node.fetcher->ensure(now_, waiter, repo, {oid_hex(root)}, hints,
                                             now_ + kFetchDeadlineTicks * opts_.tick));
}

bool Cluster::has_closure(const Node& node, const std::vector<Oid>& roots,
                          const std::map<Oid, GitObject>* extra) const {
  std::vector<Oid> todo = roots;
  std::set<Oid> seen;
  while (!todo.empty()) {
    Oid o = todo.back();
    todo.pop_back();
    if (!seen.insert(o).second) continue;
    const GitObject* obj = node.git.get(o);
    if (!obj && extra) {
      auto it = extra->find(o);
      if (it != extra->end()) obj = &it->second;
    }
    if (!obj) return false;
    for (const Oid& r : references(*obj)) todo.push_back(r);
  }
  return true;
}

// The driver's side of replication::Fetcher: git is the GitStore, the network the simulated one,
// index-pack a decode, hash and closure check of the received "pack". Actions are carried out at
// once; answers that come back at once (closure checks, unsendable Wants, verifications) are
// fed back in the same step.
void Cluster::run_fetcher(uint32_t i, replication::FetcherActions first) {
  using replication::Verification;
  Node& node = *nodes_[i];
  std::deque<replication::FetcherActions> todo;
  todo.push_back(std::move(first));
  while (!todo.empty() && node.fetcher) {
    auto a = std::move(todo.front());
    todo.pop_front();
    auto& f = *node.fetcher;
    for (const auto& c : a.checks) {
      std::vector<Oid> roots;
      for (const auto& t : c.tips) roots.push_back(replication::wire::from_hex(t));
      todo.push_back(f.closure_checked(now_, c.job, has_closure(node, roots)));
    }
    for (const auto& at : a.attempts) {
      uint32_t peer = peer_index(at.peer);
      if (peer >= opts_.n || !nodes_[peer]->up || node.repl_blocked.count(peer)) {
        todo.push_back(f.unsent(now_, at.request));
        continue;
      }
      node.packs[at.request] = Node::PackIn{peer, at.tips, {}};
      wire_want(i, peer, at);
    }
    for (auto& fd : a.feeds) {
      auto it = node.packs.find(fd.request);
      if (it == node.packs.end()) continue;
      it->second.data.insert(it->second.data.end(), fd.data.begin(), fd.data.end());
      f.consumed(fd.request, fd.data.size());
      if (!fd.last) continue;
      auto in = std::move(it->second);
      node.packs.erase(it);
      std::string why;
      bool ok = verify_pack(node, in.tips, in.data, &why);
      todo.push_back(
          f.verified(now_, fd.request, ok ? Verification::kOk : Verification::kBadPack, why));
    }
    for (const auto& ab : a.aborts) {
      if (node.packs.erase(ab.request) == 0) continue;  // verified already
      todo.push_back(f.verified(now_, ab.request, Verification::kFailed, ab.reason));
    }
    for (const auto& b : a.blocks) {
      uint32_t peer = peer_index(b.peer);
      if (peer >= opts_.n) continue;
      node.repl_blocked.insert(peer);
      mix(0xbadull << 16 | peer);
      if (honest(i) && honest(peer)) {
        violation("honest node " + std::to_string(i) + " blocked honest node " +
                  std::to_string(peer) + ": " + b.why);
      }
    }
    for (const auto& c : a.completes) {
      auto w = node.fetch_waiters.find(c.waiter);
      if (w == node.fetch_waiters.end()) continue;
      Oid root = w->second;
      node.fetch_waiters.erase(w);
      auto it = node.fetching.find(root);
      if (it == node.fetching.end()) continue;
      if (c.ok) {
        node.fetching.erase(it);
        continue;
      }
      // Deadline passed: a ref must never point at objects the node neither holds nor fetches,
      // so ask again (the real projection does the same after a failed attempt).
      auto waiter = node.next_waiter++;
      node.fetch_waiters[waiter] = root;
      shuffle_validators(node);
      todo.push_back(f.ensure(now_, waiter, it->second, {oid_hex(root)}, {},
                              now_ + kFetchDeadlineTicks * opts_.tick));
    }
  }
}

// The validators in a fresh order for each fetch (the real node's order is its validator set's):
// the seeds explore who is asked first, withholders and corrupters included.
void Cluster::shuffle_validators(Node& node) {
  auto order = participants_;
  for (size_t k = order.size(); k > 1; --k) std::swap(order[k - 1], order[rng_.uniform(k)]);
  node.fetcher->set_validators(std::move(order));
}

uint32_t Cluster::peer_index(const crypto::PublicKey& pk) const {
  for (uint32_t j = 0; j < opts_.n; ++j)
    if (participants_[j] == pk) return j;
  return opts_.n;
}

// Request ids on the wire carry the incarnation: an answer to a request of an earlier life of
// this node (whose Fetcher counted from 1 again) is ignored.
void Cluster::wire_want(uint32_t i, uint32_t peer, const replication::StartAttempt& at) {
  replication::wire::Want w;
  w.request_id = (nodes_[i]->incarnation << 32) | at.request;
  w.repo_id = at.repo_id;
  for (const auto& t : at.tips) w.wants.push_back(replication::wire::from_hex(t));
  Msg m;
  m.kind = MsgKind::kObjWant;
  m.payload = replication::wire::encode(w);
  send(i, peer, std::move(m));
}

// Serving a Want: the closure of the wants, as a "pack" (count ‖ (type, content) × n), or
// NotFound. A withholder never serves; a corrupter flips a byte.
void Cluster::serve_want(uint32_t i, uint32_t from, const Msg& m) {
  Node& node = *nodes_[i];
  replication::wire::Want want;
  try {
    want = std::get<replication::wire::Want>(replication::wire::decode(m.payload));
  } catch (const std::exception&) {
    return;
  }
  std::vector<Oid> todo;
  for (const auto& o : want.wants) todo.push_back(o);
  std::set<Oid> seen;
  codec::Writer objects;
  bool missing = node.behavior == Behavior::kWithholder;
  while (!todo.empty() && !missing) {
    Oid o = todo.back();
    todo.pop_back();
    if (!seen.insert(o).second) continue;
    const GitObject* obj = node.git.get(o);
    if (!obj) {
      missing = true;
      break;
    }
    objects.str(obj->type).bytes(obj->content);
    for (const Oid& r : references(*obj)) todo.push_back(r);
  }
  Msg r;
  if (missing) {
    r.kind = MsgKind::kObjMissing;
    r.payload = replication::wire::encode(replication::wire::NotFound{want.request_id, "missing"});
  } else {
    codec::Writer pack;
    pack.varint(seen.size()).fixed(objects.data());
    Bytes data = pack.take();
    if (node.behavior == Behavior::kCorrupter && !data.empty()) {
      data[rng_.uniform(data.size())] ^= 0x01;
    }
    r.kind = MsgKind::kObject;
    r.payload = replication::wire::encode(
        replication::wire::PackChunk{want.request_id, 0, true, std::move(data)});
  }
  send(i, from, std::move(r));
}

// index-pack and rev-list: every object hashed (its id is what it hashes to), then the wanted
// tips complete over the store and the pack; only then does anything join the store.
bool Cluster::verify_pack(Node& node, const std::vector<std::string>& tips, const Bytes& data,
                          std::string* why) {
  std::map<Oid, GitObject> quarantine;
  try {
    codec::Reader rd(data);
    size_t n = rd.count(1 << 20, "objects");
    for (size_t k = 0; k < n; ++k) {
      GitObject obj;
      obj.type = rd.str(64, "type");
      obj.content = rd.bytes(1 << 24, "content");
      Oid id = object_id(obj.type, obj.content);
      quarantine.emplace(id, std::move(obj));
    }
    rd.finish();
  } catch (const std::exception& e) {
    *why = e.what();
  }
  std::vector<Oid> roots;
  for (const auto& t : tips) roots.push_back(replication::wire::from_hex(t));
  if (!why->empty() || !has_closure(node, roots, &quarantine)) {
    if (why->empty()) *why = "wanted objects missing";
    ++stats_.corrupt_objects;
    return false;
  }
  for (auto& [id, obj] : quarantine) {
    if (node.git.has(id)) continue;
    node.git.put(std::move(obj));
    ++stats_.objects_fetched;
  }
  return true;
}

void Cluster::restart(uint32_t i) {
  Node& node = *nodes_[i];
  if (node.up) return;
  node.close();
  node.journal = std::make_unique<consensus::Journal>(node.disk, 16);
  consensus::Journal::ReplayStats st;
  auto records = node.journal->replay(&st);
  stats_.torn_bytes += st.discarded_bytes;
  consensus::Config c(node.key);
  c.ns = kNs;
  c.participants = participants_;
  c.genesis = genesis_.id();
  c.leader_timeout = opts_.leader_timeout;
  c.certification_timeout = opts_.certification_timeout;
  c.timeout_retry = opts_.timeout_retry;
  c.skip_timeout = opts_.skip_timeout;
  c.fetch_timeout = opts_.fetch_timeout;
  c.verify = [this](const crypto::PublicKey& pk, ByteView m, const crypto::Signature& s) {
    return verify_cached(pk, m, s);
  };
  node.engine = std::make_unique<consensus::Engine>(std::move(c));
  std::vector<Bytes> app_records;
  std::optional<consensus::Certificate> floor;
  for (const auto& r : records) {
    if (opts_.ledger_core && !r.empty() && r[0] == ledger::kBlockRecordTag) {
      app_records.push_back(r);  // a block the ledger journaled with its vote
      continue;
    }
    try {
      auto a = consensus::decode_artifact(r);
      if (a.tag == consensus::ArtifactTag::kFinalization &&
          (!floor || a.certificate.view() > floor->view())) {
        floor = a.certificate;
      }
    } catch (const std::exception&) {
    }
    node.engine->replay(r);
  }
  open_ledger(node, node.lose_batch);
  node.lose_batch = false;
  if (clients_[0].repo_id == 0) {
    // Genesis repositories: look their ids up once.
    state::StateView view = node.chain->view();
    for (auto& cl : clients_) {
      if (auto r = view.repo_by_name(cl.key.public_key(), "repo")) cl.repo_id = r->id;
    }
  }
  load_refs(node);
  node.up = true;
  ++node.incarnation;
  mix(0x5157a47ull + i);
  Event t;
  t.at = now_ + 1 + rng_.uniform(opts_.tick);
  t.type = Event::Type::kTick;
  t.node = i;
  t.incarnation = node.incarnation;
  push(std::move(t));
  if (!opts_.ledger_core) {
    apply(i, node.engine->start(now_));
    return;
  }
  ledger::CoreOptions co;
  co.self = node.key.public_key();
  co.validators = participants_;
  co.max_block_txs = opts_.max_block_txs;
  co.fetch_timeout_ms = opts_.fetch_timeout;
  co.empty_child_after_ms = ledger::empty_child_delay_ms(opts_.leader_timeout);
  node.port = std::make_unique<ChainAdapter>(*node.chain);
  node.core = std::make_unique<ledger::Core>(*node.port, co);
  uint64_t inc = node.incarnation;
  for (const auto& r : app_records) {
    run_core(i, node.core->restore({now_, kBaseMs + now_}, r));
    if (node.incarnation != inc) return;
  }
  apply(i, node.engine->start(now_));
  // As the real driver: the ledger may not have applied the last finalization before the crash.
  if (floor && node.up && node.incarnation == inc) {
    run_core(i,
             node.core->finalized({now_, kBaseMs + now_}, floor->round(), floor->proposal.payload));
  }
}

void Cluster::crash(uint32_t i, bool torn, bool lose_batch) {
  Node& node = *nodes_[i];
  if (!node.up) return;
  node.up = false;
  node.crash_on_write = false;
  if (lose_batch && opts_.n > 1) node.lose_batch = true;
  node.close();
  node.disk.crash(torn ? rng_.next() | 1 : 0);
  ++node.incarnation;
  ++stats_.crashes;
  mix(0xc4a54ull + i);
}

void Cluster::crash_on_next_write(uint32_t i) {
  nodes_[i]->crash_on_write = true;
}
void Cluster::cancel_pending_crashes() {
  for (auto& n : nodes_) n->crash_on_write = false;
}
void Cluster::restart_all() {
  for (uint32_t i = 0; i < opts_.n; ++i) restart(i);
}

// ---------------------------------------------------------------- event loop

void Cluster::run_until(Time t) {
  while (!queue_.empty() && queue_.top().at <= t) {
    Event e = queue_.top();
    queue_.pop();
    now_ = std::max(now_, e.at);
    ++stats_.events;
    process(e);
  }
  now_ = std::max(now_, t);
}

void Cluster::process(Event& e) {
  if (random_crash_ > 0 && rng_.chance(random_crash_)) {
    uint32_t v = static_cast<uint32_t>(rng_.uniform(opts_.n));
    crash(v, rng_.chance(0.5), rng_.chance(0.3));
  }
  mix(e.at);
  mix(static_cast<uint64_t>(e.type) << 32 | e.node);
  Node& node = *nodes_[e.node];
  switch (e.type) {
    case Event::Type::kDeliver:
      if (!node.up) {
        ++stats_.dropped;
        return;
      }
      deliver(e.node, e.from, e.msg);
      break;
    case Event::Type::kTimer:
      if (!node.up || e.incarnation != node.incarnation || node.timer_at != e.at) return;
      node.timer_at.reset();
      apply(e.node, node.engine->on_timer(now_));
      break;
    case Event::Type::kApp:
      if (!node.up || e.incarnation != node.incarnation) return;
      on_app(e.node, e.request);
      break;
    case Event::Type::kTick: {
      if (!node.up || e.incarnation != node.incarnation) return;
      on_tick(e.node);
      Event t;
      t.at = now_ + opts_.tick;
      t.type = Event::Type::kTick;
      t.node = e.node;
      t.incarnation = node.incarnation;
      push(std::move(t));
      break;
    }
    case Event::Type::kCoreWake:
      if (!node.up || e.incarnation != node.incarnation || node.core_wake != e.at) return;
      node.core_wake.reset();
      run_core(e.node, node.core->tick({now_, kBaseMs + now_}));
      break;
    case Event::Type::kClient: {
      if (clients_on_) on_client();
      Event c;
      c.at = now_ + 1 + rng_.uniform(2 * opts_.client_every);
      c.type = Event::Type::kClient;
      push(std::move(c));
      return;
    }
  }
  if (nodes_[e.node]->up) check_refs(e.node);
}

void Cluster::deliver(uint32_t i, uint32_t from, Msg& m) {
  Node& node = *nodes_[i];
  mix(static_cast<uint64_t>(m.kind) << 8 | from);
  mix(m.payload);
  switch (m.kind) {
    case MsgKind::kConsensus:
      if (node.blocked.count(from)) {
        ++stats_.dropped;
        return;
      }
      ++stats_.delivered;
      apply(i, node.engine->on_message(now_, participants_[from], m.channel, m.payload));
      break;
    case MsgKind::kLedger: {
      if (!node.core || node.ledger_blocked.count(from)) return;
      ++stats_.delivered;
      ledger::Now nw{now_, kBaseMs + now_};
      if (static_cast<ledger::Channel>(m.height) == ledger::Channel::kBlocks) {
        run_core(i, node.core->blocks_message(nw, participants_[from], m.payload));
        break;
      }
      std::vector<state::Transaction> txs;
      try {
        txs = ledger::decode_tx_batch(m.payload);
      } catch (const std::exception&) {
        return;
      }
      for (const auto& tx : txs) {
        Digest id = tx.id();
        Status st = node.mempool->submit(tx, [](const state::TxOutcome&) {});
        if (forged_.count(id)) {
          if (st.ok() && honest(i))
            violation("node " + std::to_string(i) + " accepted a forged tx");
          if (!st.ok()) ++stats_.forged_rejected;
        }
        if (st.ok()) node.tx_from.emplace(id, from);
      }
      feed_core(i);
      break;
    }
    case MsgKind::kBlock: {
      ++stats_.delivered;
      state::Block b;
      try {
        b = state::decode_block(m.payload);
      } catch (const std::exception&) {
        return;
      }
      add_block(i, b);
      break;
    }
    case MsgKind::kBlockWant: {
      auto it = node.blocks.find(m.id);
      if (it != node.blocks.end()) {
        Msg r;
        r.kind = MsgKind::kBlock;
        r.payload = it->second.encode();
        send(i, from, std::move(r));
      }
      break;
    }
    case MsgKind::kTx: {
      state::Transaction tx;
      try {
        tx = state::decode_transaction(m.payload);
      } catch (const std::exception&) {
        return;
      }
      Digest id = tx.id();
      node.received.insert(id);
      Status st = node.mempool->submit(tx, [](const state::TxOutcome&) {});
      if (forged_.count(id)) {
        if (st.ok() && honest(i)) violation("node " + std::to_string(i) + " accepted a forged tx");
        if (!st.ok()) ++stats_.forged_rejected;
      }
      break;
    }
    case MsgKind::kObjWant:
      serve_want(i, from, m);
      break;
    case MsgKind::kObject:
    case MsgKind::kObjMissing: {
      if (node.repl_blocked.count(from) || !node.fetcher) return;
      replication::wire::Message w;
      try {
        w = replication::wire::decode(m.payload);
      } catch (const std::exception&) {
        return;
      }
      auto local = [&](uint64_t id) -> std::optional<uint64_t> {
        if (id >> 32 != node.incarnation) return std::nullopt;  // an earlier life's request
        return id & 0xffffffffull;
      };
      if (auto* c = std::get_if<replication::wire::PackChunk>(&w)) {
        auto id = local(c->request_id);
        if (!id) return;
        c->request_id = *id;
        run_fetcher(i, node.fetcher->chunk(now_, participants_[from], std::move(*c)));
      } else if (auto* nf = std::get_if<replication::wire::NotFound>(&w)) {
        auto id = local(nf->request_id);
        if (!id) return;
        nf->request_id = *id;
        run_fetcher(i, node.fetcher->not_found(now_, participants_[from], *nf));
      }
      break;
    }
    case MsgKind::kSyncReq: {
      // Blocks above the asker's height, up to the first one we hold a finalization for.
      uint64_t head = node.chain->head().height;
      std::vector<Bytes> out;
      std::optional<consensus::Certificate> cert;
      for (uint64_t h = m.height + 1; h <= head && out.size() < 64; ++h) {
        auto b = node.chain->block_at(h);
        if (!b) break;
        out.push_back(b->encode());
        auto c = node.certs.find(b->id());
        if (c != node.certs.end()) {
          cert = c->second;
          break;
        }
      }
      if (!cert) return;
      Msg r;
      r.kind = MsgKind::kSyncResp;
      r.height = m.height;
      r.blocks = std::move(out);
      r.payload = consensus::encode_certificate(*cert);
      send(i, from, std::move(r));
      break;
    }
    case MsgKind::kSyncResp: {
      if (m.height != node.chain->head().height || m.blocks.empty()) return;
      consensus::Certificate cert;
      std::vector<state::Block> bs;
      try {
        cert = consensus::decode_certificate(m.payload);
        for (const auto& b : m.blocks) bs.push_back(state::decode_block(b));
      } catch (const std::exception&) {
        return;
      }
      consensus::VerifyFn vf = [this](const crypto::PublicKey& pk, ByteView msg,
                                      const crypto::Signature& s) {
        return verify_cached(pk, msg, s);
      };
      if (cert.kind != consensus::Kind::kFinalize || cert.proposal.payload != bs.back().id() ||
          !consensus::verify_certificate(vf, kNs, participants_, cert)) {
        return;
      }
      Digest parent = node.chain->head().id;
      for (const auto& b : bs) {
        if (b.header.parent != parent) return;
        parent = b.id();
      }
      node.certs.emplace(bs.back().id(), cert);
      for (const auto& b : bs) node.blocks.emplace(b.id(), b);
      node.final_ids.insert(bs.back().id());
      stats_.synced_blocks += bs.size();
      try_commit(i);
      break;
    }
  }
}

// ---------------------------------------------------------------- the engine's outputs

void Cluster::apply(uint32_t i, consensus::Output out) {
  Node& node = *nodes_[i];
  if (!out.journal.empty() || node.journal->dirty()) {
    for (const auto& r : out.journal) node.journal->append(r.view, r.bytes);
    if (node.crash_on_write) {
      crash(i, true, rng_.chance(0.3));  // between the append and the sync
      return;
    }
    node.journal->sync();
  }
  if (out.prune_journal_below) node.journal->prune(*out.prune_journal_below);
  bool finalized = false;
  std::vector<std::pair<consensus::Round, Digest>> finalized_reports;
  for (const auto& r : out.reports) {
    if (const auto* f = std::get_if<consensus::Finalized>(&r)) {
      mix(f->proposal.round.view);
      mix(f->proposal.payload);
      if (node.core) {
        finalized_reports.emplace_back(f->proposal.round, f->proposal.payload);
        continue;
      }
      if (!f->implied) node.certs.emplace(f->proposal.payload, f->certificate);
      node.final_ids.insert(f->proposal.payload);
      finalized = true;
    } else if (const auto* fault = std::get_if<consensus::Fault>(&r)) {
      mix(0xfa017);
      if (honest(i) && honest(fault->signer)) {
        violation("node " + std::to_string(i) + " reported a fault of honest node " +
                  std::to_string(fault->signer));
      }
    }
  }
  for (const auto& pk : out.block) {
    auto it = std::find(participants_.begin(), participants_.end(), pk);
    if (it == participants_.end()) continue;
    uint32_t b = static_cast<uint32_t>(it - participants_.begin());
    node.blocked.insert(b);
    mix(0xb10c0000ull | (uint64_t{i} << 8) | b);
    if (honest(i) && honest(b)) {
      violation("honest node " + std::to_string(i) + " blocked honest node " + std::to_string(b));
    }
  }
  for (auto& req : out.requests) {
    Event e;
    e.at = now_ + 1;
    e.type = Event::Type::kApp;
    e.node = i;
    e.incarnation = node.incarnation;
    e.request = std::move(req);
    push(std::move(e));
  }
  for (auto& o : out.sends) {
    for (auto& m : byzantine_filter(node, std::move(o))) {
      if (honest(i)) monitor_send(i, m);
      Msg msg;
      msg.kind = MsgKind::kConsensus;
      msg.channel = m.channel;
      msg.payload = std::move(m.payload);
      if (m.to) {
        send(i, *m.to, std::move(msg));
      } else {
        broadcast(i, msg);
      }
    }
  }
  if (out.timer) {
    Time at = std::max(*out.timer, now_);
    node.timer_at = at;
    Event e;
    e.at = at;
    e.type = Event::Type::kTimer;
    e.node = i;
    e.incarnation = node.incarnation;
    push(std::move(e));
  }
  if (finalized && node.up) try_commit(i);
  if (node.core) {
    node.core->consensus_view({node.engine->config().epoch, node.engine->view()});
    uint64_t inc = node.incarnation;
    for (const auto& [v, d] : finalized_reports) {
      if (!node.up || node.incarnation != inc) break;
      run_core(i, node.core->finalized({now_, kBaseMs + now_}, v, d));
    }
  }
}

// ---------------------------------------------------------------- the ledger

bool Cluster::ensure_executed(Node& node, const Digest& id, int depth) {
  state::Head head = node.chain->head();
  if (id == head.id) return true;
  auto it = node.blocks.find(id);
  if (it == node.blocks.end() || it->second.header.height <= head.height || depth > 64) {
    return false;
  }
  if (node.executed.count(id)) return true;
  if (!ensure_executed(node, it->second.header.parent, depth + 1)) return false;
  Status st;
  try {
    st = node.chain->verify(it->second);
  } catch (const std::exception& e) {
    return false;
  }
  if (!st.ok()) return false;
  node.executed.insert(id);
  return true;
}

void Cluster::add_block(uint32_t i, const state::Block& b) {
  Node& node = *nodes_[i];
  Digest id = b.id();
  if (!node.blocks.emplace(id, b).second) return;
  mix(id);
  retry_verifies(i);
  if (node.final_ids.count(id) || !node.final_ids.empty()) try_commit(i);
}

void Cluster::retry_verifies(uint32_t i) {
  Node& node = *nodes_[i];
  auto pending = std::move(node.pending_verify);
  node.pending_verify.clear();
  for (const auto& v : pending) {
    if (!node.up) return;
    answer_verify(i, v);
  }
}

void Cluster::answer_verify(uint32_t i, const consensus::VerifyRequest& v) {
  Node& node = *nodes_[i];
  if (v.context.round.view + 10 < node.engine->view()) return;  // long abandoned
  auto it = node.blocks.find(v.payload);
  bool parent_known = v.context.parent_payload == node.chain->head().id ||
                      node.blocks.count(v.context.parent_payload);
  if (it == node.blocks.end() || !parent_known) {
    node.pending_verify.push_back(v);
    return;
  }
  const state::Block& b = it->second;
  bool ok = b.header.view == v.context.round.view && b.header.parent == v.context.parent_payload &&
            v.context.leader < participants_.size() &&
            b.header.proposer == participants_[v.context.leader] &&
            ensure_executed(node, v.payload);
  if (ok) want_objects(node, b);
  mix(ok ? 0x600d : 0xbad);
  apply(i, node.engine->on_verified(now_, v.context.round, v.payload, ok));
}

void Cluster::on_app(uint32_t i, consensus::AppRequest& req) {
  Node& node = *nodes_[i];
  if (node.core) {
    ledger::Now nw{now_, kBaseMs + now_};
    if (auto* p = std::get_if<consensus::ProposeRequest>(&req)) {
      run_core(i, node.core->propose(nw, p->context));
    } else if (auto* v = std::get_if<consensus::VerifyRequest>(&req)) {
      run_core(i, node.core->verify(nw, v->context, v->payload));
    } else if (auto* c = std::get_if<consensus::CertifyRequest>(&req)) {
      apply(i, node.engine->on_certified(now_, c->round, c->payload, true));
    }
    return;
  }
  if (auto* p = std::get_if<consensus::ProposeRequest>(&req)) {
    const consensus::Context& ctx = p->context;
    if (!ensure_executed(node, ctx.parent_payload)) {
      apply(i, node.engine->on_proposed(now_, ctx.round, std::nullopt));
      return;
    }
    for (auto& t : node.mempool->take(1000)) {
      if (node.pooled.insert(t.tx.id()).second) node.pool.push_back(std::move(t));
    }
    std::vector<state::PendingTx> candidates(
        node.pool.begin(), node.pool.begin() + std::min(node.pool.size(), opts_.max_block_txs));
    state::BuildResult built;
    try {
      built = node.chain->build(ctx.parent_payload, std::move(candidates), ctx.round.view,
                                kBaseMs + now_, node.key.public_key());
    } catch (const std::exception&) {
      apply(i, node.engine->on_proposed(now_, ctx.round, std::nullopt));
      return;
    }
    if (ctx.parent_payload == node.chain->head().id && !built.rejected.empty()) {
      // Verdicts on the applied head are final: tell the submitters, forget the transactions.
      std::vector<std::pair<Digest, Status>> final_rejections;
      std::set<Digest> gone;
      for (auto& r : built.rejected) {
        gone.insert(r.first);
        if (!node.chain->locate(r.first)) final_rejections.push_back(std::move(r));
      }
      std::erase_if(node.pool, [&](const state::PendingTx& t) { return gone.count(t.tx.id()); });
      for (const auto& g : gone) node.pooled.erase(g);
      node.mempool->finished(state::Block{}, final_rejections);
    }
    Digest id = built.block.id();
    node.executed.insert(id);
    node.blocks.emplace(id, built.block);
    mix(id);
    Msg m;
    m.kind = MsgKind::kBlock;
    m.payload = built.block.encode();
    broadcast(i, m);
    apply(i, node.engine->on_proposed(now_, ctx.round, id));
  } else if (auto* v = std::get_if<consensus::VerifyRequest>(&req)) {
    answer_verify(i, *v);
  } else if (auto* c = std::get_if<consensus::CertifyRequest>(&req)) {
    apply(i, node.engine->on_certified(now_, c->round, c->payload, true));
  }
}

void Cluster::try_commit(uint32_t i) {
  Node& node = *nodes_[i];
  bool progress = true;
  while (progress && node.up) {
    progress = false;
    for (auto it = node.final_ids.begin(); it != node.final_ids.end();) {
      state::Head head = node.chain->head();
      std::vector<const state::Block*> path;
      Digest cur = *it;
      bool stale = false;
      while (cur != head.id) {
        auto b = node.blocks.find(cur);
        if (b == node.blocks.end()) break;
        if (b->second.header.height <= head.height) {
          stale = true;
          break;
        }
        path.push_back(&b->second);
        cur = b->second.header.parent;
      }
      if (cur == head.id) {
        for (auto p = path.rbegin(); p != path.rend() && node.up; ++p) commit(i, **p);
        it = node.final_ids.erase(it);
        progress = true;
        break;  // the head moved: start over
      }
      if (stale) {
        if (honest(i)) {
          // A finalized block below our head must be one we committed.
          auto b = node.blocks.find(*it);
          auto at = node.chain->block_at(b->second.header.height);
          if (!at || at->id() != *it) {
            violation("node " + std::to_string(i) + " finalized " + short_hex(*it) + " at height " +
                      std::to_string(b->second.header.height) +
                      " but committed another block there");
          }
        }
        it = node.final_ids.erase(it);
        continue;
      }
      ++it;  // a block on its path is missing: the tick asks for it
    }
  }
}

void Cluster::commit(uint32_t i, const state::Block& b) {
  Node& node = *nodes_[i];
  Digest id = b.id();
  if (!node.executed.count(id)) {
    Status st = node.chain->verify(b);
    if (!st.ok()) {
      if (honest(i)) {
        violation("node " + std::to_string(i) + " cannot apply finalized block " + short_hex(id) +
                  ": " + st.message());
      }
      node.final_ids.clear();
      return;
    }
  }
  node.chain->commit(b);
  node.executed.erase(id);
  committed(i, b);
  node.mempool->finished(b, {});  // after the commit: the acknowledgements
}

void Cluster::committed(uint32_t i, const state::Block& b) {
  Node& node = *nodes_[i];
  Digest id = b.id();
  uint64_t h = b.header.height;
  state::Head head = node.chain->head();
  mix(h);
  mix(head.state_root);
  if (honest(i)) {
    auto [it, fresh] = history_.try_emplace(h);
    if (fresh) {
      it->second.id = id;
      it->second.state_root = head.state_root;
      for (const auto& tx : b.txs) it->second.txs.insert(tx.id());
    } else if (it->second.id != id) {
      violation("nodes finalized different blocks at height " + std::to_string(h) + " (node " +
                std::to_string(i) + ")");
    } else if (it->second.state_root != head.state_root) {
      violation("state roots differ at height " + std::to_string(h) + " (node " +
                std::to_string(i) + ")");
    }
  }
  for (const auto& tx : b.txs) {
    Digest t = tx.id();
    if (forged_.count(t)) violation("forged transaction committed at height " + std::to_string(h));
    if (node.pooled.erase(t)) {
      std::erase_if(node.pool, [&](const state::PendingTx& p) { return p.tx.id() == t; });
    }
    if (const auto* u = std::get_if<state::UpdateRefs>(&tx.body)) {
      for (const auto& c : u->changes) {
        if (c.ref != kRef) continue;
        if (c.new_oid.empty()) {
          node.refs.erase(u->repo_id);
        } else {
          node.refs[u->repo_id] = oid_from_bytes(c.new_oid);
        }
      }
    }
  }
  want_objects(node, b);
}

// ---------------------------------------------------------------- ledger::Core mode

void Cluster::feed_core(uint32_t i) {
  Node& node = *nodes_[i];
  std::vector<ledger::TakenTx> taken;
  for (auto& t : node.mempool->take(1000)) {
    ledger::TakenTx tt;
    auto f = node.tx_from.find(t.tx.id());
    if (f != node.tx_from.end()) {
      tt.from = participants_[f->second];
      node.tx_from.erase(f);
    }
    tt.tx = std::move(t);
    taken.push_back(std::move(tt));
  }
  if (!taken.empty())
    run_core(i, node.core->transactions({now_, kBaseMs + now_}, std::move(taken)));
}

void Cluster::commit_job(uint32_t i, const ledger::CommitJob& job) {
  Node& node = *nodes_[i];
  const state::Block& b = *job.block;
  if (!job.executed) {
    Status st = node.chain->verify(b);
    if (!st.ok()) {
      if (honest(i)) {
        violation("node " + std::to_string(i) + " cannot apply finalized block " +
                  short_hex(b.id()) + ": " + st.message());
      }
      run_core(i, node.core->commit_failed({now_, kBaseMs + now_}));
      return;
    }
  }
  node.chain->commit(b);
  committed(i, b);
  node.mempool->finished(b, job.rejected);
  std::vector<Digest> rejected;
  for (const auto& r : job.rejected) rejected.push_back(r.first);
  run_core(i, node.core->committed({now_, kBaseMs + now_}, b, rejected));
}

void Cluster::run_core(uint32_t i, ledger::Actions a) {
  Node& node = *nodes_[i];
  uint64_t inc = node.incarnation;
  auto alive = [&] { return node.up && node.incarnation == inc && node.core; };
  if (!alive()) return;
  if (!a.rejected.empty()) node.mempool->finished(state::Block{}, a.rejected);
  for (const auto& job : a.commits) {
    if (!alive()) return;
    commit_job(i, job);
  }
  for (auto& p : a.proposed) {
    if (!alive()) return;
    if (p.digest) mix(*p.digest);
    ++(p.digest ? stats_.proposals : stats_.no_proposals);
    if (!p.record.empty()) node.journal->append(p.round.view, p.record);
    apply(i, node.engine->on_proposed(now_, p.round, p.digest));
  }
  for (auto& v : a.verified) {
    if (!alive()) return;
    mix(v.ok ? 0x600d : 0xbad);
    ++(v.ok ? stats_.verified_ok : stats_.verified_bad);
    if (!v.record.empty()) node.journal->append(v.round.view, v.record);
    if (v.ok && v.record.size() > 1) {
      // Replication: the objects of a proposed ref update are fetched from now on.
      try {
        want_objects(node, state::decode_block(ByteView(v.record).subspan(1)));
      } catch (const std::exception&) {
      }
    }
    apply(i, node.engine->on_verified(now_, v.round, v.digest, v.ok));
  }
  if (!alive()) return;
  for (auto& snd : a.sends) {
    Msg m;
    m.kind = MsgKind::kLedger;
    m.height = static_cast<uint64_t>(snd.channel);
    m.payload = std::move(snd.payload);
    if (snd.channel == ledger::Channel::kTransactions && node.behavior == Behavior::kWithholder) {
      continue;  // forwards nothing
    }
    if (snd.to) {
      auto it = std::find(participants_.begin(), participants_.end(), *snd.to);
      if (it != participants_.end()) send(i, static_cast<uint32_t>(it - participants_.begin()), m);
    } else {
      broadcast(i, m);
    }
  }
  for (const auto& pk : a.block) {
    auto it = std::find(participants_.begin(), participants_.end(), pk);
    if (it == participants_.end()) continue;
    uint32_t b = static_cast<uint32_t>(it - participants_.begin());
    node.ledger_blocked.insert(b);
    if (honest(i) && honest(b)) {
      violation("ledger of honest node " + std::to_string(i) + " blocked honest node " +
                std::to_string(b));
    }
  }
  if (a.wake_ms && (!node.core_wake || *a.wake_ms < *node.core_wake || *node.core_wake < now_)) {
    Time at = std::max<Time>(*a.wake_ms, now_);
    node.core_wake = at;
    Event e;
    e.at = at;
    e.type = Event::Type::kCoreWake;
    e.node = i;
    e.incarnation = node.incarnation;
    push(std::move(e));
  }
}

void Cluster::want_objects(Node& node, const state::Block& b) {
  for (const auto& tx : b.txs) {
    if (const auto* u = std::get_if<state::UpdateRefs>(&tx.body)) {
      for (const auto& c : u->changes) {
        if (c.new_oid.size() == 20)
          need(node, u->repo_id, oid_from_bytes(c.new_oid), {b.header.proposer});
      }
    }
  }
}

// ---------------------------------------------------------------- housekeeping

void Cluster::on_tick(uint32_t i) {
  Node& node = *nodes_[i];
  ++node.ticks;
  // Object fetches: the Fetcher's timers (silent candidates, retries, deadlines).
  if (node.fetcher) run_fetcher(i, node.fetcher->tick(now_));
  // Blocks we wait for: the ones to verify.
  for (size_t k = 0; k < node.pending_verify.size() && k < 4; ++k) {
    const auto& v = node.pending_verify[k];
    Msg m;
    m.kind = MsgKind::kBlockWant;
    m.id = node.blocks.count(v.payload) ? v.context.parent_payload : v.payload;
    broadcast(i, m);
  }
  // Finalized blocks above our head: ask a peer for them.
  if (!node.core && (node.ticks % 4 == 0 || !node.final_ids.empty())) {
    uint32_t peer = static_cast<uint32_t>(rng_.uniform(opts_.n));
    if (peer != i) {
      Msg m;
      m.kind = MsgKind::kSyncReq;
      m.height = node.chain->head().height;
      send(i, peer, std::move(m));
    }
  }
  // The forger forwards transactions with bad signatures.
  if (node.behavior == Behavior::kForger && !clients_.empty()) {
    const Client& c = clients_[rng_.uniform(clients_.size())];
    state::Transaction tx;
    tx.chain_id = genesis_.chain_id;
    tx.author = c.key.public_key();
    tx.nonce = rng_.uniform(4);
    tx.timestamp_ms = kBaseMs + now_;
    Oid fake = sha1(u64_bytes(rng_.next()));
    tx.body = state::UpdateRefs{c.repo_id, {{kRef, {}, oid_bytes(fake)}}, true};
    tx.signer = c.key.public_key();  // claims the user signed it; the node signs
    tx.signature = node.key.sign(state::kTxDomain, tx.signing_bytes());
    forged_.insert(tx.id());
    Msg m;
    m.kind = node.core ? MsgKind::kLedger : MsgKind::kTx;
    m.height = static_cast<uint64_t>(ledger::Channel::kTransactions);
    m.payload = node.core ? tx_batch({tx.encode()}) : tx.encode();
    broadcast(i, m);
  }
}

// ---------------------------------------------------------------- clients

void Cluster::on_client() {
  // Time out clients whose node crashed; pick an idle client and an honest node that is up.
  for (auto& c : clients_) {
    if (c.busy && now_ >= c.deadline) c.busy = false;
  }
  uint32_t u = static_cast<uint32_t>(rng_.uniform(clients_.size()));
  Client& c = clients_[u];
  if (c.busy || c.repo_id == 0) return;
  std::vector<uint32_t> candidates;
  for (uint32_t i = 0; i < opts_.n; ++i) {
    if (honest(i) && nodes_[i]->up) candidates.push_back(i);
  }
  if (candidates.empty()) return;
  uint32_t k = candidates[rng_.uniform(candidates.size())];
  Node& node = *nodes_[k];
  // A push: new objects into the node's store, then the ref update it signs.
  auto old = node.chain->view().ref(c.repo_id, kRef);
  Oid parent = old ? oid_from_bytes(*old) : Oid{};
  // A repository still replicating answers pushes 503 (docs/git.md "Projection").
  if (old && !has_closure(node, {parent})) return;
  std::string label = "user" + std::to_string(u) + " push " + std::to_string(++c.pushes) +
                      " seed " + std::to_string(opts_.seed);
  Oid blob = node.git.put(make_blob(label));
  Oid tree = node.git.put(make_tree("file.txt", blob));
  Oid commit = node.git.put(make_commit(tree, old ? &parent : nullptr, label));
  state::Transaction tx;
  tx.chain_id = genesis_.chain_id;
  tx.author = c.key.public_key();
  tx.nonce = node.mempool->next_nonce(tx.author, tx.author);
  tx.timestamp_ms = kBaseMs + now_;
  tx.body = state::UpdateRefs{
      c.repo_id, {{kRef, old ? *old : Bytes{}, oid_bytes(commit)}}, /*force=*/true};
  tx.sign(c.key);
  Digest id = tx.id();
  mix(id);
  c.busy = true;
  c.deadline = now_ + opts_.client_timeout;
  uint64_t attempt = ++c.attempt;
  ++stats_.submitted;
  Status st = node.mempool->submit(tx, [this, u, attempt, id](const state::TxOutcome& o) {
    Client& cl = clients_[u];
    if (o.applied) {
      ++stats_.acknowledged;
      auto h = history_.find(o.height);
      if (h == history_.end() || !h->second.txs.count(id)) {
        violation("acknowledged transaction " + short_hex(id) + " is not in the final history at " +
                  "height " + std::to_string(o.height));
      }
    }
    if (cl.attempt == attempt) cl.busy = false;
  });
  if (!st.ok()) {
    c.busy = false;
    return;
  }
  if (node.core) {
    feed_core(k);  // the core forwards it to the validators
    return;
  }
  Msg m;
  m.kind = MsgKind::kTx;
  m.payload = tx.encode();
  broadcast(k, m);
}

// ---------------------------------------------------------------- checkers

void Cluster::check_refs(uint32_t i) {
  const Node& node = *nodes_[i];
  if (!honest(i)) return;
  for (const auto& [repo, oid] : node.refs) {
    if (!node.git.has(oid) && !node.fetching.count(oid)) {
      violation("node " + std::to_string(i) + " has ref of repo " + std::to_string(repo) + " at " +
                oid_hex(oid) + " but neither holds nor fetches it");
    }
  }
}

void Cluster::check_final() {
  for (uint32_t i = 0; i < opts_.n; ++i) {
    const Node& node = *nodes_[i];
    if (!honest(i) || !node.up) continue;
    // Every committed ref's whole closure is held.
    std::vector<Oid> todo;
    std::set<Oid> seen;
    for (const auto& [repo, oid] : node.refs) todo.push_back(oid);
    while (!todo.empty()) {
      Oid o = todo.back();
      todo.pop_back();
      if (!seen.insert(o).second) continue;
      const GitObject* obj = node.git.get(o);
      if (!obj) {
        std::string holders;
        for (uint32_t j = 0; j < opts_.n; ++j) {
          if (nodes_[j]->git.has(o)) holders += " " + std::to_string(j);
        }
        bool root = false;
        for (const auto& [repo, oid] : node.refs) root = root || oid == o;
        violation("node " + std::to_string(i) + " lacks object " + oid_hex(o) +
                  (root ? " (a ref)" : " (in a ref's closure)") +
                  " after healing; held by:" + (holders.empty() ? " none" : holders));
        continue;
      }
      if (object_id(obj->type, obj->content) != o) violation("stored object has a wrong id");
      for (const Oid& r : references(*obj)) todo.push_back(r);
    }
    // Refs equal the agreed history's (all honest nodes at one height hold one state).
    for (uint32_t j = 0; j < opts_.n; ++j) {
      if (honest(j) && nodes_[j]->up && height(j) == height(i) && nodes_[j]->refs != node.refs) {
        violation("nodes " + std::to_string(i) + " and " + std::to_string(j) +
                  " disagree on refs at one height");
      }
    }
  }
}

void Cluster::monitor_send(uint32_t from, const consensus::Outbound& o) {
  if (o.channel != consensus::Channel::kVote) return;
  try {
    consensus::Vote v = consensus::decode_vote(o.payload);
    if (v.signer != from) violation("honest node sent a vote with a foreign signer");
    Bytes subject = consensus::vote_subject(v.kind, v.proposal);
    auto key = std::make_tuple(v.signer, v.view(), static_cast<uint8_t>(v.kind));
    auto [it, inserted] = honest_votes_.emplace(key, subject);
    if (!inserted && it->second != subject) {
      violation("honest node " + std::to_string(from) + " signed two different " +
                consensus::kind_name(v.kind) + " votes at view " + std::to_string(v.view()));
    }
  } catch (const std::exception&) {
    violation("honest node sent an undecodable vote");
  }
}

std::vector<consensus::Outbound> Cluster::byzantine_filter(Node& node, consensus::Outbound o) {
  std::vector<consensus::Outbound> out;
  if ((node.behavior != Behavior::kEquivocator && node.behavior != Behavior::kConflicter) ||
      o.channel != consensus::Channel::kVote) {
    out.push_back(std::move(o));
    return out;
  }
  consensus::Vote v = consensus::decode_vote(o.payload);
  auto conflicting = [&](consensus::Kind kind) {
    consensus::Proposal p = v.proposal;
    p.payload = crypto::sha256(ByteView(p.payload));
    return consensus::sign_vote(node.key, kNs, kind, node.idx, p);
  };
  auto msg = [&](std::optional<uint32_t> to, const consensus::Vote& x) {
    out.push_back({to, consensus::Channel::kVote, consensus::encode_vote(x)});
  };
  if (node.behavior == Behavior::kConflicter) {
    msg(o.to, v);
    if (v.kind != consensus::Kind::kNullify) msg(o.to, conflicting(v.kind));
  } else if (v.kind == consensus::Kind::kNotarize && !o.to &&
             node.engine->leader(v.view()) == node.idx) {
    consensus::Vote b = conflicting(consensus::Kind::kNotarize);
    for (uint32_t j = 0; j < opts_.n; ++j) {
      if (j != node.idx) msg(j, j % 2 == 0 ? v : b);
    }
  } else {
    msg(o.to, v);
  }
  return out;
}

}  // namespace guts::runtime::sim
