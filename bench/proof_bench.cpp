// Proofs of a repository's refs (docs/verify.md, docs/protocol.md §4.4): a tree of 100,000
// repositories, one of them with 1,000 refs. Reports the proof's size and the repository
// state's size (counters), and times:
//   BM_ProveRepo             the node's side: walking the tree for one proof
//   BM_VerifyMerkle          the Merkle part alone: fold the proof, decode the state and compute
//                            its leaf value (header version 3: the refs' tree over its refs)
//   BM_VerifyWithCertificate all of verify_repo_proof: header, a 4-validator finalization
//                            certificate (3 Ed25519 signatures), the root halves, the proof
//   BM_UpdateOneRepo         maintaining the tree: one repository's leaf changed (per block,
//                            the cost is this times the repositories the block touched)
#include <benchmark/benchmark.h>

#include "consensus/types.h"
#include "crypto/hash.h"
#include "state/block.h"
#include "state/smt.h"
#include "tests/support/validators.h"
#include "verify/verify.h"

using namespace guts;
using namespace guts::state;

namespace {

struct World {
  SmtEmptyReader empty;
  SmtVersion tree{empty, 1};
  RepoState big;
  Bytes big_state;
  Digest big_key{};
  test_support::Validators validators{4, "guts/bench"};
  verify::RepoProofBundle bundle;

  World() {
    SmtVersion::Changes leaves;  // one batch (set one by one, the setup took seconds)
    for (int i = 0; i < 100000; ++i)
      leaves[repo_tree_key("user" + std::to_string(i % 5000), "repo" + std::to_string(i))] =
          crypto::sha256(std::to_string(i));
    tree.apply(leaves);
    big.id = 100001;
    big.owner_login = "alice";
    big.name = "big";
    big.default_branch = "main";
    for (int i = 0; i < 1000; ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "refs/heads/b%04d", i);
      big.refs.emplace_back(name, Bytes(20, uint8_t(i)));
    }
    big_state = encode_repo_state(big);
    big_key = repo_tree_key("alice", "big");
    tree.set(big_key, repo_leaf_value(big, kHeaderV3));
    Digest history = crypto::sha256("history");
    BlockHeader h;
    h.version = kHeaderV3;
    h.chain_id = "bench";
    h.height = 42;
    h.view = 50;
    h.state_root = authenticated_state_root(history, smt_root(tree));
    consensus::Proposal p{consensus::Round{0, 50}, 49, h.id()};
    bundle.header = h.encode();
    bundle.certificate =
        consensus::encode_certificate(validators.cert(consensus::Kind::kFinalize, p, {0, 1, 2}));
    bundle.history = history;
    bundle.repos_root = smt_root(tree);
    bundle.proof = smt_prove(tree, big_key).encode();
    bundle.state = big_state;
  }
};

World& world() {
  static World w;
  return w;
}

void BM_ProveRepo(benchmark::State& s) {
  auto& w = world();
  for (auto _ : s) benchmark::DoNotOptimize(smt_prove(w.tree, w.big_key).encode());
  s.counters["proof_bytes"] = double(w.bundle.proof.size());
  s.counters["siblings"] = double(smt_prove(w.tree, w.big_key).depth);
}

void BM_VerifyMerkle(benchmark::State& s) {
  auto& w = world();
  for (auto _ : s) {
    auto claim = smt_evaluate(decode_smt_proof(w.bundle.proof), w.big_key);
    if (claim.root != w.bundle.repos_root ||
        repo_leaf_value(decode_repo_state(w.big_state), kHeaderV3) != *claim.value)
      s.SkipWithError("proof does not verify");
  }
  s.counters["proof_bytes"] = double(w.bundle.proof.size());
  s.counters["state_bytes"] = double(w.big_state.size());
}

void BM_VerifyWithCertificate(benchmark::State& s) {
  auto& w = world();
  verify::TrustAnchor anchor{"bench", w.validators.pks};
  for (auto _ : s) benchmark::DoNotOptimize(verify_repo_proof(anchor, w.bundle, "alice", "big"));
  s.counters["total_bytes"] = double(w.bundle.header.size() + w.bundle.certificate.size() + 64 +
                                     w.bundle.proof.size() + w.big_state.size());
}

void BM_UpdateOneRepo(benchmark::State& s) {
  auto& w = world();
  uint64_t i = 0;
  for (auto _ : s) {
    SmtVersion block(w.tree, 2);  // one block's version
    block.set(repo_tree_key("user7", "repo7"), crypto::sha256(std::to_string(++i)));
    benchmark::DoNotOptimize(smt_root(block));
  }
}

}  // namespace

BENCHMARK(BM_ProveRepo);
BENCHMARK(BM_VerifyMerkle);
BENCHMARK(BM_VerifyWithCertificate);
BENCHMARK(BM_UpdateOneRepo);
BENCHMARK_MAIN();
