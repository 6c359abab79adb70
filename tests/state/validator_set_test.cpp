// Validator set changes (state/validator_set.h): kind 74's codec, the genesis governance, every
// validity rule on a real chain (heights matter: activations are epoch boundaries two epochs
// ahead), quorum decisions over it, and the schedule epochs are read from.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "codec/codec.h"
#include "core/time.h"
#include "crypto/did.h"
#include "state/chain.h"
#include "state/validator_set_state.h"
#include "tests/state/fixtures.h"

using namespace guts;
using namespace guts::state;
using namespace guts::state::testing;

namespace {

constexpr uint64_t kEpoch = 10;

Genesis governed_genesis() {
  Genesis g = test_genesis();
  g.validators = {{key(200).public_key(), "127.0.0.1:9000"}};
  g.accounts = {{key(1).public_key(), "alice", {}},
                {key(2).public_key(), "bob", {}},
                {key(3).public_key(), "carol", {}}};
  g.governance = GenesisGovernance{"netgov", {"alice", "bob"}, kEpoch};
  return g;
}

std::vector<Validator> set_of(std::initializer_list<uint8_t> keys) {
  std::vector<Validator> out;
  uint16_t port = 9100;
  for (uint8_t k : keys)
    out.push_back({key(k).public_key(), "127.0.0.1:" + std::to_string(port++)});
  return out;
}

// A chain that applies one transaction per block, so a test controls the height.
struct ChainEnv {
  TempDb tmp{"validator-set"};
  Chain chain;
  explicit ChainEnv(Genesis g = governed_genesis()) : chain(*tmp.db, std::move(g)) {}
  uint64_t nonce(const crypto::SigningKey& k) {
    return chain.view().nonce(k.public_key(), k.public_key()) + 1;
  }
  // Applies `body` signed by `k` in the next block; the status of the transaction.
  Status apply(const crypto::SigningKey& k, TxBody body) {
    uint64_t ts = chain.head().timestamp_ms + 1;
    auto tx = own_tx(k, nonce(k), std::move(body), ts);
    auto r = chain.build(chain.head().id, {{tx, false}}, chain.head().height + 1, ts,
                         key(200).public_key());
    chain.commit(r.block);
    return r.rejected.empty() ? Status::Ok() : r.rejected.front().second;
  }
  // Filler blocks up to `height`: each registers a new user.
  void advance_to(uint64_t height) {
    for (uint8_t i = 100; chain.head().height < height; ++i)
      ASSERT_TRUE(apply(key(i), RegisterUser{"filler" + std::to_string(i)}).ok());
  }
  StateView view() const { return chain.view(); }
};

}  // namespace

TEST(ValidatorSet, KindSeventyFourRoundTripsAndBoundsItsInput) {
  SetValidatorSet b{40, set_of({1, 2, 3})};
  EXPECT_EQ(static_cast<int>(kind_of(b)), 74);
  EXPECT_STREQ(tx_kind_name(TxKind::kSetValidatorSet), "set_validator_set");
  expect_roundtrip(b);
  auto back = std::get<SetValidatorSet>(decode_body(TxKind::kSetValidatorSet, encode_body(b)));
  EXPECT_EQ(back.activation_height, 40u);
  ASSERT_EQ(back.validators.size(), 3u);
  EXPECT_EQ(back.validators[1].key, key(2).public_key());
  EXPECT_EQ(back.validators[1].p2p_address, "127.0.0.1:9101");
  Bytes enc = encode_body(b);
  enc.push_back(0);
  EXPECT_THROW(decode_body(TxKind::kSetValidatorSet, enc), codec::DecodeError);
  // More validators than allowed: the decoder refuses before reading them.
  codec::Writer w;
  w.varint(10).varint(kMaxValidators + 1);
  EXPECT_THROW(decode_body(TxKind::kSetValidatorSet, w.data()), codec::DecodeError);
}

TEST(ValidatorSet, GenesisGovernanceCreatesTheOrganizationAndKeepsOldIdsStable) {
  // Without governance the encoding (and so the id) is what it always was.
  Genesis plain = test_genesis();
  Genesis same = plain;
  same.governance.reset();
  EXPECT_EQ(plain.id(), same.id());
  Genesis g = governed_genesis();
  Genesis no_gov = g;
  no_gov.governance.reset();
  EXPECT_NE(g.id(), no_gov.id());
  // JSON round trip.
  Genesis back = Genesis::from_json(g.to_json());
  EXPECT_EQ(back.id(), g.id());
  ASSERT_TRUE(back.governance);
  EXPECT_EQ(back.governance->organization, "netgov");
  EXPECT_EQ(back.governance->epoch_length, kEpoch);
  // Bad governance: an owner that is not a genesis account, an epoch too short.
  auto json = nlohmann::json::parse(g.to_json());
  json["governance"]["owners"] = {"mallory"};
  EXPECT_THROW(Genesis::from_json(json.dump()), Error);
  json = nlohmann::json::parse(g.to_json());
  json["governance"]["epoch_length"] = 1;
  EXPECT_THROW(Genesis::from_json(json.dump()), Error);

  ChainEnv env;
  auto view = env.view();
  auto gov = network_governance(view);
  ASSERT_TRUE(gov);
  EXPECT_EQ(gov->epoch_length, kEpoch);
  auto org = view.org_by_login("netgov");
  ASSERT_TRUE(org);
  EXPECT_EQ(org->key, gov->org);
  for (uint8_t k : {1, 2}) {
    auto m = view.org_membership(gov->org, key(k).public_key());
    ASSERT_TRUE(m);
    EXPECT_EQ(m->role, kOrgOwner);
    EXPECT_EQ(m->state, kMembershipActive);
  }
  EXPECT_FALSE(view.org_membership(gov->org, key(3).public_key()));
  // Epoch 0 is the genesis set; nothing else is scheduled.
  auto s = validator_schedule(view, env.chain.genesis());
  ASSERT_EQ(s.epochs().size(), 1u);
  EXPECT_EQ(s.at_height(1).number, 0u);
  EXPECT_EQ(s.at_height(1000000).validators[0].key, key(200).public_key());
  EXPECT_FALSE(s.last_height(0));
  EXPECT_EQ(s.epoch_length(), kEpoch);
}

TEST(ValidatorSet, EveryRuleRefusesWithoutEffect) {
  ChainEnv env;
  auto alice = key(1), carol = key(3);
  auto stored = [&] { return validator_changes(env.view()).size(); };
  // Not an owner of the governing organization.
  EXPECT_EQ(env.apply(carol, SetValidatorSet{30, set_of({200, 5})}).code(),
            Code::kPermissionDenied);
  // Not an epoch boundary.
  EXPECT_EQ(env.apply(alice, SetValidatorSet{35, set_of({200, 5})}).code(), Code::kInvalidArgument);
  // Too soon: this block is at height 3, so 3 + 2·10 = 23 is the earliest (30 on a boundary).
  auto soon = env.apply(alice, SetValidatorSet{20, set_of({200, 5})});
  EXPECT_EQ(soon.code(), Code::kInvalidArgument);
  EXPECT_NE(soon.message().find("two epochs"), std::string::npos) << soon.message();
  // The set's shape: empty, a key twice, an address without a port.
  EXPECT_EQ(env.apply(alice, SetValidatorSet{30, {}}).code(), Code::kInvalidArgument);
  auto twice = set_of({200, 5});
  twice[1].key = twice[0].key;
  EXPECT_EQ(env.apply(alice, SetValidatorSet{30, twice}).code(), Code::kInvalidArgument);
  auto no_port = set_of({200, 5});
  no_port[1].p2p_address = "validator.example.org";
  auto st = env.apply(alice, SetValidatorSet{30, no_port});
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("validators[1].p2p_address"), std::string::npos) << st.message();
  EXPECT_EQ(stored(), 0u);

  // A valid change: at height 9, activation 30 (>= 29).
  env.advance_to(8);
  ASSERT_TRUE(env.apply(alice, SetValidatorSet{30, set_of({200, 5, 6})}).ok());
  auto changes = validator_changes(env.view());
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].activation_height, 30u);
  EXPECT_EQ(changes[0].author, alice.public_key());
  EXPECT_EQ(changes[0].executed_height, 9u);
  // A second change at or before the scheduled one: refused; after it: accepted.
  EXPECT_EQ(env.apply(key(2), SetValidatorSet{30, set_of({5})}).code(), Code::kConflict);
  EXPECT_EQ(stored(), 1u);
  ASSERT_TRUE(env.apply(key(2), SetValidatorSet{40, set_of({5, 6})}).ok());

  auto s = validator_schedule(env.view(), env.chain.genesis());
  ASSERT_EQ(s.epochs().size(), 3u);
  EXPECT_EQ(s.at_height(29).number, 0u);
  EXPECT_EQ(s.at_height(30).number, 1u);
  EXPECT_EQ(s.at_height(39).number, 1u);
  EXPECT_EQ(s.at_height(40).number, 2u);
  EXPECT_EQ(s.last_height(0), 29u);
  EXPECT_EQ(s.last_height(1), 39u);
  EXPECT_FALSE(s.last_height(2));
  EXPECT_EQ(s.epoch(1)->validators.size(), 3u);
  EXPECT_EQ(s.epoch(2)->first_height, 40u);
}

TEST(ValidatorSet, AFixedNetworkRefusesChanges) {
  Genesis g = governed_genesis();
  g.governance.reset();
  ChainEnv env(g);
  auto st = env.apply(key(1), SetValidatorSet{30, set_of({200, 5})});
  EXPECT_EQ(st.code(), Code::kFailedPrecondition);
  EXPECT_NE(st.message().find("fixed"), std::string::npos) << st.message();
}

TEST(ValidatorSet, AQuorumPolicyRoutesTheChangeThroughAProposal) {
  ChainEnv env;
  auto alice = key(1), bob = key(2);
  auto gov = network_governance(env.view());
  ASSERT_TRUE(gov);
  QuorumScope scope{kQuorumOnOrg, 0, gov->org};
  ASSERT_TRUE(env.apply(alice, SetQuorumPolicy{scope, {{kActChangeValidators, 2}}}).ok());
  // The direct transaction is refused by the policy.
  auto direct = env.apply(alice, SetValidatorSet{30, set_of({200, 5})});
  EXPECT_FALSE(direct.ok());
  EXPECT_NE(direct.message().find("change_validator_set requires a proposal"), std::string::npos)
      << direct.message();
  // A proposal carries it; bob's approval (2 of 2 owners) executes it.
  CreateProposal p;
  p.scope = scope;
  p.title = "add validator 5";
  p.expires_ms = env.chain.head().timestamp_ms + 3600 * 1000;
  p.action_kind = static_cast<uint32_t>(TxKind::kSetValidatorSet);
  p.action_body = encode_body(SetValidatorSet{30, set_of({200, 5})});
  ASSERT_TRUE(env.apply(alice, p).ok());
  EXPECT_TRUE(validator_changes(env.view()).empty());
  auto id = all_proposals(env.view()).front().id;
  ASSERT_TRUE(env.apply(bob, VoteProposal{id, true}).ok());
  auto changes = validator_changes(env.view());
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].validators.size(), 2u);
  EXPECT_EQ(proposal(env.view(), id)->state, kProposalExecuted);
}
