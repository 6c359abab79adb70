// Notifications (api/notifications.h): mentions, who is notified of what (watchers, participants,
// the actor left out, ignoring, unsubscribing, private repositories), read marks, catching up.
#include "api/notifications.h"

#include <gtest/gtest.h>

#include "tests/state/fixtures.h"

using namespace guts;
using namespace guts::state;
using namespace guts::state::testing;

namespace {

std::vector<PendingTx> pending(std::vector<Transaction> txs) {
  std::vector<PendingTx> out;
  for (auto& t : txs) out.push_back({std::move(t), false});
  return out;
}

TEST(Mentions, FindsLoginsNotEmailsOrCode) {
  using V = std::vector<std::string>;
  EXPECT_EQ(api::mentioned_logins("hi @bob and @carol-x, @bob again"), (V{"bob", "carol-x"}));
  EXPECT_EQ(api::mentioned_logins("mail me@example.com or `@x` a/@b"), V{});
  EXPECT_EQ(api::mentioned_logins("@-no @no- @" + std::string(40, 'a')), V{});
  EXPECT_EQ(api::mentioned_logins("(@dave)"), V{"dave"});
  std::string many;
  for (int i = 0; i < 80; ++i) many += "@u" + std::to_string(i) + " ";
  EXPECT_EQ(api::mentioned_logins(many).size(), 50u);
}

struct Inbox : ::testing::Test {
  TempDb tmp{"notifications"};
  Chain chain{*tmp.db, test_genesis()};
  api::Notifications inbox{*tmp.db, chain.schema().local, chain};
  crypto::SigningKey alice = key(1), bob = key(2), carol = key(3), dave = key(4);
  std::map<crypto::PublicKey, uint64_t> nonces;
  Transaction as(const crypto::SigningKey& k, TxBody b) {
    return own_tx(k, ++nonces[k.public_key()], std::move(b));
  }
  void commit(std::vector<Transaction> txs) {
    uint64_t v = chain.head().height + 1;
    auto r = chain.build(chain.head().id, pending(std::move(txs)), v, kT0 + v * 1000,
                         key(200).public_key());
    ASSERT_TRUE(r.rejected.empty()) << r.rejected[0].second.message();
    chain.commit(r.block);
    inbox.on_block(r.block);
  }
  std::vector<api::Notification> unread(const crypto::SigningKey& k) {
    return inbox.list(k.public_key(), {});
  }
  void SetUp() override {
    commit({as(alice, RegisterUser{"alice"}), as(bob, RegisterUser{"bob"}),
            as(carol, RegisterUser{"carol"}), as(dave, RegisterUser{"dave"}),
            as(alice, CreateRepo{"r", "", false, "main"}),
            as(alice, CreateRepo{"p", "", true, "main"})});
  }
  void open_issue(uint64_t repo, const std::string& body) {
    CreateIssue i;
    i.repo_id = repo;
    i.title = "t";
    i.body = body;
    commit({as(alice, std::move(i))});
  }
};

TEST_F(Inbox, WatchersMentionsAndParticipants) {
  inbox.set_repo_subscription(bob.public_key(), 1, true, false, kT0);
  open_issue(1, "cc @carol");
  auto b = unread(bob);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].reason, "subscribed");
  EXPECT_EQ(b[0].number, 1u);
  EXPECT_EQ(b[0].repo_id, 1u);
  auto c = unread(carol);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].reason, "mention");
  EXPECT_TRUE(unread(alice).empty());  // her own action
  EXPECT_TRUE(unread(dave).empty());
  EXPECT_EQ(inbox.unread_count(carol.public_key()), 1u);

  // carol comments: alice (author) is notified, carol is not (her own action).
  commit({as(carol, CreateComment{1, 1, "ok"})});
  auto a = unread(alice);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].reason, "author");
  EXPECT_TRUE(inbox.mark_read(alice.public_key(), a[0].thread_id, kT0 + 99));
  EXPECT_TRUE(unread(alice).empty());
  api::NotificationQuery all;
  all.all = true;
  EXPECT_EQ(inbox.list(alice.public_key(), all).size(), 1u);
  EXPECT_EQ(inbox.list(alice.public_key(), all)[0].last_read_ms, kT0 + 99);

  // carol ignores the thread; bob unsubscribes from it and stops watching.
  inbox.set_thread_subscription(carol.public_key(), a[0].thread_id, true, kT0);
  inbox.mark_all_read(carol.public_key(), UINT64_MAX, kT0);
  inbox.delete_repo_subscription(bob.public_key(), 1);
  inbox.mark_all_read(bob.public_key(), UINT64_MAX, kT0);
  commit({as(alice, CreateComment{1, 1, "any news?"})});
  EXPECT_TRUE(unread(carol).empty());
  EXPECT_TRUE(unread(bob).empty());  // never participated, no longer watching
  // A mention subscribes bob.
  commit({as(alice, CreateComment{1, 1, "@bob?"})});
  ASSERT_EQ(unread(bob).size(), 1u);
  EXPECT_EQ(unread(bob)[0].reason, "mention");
  EXPECT_TRUE(inbox.thread_subscription(bob.public_key(), a[0].thread_id)->subscribed);
}

TEST_F(Inbox, PrivateRepositoryAndIgnoredRepository) {
  open_issue(2, "@dave secret");
  EXPECT_TRUE(unread(dave).empty());
  inbox.set_repo_subscription(dave.public_key(), 1, false, true, kT0);
  open_issue(1, "@dave public");
  EXPECT_TRUE(unread(dave).empty());
}

TEST_F(Inbox, CatchesUpFromItsCursorAfterARestart) {
  open_issue(1, "@carol one");
  uint64_t before = inbox.processed();
  // Blocks committed while the inbox was not listening (a crash between commit and listener).
  CreateIssue i;
  i.repo_id = 1;
  i.title = "two";
  i.body = "@carol two";
  uint64_t v = chain.head().height + 1;
  auto r = chain.build(chain.head().id, pending({as(alice, std::move(i))}), v, kT0 + v * 1000,
                       key(200).public_key());
  chain.commit(r.block);
  EXPECT_EQ(inbox.processed(), before);
  api::Notifications again(*tmp.db, chain.schema().local, chain);
  again.catch_up();
  EXPECT_EQ(again.processed(), chain.head().height);
  EXPECT_EQ(again.list(carol.public_key(), {}).size(), 2u);
  again.on_block(*chain.block_at(chain.head().height));  // already processed: no change
  EXPECT_EQ(again.list(carol.public_key(), {}).size(), 2u);
}

}  // namespace
