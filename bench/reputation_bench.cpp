// Reputation's cost per block (docs/reputation.md, docs/benchmarks.md "Reputation"): a block of
// N pull request merges (each with 2 approving reviews) and N issues closed as completed,
// executed whole (BM_MergeCloseBlock), and the reputation hooks alone on the same events
// (BM_ReputationHooks). Their ratio is reputation's share of executing such a block.
#include <benchmark/benchmark.h>

#include <filesystem>

#include "state/chain.h"
#include "state/executor.h"
#include "state/reputation.h"
#include "state/view.h"

using namespace guts;
using namespace guts::state;

namespace {

constexpr uint64_t kNow = 1795000000000;

Bytes oid(uint64_t i, uint8_t tag) {
  Bytes b(20, tag);
  for (int k = 0; k < 8; ++k) b[k] = static_cast<uint8_t>(i >> (8 * k));
  return b;
}

// A database whose state (in `setup`) has N open pull requests with 2 approvals each and N open
// issues, authored by 50 users and reviewed by 20 others, in alice's repository.
struct Fixture {
  std::filesystem::path dir;
  std::unique_ptr<storage::Db> db;
  std::unique_ptr<Schema> schema;
  std::unique_ptr<DbReader> reader;
  std::unique_ptr<Overlay> setup;
  crypto::SigningKey alice = crypto::SigningKey::generate();
  std::vector<crypto::SigningKey> users;
  uint64_t repo = 0;
  size_t n = 0;
  std::vector<PendingTx> block;  // N merges then N closes, by alice
  std::vector<Issue> merged, closed;

  Status apply(const crypto::SigningKey& k, TxBody body) {
    Executor ex(*schema, {"bench", 1, kNow});
    StateView view(*schema, *setup);
    Transaction tx;
    tx.chain_id = "bench";
    tx.author = k.public_key();
    tx.nonce = view.nonce(tx.author, tx.author) + 1;
    tx.timestamp_ms = kNow;
    tx.body = std::move(body);
    tx.signer = tx.author;  // not signed: the executor is told the signature was checked
    ApplyOptions o;
    o.signature_verified = true;
    return ex.apply(*setup, tx, o);
  }
  void must(const crypto::SigningKey& k, TxBody body) {
    Status st = apply(k, std::move(body));
    if (!st.ok()) throw Error(st.code(), st.message());
  }

  explicit Fixture(size_t count) : n(count) {
    dir = std::filesystem::temp_directory_path() /
          ("guts-reputation-bench-" + std::to_string(::getpid()) + "-" + std::to_string(count));
    std::filesystem::remove_all(dir);
    db = storage::Db::open(dir, Schema::families());
    schema = std::make_unique<Schema>(*db);
    reader = std::make_unique<DbReader>(*db);
    setup = std::make_unique<Overlay>(*reader);
    must(alice, RegisterUser{"alice"});
    for (int i = 0; i < 70; ++i) {
      users.push_back(crypto::SigningKey::generate());
      must(users.back(), RegisterUser{"u" + std::to_string(i)});
    }
    must(alice, CreateRepo{"proj", "", false, "main"});
    repo = StateView(*schema, *setup).repo_by_name(alice.public_key(), "proj")->id;
    must(alice, UpdateRefs{repo, {{"refs/heads/main", {}, oid(0, 1)}}});
    for (size_t i = 0; i < n; ++i) {
      const auto& author = users[i % 50];
      std::string branch = "b" + std::to_string(i);
      must(alice, UpdateRefs{repo, {{"refs/heads/" + branch, {}, oid(i, 2)}}});
      must(author, OpenPullRequest{repo, "PR", "", repo, branch, "main", oid(i, 2), false});
      uint64_t num = StateView(*schema, *setup).last_issue_number(repo);
      must(users[50 + i % 20], SubmitReview{repo, num, kReviewApprove, "", {}, {}});
      must(users[50 + (i + 1) % 20], SubmitReview{repo, num, kReviewApprove, "", {}, {}});
      must(author, CreateIssue{repo, "Bug", "", {}, {}, 0});
    }
    // The block: alice merges every pull request and closes every issue.
    StateView view(*schema, *setup);
    uint64_t nonce = view.nonce(alice.public_key(), alice.public_key());
    Bytes base = oid(0, 1);
    auto tx = [&](TxBody body) {
      Transaction t;
      t.chain_id = "bench";
      t.author = t.signer = alice.public_key();
      t.nonce = ++nonce;
      t.timestamp_ms = kNow;
      t.body = std::move(body);
      block.push_back({t, true});
    };
    for (size_t i = 0; i < n; ++i) {
      uint64_t pr = 2 * i + 1, issue = 2 * i + 2;
      tx(MergePullRequest{repo, pr, kMergeCommit, oid(i, 2), base, oid(i, 3)});
      base = oid(i, 3);
      merged.push_back(*view.issue(repo, pr));
      Issue x = *view.issue(repo, issue);
      x.state = kIssueClosed;
      x.state_reason = kReasonCompleted;
      closed.push_back(x);
    }
    for (size_t i = 0; i < n; ++i) {
      EditIssue e;
      e.repo_id = repo;
      e.number = 2 * i + 2;
      e.state = kIssueClosed;
      tx(e);
    }
  }
  ~Fixture() {
    setup.reset();
    db.reset();
    std::filesystem::remove_all(dir);
  }
};

void BM_MergeCloseBlock(benchmark::State& st) {
  Fixture f(static_cast<size_t>(st.range(0)));
  Executor ex(*f.schema, {"bench", 2, kNow + 1000});
  for (auto _ : st) {
    Overlay block(static_cast<const KvReader&>(*f.setup));
    for (const auto& p : f.block) {
      ApplyOptions o;
      o.signature_verified = true;
      Status s = ex.apply(block, p.tx, o);
      if (!s.ok()) {
        st.SkipWithError(s.message().c_str());
        return;
      }
    }
    benchmark::DoNotOptimize(block.size());
  }
  st.SetItemsProcessed(st.iterations() * static_cast<int64_t>(f.block.size()));
}
BENCHMARK(BM_MergeCloseBlock)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);

void BM_ReputationHooks(benchmark::State& st) {
  Fixture f(static_cast<size_t>(st.range(0)));
  for (auto _ : st) {
    Overlay block(static_cast<const KvReader&>(*f.setup));
    for (const auto& pr : f.merged)
      reputation::on_merge(*f.schema, block, pr, f.alice.public_key());
    for (const auto& x : f.closed)
      reputation::on_issue_state(*f.schema, block, x, kIssueOpen, f.alice.public_key());
    benchmark::DoNotOptimize(block.size());
  }
  st.SetItemsProcessed(st.iterations() * static_cast<int64_t>(2 * f.n));
}
BENCHMARK(BM_ReputationHooks)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);

// The door's token bucket, per submission (one lookup and update).
void BM_DoorLimiterTake(benchmark::State& st) {
  reputation::DoorLimiter lim({10, 1000000, 1000000});
  std::vector<crypto::PublicKey> keys;
  for (int i = 0; i < 1000; ++i) keys.push_back(crypto::SigningKey::generate().public_key());
  auto t = std::chrono::steady_clock::time_point{};
  size_t i = 0;
  for (auto _ : st) {
    t += std::chrono::microseconds(1);
    benchmark::DoNotOptimize(lim.take(keys[i++ % keys.size()], t));
  }
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_DoorLimiterTake);

}  // namespace

BENCHMARK_MAIN();
