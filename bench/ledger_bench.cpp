// The ledger without HTTP: signature verification, block execution, and durable commit.
#include <benchmark/benchmark.h>

#include <filesystem>

#include "state/chain.h"

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

}  // namespace

BENCHMARK_MAIN();
