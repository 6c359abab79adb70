// Webhooks as replicated state (state/hooks.h): codec round trips and the validity rules.
#include "state/hooks.h"

#include <gtest/gtest.h>

#include "codec/codec.h"
#include "state/executor.h"
#include "state/org.h"
#include "tests/state/fixtures.h"

namespace guts::state {
namespace {

using testing::key;
using testing::kT0;
using testing::own_tx;

TEST(HookCodec, BodiesAndRecordRoundTrip) {
  CreateHook c;
  c.scope = kHookRepo;
  c.repo_id = 7;
  c.url = "https://example.com/hook";
  c.events = {"push", "issues"};
  c.node = key(3).public_key();
  c.sealed_secret = Bytes(60, 9);
  auto tx = own_tx(key(1), 1, c);
  auto back = decode_transaction(tx.encode());
  ASSERT_EQ(back.kind(), TxKind::kCreateHook);
  EXPECT_EQ(std::get<CreateHook>(back.body).events, c.events);
  EXPECT_EQ(std::get<CreateHook>(back.body).sealed_secret, c.sealed_secret);

  UpdateHook u;
  u.hook_id = 4;
  u.active = false;
  u.events = std::vector<std::string>{"*"};
  u.node = key(4).public_key();
  auto ub = decode_transaction(own_tx(key(1), 2, u).encode());
  ASSERT_EQ(ub.kind(), TxKind::kUpdateHook);
  EXPECT_EQ(std::get<UpdateHook>(ub.body).events, u.events);
  EXPECT_EQ(std::get<UpdateHook>(ub.body).node, u.node);
  EXPECT_FALSE(std::get<UpdateHook>(ub.body).url);
  EXPECT_EQ(decode_transaction(own_tx(key(1), 3, DeleteHook{9}).encode()).kind(),
            TxKind::kDeleteHook);
  EXPECT_STREQ(tx_kind_name(TxKind::kDeleteHook), "delete_hook");

  Hook h;
  h.id = 5;
  h.url = "http://x.example/";
  h.events = {"push"};
  h.created_height = 12;
  auto h2 = decode_hook(encode_hook(h));
  EXPECT_EQ(h2.id, 5u);
  EXPECT_EQ(h2.url, h.url);
  EXPECT_EQ(h2.created_height, 12u);
  EXPECT_THROW(decode_hook(encode_hook(h) + "x"), codec::DecodeError);
}

TEST(HookRules, UrlsAndEvents) {
  EXPECT_FALSE(hook_url_error("https://example.com/x"));
  EXPECT_FALSE(hook_url_error("http://127.0.0.1:8080/hook"));  // private: the API's/node's rule
  EXPECT_TRUE(hook_url_error("ftp://example.com"));
  EXPECT_TRUE(hook_url_error("http://"));
  EXPECT_TRUE(hook_url_error("http://user:pw@example.com/"));
  EXPECT_TRUE(hook_url_error("http://exa mple.com/"));
  EXPECT_TRUE(hook_url_error(""));
  EXPECT_FALSE(hook_events_error({"push", "issues", "*"}));
  EXPECT_TRUE(hook_events_error({"push", "bogus"}));
  Hook h;
  h.events = {"issues"};
  EXPECT_TRUE(h.wants("issues"));
  EXPECT_TRUE(h.wants("ping"));
  EXPECT_FALSE(h.wants("push"));
  h.events = {"*"};
  EXPECT_TRUE(h.wants("push"));
}

class HookExec : public ::testing::Test {
 protected:
  testing::TempDb tmp{"hooks"};
  Schema s{*tmp.db};
  DbReader base{*tmp.db};
  Overlay state{base};
  Executor ex{s, {"test-chain", 3, kT0}};
  crypto::SigningKey alice = key(1), bob = key(2);
  uint64_t nonce_a = 0, nonce_b = 0;

  Status as(const crypto::SigningKey& k, TxBody b) {
    uint64_t& n = k.public_key() == alice.public_key() ? nonce_a : nonce_b;
    auto st = ex.apply(state, own_tx(k, n + 1, std::move(b)));
    if (st.ok()) ++n;
    return st;
  }
  void SetUp() override {
    ASSERT_TRUE(as(alice, RegisterUser{"alice"}).ok());
    ASSERT_TRUE(as(bob, RegisterUser{"bob"}).ok());
    ASSERT_TRUE(as(alice, CreateRepo{"r", "", false, "main"}).ok());
  }
  CreateHook hook() {
    CreateHook c;
    c.repo_id = 1;
    c.url = "https://example.com/hook";
    c.node = key(9).public_key();
    return c;
  }
};

TEST_F(HookExec, CreateUpdateDeleteNeedAdmin) {
  EXPECT_EQ(as(bob, hook()).code(), Code::kPermissionDenied);  // bob can read, not administer
  auto bad = hook();
  bad.url = "gopher://x";
  EXPECT_EQ(as(alice, bad).code(), Code::kInvalidArgument);
  bad = hook();
  bad.events = {"nope"};
  EXPECT_EQ(as(alice, bad).code(), Code::kInvalidArgument);
  bad = hook();
  bad.repo_id = 99;
  EXPECT_EQ(as(alice, bad).code(), Code::kNotFound);

  ASSERT_TRUE(as(alice, hook()).ok());
  auto h = hooks::get(s, state, 1);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->events, std::vector<std::string>{"push"});  // GitHub's default
  EXPECT_EQ(h->created_height, 3u);
  EXPECT_EQ(h->node, key(9).public_key());
  EXPECT_EQ(hooks::of_repo(s, state, 1).size(), 1u);

  UpdateHook u;
  u.hook_id = 1;
  u.active = false;
  EXPECT_EQ(as(bob, u).code(), Code::kPermissionDenied);
  ASSERT_TRUE(as(alice, u).ok());
  EXPECT_FALSE(hooks::get(s, state, 1)->active);

  // A new delivering node for a hook with a secret needs the secret again.
  auto with_secret = hook();
  with_secret.sealed_secret = Bytes(60, 1);
  ASSERT_TRUE(as(alice, with_secret).ok());
  UpdateHook move;
  move.hook_id = 2;
  move.node = key(8).public_key();
  EXPECT_EQ(as(alice, move).code(), Code::kInvalidArgument);
  move.sealed_secret = Bytes(60, 2);
  ASSERT_TRUE(as(alice, move).ok());
  EXPECT_EQ(hooks::get(s, state, 2)->node, key(8).public_key());

  EXPECT_EQ(as(bob, DeleteHook{1}).code(), Code::kPermissionDenied);
  ASSERT_TRUE(as(alice, DeleteHook{1}).ok());
  EXPECT_FALSE(hooks::get(s, state, 1));
  EXPECT_EQ(as(alice, DeleteHook{1}).code(), Code::kNotFound);
  EXPECT_EQ(hooks::of_repo(s, state, 1).size(), 1u);
}

TEST_F(HookExec, OrganizationHooksNeedAnOwner) {
  ASSERT_TRUE(as(alice, CreateOrg{"acme", "", ""}).ok());
  auto org = StateView(s, state).account_by_username("acme");
  ASSERT_TRUE(org);
  CreateHook c = hook();
  c.scope = kHookOrg;
  c.repo_id = 0;
  c.org = org->key;
  EXPECT_EQ(as(bob, c).code(), Code::kPermissionDenied);
  ASSERT_TRUE(as(alice, c).ok());
  EXPECT_EQ(hooks::of_org(s, state, org->key).size(), 1u);
}

TEST_F(HookExec, AtMostTwentyPerRepository) {
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(as(alice, hook()).ok());
  EXPECT_EQ(as(alice, hook()).code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace guts::state
