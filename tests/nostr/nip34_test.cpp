// NIP-34 git events: the builders write exactly the tags the NIP lists, and the inbound parsers
// read spec-shaped events (as ngit and gitworkshop publish them) and refuse malformed ones.
#include "nostr/nip34.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/bytes.h"
#include "core/status.h"
#include "nostr/message.h"
#include "tests/nostr/error_of.h"

using namespace guts;
using namespace guts::nostr;
using guts::nostr::testing::error_of;
using ::testing::HasSubstr;
using Tags = std::vector<std::vector<std::string>>;

namespace {

crypto::SchnorrKey key(char last) {
  return crypto::SchnorrKey::from_secret(*hex_decode_fixed<32>(std::string(63, '0') + last));
}

const std::string kOwner = hex_of(key('1').public_key());
const std::string kAlice = hex_of(key('2').public_key());
const std::string kAddress = "30617:" + kOwner + ":guts";
const std::string kEuc = "1111111111111111111111111111111111111111";
const std::string kCommit = "2f1c3e4d5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d";
const std::string kParent = "3333333333333333333333333333333333333333";
const std::string kRootId(64, 'a');

const std::string kPatchText =
    "From 2f1c3e4d5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d Mon Sep 17 00:00:00 2001\n"
    "From: Alice <alice@example.com>\n"
    "Date: Tue, 5 Mar 2024 10:00:00 +0000\n"
    "Subject: [PATCH] README: say hello\n"
    "\n"
    "---\n"
    " README.md | 1 +\n"
    " 1 file changed, 1 insertion(+)\n"
    "\n"
    "diff --git a/README.md b/README.md\n"
    "index e69de29..ce01362 100644\n"
    "--- a/README.md\n"
    "+++ b/README.md\n"
    "@@ -0,0 +1 @@\n"
    "+hello\n"
    "-- \n"
    "2.43.0\n";

// An event as another client publishes it: parsed from text, signed by Alice.
Event published(uint32_t kind, Tags tags, std::string content) {
  Event e;
  e.kind = kind;
  e.created_at = 1712345678;
  e.tags = std::move(tags);
  e.content = std::move(content);
  return sign_event(e, key('2'));
}

}  // namespace

TEST(NostrNip34, RepoAddress) {
  EXPECT_EQ(repo_address(kOwner, "guts"), kAddress);
  EXPECT_EQ(parse_repo_address(kAddress), (RepoAddress{kOwner, "guts"}));
  EXPECT_EQ(parse_repo_address("30617:" + kOwner + ":a:b"), (RepoAddress{kOwner, "a:b"}));
  EXPECT_EQ(error_of([] { repo_address("abc", "guts"); }).first, Code::kInvalidArgument);
  EXPECT_EQ(error_of([] { repo_address(kOwner, ""); }).first, Code::kInvalidArgument);
  EXPECT_EQ(error_of([] { repo_address(kOwner, std::string(256, 'd')); }).first,
            Code::kInvalidArgument);
  for (const std::string& bad : std::vector<std::string>{
           "30618:" + kOwner + ":guts", "30617:" + kOwner, "30617:" + kOwner + ":",
           "30617:abc:guts", "30617:" + std::string(64, 'A') + ":guts", "",
           "30617:" + kOwner + ":\xff"}) {
    EXPECT_EQ(error_of([&] { parse_repo_address(bad); }).first, Code::kMalformed) << bad;
  }
}

TEST(NostrNip34, RepositoryAnnouncementTags) {
  RepoAnnouncement a;
  a.d = "guts";
  a.name = "Guts";
  a.description = "a decentralized forge";
  a.web = {"https://guts.example/alice/guts"};
  a.clone = {"https://guts.example/alice/guts.git", "ssh://git@guts.example/alice/guts"};
  a.relays = {"wss://relay.damus.io", "wss://nos.lol"};
  a.maintainers = {kAlice};
  a.earliest_commit = kEuc;
  a.hashtags = {"git", "forge"};
  Event e = repository_announcement(a, 1700000000);
  EXPECT_EQ(e.kind, kRepoAnnouncement);
  EXPECT_EQ(e.created_at, 1700000000);
  EXPECT_EQ(e.content, "");
  EXPECT_TRUE(e.id.empty() && e.sig.empty() && e.pubkey.empty());  // unsigned
  EXPECT_EQ(
      e.tags,
      (Tags{{"d", "guts"},
            {"name", "Guts"},
            {"description", "a decentralized forge"},
            {"web", "https://guts.example/alice/guts"},
            {"clone", "https://guts.example/alice/guts.git", "ssh://git@guts.example/alice/guts"},
            {"relays", "wss://relay.damus.io", "wss://nos.lol"},
            {"r", kEuc, "euc"},
            {"maintainers", kAlice},
            {"t", "git"},
            {"t", "forge"}}));
  EXPECT_EQ(verify_event(sign_event(e, key('1'))), std::nullopt);

  RepoAnnouncement minimal;
  minimal.d = "x";
  EXPECT_EQ(repository_announcement(minimal, 0).tags, (Tags{{"d", "x"}}));

  auto bad = [](auto change) {
    RepoAnnouncement r;
    r.d = "guts";
    change(r);
    return error_of([&] { repository_announcement(r, 1); }).first;
  };
  EXPECT_EQ(bad([](RepoAnnouncement& r) { r.d.clear(); }), Code::kInvalidArgument);
  EXPECT_EQ(bad([](RepoAnnouncement& r) { r.earliest_commit = "main"; }), Code::kInvalidArgument);
  EXPECT_EQ(bad([](RepoAnnouncement& r) { r.maintainers = {"npub1..."}; }), Code::kInvalidArgument);
  EXPECT_EQ(bad([](RepoAnnouncement& r) { r.clone.assign(kMaxTagValues, "u"); }),
            Code::kInvalidArgument);
  EXPECT_EQ(bad([](RepoAnnouncement& r) { r.clone.assign(kMaxTagValues - 1, "u"); }), Code::kOk);
  EXPECT_EQ(bad([](RepoAnnouncement& r) { r.name = "\xff"; }), Code::kInvalidArgument);
  EXPECT_EQ(error_of([] { repository_announcement(RepoAnnouncement{"d"}, -1); }).first,
            Code::kInvalidArgument);
}

TEST(NostrNip34, RepositoryStateTags) {
  RepoState s;
  s.d = "guts";
  s.refs = {{"refs/heads/main", kCommit}, {"refs/tags/v1.0", kParent}};
  s.head = "refs/heads/main";
  Event e = repository_state(s, 5);
  EXPECT_EQ(e.kind, kRepoState);
  EXPECT_EQ(e.content, "");
  EXPECT_EQ(e.tags, (Tags{{"d", "guts"},
                          {"refs/heads/main", kCommit},
                          {"refs/tags/v1.0", kParent},
                          {"HEAD", "ref: refs/heads/main"}}));
  s.head.clear();
  s.refs.clear();
  EXPECT_EQ(repository_state(s, 5).tags, (Tags{{"d", "guts"}}));

  s.refs = {{"main", kCommit}};
  EXPECT_EQ(error_of([&] { repository_state(s, 5); }).first, Code::kInvalidArgument);
  s.refs = {{"refs/heads/main", "HEAD"}};
  EXPECT_EQ(error_of([&] { repository_state(s, 5); }).first, Code::kInvalidArgument);
  s.refs.clear();
  s.head = "main";
  EXPECT_EQ(error_of([&] { repository_state(s, 5); }).first, Code::kInvalidArgument);
}

TEST(NostrNip34, PatchTags) {
  PatchOut p;
  p.repo_address = kAddress;
  p.repo_owner = kOwner;
  p.earliest_commit = kEuc;
  p.patch = kPatchText;
  p.commit = kCommit;
  p.parent_commit = kParent;
  p.root = true;
  p.root_revision = true;
  p.reply_to = kRootId;
  p.mention = {kAlice, kOwner};  // the owner is not tagged twice
  Event e = patch_event(p, 7);
  EXPECT_EQ(e.kind, kPatch);
  EXPECT_EQ(e.content, kPatchText);
  EXPECT_EQ(e.tags, (Tags{{"a", kAddress},
                          {"r", kEuc},
                          {"p", kOwner},
                          {"p", kAlice},
                          {"t", "root"},
                          {"t", "root-revision"},
                          {"commit", kCommit},
                          {"r", kCommit},
                          {"parent-commit", kParent},
                          {"e", kRootId, "", "reply"}}));

  PatchOut minimal;
  minimal.repo_address = kAddress;
  minimal.repo_owner = kOwner;
  minimal.patch = kPatchText;
  EXPECT_EQ(patch_event(minimal, 7).tags, (Tags{{"a", kAddress}, {"p", kOwner}}));

  auto bad = [&](auto change) {
    PatchOut q = minimal;
    change(q);
    return error_of([&] { patch_event(q, 7); });
  };
  EXPECT_EQ(bad([](PatchOut& q) { q.repo_address = "30618:x:y"; }).first, Code::kInvalidArgument);
  EXPECT_EQ(bad([](PatchOut& q) { q.repo_owner = ""; }).first, Code::kInvalidArgument);
  EXPECT_EQ(bad([](PatchOut& q) { q.commit = "abc"; }).first, Code::kInvalidArgument);
  EXPECT_EQ(bad([](PatchOut& q) { q.reply_to = "abc"; }).first, Code::kInvalidArgument);
  EXPECT_EQ(bad([](PatchOut& q) { q.mention = {"bob"}; }).first, Code::kInvalidArgument);
  auto [code, message] = bad([](PatchOut& q) { q.patch = "diff --git a/x b/x\n"; });
  EXPECT_EQ(code, Code::kInvalidArgument);
  EXPECT_THAT(message, HasSubstr("not git format-patch output"));
  std::tie(code, message) = bad([](PatchOut& q) { q.patch += std::string(kMaxPatchBytes, '+'); });
  EXPECT_EQ(code, Code::kInvalidArgument);
  EXPECT_THAT(message, HasSubstr("over the bound"));
}

TEST(NostrNip34, IssueTags) {
  IssueOut i{kAddress, kOwner, "It crashes", "Steps:\n1. run", {"bug", "ui"}};
  Event e = issue_event(i, 9);
  EXPECT_EQ(e.kind, kIssue);
  EXPECT_EQ(e.content, "Steps:\n1. run");
  EXPECT_EQ(
      e.tags,
      (Tags{{"a", kAddress}, {"p", kOwner}, {"subject", "It crashes"}, {"t", "bug"}, {"t", "ui"}}));
  i.subject.clear();
  EXPECT_EQ(error_of([&] { issue_event(i, 9); }).first, Code::kInvalidArgument);
  i.subject = std::string(kMaxSubjectBytes + 1, 's');
  EXPECT_EQ(error_of([&] { issue_event(i, 9); }).first, Code::kInvalidArgument);
  i.subject = "s";
  i.repo_address = "guts";
  EXPECT_EQ(error_of([&] { issue_event(i, 9); }).first, Code::kInvalidArgument);
}

TEST(NostrNip34, StatusTags) {
  StatusOut s;
  s.kind = kStatusApplied;
  s.root_event = kRootId;
  s.repo_address = kAddress;
  s.repo_owner = kOwner;
  s.root_author = kAlice;
  s.content = "merged";
  s.merge_commit = kCommit;
  s.applied_commits = {kParent, kEuc};
  Event e = status_event(s, 11);
  EXPECT_EQ(e.kind, kStatusApplied);
  EXPECT_EQ(e.content, "merged");
  EXPECT_EQ(e.tags, (Tags{{"e", kRootId, "", "root"},
                          {"p", kOwner},
                          {"p", kAlice},
                          {"a", kAddress},
                          {"merge-commit", kCommit},
                          {"r", kCommit},
                          {"applied-as-commits", kParent, kEuc},
                          {"r", kParent},
                          {"r", kEuc}}));

  StatusOut closed{kStatusClosed, kRootId, "", kOwner, kOwner, "", "", {}};
  EXPECT_EQ(status_event(closed, 1).tags, (Tags{{"e", kRootId, "", "root"}, {"p", kOwner}}));
  for (uint32_t kind : {kStatusOpen, kStatusDraft}) {
    closed.kind = kind;
    EXPECT_EQ(status_event(closed, 1).kind, kind);
  }

  auto bad = [&](auto change) {
    StatusOut t = s;
    change(t);
    return error_of([&] { status_event(t, 11); }).first;
  };
  EXPECT_EQ(bad([](StatusOut& t) { t.kind = 1629; }), Code::kInvalidArgument);
  EXPECT_EQ(bad([](StatusOut& t) { t.kind = 1634; }), Code::kInvalidArgument);
  EXPECT_EQ(bad([](StatusOut& t) { t.kind = kStatusClosed; }), Code::kInvalidArgument);
  EXPECT_EQ(bad([](StatusOut& t) { t.root_event = "abc"; }), Code::kInvalidArgument);
  EXPECT_EQ(bad([](StatusOut& t) { t.root_author = "abc"; }), Code::kInvalidArgument);
  EXPECT_EQ(bad([](StatusOut& t) { t.applied_commits = {"v1.0"}; }), Code::kInvalidArgument);
  EXPECT_EQ(bad([](StatusOut& t) { t.repo_address = "x"; }), Code::kInvalidArgument);
}

TEST(NostrNip34, BuiltEventsReadBack) {
  Event issue = sign_event(
      issue_event({kAddress, kOwner, "Crash", "body", {"bug", "bug", "ui"}}, 3), key('2'));
  ASSERT_EQ(verify_event(issue), std::nullopt);
  InboundIssue in = parse_inbound_issue(parse_event_text(to_text(issue)));
  EXPECT_EQ(in.event_id, issue.id);
  EXPECT_EQ(in.author, kAlice);
  EXPECT_EQ(in.repo_address, kAddress);
  EXPECT_EQ(in.subject, "Crash");
  EXPECT_EQ(in.content, "body");
  EXPECT_EQ(in.labels, (std::vector<std::string>{"bug", "ui"}));
  EXPECT_EQ(in.created_at, 3);

  PatchOut p;
  p.repo_address = kAddress;
  p.repo_owner = kOwner;
  p.patch = kPatchText;
  p.commit = kCommit;
  p.parent_commit = kParent;
  p.root_revision = true;
  p.reply_to = kRootId;
  Event patch = sign_event(patch_event(p, 4), key('2'));
  InboundPatch ip = parse_inbound_patch(patch);
  EXPECT_EQ(ip.event_id, patch.id);
  EXPECT_EQ(ip.author, kAlice);
  EXPECT_EQ(ip.repo_address, kAddress);
  EXPECT_EQ(ip.patch, kPatchText);
  EXPECT_EQ(ip.commit, kCommit);
  EXPECT_EQ(ip.parent_commit, kParent);
  EXPECT_FALSE(ip.root);
  EXPECT_TRUE(ip.root_revision);
  EXPECT_EQ(ip.root_event, kRootId);
  EXPECT_EQ(ip.created_at, 4);
}

TEST(NostrNip34, InboundSpecShapedEvents) {
  // An issue as NIP-34 shows it, with an "a" tag carrying a relay hint and another "a" tag first.
  Event issue = published(kIssue,
                          {{"a", "30023:" + kOwner + ":blog-post"},
                           {"a", kAddress, "wss://relay.example"},
                           {"p", kOwner},
                           {"subject", "  Crash on start  "},
                           {"t", "bug"},
                           {"t", ""}},
                          "It crashes.");
  InboundIssue in = parse_inbound_issue(issue);
  EXPECT_EQ(in.repo_address, kAddress);
  EXPECT_EQ(in.subject, "Crash on start");
  EXPECT_EQ(in.labels, std::vector<std::string>{"bug"});

  // A patch in a series (ngit): "e" root and reply markers; root wins.
  Event patch = published(kPatch,
                          {{"a", kAddress},
                           {"r", kEuc},
                           {"p", kOwner},
                           {"e", std::string(64, 'b'), "wss://r", "reply"},
                           {"e", kRootId, "wss://r", "root"},
                           {"commit", kCommit},
                           {"r", kCommit},
                           {"parent-commit", kParent},
                           {"commit-pgp-sig", ""},
                           {"committer", "Alice", "alice@example.com", "1712345678", "0"}},
                          kPatchText);
  InboundPatch ip = parse_inbound_patch(patch);
  EXPECT_EQ(ip.root_event, kRootId);
  EXPECT_FALSE(ip.root);
  EXPECT_EQ(ip.commit, kCommit);

  Event root = published(kPatch, {{"a", kAddress}, {"t", "root"}}, kPatchText);
  ip = parse_inbound_patch(root);
  EXPECT_TRUE(ip.root);
  EXPECT_FALSE(ip.root_revision);
  EXPECT_EQ(ip.root_event, "");
  EXPECT_EQ(ip.commit, "");
  EXPECT_EQ(ip.parent_commit, "");

  // A cover letter (format-patch --cover-letter) is a patch too.
  std::string cover =
      "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n"
      "From: Alice <alice@example.com>\n"
      "Subject: [PATCH 0/2] *** SUBJECT HERE ***\n\n*** BLURB HERE ***\n";
  EXPECT_EQ(parse_inbound_patch(published(kPatch, {{"a", kAddress}}, cover)).patch, cover);
}

TEST(NostrNip34, InboundIssueSubject) {
  auto subject = [](Tags tags, std::string content) {
    tags.insert(tags.begin(), {"a", kAddress});
    return parse_inbound_issue(published(kIssue, std::move(tags), std::move(content))).subject;
  };
  EXPECT_EQ(subject({}, "\n  \r\n  First line \r\nsecond"), "First line");
  EXPECT_EQ(subject({{"subject", " \n "}}, "from the body"), "from the body");
  EXPECT_EQ(subject({{"subject", "two\nlines"}}, "body"), "two");
  EXPECT_EQ(subject({}, std::string(300, 'x')), std::string(kMaxSubjectBytes, 'x'));
  // Cut on a character boundary: 255 ASCII bytes then "é" (2 bytes) would split at 256.
  EXPECT_EQ(subject({}, std::string(255, 'x') + "é and more"), std::string(255, 'x'));
  EXPECT_EQ(subject({}, std::string(254, 'x') + "é and more"), std::string(254, 'x') + "é");

  auto [code, message] = error_of([] {
    parse_inbound_issue(published(kIssue, {{"a", kAddress}}, " \n\t\n"));
  });
  EXPECT_EQ(code, Code::kMalformed);
  EXPECT_THAT(message, HasSubstr("no subject"));
}

TEST(NostrNip34, InboundRefusesMalformedEvents) {
  const Tags a{{"a", kAddress}};
  struct Case {
    Event e;
    Code code;
    const char* says;
  };
  Tags many_labels = a;
  for (int i = 0; i <= static_cast<int>(kMaxLabels); ++i) {
    many_labels.push_back({"t", "l" + std::to_string(i)});
  }
  const Case issues[] = {
      {published(1, a, "x"), Code::kInvalidArgument, "event kind 1 is not an issue (1621)"},
      {published(kPatch, a, kPatchText), Code::kInvalidArgument, "is not an issue"},
      {published(kIssue, {}, "x"), Code::kMalformed, "no \"a\" tag naming a repository"},
      {published(kIssue, {{"a"}}, "x"), Code::kMalformed, "no \"a\" tag"},
      {published(kIssue, {{"a", "30618:" + kOwner + ":guts"}}, "x"), Code::kMalformed,
       "no \"a\" tag"},
      {published(kIssue, {{"A", kAddress}}, "x"), Code::kMalformed, "no \"a\" tag"},
      {published(kIssue, {{"a", "30617:npub1xyz:guts"}}, "x"), Code::kMalformed,
       "not 30617:<64-hex pubkey>:<d>"},
      {published(kIssue, {{"a", "30617:" + kOwner + ":"}}, "x"), Code::kMalformed, "identifier"},
      {published(kIssue, {{"a", kAddress}, {"t", std::string(kMaxLabelBytes + 1, 'l')}}, "x"),
       Code::kMalformed, "label is over"},
      {published(kIssue, many_labels, "x"), Code::kMalformed, "more than 32 labels"},
  };
  for (const auto& c : issues) {
    auto [code, message] = error_of([&] { parse_inbound_issue(c.e); });
    EXPECT_EQ(code, c.code) << c.says;
    EXPECT_THAT(message, HasSubstr(c.says));
  }

  std::string no_subject = kPatchText;
  no_subject.replace(no_subject.find("Subject:"), 8, "Subjekt:");
  std::string subject_in_body = no_subject + "Subject: not a header\n";
  std::string short_sha = kPatchText;
  short_sha.replace(5, 40, "2f1c3e4");
  const Case patches[] = {
      {published(kIssue, a, "x"), Code::kInvalidArgument, "event kind 1621 is not a patch (1617)"},
      {published(kPatch, {}, kPatchText), Code::kMalformed, "no \"a\" tag"},
      {published(kPatch, a, "diff --git a/x b/x\n"), Code::kMalformed,
       "first line is not \"From <commit> ...\""},
      {published(kPatch, a, ""), Code::kMalformed, "first line"},
      {published(kPatch, a, short_sha), Code::kMalformed, "first line"},
      {published(kPatch, a, "From " + kCommit), Code::kMalformed, "first line"},
      {published(kPatch, a, no_subject), Code::kMalformed, "no \"Subject:\" header"},
      {published(kPatch, a, subject_in_body), Code::kMalformed, "no \"Subject:\" header"},
      {published(kPatch, a, kPatchText + std::string(kMaxPatchBytes, '+')), Code::kMalformed,
       "over the bound of 98304"},
      {published(kPatch, {{"a", kAddress}, {"commit", "HEAD"}}, kPatchText), Code::kMalformed,
       "commit tag is not"},
      {published(kPatch, {{"a", kAddress}, {"parent-commit", kCommit + "0"}}, kPatchText),
       Code::kMalformed, "parent-commit tag is not"},
      {published(kPatch, {{"a", kAddress}, {"e", "note1abc", "", "root"}}, kPatchText),
       Code::kMalformed, "e tag is not a 64-hex event id"},
  };
  for (const auto& c : patches) {
    auto [code, message] = error_of([&] { parse_inbound_patch(c.e); });
    EXPECT_EQ(code, c.code) << c.says;
    EXPECT_THAT(message, HasSubstr(c.says));
  }
}
