// Webhook delivery (node/webhooks.h) with a fake clock and a fake receiver: the retry schedule,
// signatures, the persisted queue across a restart, exactly one delivery per event for the
// delivering node and none for the others.
#include <gtest/gtest.h>

#include "api/webhook_payloads.h"
#include "node/webhooks.h"
#include "state/chain.h"
#include "tests/state/fixtures.h"

namespace guts::node {
namespace {

using state::testing::key;
using state::testing::kT0;
using state::testing::own_tx;
using json = nlohmann::ordered_json;

TEST(WebhookBackoff, DoublesAndIsCapped) {
  EXPECT_EQ(webhook_backoff_ms(0, 1000), 0u);
  EXPECT_EQ(webhook_backoff_ms(1, 1000), 1000u);
  EXPECT_EQ(webhook_backoff_ms(2, 1000), 2000u);
  EXPECT_EQ(webhook_backoff_ms(3, 1000), 4000u);
  EXPECT_EQ(webhook_backoff_ms(4, 1000), 8000u);
  EXPECT_EQ(webhook_backoff_ms(40, 1000), kWebhookMaxBackoffMs);
}

TEST(WebhookBackoff, RecordAttemptRetriesThenGivesUp) {
  Delivery d;
  uint64_t now = 1000;
  for (uint32_t i = 1; i < kWebhookMaxAttempts; ++i) {
    record_attempt(d, {now, 500, 1, "", "boom"}, 100);
    EXPECT_EQ(d.state, kDeliveryPending);
    EXPECT_EQ(d.next_ms, now + webhook_backoff_ms(i, 100));
    now = d.next_ms;
  }
  record_attempt(d, {now, 0, 1, "connection refused", ""}, 100);
  EXPECT_EQ(d.state, kDeliveryFailed);
  Delivery ok;
  record_attempt(ok, {now, 204, 1, "", ""}, 100);
  EXPECT_EQ(ok.state, kDeliveryOk);
}

TEST(WebhookSignature, GitHubsExample) {
  // docs.github.com "Validating webhook deliveries".
  EXPECT_EQ(api::hook_signature_256("It's a Secret to Everybody", "Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
  EXPECT_EQ(api::form_body("{\"a\":1}"), "payload=%7B%22a%22%3A1%7D");
}

TEST(WebhookSecret, SealedToOneNode) {
  auto node = key(5), other = key(6);
  auto sealed = api::seal_hook_secret(node.public_key(), "s3cret");
  EXPECT_EQ(api::open_hook_secret(node, sealed).value_or(""), "s3cret");
  EXPECT_FALSE(api::open_hook_secret(other, sealed));
  EXPECT_FALSE(api::open_hook_secret(node, Bytes(10, 0)));
}

TEST(WebhookStore, DeliveriesAndCursorPersist) {
  state::testing::TempDb tmp("webhook-store");
  state::Schema s(*tmp.db);
  {
    DeliveryStore store(*tmp.db, s.local);
    EXPECT_FALSE(store.cursor());
    Delivery d;
    d.guid = "g1";
    d.hook_id = 3;
    d.event = "push";
    d.payload = "{}";
    auto added = store.add({d, d}, 7);
    ASSERT_EQ(added.size(), 2u);
    EXPECT_EQ(added[1].id, added[0].id + 1);
    added[0].state = kDeliveryOk;
    store.update(added[0]);
  }
  DeliveryStore again(*tmp.db, s.local);  // "after a restart"
  EXPECT_EQ(again.cursor().value_or(0), 7u);
  EXPECT_EQ(again.queued(), std::vector<uint64_t>{2});
  auto list = again.of_hook(3, 10);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].id, 2u);  // newest first
  EXPECT_EQ(list[1].state, kDeliveryOk);
  auto d = decode_delivery(encode_delivery(list[1]));
  EXPECT_EQ(d.guid, "g1");
}

// A chain with alice's repository and two hooks: one delivered by "this" node, one by another.
class WebhookEngineTest : public ::testing::Test {
 protected:
  state::testing::TempDb tmp{"webhook-engine"};
  std::unique_ptr<state::Chain> chain =
      std::make_unique<state::Chain>(*tmp.db, state::testing::test_genesis());
  crypto::SigningKey me = key(50), other = key(51), alice = key(1);
  uint64_t nonce = 0;
  uint64_t now = kT0;
  std::vector<SendRequest> sent;
  std::vector<int> answers;  // statuses to answer, in order; then 200

  void commit(std::vector<state::TxBody> bodies) {
    std::vector<state::PendingTx> txs;
    for (auto& b : bodies) txs.push_back({own_tx(alice, ++nonce, std::move(b), now), false});
    auto r = chain->build(chain->head().id, std::move(txs), chain->head().height + 1, now,
                          key(200).public_key());
    ASSERT_TRUE(r.rejected.empty()) << r.rejected[0].second.message();
    chain->commit(r.block);
  }
  std::unique_ptr<WebhookEngine> engine() {
    WebhookSources ws;
    ws.events = [](const state::Block& b) {
      std::vector<WebhookEvent> out;
      for (const auto& tx : b.txs)
        if (auto* u = std::get_if<state::UpdateRefs>(&tx.body))
          out.push_back({"push", "", u->repo_id, {}, json{{"ref", u->changes[0].ref}}});
      return out;
    };
    ws.ping = [](const state::Hook& h) { return json{{"hook_id", h.id}}; };
    WebhookOptions o;
    o.retry_base_ms = 1000;
    o.now_ms = [this] { return now; };
    o.sender = [this](const SendRequest& r) {
      sent.push_back(r);
      SendResult res;
      res.status = answers.empty() ? 200 : answers.front();
      if (!answers.empty()) answers.erase(answers.begin());
      return res;
    };
    return std::make_unique<WebhookEngine>(*tmp.db, *chain, me, std::move(ws), std::move(o));
  }
  std::string header(const SendRequest& r, const std::string& name) {
    for (const auto& [k, v] : r.headers)
      if (k == name) return v;
    return "";
  }
  void SetUp() override {
    commit({state::RegisterUser{"alice"}, state::CreateRepo{"r", "", false, "main"}});
  }
};

TEST_F(WebhookEngineTest, OneDeliveryPerEventRetriedAndResumedAfterRestart) {
  auto e = engine();
  e->step();  // first start: the cursor starts at the head
  state::CreateHook mine;
  mine.repo_id = 1;
  mine.url = "https://receiver.example/hook";
  mine.node = me.public_key();
  mine.sealed_secret = api::seal_hook_secret(me.public_key(), "topsecret");
  state::CreateHook theirs = mine;
  theirs.node = other.public_key();
  theirs.sealed_secret = api::seal_hook_secret(other.public_key(), "theirs");
  commit({mine, theirs});
  e->step();
  ASSERT_EQ(sent.size(), 1u);  // the ping of this node's hook only
  EXPECT_EQ(header(sent[0], "X-GitHub-Event"), "ping");

  answers = {500};
  commit({state::UpdateRefs{1, {{"refs/heads/main", {}, Bytes(20, 1)}}}});
  uint64_t next = e->step();
  ASSERT_EQ(sent.size(), 2u);
  const auto& push = sent[1];
  EXPECT_EQ(header(push, "X-GitHub-Event"), "push");
  EXPECT_EQ(header(push, "X-Hub-Signature-256"), api::hook_signature_256("topsecret", push.body));
  EXPECT_EQ(header(push, "User-Agent"), "GitHub-Hookshot/guts");
  std::string guid = header(push, "X-GitHub-Delivery");
  EXPECT_EQ(guid.size(), 36u);
  EXPECT_EQ(next, now + 1000);  // retry after the base delay

  e->step();  // not due yet
  EXPECT_EQ(sent.size(), 2u);
  e.reset();  // "restart" before the retry
  now += 1000;
  auto e2 = engine();
  e2->step();
  ASSERT_EQ(sent.size(), 3u);  // the retry, same GUID; nothing re-queued
  EXPECT_EQ(header(sent[2], "X-GitHub-Delivery"), guid);
  e2->step();
  EXPECT_EQ(sent.size(), 3u);

  auto list = e2->deliveries(1, 10);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].event, "push");
  EXPECT_EQ(list[0].attempts.size(), 2u);
  EXPECT_EQ(list[0].state, kDeliveryOk);
  auto j = e2->delivery_json_of(list[0], true);
  EXPECT_EQ(j["status_code"], 200);
  EXPECT_EQ(j["request"]["headers"]["X-Hub-Signature-256"], "sha256=********");

  // Redelivery: same GUID, marked.
  auto id = e2->redeliver(1, list[0].id);
  ASSERT_TRUE(id.ok());
  e2->step();
  ASSERT_EQ(sent.size(), 4u);
  EXPECT_EQ(header(sent[3], "X-GitHub-Delivery"), guid);
  EXPECT_TRUE(e2->deliveries(1, 1)[0].redelivery);
  EXPECT_FALSE(e2->redeliver(2, list[0].id).ok());  // not that hook's

  // An inactive hook gets nothing.
  state::UpdateHook off;
  off.hook_id = 1;
  off.active = false;
  commit({off, state::UpdateRefs{1, {{"refs/heads/x", {}, Bytes(20, 2)}}}});
  e2->step();
  EXPECT_EQ(sent.size(), 4u);
  EXPECT_EQ(e2->sent(), 2u);  // this engine's: the retry and the redelivery
  EXPECT_EQ(e2->failed(), 0u);
}

}  // namespace
}  // namespace guts::node
