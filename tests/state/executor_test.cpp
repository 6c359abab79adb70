#include "state/executor.h"

#include <gtest/gtest.h>

#include "state/view.h"
#include "tests/state/fixtures.h"

using namespace guts;
using namespace guts::state;
using namespace guts::state::testing;

namespace {
struct Env {
  TempDb tmp{"exec"};
  Schema schema{*tmp.db};
  DbReader base{*tmp.db};
  Overlay state{base};
  Executor ex{schema, {"test-chain", 1, kT0}};
  StateView view() { return StateView(schema, state); }
  Status apply(const Transaction& tx) { return ex.apply(state, tx); }
};
}  // namespace

TEST(Executor, RegisterUsernameUniqueCaseInsensitive) {
  Env env;
  auto alice = key(1), mallory = key(2);
  EXPECT_TRUE(env.apply(own_tx(alice, 1, RegisterUser{"Alice"})).ok());
  auto st = env.apply(own_tx(mallory, 1, RegisterUser{"alice"}));
  EXPECT_EQ(st.code(), Code::kAlreadyExists);
  EXPECT_NE(st.message().find("taken"), std::string::npos);
  EXPECT_EQ(env.apply(own_tx(alice, 2, RegisterUser{"second"})).code(), Code::kAlreadyExists);
  EXPECT_EQ(env.apply(own_tx(mallory, 1, RegisterUser{"bad name"})).code(), Code::kInvalidArgument);
  EXPECT_EQ(env.view().account_by_username("ALICE")->key, alice.public_key());
  EXPECT_EQ(env.view().account_by_username("alice")->id, 1u);
  // A rejected transaction consumes no nonce.
  EXPECT_TRUE(env.apply(own_tx(mallory, 1, RegisterUser{"mallory"})).ok());
  EXPECT_EQ(env.view().account_by_username("mallory")->id, 2u);
}

TEST(Executor, NonceSignatureChainAndTimestamp) {
  Env env;
  auto k = key(1);
  EXPECT_EQ(env.apply(own_tx(k, 2, RegisterUser{"alice"})).code(), Code::kInvalidArgument);  // gap
  auto tx = own_tx(k, 1, RegisterUser{"alice"});
  auto forged = tx;
  forged.signature[3] ^= 0x10;
  EXPECT_EQ(env.apply(forged).message(), "bad signature");
  auto other_chain = make_tx(k, k.public_key(), 1, RegisterUser{"alice"}, kT0, "other");
  EXPECT_EQ(env.apply(other_chain).code(), Code::kInvalidArgument);
  EXPECT_EQ(env.apply(own_tx(k, 1, RegisterUser{"alice"}, kT0 + kMaxTxFutureMs + 1)).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(env.apply(own_tx(k, 1, RegisterUser{"alice"}, kT0 - kMaxTxAgeMs - 1)).code(),
            Code::kInvalidArgument);
  EXPECT_TRUE(env.apply(tx).ok());
  EXPECT_EQ(env.apply(tx).code(), Code::kInvalidArgument);  // replay
  EXPECT_EQ(env.view().nonce(k.public_key(), k.public_key()), 1u);
}

TEST(Executor, DelegationScopesExpiryAndRevocation) {
  Env env;
  auto alice = key(1), node = key(9), stranger = key(3);
  ASSERT_TRUE(env.apply(own_tx(alice, 1, RegisterUser{"alice"})).ok());
  // Without a delegation a node cannot act for alice.
  auto create = make_tx(node, alice.public_key(), 1, CreateRepo{"r", "", false, "main"});
  EXPECT_EQ(env.apply(create).code(), Code::kPermissionDenied);
  // Only the author's own key may grant.
  EXPECT_EQ(env.apply(make_tx(node, alice.public_key(), 1,
                              GrantDelegation{node.public_key(), kScopeAll, kT0 + 10000}))
                .code(),
            Code::kPermissionDenied);
  ASSERT_TRUE(
      env.apply(own_tx(alice, 2, GrantDelegation{node.public_key(), kScopePush, kT0 + 10000}))
          .ok());
  EXPECT_EQ(env.apply(create).message(), "delegation does not cover create_repo");
  ASSERT_TRUE(
      env.apply(own_tx(alice, 3, GrantDelegation{node.public_key(), kScopeAll, kT0 + 10000})).ok());
  EXPECT_TRUE(env.apply(create).ok());
  // The node cannot register a username for alice.
  EXPECT_EQ(env.apply(make_tx(node, alice.public_key(), 2, RegisterUser{"x"})).code(),
            Code::kPermissionDenied);
  // Revocation ends it; stranger cannot revoke someone else's delegation (it names its own).
  EXPECT_EQ(env.apply(own_tx(stranger, 1, RevokeDelegation{node.public_key()})).code(),
            Code::kNotFound);
  ASSERT_TRUE(env.apply(own_tx(alice, 4, RevokeDelegation{node.public_key()})).ok());
  EXPECT_EQ(
      env.apply(make_tx(node, alice.public_key(), 2, CreateRepo{"r2", "", false, "main"})).code(),
      Code::kPermissionDenied);
  // Expired delegations are refused at the block's time.
  ASSERT_TRUE(
      env.apply(own_tx(alice, 5, GrantDelegation{node.public_key(), kScopeAll, kT0 + 10})).ok());
  Executor later(env.schema, {"test-chain", 2, kT0 + 20});
  EXPECT_EQ(later
                .apply(env.state,
                       make_tx(node, alice.public_key(), 2, CreateRepo{"r3", "", false, "main"}))
                .message(),
            "delegation has expired");
  EXPECT_EQ(
      env.apply(own_tx(alice, 6, GrantDelegation{alice.public_key(), kScopeAll, kT0 + 10})).code(),
      Code::kInvalidArgument);
}

TEST(Executor, RepositoryLifecycleAndPermissions) {
  Env env;
  auto alice = key(1), bob = key(2);
  ASSERT_TRUE(env.apply(own_tx(alice, 1, RegisterUser{"alice"})).ok());
  ASSERT_TRUE(env.apply(own_tx(bob, 1, RegisterUser{"bob"})).ok());
  EXPECT_EQ(env.apply(own_tx(key(3), 1, CreateRepo{"r", "", false, "main"})).code(),
            Code::kPermissionDenied);  // no username
  ASSERT_TRUE(env.apply(own_tx(alice, 2, CreateRepo{"Hello", "desc", true, "main"})).ok());
  EXPECT_EQ(env.apply(own_tx(alice, 3, CreateRepo{"hello", "", false, "main"})).code(),
            Code::kAlreadyExists);
  EXPECT_EQ(env.apply(own_tx(alice, 3, CreateRepo{"x.git", "", false, "main"})).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(env.apply(own_tx(alice, 3, CreateRepo{"x", "", false, "a..b"})).code(),
            Code::kInvalidArgument);
  auto repo = env.view().repo_by_name(alice.public_key(), "HELLO");
  ASSERT_TRUE(repo);
  EXPECT_EQ(repo->id, 1u);
  EXPECT_TRUE(repo->is_private);
  // Bob cannot see or touch alice's private repository: it looks absent.
  EXPECT_EQ(env.apply(own_tx(bob, 2, UpdateRepo{1, std::nullopt, std::string("pwned")})).code(),
            Code::kNotFound);
  EXPECT_EQ(env.view().permission(*repo, bob.public_key()), Permission::kNone);
  ASSERT_TRUE(
      env.apply(own_tx(alice, 3, UpdateRepo{1, std::string("world"), std::string("d2"), false}))
          .ok());
  repo = env.view().repo(1);
  EXPECT_EQ(repo->name, "world");
  EXPECT_FALSE(env.view().repo_by_name(alice.public_key(), "hello"));
  // Public now: bob can read but not write.
  EXPECT_EQ(env.view().permission(*repo, bob.public_key()), Permission::kRead);
  EXPECT_EQ(env.apply(own_tx(bob, 2, DeleteRepo{1})).code(), Code::kPermissionDenied);
  ASSERT_TRUE(
      env.apply(own_tx(alice, 4, UpdateRefs{1, {{"refs/heads/main", {}, Bytes(20, 1)}}})).ok());
  ASSERT_TRUE(env.apply(own_tx(alice, 5, DeleteRepo{1})).ok());
  EXPECT_FALSE(env.view().repo(1));
  EXPECT_TRUE(env.view().refs(1).empty());
  // Ids are never reused.
  ASSERT_TRUE(env.apply(own_tx(alice, 6, CreateRepo{"world", "", false, "main"})).ok());
  EXPECT_EQ(env.view().repo_by_name(alice.public_key(), "world")->id, 2u);
}

TEST(Executor, RefUpdatesAreAtomicCompareAndSwap) {
  Env env;
  auto alice = key(1);
  ASSERT_TRUE(env.apply(own_tx(alice, 1, RegisterUser{"alice"})).ok());
  ASSERT_TRUE(env.apply(own_tx(alice, 2, CreateRepo{"r", "", false, "main"})).ok());
  Bytes a(20, 0xa), b(20, 0xb), c(20, 0xc);
  ASSERT_TRUE(env.apply(own_tx(alice, 3, UpdateRefs{1, {{"refs/heads/main", {}, a}}})).ok());
  // One stale change fails the whole batch.
  auto st = env.apply(
      own_tx(alice, 4, UpdateRefs{1, {{"refs/heads/dev", {}, b}, {"refs/heads/main", c, b}}}));
  EXPECT_EQ(st.code(), Code::kConflict);
  EXPECT_NE(st.message().find("stale info"), std::string::npos);
  EXPECT_FALSE(env.view().ref(1, "refs/heads/dev"));
  EXPECT_EQ(*env.view().ref(1, "refs/heads/main"), a);
  EXPECT_EQ(env.apply(own_tx(alice, 4, UpdateRefs{1, {{"refs/heads/x..y", {}, b}}})).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(
      env.apply(own_tx(alice, 4, UpdateRefs{1, {{"refs/heads/m", {}, b}, {"refs/heads/m", {}, b}}}))
          .code(),
      Code::kInvalidArgument);
  ASSERT_TRUE(
      env.apply(own_tx(alice, 4,
                       UpdateRefs{1, {{"refs/heads/dev", {}, b}, {"refs/heads/main", a, c}}}))
          .ok());
  EXPECT_EQ(*env.view().ref(1, "refs/heads/main"), c);
  // Force pushes obey the repository setting.
  ASSERT_TRUE(env.apply(own_tx(alice, 5,
                               UpdateRepo{1, std::nullopt, std::nullopt, std::nullopt, std::nullopt,
                                          false}))
                  .ok());
  EXPECT_EQ(env.apply(own_tx(alice, 6, UpdateRefs{1, {{"refs/heads/main", c, a}}, true})).code(),
            Code::kPermissionDenied);
  ASSERT_TRUE(env.apply(own_tx(alice, 6, UpdateRefs{1, {{"refs/heads/dev", b, {}}}})).ok());
  EXPECT_EQ(env.view().refs(1).size(), 1u);
}
