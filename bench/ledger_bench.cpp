// The ledger without HTTP: signature verification, block execution, and durable commit.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <filesystem>

#include "crypto/hash.h"
#include "state/chain.h"
#include "state/executor.h"
#include "state/smt.h"

using namespace guts;
using namespace guts::state;

namespace {

std::vector<PendingTx> make_txs(const std::string& chain, size_t n, uint64_t now) {
  std::vector<PendingTx> out;
  for (size_t i = 0; i < n; ++i) {
    auto key = crypto::SigningKey::generate();
    Transaction tx;
    tx.chain_id = chain;
    tx.author = key.public_key();
    tx.nonce = 1;
    tx.timestamp_ms = now;
    tx.body = RegisterUser{"u" + hex_encode(ByteView(key.public_key()).first(8))};
    tx.sign(key);
    out.push_back({tx, true});
  }
  return out;
}

void BM_VerifySignature(benchmark::State& st) {
  auto txs = make_txs("bench", 1, 1);
  for (auto _ : st) benchmark::DoNotOptimize(txs[0].tx.verify_signature());
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_VerifySignature);

// The repository tree's node hash (65 bytes): one at a time with OpenSSL (crypto::sha256), and
// in batches of 1,000 (crypto::sha256_65: two at a time with the CPU's SHA extensions).
void BM_TreeNodeHash(benchmark::State& st) {
  std::vector<crypto::Block65> in(1000);
  for (size_t i = 0; i < in.size(); ++i) in[i].fill(uint8_t(i));
  std::vector<Digest> out(in.size());
  for (auto _ : st) {
    if (st.range(0) == 0)
      for (size_t i = 0; i < in.size(); ++i) out[i] = crypto::sha256(ByteView(in[i]));
    else
      crypto::sha256_65(in, out);
    benchmark::DoNotOptimize(out.data());
  }
  st.SetItemsProcessed(int64_t(st.iterations()) * int64_t(in.size()));
  st.SetLabel(st.range(0) == 0
                  ? "one at a time"
                  : (crypto::sha256_65_uses_cpu_extensions() ? "batch, SHA extensions"
                                                             : "batch, no extensions"));
}
BENCHMARK(BM_TreeNodeHash)->Arg(0)->Arg(1);

void BM_BuildAndCommitBlock(benchmark::State& st) {
  auto dir =
      std::filesystem::temp_directory_path() / ("guts-ledger-bench-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto db = storage::Db::open(dir, Schema::families());
  Genesis g;
  g.chain_id = "bench";
  g.genesis_time_ms = 1;
  g.validators.push_back({crypto::SigningKey::generate().public_key(), ""});
  Chain chain(*db, g);
  const size_t n = static_cast<size_t>(st.range(0));
  for (auto _ : st) {
    st.PauseTiming();
    auto txs = make_txs("bench", n, 1000);
    st.ResumeTiming();
    auto head = chain.head();
    auto built = chain.build(head.id, std::move(txs), head.height + 1, 1000, g.validators[0].key);
    chain.commit(built.block);
  }
  st.SetItemsProcessed(st.iterations() * st.range(0));
  db.reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_BuildAndCommitBlock)->Arg(1)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);

// The authenticated repository tree's share of a block (issue 18 point 6, goal < 10 %): a chain
// whose genesis holds 10,000 repositories; each block pushes to N of them (one UpdateRefs each,
// a new main; the first block also gives each repository it pushes to refs - 1 tags, so that
// later pushes change one ref of many). Per block, the time of the tree's work exactly as
// Chain::execute and Chain::commit do it (smt_apply_block over the block's writes on the committed
// tree in memory, the root, advancing the committed tree) is measured on the same transactions
// applied to an overlay, beside the block's whole build and commit; and the cost of the tree's
// block record in a write. Measured once the committed trees hold as many heights as they may (each
// block then frees the oldest's nodes, as in a running node). Counters: tree_ms, block_ms,
// tree_write_ms, tree_share_pct, with_write_pct (docs/benchmarks.md).
void BM_TreeShareOfPushBlock(benchmark::State& st) {
  constexpr size_t kRepos = 10000;
  auto dir = std::filesystem::temp_directory_path() /
             ("guts-tree-share-bench-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto db = storage::Db::open(dir, Schema::families());
  // Where the tree's block record is written a second time, to time what it adds to the
  // block's batch (memtable and log; the block's one fsync and its write are shared).
  auto scratch = storage::Db::open(dir / "tree-records", Schema::families());
  auto alice = crypto::SigningKey::generate();
  Genesis g;
  g.chain_id = "bench";
  g.genesis_time_ms = 1;
  g.validators.push_back({crypto::SigningKey::generate().public_key(), ""});
  GenesisAccount a{alice.public_key(), "alice", {}};
  for (size_t i = 0; i < kRepos; ++i) a.repositories.push_back("r" + std::to_string(i));
  g.accounts.push_back(a);
  Chain chain(*db, g);
  const size_t n = static_cast<size_t>(st.range(0));
  // Refs of each pushed repository: main and (refs - 1) tags, created by the first block.
  const size_t refs = static_cast<size_t>(st.range(1));
  std::vector<Bytes> heads(n);
  uint64_t nonce = chain.view().nonce(alice.public_key(), alice.public_key()) + 1, round = 0;
  double tree_s = 0, write_s = 0, block_s = 0, first_tree_s = 0;
  std::vector<double> tree_each, block_each;  // per timed block: for the medians
  // The chain keeps the committed tree in memory and its repositories' leaf states from block
  // to block (SmtTree, RepoStateCache); the tree work timed here follows its own copies the
  // same way, and counts advancing the tree (holding the new version) as the commit does.
  auto t_load = std::chrono::steady_clock::now();
  auto committed_tree = SmtTree::load(*db, chain.schema().meta, chain.head().height);
  const double load_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();
  RepoStateCache states(chain.head().height);
  // One block: returns false (after SkipWithError) when it went wrong.
  auto block = [&](bool measure) {
    ++round;
    std::vector<PendingTx> txs;
    std::vector<Bytes> next(n);
    for (size_t i = 0; i < n; ++i) {
      Transaction tx;
      tx.chain_id = g.chain_id;
      tx.author = alice.public_key();
      tx.nonce = nonce++;
      tx.timestamp_ms = 1000;
      auto d = crypto::sha256(std::to_string(round) + "/" + std::to_string(i));
      next[i] = Bytes(d.begin(), d.begin() + 20);
      UpdateRefs push{i * (kRepos / n) + 1, {{"refs/heads/main", heads[i], next[i]}}, false};
      if (round == 1)
        for (size_t t = 1; t < refs; ++t) {
          std::string tag = "0000" + std::to_string(t);
          push.changes.push_back({"refs/tags/v" + tag.substr(tag.size() - 4), {}, next[i]});
        }
      tx.body = std::move(push);
      tx.sign(alice);
      txs.push_back({tx, true});
    }
    auto head = chain.head();
    // The tree's work on this block's writes.
    DbReader committed(*db);
    Overlay writes(committed);
    Executor ex(chain.schema(), BlockContext{g.chain_id, head.height + 1, 1000});
    for (const auto& p : txs)
      if (auto s = ex.apply(writes, p.tx, {true}); !s.ok()) {
        st.SkipWithError(("a push was refused: " + s.message()).c_str());
        return false;
      }
    auto t0 = std::chrono::steady_clock::now();
    SmtTreeReader base(*committed_tree, head.height);
    SmtVersion tree(base, head.height + 1);
    RepoStates touched;
    // The chain's blocks are of version 3; the genesis tree's leaves are of version 2's form.
    smt_apply_block(
        tree, chain.schema(), committed, writes, kHeaderV3, round == 1 ? kHeaderV1 : kHeaderV3,
        [&](std::span<const uint64_t> ids) { return states.find(head.height, ids); }, &touched);
    benchmark::DoNotOptimize(smt_root(tree));
    committed_tree->advance(head.height + 1, tree);
    // The leaf cache holds the block's leaves and lets the ones before go (their refs' trees'
    // nodes the new ones do not share are freed here).
    states.advance(head.height + 1, touched);
    auto t1 = std::chrono::steady_clock::now();
    // The record's share of the block's write: a write with it, less a write without it (both
    // carry a marker, as the block's batch carries its other records).
    storage::Batch records;
    records.put(scratch->cf("meta"), "marker", std::to_string(round));
    tree.write_to(records, scratch->cf("meta"), head.height + 1);
    scratch->write(records, /*sync=*/false);
    auto t1w = std::chrono::steady_clock::now();
    storage::Batch marker;
    marker.put(scratch->cf("meta"), "marker", std::to_string(round));
    scratch->write(marker, /*sync=*/false);
    const auto write_alone = std::chrono::steady_clock::now() - t1w;
    // The whole block: build (execute, tree, header) and commit (one fsynced batch).
    auto built = chain.build(head.id, std::move(txs), head.height + 1, 1000, g.validators[0].key);
    if (built.block.txs.size() != n) {
      st.SkipWithError("the block lost transactions");
      return false;
    }
    chain.commit(built.block);
    auto t2 = std::chrono::steady_clock::now();
    const double block_round = std::chrono::duration<double>(t2 - t1w - write_alone).count();
    heads = std::move(next);
    if (!measure) return true;
    // The first block after the chain opens finds the node caches cold (a running node pays
    // that once, at start: its own counter); the others measure the steady state.
    if (round == 1) {
      first_tree_s = std::chrono::duration<double>(t1 - t0).count();
    } else {
      tree_s += std::chrono::duration<double>(t1 - t0).count();
      write_s += std::chrono::duration<double>(t1w - t1 - write_alone).count();
      block_s += block_round;
      tree_each.push_back(std::chrono::duration<double>(t1 - t0).count());
      block_each.push_back(block_round);
    }
    return true;
  };
  if (!block(true)) return;
  // A running node holds as many past heights as its bounds allow (SmtTree): each block then
  // frees the nodes of the oldest, which a short run would never reach. Blocks until the tree
  // lets go of its first height, untimed (the chain's own tree follows the same blocks).
  size_t warm_up = 0;
  for (const uint64_t oldest = committed_tree->oldest(); committed_tree->oldest() == oldest;
       ++warm_up)
    if (!block(false)) return;
  for (auto _ : st)
    if (!block(true)) return;
  const double measured = double(std::max<int64_t>(1, int64_t(st.iterations())));
  st.counters["tree_ms"] = 1000 * tree_s / measured;
  st.counters["block_ms"] = 1000 * block_s / measured;
  st.counters["tree_write_ms"] = 1000 * write_s / measured;
  st.counters["tree_share_pct"] = block_s > 0 ? 100 * tree_s / block_s : 0;
  st.counters["with_write_pct"] = block_s > 0 ? 100 * (tree_s + write_s) / block_s : 0;
  // The medians: a block or a tree step that the machine interrupted (this VM's neighbours)
  // moves the means; comparing two builds, the medians move less.
  auto median = [](std::vector<double> v) {
    if (v.empty()) return 0.0;
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    return v[v.size() / 2];
  };
  const double tree_p50 = median(tree_each), block_p50 = median(block_each);
  st.counters["tree_p50_ms"] = 1000 * tree_p50;
  st.counters["block_p50_ms"] = 1000 * block_p50;
  st.counters["share_p50_pct"] = block_p50 > 0 ? 100 * tree_p50 / block_p50 : 0;
  st.counters["first_tree_ms"] = 1000 * first_tree_s;
  st.counters["warm_up_blocks"] = double(warm_up);
  // The tree in memory: loading it from the block records (as a node does at start) and what
  // its nodes and what the held heights below it keep alive.
  st.counters["tree_load_ms"] = 1000 * load_s;
  st.counters["tree_mib"] = double(committed_tree->bytes()) / (1 << 20);
  st.counters["undo_mib"] = double(committed_tree->undo_bytes()) / (1 << 20);
  scratch.reset();
  db.reset();
  std::filesystem::remove_all(dir);
}
// {pushes per block, refs of each pushed repository}
BENCHMARK(BM_TreeShareOfPushBlock)
    ->Args({10, 1})
    ->Args({100, 1})
    ->Args({1000, 1})
    ->Args({100, 100})
    ->Args({10, 1000})
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
