// Light verification (verify/verify.h): a chain's proof of a repository checked against the
// validator set only, and every way a node could lie about it rejected with the step named.
#include "verify/verify.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "consensus/types.h"
#include "state/smt.h"
#include "tests/state/fixtures.h"
#include "tests/support/validators.h"

using namespace guts;
using namespace guts::state;
using namespace guts::state::testing;

namespace {

struct Fixture {
  TempDb tmp{"verify"};
  Genesis genesis = test_genesis();
  Chain chain{*tmp.db, genesis};
  test_support::Validators validators{4, "guts/" + test_genesis().chain_id};

  Fixture() {
    auto alice = key(1);
    auto proposer = key(200).public_key();
    std::vector<PendingTx> b1{{own_tx(alice, 1, RegisterUser{"alice"}), false},
                              {own_tx(alice, 2, CreateRepo{"hello", "", false, "main"}), false}};
    chain.commit(chain.build(chain.head().id, b1, 1, kT0, proposer).block);
    std::vector<PendingTx> b2{{own_tx(alice, 3,
                                      UpdateRefs{1,
                                                 {{"refs/heads/main", {}, Bytes(20, 0x11)},
                                                  {"refs/tags/v1", {}, Bytes(20, 0x22)}}}),
                               false}};
    chain.commit(chain.build(chain.head().id, b2, 2, kT0 + 10, proposer).block);
  }
  verify::TrustAnchor anchor() const { return {genesis.chain_id, validators.pks}; }
  Bytes certificate(const Digest& block, uint64_t view,
                    std::vector<uint32_t> signers = {0, 1, 2}) const {
    consensus::Proposal p{consensus::Round{0, view}, view - 1, block};
    return consensus::encode_certificate(validators.cert(consensus::Kind::kFinalize, p, signers));
  }
  verify::RepoProofBundle bundle(uint64_t height, std::string_view owner,
                                 std::string_view name) const {
    auto p = prove_repo_at(*tmp.db, chain.schema(), height, owner, name);
    auto block = chain.block_at(height);
    verify::RepoProofBundle b;
    b.header = block->header.encode();
    b.certificate = certificate(block->id(), block->header.view);
    b.history = p->history;
    b.repos_root = p->repos_root;
    b.proof = p->proof.encode();
    b.state = p->state;
    return b;
  }
};

std::string rejection(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.status().message();
  }
  return "accepted";
}

}  // namespace

TEST(Verify, AcceptsAnHonestProofOfInclusionAndOfAbsence) {
  Fixture f;
  auto got = verify::verify_repo_proof(f.anchor(), f.bundle(2, "alice", "hello"), "Alice", "hello");
  EXPECT_EQ(got.height, 2u);
  ASSERT_TRUE(got.repo);
  ASSERT_EQ(got.repo->refs.size(), 2u);
  EXPECT_EQ(got.repo->refs[0].first, "refs/heads/main");
  EXPECT_EQ(got.repo->refs[0].second, Bytes(20, 0x11));
  // Height 1: the repository existed without refs (an older, still finalized state).
  auto old = verify::verify_repo_proof(f.anchor(), f.bundle(1, "alice", "hello"), "alice", "hello");
  EXPECT_TRUE(old.repo && old.repo->refs.empty());
  auto absent = verify::verify_repo_proof(f.anchor(), f.bundle(2, "bob", "x"), "bob", "x");
  EXPECT_FALSE(absent.repo);
}

TEST(Verify, RejectsEveryForgery) {
  Fixture f;
  auto good = f.bundle(2, "alice", "hello");
  auto check = [&](const verify::RepoProofBundle& b, std::string_view owner = "alice",
                   std::string_view name = "hello") {
    return rejection([&] { verify::verify_repo_proof(f.anchor(), b, owner, name); });
  };
  auto has = [](const std::string& msg, std::string_view what) {
    return msg.find(what) != std::string::npos;
  };
  EXPECT_EQ(check(good), "accepted");
  // Forged refs: the state no longer hashes to the proven leaf.
  auto b = good;
  auto st = decode_repo_state(*b.state);
  st.refs[0].second = Bytes(20, 0x66);
  b.state = encode_repo_state(st);
  EXPECT_TRUE(has(check(b), "does not hash to the proven leaf")) << check(b);
  // A whole forged tree: its root is not the header's.
  b = good;
  b.repos_root[0] ^= 1;
  EXPECT_TRUE(has(check(b), "do not make the header's state root")) << check(b);
  // The proof of an older state (height 1: no refs yet) with today's refs.
  b = good;
  b.proof = f.bundle(1, "alice", "hello").proof;
  EXPECT_NE(check(b), "accepted");
  // Claiming absence of an existing repository.
  b = good;
  auto proof = decode_smt_proof(b.proof);
  proof.terminal.reset();
  b.proof = proof.encode();
  b.state.reset();
  EXPECT_TRUE(has(check(b), "does not lead to the block's repository root")) << check(b);
  // The proof of one repository presented for another name.
  EXPECT_NE(check(good, "alice", "other"), "accepted");
  // Certificates: too few signers, another validator set, another block.
  b = good;
  auto header = f.chain.block_at(2)->header;
  b.certificate = f.certificate(header.id(), header.view, {0, 1});
  EXPECT_TRUE(has(check(b), "does not verify against the genesis validators")) << check(b);
  test_support::Validators others(4, "guts/" + f.genesis.chain_id);
  for (size_t i = 0; i < others.keys.size(); ++i)
    others.keys[i] = test_support::fixed_key(uint8_t(50 + i)),
    others.pks[i] = others.keys[i].public_key();
  b.certificate = consensus::encode_certificate(others.cert(
      consensus::Kind::kFinalize,
      consensus::Proposal{consensus::Round{0, header.view}, header.view - 1, header.id()},
      {0, 1, 2}));
  EXPECT_TRUE(has(check(b), "does not verify against the genesis validators")) << check(b);
  b = good;
  b.certificate = f.certificate(f.chain.block_at(1)->id(), 1);
  EXPECT_TRUE(has(check(b), "finalizes block")) << check(b);
  // Another chain's anchor; malformed inputs.
  auto anchor = f.anchor();
  anchor.chain_id = "elsewhere";
  EXPECT_NE(rejection([&] { verify::verify_repo_proof(anchor, good, "alice", "hello"); }),
            "accepted");
  b = good;
  b.header.push_back(0);
  EXPECT_TRUE(has(check(b), "malformed block header")) << check(b);
  b = good;
  b.proof.resize(3);
  EXPECT_TRUE(has(check(b), "malformed Merkle proof")) << check(b);
  b = good;
  b.certificate.resize(10);
  EXPECT_NE(check(b), "accepted");
}

TEST(Verify, ParsesTheEndpointJson) {
  Fixture f;
  auto b = f.bundle(2, "alice", "hello");
  nlohmann::json j{
      {"header", hex_encode(b.header)},   {"certificate", hex_encode(b.certificate)},
      {"history", hex_encode(b.history)}, {"repos_root", hex_encode(b.repos_root)},
      {"proof", hex_encode(b.proof)},     {"repository", {{"state", hex_encode(*b.state)}}}};
  auto parsed = verify::bundle_from_json(j.dump());
  EXPECT_EQ(parsed.state, b.state);
  EXPECT_TRUE(verify::verify_repo_proof(f.anchor(), parsed, "alice", "hello").repo);
  j["history"] = "zz";
  EXPECT_THROW(verify::bundle_from_json(j.dump()), Error);
  EXPECT_THROW(verify::bundle_from_json("[1]"), Error);
  EXPECT_THROW(verify::bundle_from_json("{"), Error);
}
