// The permission + branch-protection check on the push path (issue 14 §8): effective_permission
// and ref_change_denial for one ref update, against a repository with 100 protection rules in an
// organization with 50 teams the pusher belongs to (every team granting the repository, and the
// applicable rule restricting pushes to the last team, so every lookup runs to the end). Reports
// the mean and the p50/p99 of single checks (counters p50_us, p99_us). docs/benchmarks.md.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <vector>

#include "state/executor.h"
#include "state/permission.h"
#include "state/protection.h"
#include "state/view.h"

using namespace guts;
using namespace guts::state;

namespace {

constexpr uint64_t kNow = 1795000000000;

struct Fixture {
  std::filesystem::path dir;
  std::unique_ptr<storage::Db> db;
  std::unique_ptr<Schema> schema;
  std::unique_ptr<DbReader> base;
  std::unique_ptr<Overlay> state;
  std::unique_ptr<Executor> ex;
  crypto::SigningKey owner = crypto::SigningKey::generate();
  crypto::SigningKey pusher = crypto::SigningKey::generate();
  std::map<crypto::PublicKey, uint64_t> nonces;
  uint64_t repo = 0;

  void ok(const crypto::SigningKey& k, TxBody body) {
    Transaction tx;
    tx.chain_id = "bench";
    tx.author = k.public_key();
    tx.nonce = ++nonces[k.public_key()];
    tx.timestamp_ms = kNow;
    tx.body = std::move(body);
    tx.sign(k);
    auto st = ex->apply(*state, tx);
    if (!st.ok()) throw std::runtime_error("setup: " + st.message());
  }
  Fixture(size_t rules, size_t teams) {
    dir = std::filesystem::temp_directory_path() /
          ("guts-protection-bench-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    db = storage::Db::open(dir, Schema::families());
    schema = std::make_unique<Schema>(*db);
    base = std::make_unique<DbReader>(*db);
    state = std::make_unique<Overlay>(*base);
    ex = std::make_unique<Executor>(*schema, BlockContext{"bench", 1, kNow});
    ok(owner, RegisterUser{"owner"});
    ok(pusher, RegisterUser{"pusher"});
    ok(owner, CreateOrg{"acme", "", ""});
    StateView v(*schema, *state);
    auto org = v.org_by_login("acme")->key;
    ok(owner, SetOrgMember{org, pusher.public_key(), kMemberAdd, kOrgMember});
    ok(owner, CreateOrgRepo{org, "app", "", false, "main"});
    repo = StateView(*schema, *state).repo_by_name(org, "app")->id;
    uint64_t last_team = 0;
    for (size_t i = 0; i < teams; ++i) {
      CreateTeam t;
      t.org = org;
      t.name = "team" + std::to_string(i);
      ok(owner, t);
      last_team = StateView(*schema, *state).team_by_slug(org, t.name)->id;
      ok(owner, SetTeamMember{last_team, pusher.public_key(), kTeamMember});
      ok(owner, SetTeamRepo{last_team, repo, 3});
    }
    ok(owner, UpdateRefs{repo, {{"refs/heads/main", {}, Bytes(20, 1)}}});
    for (size_t i = 0; i + 1 < rules; ++i) {
      ProtectionRule r;
      r.repo_id = repo;
      r.pattern = "release-" + std::to_string(i) + "/*";
      r.require_reviews = true;
      r.required_approving_review_count = 1;
      ok(owner, SetBranchProtection{r});
    }
    ProtectionRule r;
    r.repo_id = repo;
    r.pattern = "ma*";
    r.restrict_pushes = true;
    r.teams = {last_team};
    ok(owner, SetBranchProtection{r});
  }
  ~Fixture() {
    ex.reset();
    state.reset();
    base.reset();
    schema.reset();
    db.reset();
    std::filesystem::remove_all(dir);
  }
};

void BM_PushPermissionAndProtection(benchmark::State& st) {
  Fixture f(static_cast<size_t>(st.range(0)), static_cast<size_t>(st.range(1)));
  StateView view(*f.schema, *f.state);
  auto repo = *view.repo(f.repo);
  RefChange change{"refs/heads/main", Bytes(20, 1), Bytes(20, 2)};
  std::vector<double> us;
  for (auto _ : st) {
    auto t0 = std::chrono::steady_clock::now();
    auto level = effective_permission(view, repo, f.pusher.public_key());
    auto why = ref_change_denial(view, repo, f.pusher.public_key(), level, change);
    auto t1 = std::chrono::steady_clock::now();
    if (level < Permission::kWrite || why) st.SkipWithError("the push should be allowed");
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  std::sort(us.begin(), us.end());
  if (!us.empty()) {
    st.counters["p50_us"] = us[us.size() / 2];
    st.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  }
}
BENCHMARK(BM_PushPermissionAndProtection)
    ->Args({1, 1})
    ->Args({100, 50})
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
