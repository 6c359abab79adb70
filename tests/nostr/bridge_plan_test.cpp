// The bridge's publishing plan (nostr/bridge_plan.h) and origin lines (nostr/origin.h): what a
// snapshot of a repository turns into, that nothing is published twice, and that items which
// came from Nostr are never published back.
#include "nostr/bridge_plan.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "core/status.h"
#include "nostr/bridge_record.h"
#include "nostr/nip19.h"
#include "nostr/nip34.h"
#include "nostr/origin.h"

using namespace guts;
using namespace guts::nostr;

namespace {

const std::string kPk(64, 'a');
const std::string kAuthor = [] {
  std::array<uint8_t, 32> secret{};
  secret.fill(3);
  return hex_of(crypto::SchnorrKey::from_secret(secret).public_key());
}();

ForgePatch patch(const std::string& commit, const std::string& parent) {
  return {commit, parent,
          "From " + commit + " Mon Sep 17 00:00:00 2001\nSubject: [PATCH] x\n\nd\n"};
}

ForgeRepo repo() {
  ForgeRepo r;
  r.owner = "alice";
  r.name = "hello";
  r.description = "greetings";
  r.web_url = "http://node/alice/hello";
  r.clone_urls = {"http://node/alice/hello.git", "guts://alice/hello"};
  r.default_branch = "main";
  r.earliest_commit = std::string(40, '1');
  r.refs = {{"refs/heads/main", std::string(40, '2')}};
  r.issues.push_back({1, "First bug", "Steps", false, true, {"bug"}, 1000, 0});
  ForgePull p;
  p.number = 2;
  p.title = "Greetings";
  p.head_sha = std::string(40, '4');
  p.created_at = 2000;
  p.patches = {patch(std::string(40, '3'), std::string(40, '2')),
               patch(std::string(40, '4'), std::string(40, '3'))};
  r.pulls.push_back(p);
  return r;
}

PlanOptions options(int64_t now = 5000) {
  return {kPk, {"ws://relay"}, now, 100};
}

std::vector<uint32_t> kinds(const Plan& p) {
  std::vector<uint32_t> out;
  for (const auto& e : p.events) out.push_back(e.kind);
  return out;
}

}  // namespace

TEST(BridgePlan, FirstRoundPublishesEverythingWithStableIds) {
  Plan p = plan_repo(repo(), {}, options());
  EXPECT_EQ(kinds(p),
            (std::vector<uint32_t>{kRepoAnnouncement, kRepoState, kIssue, kPatch, kPatch}));
  for (const auto& e : p.events) {
    EXPECT_EQ(e.pubkey, kPk);
    EXPECT_EQ(e.id, compute_id(e));
  }
  const Event& issue = p.events[2];
  EXPECT_EQ(issue.created_at, 1000);
  EXPECT_EQ(tag_value(issue, "subject"), "First bug");
  EXPECT_EQ(tag_value(issue, "a"), "30617:" + kPk + ":alice/hello");
  const Event& root = p.events[3];
  const Event& second = p.events[4];
  EXPECT_EQ(root.created_at, 2000);
  EXPECT_EQ(tag_value(root, "commit"), std::string(40, '3'));
  EXPECT_EQ(tag_value(second, "e"), root.id);  // the series is a chain of replies
  EXPECT_EQ(p.record.items.at("pull/2").root, root.id);
  EXPECT_EQ(p.record.items.at("issue/1").root, issue.id);

  // The same snapshot again: nothing. A later clock changes nothing either (ids are the items').
  EXPECT_TRUE(plan_repo(repo(), p.record, options(9000)).events.empty());
  Plan again = plan_repo(repo(), {}, options(9000));
  EXPECT_EQ(again.events[2].id, issue.id);
  EXPECT_EQ(again.events[3].id, root.id);
  EXPECT_NE(again.events[0].id, p.events[0].id);  // replaceable events carry the clock
}

TEST(BridgePlan, ChangesBecomeStatusesRevisionsAndNewStates) {
  Plan first = plan_repo(repo(), {}, options());
  ForgeRepo r = repo();
  r.issues[0].open = false;
  r.issues[0].closed_at = 3000;
  r.pulls[0].patches.push_back(patch(std::string(40, '5'), std::string(40, '4')));
  r.pulls[0].head_sha = std::string(40, '5');
  r.refs = {{"refs/heads/main", std::string(40, '6')}};
  Plan p = plan_repo(r, first.record, options(6000));
  ASSERT_EQ(kinds(p), (std::vector<uint32_t>{kRepoState, kStatusClosed, kPatch, kPatch, kPatch}));
  EXPECT_EQ(tag_value(p.events[1], "e"), first.record.items.at("issue/1").root);
  EXPECT_EQ(p.events[1].created_at, 3000);
  // A revision: root-revision replying to the original root.
  const Event& rev = p.events[2];
  EXPECT_EQ(tag_value(rev, "e"), first.record.items.at("pull/2").root);
  bool revision = false;
  for (const auto& t : rev.tags)
    revision |= t.size() == 2 && t[0] == "t" && t[1] == "root-revision";
  EXPECT_TRUE(revision);

  // Merged: 1631 with the merge commit, once.
  r.pulls[0].merged = true;
  r.pulls[0].open = false;
  r.pulls[0].merge_commit = std::string(40, '7');
  r.pulls[0].merged_at = 7000;
  Plan m = plan_repo(r, p.record, options(7000));
  ASSERT_EQ(kinds(m), (std::vector<uint32_t>{kStatusApplied}));
  EXPECT_EQ(tag_value(m.events[0], "merge-commit"), std::string(40, '7'));
  EXPECT_TRUE(plan_repo(r, m.record, options(8000)).events.empty());
}

TEST(BridgePlan, ImportedItemsAreNeverPublishedBackButTheirStatusIs) {
  const std::string event_id(64, 'e');
  ForgeRepo r = repo();
  r.issues[0].body = origin_line("issue", event_id, kAuthor, "bob", 1000) + "\n\ntext";
  r.pulls[0].body = origin_line("patch", std::string(64, 'f'), kAuthor, "", 1000);
  // Typed by anyone else, an origin line is just text: such items are published as usual.
  Plan typed = plan_repo(r, {}, options());
  EXPECT_EQ(kinds(typed),
            (std::vector<uint32_t>{kRepoAnnouncement, kRepoState, kIssue, kPatch, kPatch}));
  r.issues[0].by_bridge = true;
  r.pulls[0].by_bridge = true;
  Plan p = plan_repo(r, {}, options());
  EXPECT_EQ(kinds(p), (std::vector<uint32_t>{kRepoAnnouncement, kRepoState}));
  EXPECT_EQ(p.record.items.at("issue/1").root, event_id);
  EXPECT_EQ(p.record.items.at("issue/1").root_author, kAuthor);
  r.issues[0].open = false;
  Plan closed = plan_repo(r, p.record, options());
  ASSERT_EQ(kinds(closed), (std::vector<uint32_t>{kStatusClosed}));
  EXPECT_EQ(tag_value(closed.events[0], "e"), event_id);
  bool names_author = false;
  for (const auto& t : closed.events[0].tags)
    names_author |= t.size() >= 2 && t[0] == "p" && t[1] == kAuthor;
  EXPECT_TRUE(names_author);
}

TEST(BridgePlan, SeriesTooLongOrUnknownAreNotPublished) {
  ForgeRepo r = repo();
  PlanOptions o = options();
  o.max_patches = 1;
  Plan p = plan_repo(r, {}, o);
  EXPECT_EQ(kinds(p), (std::vector<uint32_t>{kRepoAnnouncement, kRepoState, kIssue}));
  ASSERT_EQ(p.notes.size(), 1u);
  EXPECT_TRUE(plan_repo(r, p.record, o).notes.empty());  // said once per head
  EXPECT_FALSE(patches_needed(p.record, 2, r.pulls[0].head_sha, true, false));  // skipped head
  EXPECT_TRUE(patches_needed(p.record, 2, std::string(40, '9'), true, false));  // a new head
  r.pulls[0].patches.clear();
  Plan unknown = plan_repo(r, {}, options());
  EXPECT_EQ(unknown.record.items.count("pull/2"), 0u);  // tried again next round
  EXPECT_TRUE(patches_needed(unknown.record, 2, r.pulls[0].head_sha, true, false));
  EXPECT_FALSE(patches_needed({}, 2, r.pulls[0].head_sha, true, true));  // from Nostr
}

TEST(BridgePlan, AnItemNostrCannotCarryIsSkippedAlone) {
  ForgeRepo r = repo();
  r.issues[0].title = std::string(300, 'x');                   // cut to the subject bound
  r.issues[0].labels.assign(40, "l");                          // the first 32
  r.pulls[0].patches[0].text += std::string(100 * 1024, 'p');  // over a patch event's bound
  r.issues.push_back({3, "Fine", "ok", false, true, {}, 1500, 0});
  Plan p = plan_repo(r, {}, options());
  EXPECT_EQ(kinds(p), (std::vector<uint32_t>{kRepoAnnouncement, kRepoState, kIssue, kIssue}));
  EXPECT_EQ(tag_value(p.events[2], "subject")->size(), kMaxSubjectBytes);
  EXPECT_EQ(tags_named(p.events[2], "t").size(), kMaxLabels);
  ASSERT_EQ(p.notes.size(), 1u);
  EXPECT_NE(p.notes[0].find("pull/2"), std::string::npos);
  EXPECT_EQ(p.record.items.at("pull/2").status, "skipped");
  EXPECT_TRUE(plan_repo(r, p.record, options()).events.empty());  // not tried again
}

TEST(Origin, RoundTripAndRejects) {
  const std::string id(64, 'c');
  auto line = origin_line("issue", id, kAuthor, "bob", 1795000000);
  EXPECT_EQ(line.rfind("> Imported from Nostr · issue by npub1", 0), 0u);
  EXPECT_NE(line.find("(@bob)"), std::string::npos);
  auto o = parse_origin(line + "\n\nbody");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->event_id, id);
  EXPECT_EQ(o->author, kAuthor);
  EXPECT_TRUE(parse_origin(origin_line("patch", id, kAuthor, "", 1)));
  EXPECT_FALSE(parse_origin("body\n" + line));                  // first line only
  EXPECT_FALSE(parse_origin(line.substr(0, line.size() - 1)));  // 63 hex
  EXPECT_FALSE(parse_origin("> Imported from Nostr · issue by npub1xyz on x · event " + id));
  EXPECT_FALSE(parse_origin(""));
}

TEST(BridgeRecord, SavedAtomicallyAndReadBack) {
  auto dir =
      std::filesystem::temp_directory_path() / ("guts-bridge-record-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  BridgeRecord r;
  EXPECT_TRUE(load_record(dir / "record.json").repos.empty());  // missing: empty
  r.repos["alice/hello"] = plan_repo(repo(), {}, options()).record;
  r.pending = {"{\"id\":\"x\"}"};
  save_record(dir / "record.json", r);
  auto back = load_record(dir / "record.json");
  EXPECT_EQ(back.pending, r.pending);
  EXPECT_EQ(back.repos.at("alice/hello").items.at("pull/2").root,
            r.repos.at("alice/hello").items.at("pull/2").root);
  EXPECT_EQ(back.repos.at("alice/hello").state, r.repos.at("alice/hello").state);
  std::ofstream(dir / "bad.json") << "{\"repos\": 1}";
  EXPECT_THROW(load_record(dir / "bad.json"), Error);
  std::filesystem::remove_all(dir);
}
