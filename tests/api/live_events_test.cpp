// Live events (api/live_events.h, api/live_hub.h, docs/events.md): the events derived from
// finalized blocks, who may see them, and the hub's resume logic (no gaps, no duplicates, a
// reset when too far behind, a slow subscriber dropped with a reason).
#include "api/live_events.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/events_routes.h"
#include "api/live_hub.h"
#include "crypto/did.h"
#include "tests/state/fixtures.h"

using namespace guts;
using namespace guts::state;
using namespace guts::state::testing;
using nlohmann::json;

namespace {

std::vector<PendingTx> pending(std::vector<Transaction> txs) {
  std::vector<PendingTx> out;
  for (auto& t : txs) out.push_back({std::move(t), false});
  return out;
}

void commit(Chain& chain, std::vector<Transaction> txs) {
  uint64_t v = chain.head().height + 1;
  auto r = chain.build(chain.head().id, pending(std::move(txs)), v, kT0 + v, key(200).public_key());
  ASSERT_TRUE(r.rejected.empty()) << r.rejected[0].second.message();
  chain.commit(r.block);
}

std::vector<json> events_at(Chain& chain, uint64_t height) {
  std::vector<json> out;
  for (const auto& e : api::live_events(*chain.block_at(height), chain.view())) {
    auto j = json::parse(e.json);
    EXPECT_EQ(j["id"], std::to_string(e.height) + "." + std::to_string(e.index));
    EXPECT_EQ(j["type"], e.type);
    out.push_back(std::move(j));
  }
  return out;
}

std::vector<std::string> types(const std::vector<json>& list) {
  std::vector<std::string> out;
  for (const auto& j : list) out.push_back(j["type"]);
  return out;
}

// alice: public "r" (id 1) and private "p" (id 2); bob comments on alice's issue.
struct Fixture : ::testing::Test {
  TempDb tmp{"live-events"};
  Chain chain{*tmp.db, test_genesis()};
  crypto::SigningKey alice = key(1), bob = key(2);
  uint64_t an = 0, bn = 0;
  Transaction a(TxBody b) { return own_tx(alice, ++an, std::move(b)); }
  Transaction b(TxBody body) { return own_tx(bob, ++bn, std::move(body)); }
  void SetUp() override {
    commit(chain, {a(RegisterUser{"alice"}), a(CreateRepo{"r", "", false, "main"}),
                   a(CreateRepo{"p", "", true, "main"}), b(RegisterUser{"bob"})});
  }
};

TEST_F(Fixture, BlockPushRefsIssuesAndComments) {
  // Height 2: a push creating main and a tag, then an update of main.
  commit(chain, {a(UpdateRefs{1, {{"refs/heads/main", {}, oid(1)}, {"refs/tags/v1", {}, oid(1)}}}),
                 a(UpdateRefs{1, {{"refs/heads/main", oid(1), oid(2)}}})});
  auto e = events_at(chain, 2);
  EXPECT_EQ(types(e), (std::vector<std::string>{"block", "ref.created", "push", "ref.created",
                                                "push", "push"}));
  EXPECT_EQ(e[0]["block"]["height"], 2);
  EXPECT_EQ(e[0]["block"]["txs"], 2);
  EXPECT_EQ(e[0]["block"]["id"], hex_encode(chain.block_at(2)->id()));
  EXPECT_EQ(e[1]["repo"], "alice/r");
  EXPECT_EQ(e[1]["actor"], "alice");
  EXPECT_EQ(e[1]["ref_type"], "branch");
  EXPECT_EQ(e[3]["ref_type"], "tag");
  EXPECT_EQ(e[5]["before"], hex_encode(oid(1)));
  EXPECT_EQ(e[5]["after"], hex_encode(oid(2)));
  EXPECT_EQ(e[5]["private"], false);

  // Height 3: an issue opened, commented by bob, labelled, closed; a branch deleted.
  CreateIssue issue;
  issue.repo_id = 1;
  issue.title = "crash <script>";
  SetLabel label;
  label.repo_id = 1;
  label.name = "bug";
  label.color = "ff0000";
  EditIssue labelled;
  labelled.repo_id = 1;
  labelled.number = 1;
  labelled.labels_add = {"bug"};
  EditIssue closed;
  closed.repo_id = 1;
  closed.number = 1;
  closed.state = kIssueClosed;
  commit(chain, {a(std::move(issue)), b(CreateComment{1, 1, "me too"}), a(std::move(label)),
                 a(std::move(labelled)), a(std::move(closed)),
                 a(UpdateRefs{1, {{"refs/tags/v1", oid(1), {}}}})});
  e = events_at(chain, 3);
  EXPECT_EQ(types(e), (std::vector<std::string>{"block", "issue.opened", "comment.created",
                                                "issue.labeled", "issue.closed", "ref.deleted"}));
  EXPECT_EQ(e[1]["issue"]["number"], 1);
  EXPECT_EQ(e[1]["issue"]["title"], "crash <script>");
  EXPECT_EQ(e[1]["issue"]["pull"], false);
  EXPECT_EQ(e[2]["actor"], "bob");
  EXPECT_EQ(e[2]["comment"]["user"], "bob");
  EXPECT_EQ(e[2]["comment"]["body"], "me too");
  EXPECT_TRUE(e[2]["comment"]["id"].is_number());
  EXPECT_EQ(e[3]["labels"], json::array({"bug"}));
  EXPECT_EQ(e[4]["issue"]["state"], "closed");
  EXPECT_EQ(e[5]["ref"], "refs/tags/v1");

  // Deterministic: the same block gives the same bytes every time.
  auto again = api::live_events(*chain.block_at(3), chain.view());
  auto first = api::live_events(*chain.block_at(3), chain.view());
  ASSERT_EQ(again.size(), first.size());
  for (size_t i = 0; i < again.size(); ++i) EXPECT_EQ(again[i].json, first[i].json);
  EXPECT_EQ(first[1].repo_id, 1u);
  EXPECT_EQ(first[0].repo_id, 0u);
}

TEST_F(Fixture, LongCommentBodiesAreCutAtACharacterBoundary) {
  CreateIssue issue;
  issue.repo_id = 1;
  issue.title = "t";
  std::string body(4095, 'x');
  body += "é and more";  // the two-byte é straddles the 4096-byte limit
  commit(chain, {a(std::move(issue)), a(CreateComment{1, 1, body})});
  auto e = events_at(chain, 2);
  ASSERT_EQ(e[2]["type"], "comment.created");
  EXPECT_EQ(e[2]["comment"]["body"], std::string(4095, 'x'));
  EXPECT_EQ(e[2]["comment"]["truncated"], true);
}

TEST_F(Fixture, PrivateRepositoryEventsOnlyForReaders) {
  commit(chain, {a(UpdateRefs{2, {{"refs/heads/main", {}, oid(1)}}})});
  auto list = api::live_events(*chain.block_at(2), chain.view());
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[1].repo_id, 2u);
  EXPECT_EQ(json::parse(list[1].json)["private"], true);
  auto view = chain.view();
  api::Principal anonymous;
  api::Principal owner{true, crypto::did_from_key(alice.public_key()), "alice", "t", true, {"repo"},
                       {}};
  api::Principal other{true, crypto::did_from_key(bob.public_key()), "bob", "t", true, {"repo"},
                       {}};
  api::Principal public_only = owner;  // a token without the scope for private repositories
  public_only.login_token = false;
  public_only.scopes = {"public_repo"};
  api::Principal limited = owner;  // a token limited to repository 1
  limited.repo_ids = {1};
  EXPECT_TRUE(api::event_visible(view, anonymous, 0));
  EXPECT_TRUE(api::event_visible(view, anonymous, 1));
  EXPECT_FALSE(api::event_visible(view, anonymous, 2));
  EXPECT_FALSE(api::event_visible(view, other, 2));
  EXPECT_TRUE(api::event_visible(view, owner, 2));
  EXPECT_FALSE(api::event_visible(view, public_only, 2));
  EXPECT_FALSE(api::event_visible(view, limited, 2));
  EXPECT_FALSE(api::event_visible(view, owner, 99));  // no such repository
}

// ---- the hub ----

api::LiveEvent ev(uint64_t height, uint32_t index, uint64_t repo = 0) {
  api::LiveEvent e;
  e.height = height;
  e.index = index;
  e.repo_id = repo;
  e.type = index == 0 ? "block" : "x";
  e.json =
      json{{"id", std::to_string(height) + "." + std::to_string(index)}, {"height", height}}.dump();
  return e;
}
std::vector<api::LiveEvent> block(uint64_t h) {
  return {ev(h, 0), ev(h, 1, 1), ev(h, 2, 2)};
}

struct Hub {
  uint64_t stored = 10;  // blocks 1..stored are "stored"
  uint64_t first_stored = 1;
  int source_calls = 0;
  int made = 0;  // blocks whose events publish() asked for
  int wakes = 0;
  api::LiveHub hub{[this](uint64_t h) -> std::optional<std::vector<api::LiveEvent>> {
                     ++source_calls;
                     if (h < first_stored || h > stored) return std::nullopt;
                     return block(h);
                   },
                   10, api::LiveHubOptions{8, 20, 3}};
  void publish(uint64_t h) {
    stored = std::max(stored, h);
    hub.publish(h, [&] {
      ++made;
      return block(h);
    });
  }
};

// Drains a subscription: every event's id, in order.
std::vector<std::string> drain(api::LiveHub::Subscription& s, std::string* reason = nullptr) {
  std::vector<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    auto p = s.pull();
    for (auto& text : p.events) {
      auto j = json::parse(text);
      ids.push_back(j.contains("id") ? j["id"].get<std::string>()
                                     : j["type"].get<std::string>() + "@" +
                                           std::to_string(j["height"].get<uint64_t>()));
    }
    if (reason && !p.close_reason.empty()) *reason = p.close_reason;
    if (p.events.empty()) break;
  }
  return ids;
}

TEST(LiveHub, LiveOnlyStartsWithHelloAtTheHead) {
  Hub h;
  auto s = h.hub.subscribe(std::nullopt, {}, [&] { ++h.wakes; });
  EXPECT_GE(h.wakes, 1);
  EXPECT_EQ(drain(*s), (std::vector<std::string>{"hello@10"}));
  h.publish(11);
  EXPECT_EQ(drain(*s), (std::vector<std::string>{"11.0", "11.1", "11.2"}));
  EXPECT_EQ(s->delivered(), 11u);
  EXPECT_EQ(h.hub.subscribers(), 1u);
  s.reset();
  EXPECT_EQ(h.hub.subscribers(), 0u);
}

// Blocks nobody follows cost nothing: their events are not made, and one who subscribes later
// starts after them (or resumes them from storage with `since`).
TEST(LiveHub, BlocksNobodyFollowsAreNotComputed) {
  Hub h;
  h.publish(11);
  h.publish(12);
  EXPECT_EQ(h.made, 0);
  EXPECT_EQ(h.hub.published(), 12u);
  auto s = h.hub.subscribe(10, {}, [] {});
  h.publish(13);
  EXPECT_EQ(h.made, 1);
  EXPECT_EQ(drain(*s), (std::vector<std::string>{"hello@12", "11.0", "11.1", "11.2", "12.0", "12.1",
                                                 "12.2", "13.0", "13.1", "13.2"}));
  s.reset();
  h.publish(14);
  EXPECT_EQ(h.made, 1);
}

TEST(LiveHub, ResumeGivesEveryMissedEventOnceInOrder) {
  Hub h;
  // Subscribes at head 10 asking for everything after 7; blocks 11 and 12 arrive before the
  // subscriber pulls anything: 8..10 come from storage, 11..12 from the queue.
  auto s = h.hub.subscribe(7, {}, [&] { ++h.wakes; });
  h.publish(11);
  h.publish(12);
  h.publish(12);  // a repeated height is ignored
  auto ids = drain(*s);
  std::vector<std::string> want{"hello@10"};
  for (uint64_t height = 8; height <= 12; ++height)
    for (int i = 0; i < 3; ++i) want.push_back(std::to_string(height) + "." + std::to_string(i));
  EXPECT_EQ(ids, want);
  EXPECT_EQ(s->delivered(), 12u);
  // Live from there on.
  h.publish(13);
  EXPECT_EQ(drain(*s), (std::vector<std::string>{"13.0", "13.1", "13.2"}));
}

TEST(LiveHub, FilterAndSinceAheadOfTheHub) {
  Hub h;
  auto s = h.hub.subscribe(
      11, [](const api::LiveEvent& e) { return e.repo_id != 2; }, [] {});
  h.publish(11);  // at or below since: not sent again
  h.publish(12);
  EXPECT_EQ(drain(*s), (std::vector<std::string>{"hello@10", "12.0", "12.1"}));
}

TEST(LiveHub, TooFarBehindGetsAReset) {
  Hub h;
  h.stored = 40;
  api::LiveHub hub(
      [&](uint64_t x) -> std::optional<std::vector<api::LiveEvent>> { return block(x); }, 40,
      api::LiveHubOptions{8, 20, 3});
  auto s = hub.subscribe(5, {}, [] {});  // 35 blocks behind, more than 20
  EXPECT_EQ(drain(*s), (std::vector<std::string>{"reset@40"}));
  hub.publish(41, [] { return block(41); });
  EXPECT_EQ(drain(*s), (std::vector<std::string>{"41.0", "41.1", "41.2"}));
}

TEST(LiveHub, PrunedBlockGivesAReset) {
  Hub h;
  h.first_stored = 9;
  auto s = h.hub.subscribe(6, {}, [] {});
  auto ids = drain(*s);
  EXPECT_EQ(ids, (std::vector<std::string>{"hello@10", "reset@10"}));
}

TEST(LiveHub, SlowSubscriberIsDroppedWithAReasonOthersAreNot) {
  Hub h;
  auto slow = h.hub.subscribe(std::nullopt, {}, [] {});
  auto fast = h.hub.subscribe(std::nullopt, {}, [] {});
  drain(*slow);
  for (uint64_t height = 11; height <= 14; ++height) {
    h.publish(height);  // 3 events each: the slow one overflows its 8 at height 13
    drain(*fast);
  }
  std::string reason;
  auto ids = drain(*slow, &reason);
  EXPECT_TRUE(ids.empty());
  EXPECT_NE(reason.find("too slow"), std::string::npos) << reason;
  EXPECT_EQ(h.hub.subscribers(), 1u);
  h.publish(15);
  EXPECT_EQ(drain(*fast), (std::vector<std::string>{"15.0", "15.1", "15.2"}));
}

TEST(LiveHub, BacklogIsRecomputedAFewBlocksPerPull) {
  Hub h;
  int wakes = 0;
  auto s = h.hub.subscribe(0, {}, [&] { ++wakes; });
  int before = wakes;
  auto p = s->pull();  // hello + 3 blocks (blocks_per_pull)
  EXPECT_EQ(p.events.size(), 1u + 3 * 3);
  EXPECT_EQ(wakes, before + 1);  // asks to be pulled again
  auto rest = drain(*s);
  EXPECT_EQ(rest.size(), 7u * 3);
  EXPECT_EQ(rest.back(), "10.2");
}

}  // namespace
