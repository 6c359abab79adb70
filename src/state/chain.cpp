#include "state/chain.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <cassert>

#include "codec/codec.h"
#include "crypto/hash.h"
#include "state/smt.h"
#include "state/validator_set.h"

namespace guts::state {

namespace {
constexpr std::string_view kHeight = "height";
constexpr std::string_view kHeadId = "head_id";
constexpr std::string_view kStateRoot = "state_root";
constexpr std::string_view kHeadTime = "head_time";
constexpr std::string_view kGenesisId = "genesis_id";

std::string str(const Digest& d) {
  return {d.begin(), d.end()};
}
Digest digest_of(std::string_view s) {
  Digest d{};
  if (s.size() == d.size()) std::copy(s.begin(), s.end(), d.begin());
  return d;
}
std::string tx_location_value(uint64_t height, uint32_t index) {
  codec::Writer w;
  w.u64be(height).u32be(index);
  return {w.data().begin(), w.data().end()};
}
}  // namespace

namespace {
std::atomic<size_t> g_executions_in_memory{0};
}  // namespace

struct Chain::Executed {
  Executed() { g_executions_in_memory.fetch_add(1, std::memory_order_relaxed); }
  ~Executed() { g_executions_in_memory.fetch_sub(1, std::memory_order_relaxed); }
  Executed(const Executed&) = delete;
  Executed& operator=(const Executed&) = delete;
  // Keeps the base overlays alive while the parent is not committed; reset by the parent's
  // commit, which rebases this block's overlays on the database (see Chain::commit).
  std::shared_ptr<Executed> parent;
  std::unique_ptr<Overlay> overlay;
  std::unique_ptr<SmtVersion> smt;  // the repository tree after this block (state/smt.h)
  RepoStates repo_states;           // the leaf states of the repositories this block touched
  Digest history{};                 // next_state_root() of this block
  Digest repos_root{};
  BlockHeader header;
  Digest id{};
};

namespace {
// meta "smt/r/" ‖ height → history[32] ‖ repos_root[32] ‖ header version u8 (state/smt.h).
std::string roots_value(const Digest& history, const Digest& repos_root, uint8_t version) {
  std::string v = str(history) + str(repos_root);
  v.push_back(char(version));
  return v;
}
}  // namespace

Chain::Chain(storage::Db& db, Genesis genesis)
    : db_(db), genesis_(std::move(genesis)), schema_(db), db_reader_(db) {
  auto stored = db_.get(schema_.meta, kGenesisId);
  if (!stored) {
    write_genesis();
  } else if (digest_of(*stored) != genesis_.id()) {
    throw Error(Code::kInvalidArgument,
                "this data directory belongs to another network (genesis id differs)");
  }
  head_.height = storage::read_be64(*db_.get(schema_.meta, kHeight));
  head_.id = digest_of(*db_.get(schema_.meta, kHeadId));
  head_.state_root = digest_of(*db_.get(schema_.meta, kStateRoot));
  head_.timestamp_ms = storage::read_be64(*db_.get(schema_.meta, kHeadTime));
  backfill_audit();
  open_tree();
}

namespace {
// Deletes every record under `prefix`, in batches of bounded size (one iterator: its snapshot
// does not see the deletions).
void delete_prefix(storage::Db& db, storage::Cf cf, std::string_view prefix) {
  auto it = db.iterate(cf);
  storage::Batch gone;
  for (it->seek(prefix); it->valid() && it->key().starts_with(prefix); it->next()) {
    gone.del(cf, it->key());
    if (gone.count() == 10000) {
      db.write(gone, /*sync=*/false);
      gone = storage::Batch();
    }
  }
  if (gone.count() > 0) db.write(gone, /*sync=*/false);
}
}  // namespace

void Chain::open_tree() {
  // A database from the storage before block records (one record per changed leaf) is
  // converted, keeping its history; one whose records cannot be read is built anew below.
  if (!db_.get(schema_.meta, kSmtFromKey) && db_.get(schema_.meta, "smt/leaves-from")) {
    spdlog::info("repository tree: converting its leaf records to block records");
    delete_prefix(db_, schema_.meta, kSmtBlockPrefix);  // what a crash midway left
    try {
      smt_convert_leaf_records(db_, schema_.meta, head_.height);
    } catch (const codec::DecodeError& e) {
      spdlog::warn("repository tree: its leaf records cannot be converted ({}); building it anew",
                   e.what());
    }
  }
  // What earlier storages left: inner nodes ("smt/n/", "smt/v/", "smt/from"), then one record
  // per changed leaf ("smt/l/", "smt/leaves-from"; converted above). Seeks, when there are none.
  for (std::string_view old : {"smt/n/", "smt/v/", "smt/from", "smt/l/", "smt/leaves-from"})
    delete_prefix(db_, schema_.meta, old);
  build_tree(/*rebuild=*/false);
  smt_tree_ = SmtTree::load(db_, schema_.meta, head_.height);
  // The block records must reach the head and give the root stored there. They do not after a
  // downgrade to a version without them and an upgrade again (the blocks between wrote none):
  // then the tree is built anew at the head.
  auto roots = db_.get(schema_.meta, smt_roots_key(head_.height));
  auto records_head = db_.get(schema_.meta, kSmtRecordsHeadKey);
  if (!records_head || records_head->size() != 8 ||
      storage::read_be64(*records_head) != head_.height || !roots || roots->size() != 65 ||
      std::string_view(*roots).substr(32, 32) !=
          str(smt_root(SmtTreeReader(*smt_tree_, head_.height)))) {
    spdlog::warn("repository tree: its block records do not give the root stored at height {}",
                 head_.height);
    build_tree(/*rebuild=*/true);
    smt_tree_ = SmtTree::load(db_, schema_.meta, head_.height);
  }
  repo_cache_ = std::make_unique<RepoStateCache>(head_.height);
}

// The repository tree is derived from the state: a new database, or one from before the tree,
// builds it once at its head; so does `rebuild`, dropping the block records (their history is
// not the chain's). A crash midway leaves no "smt/blocks-from" (or a wrong root): the next open
// redoes it, and drops what the crashed one left.
void Chain::build_tree(bool rebuild) {
  if (!rebuild && db_.get(schema_.meta, kSmtFromKey)) return;
  if (head_.height > 0) spdlog::info("repository tree: building it at height {}", head_.height);
  if (rebuild) {
    storage::Batch b;
    b.del(schema_.meta, kSmtFromKey);
    db_.write(b, /*sync=*/true);
  }
  delete_prefix(db_, schema_.meta, kSmtBlockPrefix);
  storage::Batch b;
  SmtEmptyReader empty;
  SmtVersion tree(empty, head_.height);
  uint8_t version = kHeaderV1;
  if (head_.height > 0) version = block_at(head_.height)->header.version;
  smt_build_all(tree, schema_, db_reader_, version);
  tree.write_to(b, schema_.meta, head_.height);
  b.put(schema_.meta, smt_roots_key(head_.height),
        roots_value(head_.state_root, smt_root(tree), version));
  b.put(schema_.meta, kSmtFromKey, storage::be64(head_.height));
  b.put(schema_.meta, kSmtRecordsHeadKey, storage::be64(head_.height));
  db_.write(b, /*sync=*/true);
}

uint8_t Chain::header_version_at(const Digest& block, uint64_t height) const {
  {
    std::lock_guard lock(mu_);
    auto it = executed_.find(block);
    if (it != executed_.end()) return it->second->header.version;
  }
  auto v = db_.get(schema_.meta, smt_roots_key(height));
  return v && v->size() == 65 ? uint8_t((*v)[64]) : kHeaderV1;
}

void Chain::backfill_audit() {
  if (db_.get(schema_.audit, AuditLog::kFromKey)) return;
  storage::Batch b;
  if (head_.height > 0) {
    spdlog::info("audit log: deriving the records of {} existing blocks (once)", head_.height);
    auto scratch = std::filesystem::temp_directory_path() /
                   ("guts-audit-backfill-" + hex_encode(crypto::random_array<8>()));
    try {
      auto fresh = storage::Db::open(scratch, Schema::families(), {.light = true});
      replay_into(db_, genesis_, *fresh);
      Schema fs(*fresh);
      fresh->scan_prefix(fs.audit, "", [&](std::string_view k, std::string_view v) {
        if (k != AuditLog::kFromKey) b.put(schema_.audit, k, v);
        return true;
      });
    } catch (...) {
      std::filesystem::remove_all(scratch);
      throw;
    }
    std::filesystem::remove_all(scratch);
  }
  b.put(schema_.audit, AuditLog::kFromKey, storage::be64(1));
  db_.write(b, /*sync=*/true);
}

Chain::~Chain() = default;

void Chain::write_genesis() {
  storage::Batch b;
  // Genesis accounts and their repositories: applied by the executor itself (as a RegisterUser
  // and CreateRepo each, self-signed nonces 1, 2, …, no signature), so they are exactly what
  // those transactions would have written. Invalid entries (a taken or malformed name) make
  // the genesis unusable: every node fails the same way.
  if (!genesis_.accounts.empty()) {
    Overlay scratch(db_reader_);
    Executor ex(schema_, {genesis_.chain_id, 0, genesis_.genesis_time_ms});
    ApplyOptions opts;
    opts.signature_verified = true;
    std::map<std::string, uint64_t> nonces;  // by username
    auto apply = [&](const GenesisAccount& a, TxBody body, const std::string& what) {
      Transaction tx;
      tx.chain_id = genesis_.chain_id;
      tx.author = tx.signer = a.key;
      tx.nonce = ++nonces[a.username];
      tx.timestamp_ms = genesis_.genesis_time_ms;
      tx.body = std::move(body);
      opts.expected_nonce = tx.nonce;
      Status st = ex.apply(scratch, tx, opts);
      if (!st.ok())
        throw Error(Code::kInvalidArgument,
                    "genesis account " + a.username + ": " + what + ": " + st.message());
    };
    for (const auto& a : genesis_.accounts) {
      apply(a, RegisterUser{a.username}, "username");
      for (const auto& r : a.repositories)
        apply(a, CreateRepo{r, "", false, "main"}, "repository " + r);
    }
    // The governing organization (state/validator_set.h): created by its first owner, the
    // others added as owners, and its key recorded as the network's governance.
    if (const auto& gov = genesis_.governance) {
      auto account = [&](const std::string& name) -> const GenesisAccount& {
        for (const auto& a : genesis_.accounts)
          if (a.username == name) return a;
        throw Error(Code::kInvalidArgument, "genesis: governance owner " + name + " is unknown");
      };
      const auto& first = account(gov->owners.front());
      apply(first, CreateOrg{gov->organization, "", ""}, "governing organization");
      auto org = StateView(schema_, scratch).account_by_username(gov->organization);
      if (!org) throw Error(Code::kInternal, "genesis: the governing organization was not created");
      for (size_t i = 1; i < gov->owners.size(); ++i)
        apply(first, SetOrgMember{org->key, account(gov->owners[i]).key, kMemberAdd, kOrgOwner},
              "governing organization owner " + gov->owners[i]);
      scratch.put(schema_.governance, kNetworkGovernanceKey,
                  encode_network_governance({org->key, gov->epoch_length}));
    }
    scratch.write_to(b);
  }
  b.put(schema_.meta, kGenesisId, str(genesis_.id()));
  b.put(schema_.meta, kHeight, storage::be64(0));
  b.put(schema_.meta, kHeadId, str(genesis_.id()));
  b.put(schema_.meta, kStateRoot, str(genesis_.initial_state_root()));
  b.put(schema_.meta, kHeadTime, storage::be64(genesis_.genesis_time_ms));
  b.put(schema_.audit, AuditLog::kFromKey, storage::be64(1));  // complete from the first block
  db_.write(b, true);
}

Head Chain::head() const {
  std::lock_guard lock(mu_);
  return head_;
}

Status Chain::check(const Transaction& tx, uint64_t expected_nonce, uint64_t now_ms,
                    bool signature_verified) const {
  Head h = head();
  Overlay scratch(db_reader_);
  Executor ex(schema_, {genesis_.chain_id, h.height + 1, std::max(now_ms, h.timestamp_ms)});
  ex.set_git_facts({facts_, /*unknown_refuses=*/false});
  ApplyOptions opts;
  opts.signature_verified = signature_verified;
  opts.expected_nonce = expected_nonce;
  return ex.apply(scratch, tx, opts);
}

std::shared_ptr<Chain::Executed> Chain::parent_execution(const Digest& parent,
                                                         Head* parent_head) const {
  std::lock_guard lock(mu_);
  if (parent == head_.id) {
    *parent_head = head_;
    return nullptr;
  }
  auto it = executed_.find(parent);
  if (it == executed_.end())
    throw Error(Code::kNotFound, "parent block " + hex_encode(parent) + " is not known");
  const auto& h = it->second->header;
  *parent_head = Head{h.height, it->second->id, h.state_root, h.timestamp_ms};
  return it->second;
}

std::shared_ptr<Chain::Executed> Chain::execute(const Digest& parent, const BlockHeader& header,
                                                const std::vector<PendingTx>& txs,
                                                BuildResult* build_out, Status* verify_out,
                                                bool consult_facts) {
  // Whatever this execution reads through its parent's overlays stays alive until it ends.
  std::shared_lock executing(executing_);
  Head ph;
  auto parent_exec = parent_execution(parent, &ph);
  // The uncommitted blocks below this one, nearest first, and the committed height below them:
  // where the repository states before this block are known without reading them.
  std::vector<std::shared_ptr<const Executed>> ancestors;
  uint64_t committed_below = ph.height;
  {
    std::lock_guard lock(mu_);  // commit resets parent pointers
    for (auto e = parent_exec; e; e = e->parent) {
      ancestors.push_back(e);
      committed_below = e->header.height - 1;
    }
  }
  auto exec = std::make_shared<Executed>();
  exec->parent = parent_exec;
  const KvReader& base = parent_exec ? static_cast<const KvReader&>(*parent_exec->overlay)
                                     : static_cast<const KvReader&>(db_reader_);
  exec->overlay = std::make_unique<Overlay>(base);
  exec->header = header;
  exec->header.parent = parent;
  exec->header.height = ph.height + 1;

  Executor ex(schema_, {genesis_.chain_id, exec->header.height, header.timestamp_ms});
  if (consult_facts) ex.set_git_facts({facts_, /*unknown_refuses=*/true});
  std::vector<Transaction> included;
  included.reserve(txs.size());
  size_t bytes = 0;
  for (const auto& p : txs) {
    ApplyOptions opts;
    opts.signature_verified = p.signature_verified;
    Status st = ex.apply(*exec->overlay, p.tx, opts);
    if (!st.ok()) {
      if (verify_out) {
        *verify_out =
            Status(st.code(), "transaction " + hex_encode(p.tx.id()) + ": " + st.message());
        return nullptr;
      }
      build_out->rejected.emplace_back(p.tx.id(), st);
      continue;
    }
    bytes += p.tx.encode().size();
    included.push_back(p.tx);
    if (included.size() >= kMaxBlockTxs || bytes >= kMaxBlockBytes - 4096) break;
  }
  exec->header.tx_count = included.size();
  exec->header.tx_root = tx_root_of(included);
  // The repository tree after the block (state/smt.h), layered like the state overlays.
  // Versions share nodes: this one holds its parent's root, not its parent.
  exec->smt = parent_exec ? std::make_unique<SmtVersion>(*parent_exec->smt, exec->header.height)
                          : std::make_unique<SmtVersion>(SmtTreeReader(*smt_tree_, ph.height),
                                                         exec->header.height);
  auto prior = [&](std::span<const uint64_t> ids) {
    // The blocks above the committed head first; what they did not touch from the cache.
    std::vector<RepoStateCache::Found> out(ids.size());
    std::vector<uint64_t> rest;
    std::vector<size_t> rest_at;
    for (size_t i = 0; i < ids.size(); ++i) {
      for (const auto& a : ancestors)
        if (const auto* state = find_repo_state(a->repo_states, ids[i])) {
          out[i] = *state;
          break;
        }
      if (!out[i]) {
        rest.push_back(ids[i]);
        rest_at.push_back(i);
      }
    }
    auto cached = repo_cache_->find(committed_below, rest);
    for (size_t j = 0; j < rest.size(); ++j) out[rest_at[j]] = std::move(cached[j]);
    return out;
  };
  smt_apply_block(*exec->smt, schema_, base, *exec->overlay, exec->header.version,
                  header_version_at(parent, ph.height), prior, &exec->repo_states);
  exec->repos_root = smt_root(*exec->smt);
  exec->history = next_state_root(ph.state_root, exec->header.height, exec->overlay->digest());
  exec->header.state_root = exec->header.version >= kHeaderV2
                                ? authenticated_state_root(exec->history, exec->repos_root)
                                : exec->history;
  exec->id = exec->header.id();
  if (build_out) build_out->block = Block{exec->header, std::move(included)};
  std::lock_guard lock(mu_);
  executed_[exec->id] = exec;
  return exec;
}

BuildResult Chain::build(const Digest& parent, std::vector<PendingTx> txs, uint64_t view,
                         uint64_t timestamp_ms, const crypto::PublicKey& proposer) {
  Head ph;
  parent_execution(parent, &ph);
  BlockHeader h;
  h.version = kHeaderV3;  // honest proposers commit to the repository tree and its refs' trees
  h.chain_id = genesis_.chain_id;
  h.view = view;
  h.timestamp_ms = std::max(timestamp_ms, ph.timestamp_ms);
  h.proposer = proposer;
  BuildResult out;
  execute(parent, h, txs, &out, nullptr);
  return out;
}

Status Chain::verify(const Block& block) {
  return verify(block, {});
}

Status Chain::verify(const Block& block,
                     const std::function<bool(const Digest&)>& signature_checked) {
  return verify_block(block, signature_checked, /*consult_facts=*/true);
}

Status Chain::verify_block(const Block& block,
                           const std::function<bool(const Digest&)>& signature_checked,
                           bool consult_facts) {
  const auto& h = block.header;
  if (h.chain_id != genesis_.chain_id)
    return {Code::kInvalidArgument, "block is for another chain"};
  if (h.tx_count != block.txs.size() || tx_root_of(block.txs) != h.tx_root)
    return {Code::kInvalidArgument, "block transactions do not match its header"};
  Head ph;
  try {
    parent_execution(h.parent, &ph);
  } catch (const Error& e) {
    return e.status();
  }
  if (h.height != ph.height + 1)
    return {Code::kInvalidArgument, "block height does not follow its parent"};
  if (h.timestamp_ms < ph.timestamp_ms)
    return {Code::kInvalidArgument, "block timestamp goes backwards"};
  if (uint8_t pv = header_version_at(h.parent, ph.height); h.version < pv)
    return {Code::kInvalidArgument, "a version-" + std::to_string(h.version) +
                                        " block cannot follow a version-" + std::to_string(pv) +
                                        " block"};
  std::vector<PendingTx> txs;
  txs.reserve(block.txs.size());
  for (const auto& tx : block.txs)
    txs.push_back({tx, signature_checked && signature_checked(tx.id())});
  Status st = Status::Ok();
  auto exec = execute(h.parent, h, txs, nullptr, &st, consult_facts);
  if (!st.ok()) return st;
  if (exec->id != block.id()) {
    std::lock_guard lock(mu_);
    executed_.erase(exec->id);
    return {Code::kInvalidArgument, "block state root does not match its execution"};
  }
  return Status::Ok();
}

void Chain::commit(const Block& block) {
  Digest id = block.id();
  std::shared_ptr<Executed> exec;
  {
    std::lock_guard lock(mu_);
    if (block.header.parent != head_.id)
      throw Error(Code::kInvalidArgument, "committed block does not extend the head");
    auto it = executed_.find(id);
    if (it != executed_.end()) exec = it->second;
  }
  if (!exec) {
    // A finalized block: valid for 2f+1 validators that checked its git facts; applying it
    // never depends on this node's objects.
    Status st = verify_block(block, {}, /*consult_facts=*/false);
    if (!st.ok()) throw Error(st.code(), "cannot commit block: " + st.message());
    std::lock_guard lock(mu_);
    exec = executed_.at(id);
  }
  storage::Batch batch;
  exec->overlay->write_to(batch);
  const auto& h = block.header;
  batch.put(schema_.blocks, storage::be64(h.height), to_string(block.encode()));
  for (size_t i = 0; i < block.txs.size(); ++i)
    batch.put(schema_.tx_index, str(block.txs[i].id()),
              tx_location_value(h.height, static_cast<uint32_t>(i)));
  // The audit records, in the same batch: durable exactly when the block is (state/audit.h).
  AuditLog::add_to_batch(batch, schema_.audit,
                         block_audit_records(block, StateView(schema_, db_reader_),
                                             StateView(schema_, *exec->overlay)));
  batch.put(schema_.meta, kHeight, storage::be64(h.height));
  batch.put(schema_.meta, kHeadId, str(id));
  batch.put(schema_.meta, kStateRoot, str(h.state_root));
  batch.put(schema_.meta, kHeadTime, storage::be64(h.timestamp_ms));
  // The repository tree's leaves changed at this height, in the same batch (kill -9 safe).
  exec->smt->write_to(batch, schema_.meta, h.height);
  batch.put(schema_.meta, kSmtRecordsHeadKey, storage::be64(h.height));
  batch.put(schema_.meta, smt_roots_key(h.height),
            roots_value(exec->history, exec->repos_root, h.version));
  db_.write(batch, /*sync=*/true);
  smt_tree_->advance(h.height, *exec->smt);
  repo_cache_->advance(h.height, exec->repo_states);

  {
    std::lock_guard lock(mu_);
    head_ = Head{h.height, id, h.state_root, h.timestamp_ms};
    // Executions at or below the new height can never be committed now.
    for (auto it = executed_.begin(); it != executed_.end();) {
      if (it->second->header.height <= h.height)
        it = executed_.erase(it);
      else
        ++it;
    }
    // This block's children read the database from now on, not this block's overlays, which
    // read their parent's, and so on: under load every block is built before its parent
    // commits, and the overlays chained back to the last idle moment (a read walked one map
    // per block since, and every overlay stayed in memory). The database holds exactly this
    // block's state until the next commit, which is a child (then that child's reads are its
    // own writes over the database again) or a sibling (then the children are orphans and
    // can never commit). (The repository tree needs no rebase: a version holds its nodes.)
    // Retired first: should anything below throw, no overlay is freed under a reader.
    retired_.push_back(exec);
    for (auto& [child_id, child] : executed_) {
      if (child->parent != exec) continue;
      child->overlay->rebase(db_reader_);
      child->parent.reset();
    }
  }
  // An execution running during the rebase may have read a base pointer before it: the
  // overlays retired are freed once no execution runs (executions that start later never
  // reach them). Never waits while holding mu_, which executions take.
  std::vector<std::shared_ptr<Executed>> to_free;
  {
    std::unique_lock idle(executing_, std::try_to_lock);
    bool full;
    {
      std::lock_guard lock(mu_);
      full = retired_.size() > 64;
    }
    if (!idle && full) idle.lock();  // bounded memory: wait for the running execution to end
    if (idle) {
      std::lock_guard lock(mu_);
      to_free.swap(retired_);
    }
  }
  for (const auto& listener : listeners_) listener(block);
}

size_t Chain::executions_in_memory() {
  return g_executions_in_memory.load(std::memory_order_relaxed);
}

void Chain::add_commit_listener(CommitListener listener) {
  listeners_.push_back(std::move(listener));
}

std::optional<Block> Chain::block_at(uint64_t height) const {
  auto v = db_.get(schema_.blocks, storage::be64(height));
  if (!v) return std::nullopt;
  return decode_block(as_bytes(*v));
}

std::optional<TxLocation> Chain::locate(const Digest& tx_id) const {
  auto v = db_.get(schema_.tx_index, str(tx_id));
  if (!v) return std::nullopt;
  codec::Reader r(as_bytes(*v));
  TxLocation loc;
  loc.height = r.u64be();
  loc.index = r.u32be();
  return loc;
}

Digest Chain::replay(storage::Db& source, const Genesis& genesis,
                     const std::filesystem::path& scratch_dir) {
  std::filesystem::remove_all(scratch_dir);
  auto fresh = storage::Db::open(scratch_dir, Schema::families());
  return replay_into(source, genesis, *fresh);
}

Digest Chain::replay_into(storage::Db& source, const Genesis& genesis, storage::Db& fresh) {
  Chain replayed(fresh, genesis);
  Schema src(source);
  auto stored_genesis = source.get(src.meta, kGenesisId);
  if (!stored_genesis || digest_of(*stored_genesis) != genesis.id())
    throw Error(Code::kInvalidArgument, "source database was not created from this genesis");
  uint64_t height = storage::read_be64(*source.get(src.meta, kHeight));
  for (uint64_t h = 1; h <= height; ++h) {
    auto raw = source.get(src.blocks, storage::be64(h));
    if (!raw) throw Error(Code::kInternal, "block " + std::to_string(h) + " is missing");
    Block block = decode_block(as_bytes(*raw));
    Status st = replayed.verify(block);  // checks signatures, validity and the state root
    if (!st.ok())
      throw Error(Code::kInternal,
                  "block " + std::to_string(h) + " does not replay: " + st.message());
    replayed.commit(block);
  }
  Digest root = replayed.head().state_root;
  if (root != digest_of(*source.get(src.meta, kStateRoot)))
    throw Error(Code::kInternal, "replayed state root differs from the recorded one");
  // The audit log is derived from the chain: the replay's records must be the stored ones.
  AuditLog stored(source, src.audit);
  if (stored.complete_from() == 1) {
    auto want = replayed.audit().chain_records();
    auto have = stored.chain_records();
    for (size_t i = 0; i < std::max(want.size(), have.size()); ++i) {
      if (i < want.size() && i < have.size() && want[i] == have[i]) continue;
      uint64_t at = i < want.size() ? want[i].height : have[i].height;
      throw Error(Code::kInternal,
                  "the audit log differs from the chain's at height " + std::to_string(at));
    }
  }
  return root;
}

}  // namespace guts::state
