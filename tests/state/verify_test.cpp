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
  EXPECT_TRUE(has(check(b), "does not give the proven leaf value")) << check(b);
  // A ref hidden, or one added (the leaf commits to the refs' tree and their count).
  for (bool hide : {true, false}) {
    b = good;
    st = decode_repo_state(*b.state);
    if (hide)
      st.refs.pop_back();
    else
      st.refs.emplace_back("refs/tags/v2", Bytes(20, 0x33));
    b.state = encode_repo_state(st);
    EXPECT_TRUE(has(check(b), "does not give the proven leaf value")) << hide << check(b);
  }
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

// ---- validator set changes: following the chain of hand-overs ----

namespace {

struct EpochFixture {
  TempDb tmp{"verify-epochs"};
  test_support::Validators old_set{4, "guts/" + test_genesis().chain_id};
  test_support::Validators new_set{4, "guts/" + test_genesis().chain_id, 50};
  Genesis genesis = [this] {
    Genesis g = test_genesis();
    g.validators.clear();
    for (const auto& k : old_set.pks) g.validators.push_back({k, "127.0.0.1:1"});
    g.accounts = {{key(1).public_key(), "alice", {"hello"}}};
    g.governance = GenesisGovernance{"netgov", {"alice"}, 2};
    return g;
  }();
  Chain chain{*tmp.db, genesis};
  uint64_t alice_nonce = 3;  // registration, repository, organization
  static constexpr uint64_t kActivation = 6;

  void block(const crypto::SigningKey& k, uint64_t nonce, TxBody body) {
    uint64_t ts = chain.head().timestamp_ms + 1;
    auto r = chain.build(chain.head().id, {{own_tx(k, nonce, std::move(body), ts), false}},
                         chain.head().height + 1, ts, old_set.pks[0]);
    ASSERT_TRUE(r.rejected.empty()) << r.rejected.front().second.message();
    chain.commit(r.block);
  }
  EpochFixture() {
    std::vector<Validator> next;
    for (const auto& k : new_set.pks) next.push_back({k, "127.0.0.1:2"});
    block(key(1), ++alice_nonce, SetValidatorSet{kActivation, next});  // height 1
    for (uint8_t i = 0; chain.head().height < kActivation + 1; ++i)
      block(key(100 + i), 1, RegisterUser{"user" + std::to_string(i)});
  }
  Bytes certificate(const test_support::Validators& set, uint64_t epoch, uint64_t height) const {
    auto b = chain.block_at(height);
    consensus::Proposal p{consensus::Round{epoch, b->header.view}, b->header.view - 1, b->id()};
    return consensus::encode_certificate(set.cert(consensus::Kind::kFinalize, p, {0, 1, 2}));
  }
  // The link proving epoch 1 from the block at `height` (the honest one: kActivation - 1).
  verify::EpochLink link(uint64_t height, const Bytes& cert) const {
    auto p = prove_key_at(*tmp.db, chain.schema(), height, validator_tree_key(height + 1));
    verify::EpochLink l;
    l.epoch = 1;
    l.header = chain.block_at(height)->header.encode();
    l.certificate = cert;
    l.history = p->history;
    l.repos_root = p->repos_root;
    l.proof = p->proof.encode();
    if (p->state) l.change = *p->state;
    return l;
  }
  verify::TrustAnchor anchor() const { return {genesis.chain_id, old_set.pks, {}}; }
};

}  // namespace

TEST(Verify, FollowsTheValidatorSetChainAndRejectsForgedLinks) {
  EpochFixture f;
  const uint64_t end = EpochFixture::kActivation - 1;
  auto honest = f.link(end, f.certificate(f.old_set, 0, end));
  // A proof of a height in epoch 1, certified by the new set.
  auto p = prove_repo_at(*f.tmp.db, f.chain.schema(), end + 1, "alice", "hello");
  ASSERT_TRUE(p);
  verify::RepoProofBundle b;
  b.header = f.chain.block_at(end + 1)->header.encode();
  b.certificate = f.certificate(f.new_set, 1, end + 1);
  b.history = p->history;
  b.repos_root = p->repos_root;
  b.proof = p->proof.encode();
  b.state = p->state;
  EXPECT_EQ(verify::certificate_epoch(b.certificate), 1u);

  // Without following the chain the genesis set cannot judge it.
  auto unknown = rejection([&] { verify::verify_repo_proof(f.anchor(), b, "alice", "hello"); });
  EXPECT_NE(unknown.find("epoch 1, which this client has not followed"), std::string::npos)
      << unknown;
  // Following the honest chain learns epoch 1's set; then the proof verifies.
  auto a = f.anchor();
  verify::follow_epochs(a, {honest});
  ASSERT_EQ(a.later_epochs.size(), 1u);
  EXPECT_EQ(a.later_epochs[0], f.new_set.pks);
  auto got = verify::verify_repo_proof(a, b, "alice", "hello");
  ASSERT_TRUE(got.repo);
  EXPECT_EQ(got.height, end + 1);

  auto follow = [&](verify::EpochLink l) {
    return rejection([&] {
      auto fresh = f.anchor();
      verify::follow_epochs(fresh, {l});
    });
  };
  // The hand-over certified by the new set (which the client cannot trust yet).
  auto l1 = honest;
  l1.certificate = f.certificate(f.new_set, 0, end);
  EXPECT_NE(follow(l1).find("does not verify"), std::string::npos) << follow(l1);
  // A certificate claiming another epoch.
  auto l2 = honest;
  l2.certificate = f.certificate(f.old_set, 1, end);
  EXPECT_NE(follow(l2).find("another epoch's set"), std::string::npos) << follow(l2);
  // A tampered change (another set), the proof unchanged.
  auto l3 = honest;
  auto change = decode_validator_change(to_string(l3.change));
  change.validators[0].key = key(7).public_key();
  auto enc = encode_validator_change(change);
  l3.change = Bytes(enc.begin(), enc.end());
  EXPECT_NE(follow(l3).find("does not hash to the proven leaf"), std::string::npos) << follow(l3);
  // A block that does not end the epoch: its tree schedules nothing at the next height.
  auto l4 = f.link(end - 1, f.certificate(f.old_set, 0, end - 1));
  EXPECT_NE(follow(l4).find("schedules no validator set"), std::string::npos) << follow(l4);
  // A link that skips an epoch.
  auto l5 = honest;
  l5.epoch = 2;
  EXPECT_NE(follow(l5).find("skips"), std::string::npos) << follow(l5);
  // The repository proof certified by the old set after the boundary: the wrong set.
  auto forged = b;
  forged.certificate = f.certificate(f.old_set, 1, end + 1);
  EXPECT_NE(rejection([&] {
              verify::verify_repo_proof(a, forged, "alice", "hello");
            }).find("does not verify against the validators of epoch 1"),
            std::string::npos);
}

TEST(Verify, ParsesTheValidatorChainJson) {
  EpochFixture f;
  const uint64_t end = EpochFixture::kActivation - 1;
  auto l = f.link(end, f.certificate(f.old_set, 0, end));
  nlohmann::json j{{"chain_id", f.genesis.chain_id},
                   {"epochs",
                    {{{"epoch", 1},
                      {"header", hex_encode(l.header)},
                      {"certificate", hex_encode(l.certificate)},
                      {"history", hex_encode(l.history)},
                      {"repos_root", hex_encode(l.repos_root)},
                      {"proof", hex_encode(l.proof)},
                      {"change", hex_encode(l.change)}}}}};
  auto links = verify::epoch_links_from_json(j.dump());
  ASSERT_EQ(links.size(), 1u);
  auto a = f.anchor();
  verify::follow_epochs(a, links);
  EXPECT_EQ(a.later_epochs.size(), 1u);
  j["epochs"][0]["proof"] = "zz";
  EXPECT_THROW(verify::epoch_links_from_json(j.dump()), Error);
  EXPECT_THROW(verify::epoch_links_from_json("[]"), Error);
}
