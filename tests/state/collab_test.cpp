// Validity rules of the collaboration transactions (state/collab.h): every rule has a test.
#include <gtest/gtest.h>

#include "codec/codec.h"
#include "state/executor.h"
#include "state/view.h"
#include "tests/state/fixtures.h"

using namespace guts;
using namespace guts::state;
using namespace guts::state::testing;

namespace {

struct Env {
  TempDb tmp{"collab"};
  Schema schema{*tmp.db};
  DbReader base{*tmp.db};
  Overlay state{base};
  Executor ex{schema, {"test-chain", 1, kT0}};
  crypto::SigningKey alice = key(1), bob = key(2), carol = key(3), dave = key(4), node = key(9);
  std::map<crypto::PublicKey, uint64_t> nonces;
  uint64_t repo = 0;

  StateView view() { return StateView(schema, state); }
  Status as(const crypto::SigningKey& k, TxBody body) {
    uint64_t n = view().nonce(k.public_key(), k.public_key()) + 1;
    return ex.apply(state, own_tx(k, n, std::move(body)));
  }
  Env() {
    EXPECT_TRUE(as(alice, RegisterUser{"alice"}).ok());
    EXPECT_TRUE(as(bob, RegisterUser{"bob"}).ok());
    EXPECT_TRUE(as(carol, RegisterUser{"carol"}).ok());
    EXPECT_TRUE(as(alice, CreateRepo{"proj", "", false, "main"}).ok());
    repo = view().repo_by_name(alice.public_key(), "proj")->id;
    EXPECT_TRUE(
        as(alice,
           UpdateRefs{repo, {{"refs/heads/main", {}, oid(1)}, {"refs/heads/feature", {}, oid(2)}}})
            .ok());
  }
  uint64_t issue(const crypto::SigningKey& k, std::string title = "Bug") {
    EXPECT_TRUE(as(k, CreateIssue{repo, title, "body", {}, {}, 0}).ok());
    return view().last_issue_number(repo);
  }
  uint64_t pull(const crypto::SigningKey& k, std::string head = "feature", Bytes sha = oid(2)) {
    auto st = as(k, OpenPullRequest{repo, "Add feature", "", repo, head, "main", sha, false});
    EXPECT_TRUE(st.ok()) << st.message();
    return view().last_issue_number(repo);
  }
};

}  // namespace

TEST(CollabTx, KindsAreAppendedAndRoundTrip) {
  EXPECT_EQ(kind_of(SetCollaborator{}), TxKind::kSetCollaborator);
  EXPECT_EQ(static_cast<int>(kind_of(DismissReview{})), 22);
  EXPECT_EQ(static_cast<int>(kind_of(OpenPullRequest{})), 18);
  EXPECT_STREQ(tx_kind_name(TxKind::kMergePullRequest), "merge_pull_request");
  auto k = key(1).public_key();
  expect_roundtrip(SetCollaborator{3, k, 4});
  expect_roundtrip(ForkRepo{3, "fork", true});
  expect_roundtrip(CreateIssue{3, "t", "b", {"bug", "ui"}, {k}, 2});
  EditIssue e;
  e.repo_id = 1;
  e.number = 2;
  e.title = "x";
  e.state = kIssueClosed;
  e.state_reason = kReasonNotPlanned;
  e.labels = std::vector<std::string>{"a"};
  e.labels_add = {"b"};
  e.assignees_remove = {k};
  e.milestone = 0;
  e.locked = true;
  e.lock_reason = "spam";
  e.base = "dev";
  e.draft = false;
  e.reviewers_add = {k};
  expect_roundtrip(e);
  expect_roundtrip(CreateComment{1, 2, "hi"});
  expect_roundtrip(EditComment{1, 2, "hi"});
  expect_roundtrip(DeleteComment{1, 2});
  expect_roundtrip(SetLabel{1, kLabelUpdate, "bug", "defect", "ff0000", "d"});
  expect_roundtrip(SetMilestone{1, kMilestoneCreate, 0, "v1", "d", kIssueOpen, 5});
  expect_roundtrip(SetReaction{1, kReactComment, 7, "heart", true});
  expect_roundtrip(OpenPullRequest{1, "t", "b", 2, "f", "main", oid(3), true});
  expect_roundtrip(MergePullRequest{1, 2, kMergeSquash, oid(1), oid(2), oid(3)});
  expect_roundtrip(
      SubmitReview{1, 2, kReviewApprove, "ok", oid(1), {{"a.c", 3, kSideRight, 1, "nit"}}});
  expect_roundtrip(CreateReviewComment{1, 2, "b", oid(1), "p", 4, kSideLeft, 0, 9});
  expect_roundtrip(DismissReview{1, 2, 3, "stale"});
}

TEST(CollabTx, DecoderRejectsInvalidUtf8AndTrailingBytes) {
  CreateComment c{1, 2, "ok"};
  Bytes enc = encode_body(c);
  enc.back() = 0xff;  // last byte of the body string
  EXPECT_THROW(decode_body(TxKind::kCreateComment, enc), codec::DecodeError);
  Bytes extra = encode_body(TxBody{c});
  extra.push_back(0);
  EXPECT_THROW(decode_body(TxKind::kCreateComment, extra), codec::DecodeError);
}

TEST(CollabIssues, NumbersSharedWithPullRequestsAndTimestampsFromBlock) {
  Env env;
  EXPECT_EQ(env.issue(env.bob), 1u);
  EXPECT_EQ(env.pull(env.alice), 2u);
  EXPECT_EQ(env.issue(env.carol), 3u);
  auto i = env.view().issue(env.repo, 1);
  ASSERT_TRUE(i);
  EXPECT_EQ(i->created_ms, kT0);
  EXPECT_FALSE(i->is_pull);
  EXPECT_TRUE(env.view().issue(env.repo, 2)->is_pull);
  EXPECT_EQ(env.view().issue_count(env.repo, false, 'o'), 3u);
  EXPECT_EQ(env.view().issue_count(env.repo, true, 'o'), 1u);
  EXPECT_EQ(env.view().issue_numbers(env.repo, false, 'o', 0, 10),
            (std::vector<uint64_t>{3, 2, 1}));
  EXPECT_EQ(env.view().issue_numbers(env.repo, false, 'o', 1, 1), (std::vector<uint64_t>{2}));
}

TEST(CollabIssues, SizesAndUtf8) {
  Env env;
  EXPECT_EQ(env.as(env.bob, CreateIssue{env.repo, "", "", {}, {}, 0}).message(),
            "title: can't be blank");
  EXPECT_EQ(env.as(env.bob, CreateIssue{env.repo, std::string(257, 'x'), "", {}, {}, 0}).code(),
            Code::kInvalidArgument);
  EXPECT_TRUE(env.as(env.bob, CreateIssue{env.repo, std::string(256, 'x'), "", {}, {}, 0}).ok());
  // 256 characters of 2 bytes each are fine: the limit counts characters.
  std::string two_byte;
  for (int i = 0; i < 256; ++i) two_byte += "\xc3\xa9";
  EXPECT_TRUE(env.as(env.bob, CreateIssue{env.repo, two_byte, "", {}, {}, 0}).ok());
  EXPECT_NE(env.as(env.bob, CreateIssue{env.repo, "t", std::string(65537, 'b'), {}, {}, 0})
                .message()
                .find("body:"),
            std::string::npos);
  EXPECT_EQ(env.as(env.bob, CreateIssue{env.repo, "bad \xff", "", {}, {}, 0}).message(),
            "title: is not valid UTF-8");
  EXPECT_EQ(env.as(env.bob, CreateIssue{env.repo, "t", "\xc0\x80", {}, {}, 0}).message(),
            "body: is not valid UTF-8");
  EXPECT_EQ(env.view().last_issue_number(env.repo), 2u);  // rejected ones took no number
}

TEST(CollabIssues, UnknownRepoOrIssueAndPrivateRepos) {
  Env env;
  EXPECT_EQ(env.as(env.bob, CreateIssue{999, "t", "", {}, {}, 0}).code(), Code::kNotFound);
  EXPECT_EQ(env.as(env.bob, CreateComment{env.repo, 42, "hi"}).code(), Code::kNotFound);
  ASSERT_TRUE(env.as(env.alice, CreateRepo{"secret", "", true, "main"}).ok());
  auto secret = env.view().repo_by_name(env.alice.public_key(), "secret")->id;
  EXPECT_EQ(env.as(env.bob, CreateIssue{secret, "t", "", {}, {}, 0}).code(), Code::kNotFound);
  // An unregistered identity cannot open issues.
  EXPECT_EQ(env.as(env.dave, CreateIssue{env.repo, "t", "", {}, {}, 0}).code(),
            Code::kPermissionDenied);
}

TEST(CollabIssues, CloseReopenByAuthorOrTriage) {
  Env env;
  auto n = env.issue(env.bob);
  EditIssue close{};
  close.repo_id = env.repo;
  close.number = n;
  close.state = kIssueClosed;
  close.state_reason = kReasonNotPlanned;
  EXPECT_EQ(env.as(env.carol, close).code(), Code::kPermissionDenied);  // neither author nor triage
  EXPECT_TRUE(env.as(env.bob, close).ok());
  auto i = *env.view().issue(env.repo, n);
  EXPECT_EQ(i.state, kIssueClosed);
  EXPECT_EQ(i.state_reason, kReasonNotPlanned);
  EXPECT_EQ(*i.closed_by, env.bob.public_key());
  EXPECT_EQ(env.view().issue_count(env.repo, false, 'o'), 0u);
  EXPECT_EQ(env.view().issue_count(env.repo, false, 'c'), 1u);
  EXPECT_EQ(env.view().issue_numbers(env.repo, false, 'c', 0, 5), std::vector<uint64_t>{n});
  EditIssue reopen{};
  reopen.repo_id = env.repo;
  reopen.number = n;
  reopen.state = kIssueOpen;
  EXPECT_TRUE(env.as(env.alice, reopen).ok());  // the owner is admin
  EXPECT_EQ(env.view().issue(env.repo, n)->state_reason, kReasonReopened);
  // A bad reason changes nothing.
  close.state_reason = kReasonReopened;
  EXPECT_EQ(env.as(env.bob, close).message(),
            "state_reason: must be completed or not_planned when closing");
  EXPECT_EQ(env.view().issue(env.repo, n)->state, kIssueOpen);
  // Editing another person's title needs triage.
  EditIssue retitle{};
  retitle.repo_id = env.repo;
  retitle.number = n;
  retitle.title = "Renamed";
  EXPECT_EQ(env.as(env.carol, retitle).code(), Code::kPermissionDenied);
  EXPECT_TRUE(env.as(env.bob, retitle).ok());
  EXPECT_EQ(env.view().issue(env.repo, n)->title, "Renamed");
}

TEST(CollabIssues, LabelsNeedTriageAndValidNames) {
  Env env;
  auto n = env.issue(env.bob);
  EditIssue add{};
  add.repo_id = env.repo;
  add.number = n;
  add.labels_add = {"bug"};
  EXPECT_EQ(env.as(env.bob, add).code(), Code::kPermissionDenied);  // the author is not triage
  ASSERT_TRUE(
      env.as(env.alice, SetCollaborator{env.repo, env.carol.public_key(), 2}).ok());  // triage
  EXPECT_TRUE(env.as(env.carol, add).ok());  // missing label created
  auto label = env.view().label_by_name(env.repo, "BUG");
  ASSERT_TRUE(label);
  EXPECT_EQ(label->color, "ededed");
  EXPECT_EQ(env.view().issue(env.repo, n)->labels, std::vector<uint64_t>{label->id});
  add.labels_add = {"bad,name"};
  EXPECT_NE(env.as(env.carol, add).message().find("labels:"), std::string::npos);
  add.labels_add = {std::string(51, 'l')};
  EXPECT_EQ(env.as(env.carol, add).code(), Code::kInvalidArgument);
  EditIssue rm{};
  rm.repo_id = env.repo;
  rm.number = n;
  rm.labels_remove = {"nope"};
  EXPECT_EQ(env.as(env.carol, rm).code(), Code::kNotFound);
  rm.labels_remove = {"bug"};
  EXPECT_TRUE(env.as(env.carol, rm).ok());
  EXPECT_TRUE(env.view().issue(env.repo, n)->labels.empty());
  // Labels given at creation by someone without triage are dropped, as on GitHub.
  ASSERT_TRUE(env.as(env.bob, CreateIssue{env.repo, "t", "", {"bug"}, {}, 0}).ok());
  EXPECT_TRUE(env.view().issue(env.repo, env.view().last_issue_number(env.repo))->labels.empty());
}

TEST(CollabLabels, RepositoryLabelSet) {
  Env env;
  EXPECT_EQ(env.as(env.bob, SetLabel{env.repo, kLabelCreate, "bug", {}, "ff0000", {}}).code(),
            Code::kPermissionDenied);
  EXPECT_TRUE(
      env.as(env.alice, SetLabel{env.repo, kLabelCreate, "bug", {}, "FF0000", "Something broke"})
          .ok());
  EXPECT_EQ(env.view().label_by_name(env.repo, "bug")->color, "ff0000");
  EXPECT_EQ(env.as(env.alice, SetLabel{env.repo, kLabelCreate, "Bug", {}, {}, {}}).message(),
            "name: already_exists");
  EXPECT_EQ(env.as(env.alice, SetLabel{env.repo, kLabelCreate, "x", {}, "red", {}}).message(),
            "color: must be 6 hexadecimal digits");
  EXPECT_EQ(env.as(env.alice, SetLabel{env.repo, kLabelCreate, "x", {}, {}, std::string(101, 'd')})
                .code(),
            Code::kInvalidArgument);
  EXPECT_TRUE(env.as(env.alice, SetLabel{env.repo, kLabelUpdate, "bug", "defect", {}, {}}).ok());
  EXPECT_FALSE(env.view().label_by_name(env.repo, "bug"));
  EXPECT_EQ(env.view().label_by_name(env.repo, "defect")->description, "Something broke");
  EXPECT_EQ(env.as(env.alice, SetLabel{env.repo, kLabelDelete, "bug", {}, {}, {}}).code(),
            Code::kNotFound);
  EXPECT_TRUE(env.as(env.alice, SetLabel{env.repo, kLabelDelete, "defect", {}, {}, {}}).ok());
  EXPECT_TRUE(env.view().labels(env.repo).empty());
}

TEST(CollabIssues, AssigneesMilestonesLock) {
  Env env;
  auto n = env.issue(env.bob);
  ASSERT_TRUE(env.as(env.alice, SetCollaborator{env.repo, env.carol.public_key(), 3}).ok());
  EditIssue assign{};
  assign.repo_id = env.repo;
  assign.number = n;
  assign.assignees_add = {env.bob.public_key()};  // bob has only read
  EXPECT_NE(env.as(env.alice, assign).message().find("assignees:"), std::string::npos);
  assign.assignees_add = {env.carol.public_key(), env.alice.public_key()};
  EXPECT_TRUE(env.as(env.alice, assign).ok());
  EXPECT_EQ(env.view().issue(env.repo, n)->assignees.size(), 2u);

  EXPECT_TRUE(
      env.as(env.alice, SetMilestone{env.repo, kMilestoneCreate, 0, "v1", "first", {}, {}}).ok());
  EXPECT_EQ(
      env.as(env.alice, SetMilestone{env.repo, kMilestoneCreate, 0, "v1", {}, {}, {}}).message(),
      "title: already_exists");
  EditIssue ms{};
  ms.repo_id = env.repo;
  ms.number = n;
  ms.milestone = 7;
  EXPECT_EQ(env.as(env.alice, ms).message(), "milestone: does not exist");
  ms.milestone = 1;
  EXPECT_TRUE(env.as(env.alice, ms).ok());
  EXPECT_EQ(env.view().milestone(env.repo, 1)->open_issues, 1u);
  EditIssue close{};
  close.repo_id = env.repo;
  close.number = n;
  close.state = kIssueClosed;
  ASSERT_TRUE(env.as(env.bob, close).ok());
  EXPECT_EQ(env.view().milestone(env.repo, 1)->open_issues, 0u);
  EXPECT_EQ(env.view().milestone(env.repo, 1)->closed_issues, 1u);

  EditIssue lock{};
  lock.repo_id = env.repo;
  lock.number = n;
  lock.locked = true;
  lock.lock_reason = "boring";
  EXPECT_EQ(env.as(env.alice, lock).message(), "lock_reason: is not a valid lock reason");
  lock.lock_reason = "too heated";
  EXPECT_EQ(env.as(env.bob, lock).code(), Code::kPermissionDenied);
  EXPECT_TRUE(env.as(env.alice, lock).ok());
  // Locked: only write and above may comment.
  EXPECT_EQ(env.as(env.bob, CreateComment{env.repo, n, "hey"}).code(), Code::kPermissionDenied);
  EXPECT_TRUE(env.as(env.carol, CreateComment{env.repo, n, "calm down"}).ok());
}

TEST(CollabComments, CreateEditDeleteWithPermissions) {
  Env env;
  auto n = env.issue(env.bob);
  EXPECT_EQ(env.as(env.carol, CreateComment{env.repo, n, ""}).message(), "body: can't be blank");
  ASSERT_TRUE(env.as(env.carol, CreateComment{env.repo, n, "me too"}).ok());
  auto comments = env.view().comments_of(env.repo, n, kIssueComment);
  ASSERT_EQ(comments.size(), 1u);
  auto id = comments[0].id;
  EXPECT_EQ(env.view().issue(env.repo, n)->comments, 1u);
  EXPECT_EQ(env.as(env.bob, EditComment{env.repo, id, "edited"}).code(), Code::kPermissionDenied);
  EXPECT_TRUE(env.as(env.carol, EditComment{env.repo, id, "me three"}).ok());
  EXPECT_EQ(env.view().comment(id)->body, "me three");
  EXPECT_EQ(env.as(env.carol, EditComment{env.repo + 1, id, "x"}).code(), Code::kNotFound);
  EXPECT_EQ(env.as(env.bob, DeleteComment{env.repo, id}).code(), Code::kPermissionDenied);
  EXPECT_TRUE(env.as(env.alice, DeleteComment{env.repo, id}).ok());  // write may delete
  EXPECT_FALSE(env.view().comment(id));
  EXPECT_EQ(env.view().issue(env.repo, n)->comments, 0u);
}

TEST(CollabReactions, AddIdempotentRemove) {
  Env env;
  auto n = env.issue(env.bob);
  EXPECT_EQ(env.as(env.carol, SetReaction{env.repo, kReactIssue, n, "thumbsup", false}).message(),
            "content: is not a valid reaction");
  EXPECT_TRUE(env.as(env.carol, SetReaction{env.repo, kReactIssue, n, "+1", false}).ok());
  EXPECT_TRUE(env.as(env.carol, SetReaction{env.repo, kReactIssue, n, "+1", false}).ok());
  EXPECT_EQ(env.view().reactions(env.repo, kReactIssue, n).size(), 1u);
  EXPECT_EQ(env.view().reaction_counts(env.repo, kReactIssue, n)[0], 1u);  // "+1" totals
  EXPECT_EQ(env.as(env.bob, SetReaction{env.repo, kReactIssue, n, "+1", true}).code(),
            Code::kNotFound);
  EXPECT_TRUE(env.as(env.carol, SetReaction{env.repo, kReactIssue, n, "+1", true}).ok());
  EXPECT_TRUE(env.view().reactions(env.repo, kReactIssue, n).empty());
  EXPECT_EQ(env.view().reaction_counts(env.repo, kReactIssue, n), ReactionCounts{});
  EXPECT_EQ(env.as(env.carol, SetReaction{env.repo, kReactComment, 99, "+1", false}).code(),
            Code::kNotFound);
}

TEST(CollabCollaborators, PermissionsFeedStateViewPermission) {
  Env env;
  auto repo = *env.view().repo(env.repo);
  EXPECT_EQ(env.view().permission(repo, env.bob.public_key()), Permission::kRead);
  EXPECT_EQ(env.as(env.bob, SetCollaborator{env.repo, env.carol.public_key(), 3}).code(),
            Code::kPermissionDenied);
  ASSERT_TRUE(env.as(env.alice, SetCollaborator{env.repo, env.bob.public_key(), 3}).ok());
  EXPECT_EQ(env.view().permission(repo, env.bob.public_key()), Permission::kWrite);
  // Now bob may push (UpdateRefs checks the same permission).
  EXPECT_TRUE(env.as(env.bob, UpdateRefs{env.repo, {{"refs/heads/bob", {}, oid(7)}}}).ok());
  EXPECT_EQ(env.as(env.alice, SetCollaborator{env.repo, env.alice.public_key(), 3}).message(),
            "user: is the repository's owner");
  EXPECT_EQ(env.as(env.alice, SetCollaborator{env.repo, env.dave.public_key(), 3}).code(),
            Code::kNotFound);
  EXPECT_EQ(env.as(env.alice, SetCollaborator{env.repo, env.carol.public_key(), 6}).code(),
            Code::kInvalidArgument);
  ASSERT_TRUE(env.as(env.alice, SetCollaborator{env.repo, env.bob.public_key(), 5}).ok());
  EXPECT_TRUE(env.as(env.bob, SetCollaborator{env.repo, env.carol.public_key(), 1})
                  .ok());  // admins manage too
  ASSERT_TRUE(env.as(env.alice, SetCollaborator{env.repo, env.bob.public_key(), 0}).ok());
  EXPECT_EQ(env.view().permission(repo, env.bob.public_key()), Permission::kRead);
  EXPECT_EQ(env.as(env.bob, UpdateRefs{env.repo, {{"refs/heads/bob2", {}, oid(7)}}}).code(),
            Code::kPermissionDenied);
  // Private repositories: a collaborator with read sees it, others do not.
  ASSERT_TRUE(env.as(env.alice, CreateRepo{"secret", "", true, "main"}).ok());
  auto secret = *env.view().repo_by_name(env.alice.public_key(), "secret");
  EXPECT_EQ(env.view().permission(secret, env.carol.public_key()), Permission::kNone);
  ASSERT_TRUE(env.as(env.alice, SetCollaborator{secret.id, env.carol.public_key(), 1}).ok());
  EXPECT_EQ(env.view().permission(secret, env.carol.public_key()), Permission::kRead);
}

TEST(CollabForks, ForkCopiesRefsAndRecordsParent) {
  Env env;
  ASSERT_TRUE(env.as(env.alice, UpdateRefs{env.repo, {{"refs/tags/v1", {}, oid(5)}}}).ok());
  ASSERT_TRUE(env.as(env.bob, ForkRepo{env.repo, "proj", false}).ok());
  auto fork = env.view().repo_by_name(env.bob.public_key(), "proj");
  ASSERT_TRUE(fork);
  EXPECT_EQ(*env.view().fork_parent(fork->id), env.repo);
  EXPECT_EQ(env.view().forks_of(env.repo), std::vector<uint64_t>{fork->id});
  EXPECT_EQ(env.view().refs(fork->id).size(), 3u);
  EXPECT_EQ(*env.view().ref(fork->id, "refs/heads/feature"), oid(2));
  EXPECT_EQ(env.as(env.bob, ForkRepo{env.repo, "proj", false}).code(), Code::kAlreadyExists);
  ASSERT_TRUE(env.as(env.carol, ForkRepo{fork->id, "only-main", true}).ok());
  auto f2 = env.view().repo_by_name(env.carol.public_key(), "only-main");
  EXPECT_EQ(env.view().refs(f2->id).size(), 1u);
  EXPECT_EQ(env.view().fork_root(f2->id), env.repo);
  EXPECT_EQ(env.as(env.carol, ForkRepo{999, "x", false}).code(), Code::kNotFound);
}

TEST(CollabPulls, OpenFromSameRepoOrForkWithChecks) {
  Env env;
  EXPECT_EQ(
      env.as(env.alice, OpenPullRequest{env.repo, "t", "", env.repo, "nope", "main", oid(2), false})
          .message(),
      "head: branch does not exist");
  EXPECT_EQ(env.as(env.alice,
                   OpenPullRequest{env.repo, "t", "", env.repo, "feature", "nope", oid(2), false})
                .message(),
            "base: branch does not exist");
  EXPECT_EQ(env.as(env.alice,
                   OpenPullRequest{env.repo, "t", "", env.repo, "feature", "main", oid(9), false})
                .code(),
            Code::kInvalidArgument);
  EXPECT_EQ(
      env.as(env.alice, OpenPullRequest{env.repo, "t", "", env.repo, "main", "main", oid(1), false})
          .message(),
      "base: is the head branch");
  auto n = env.pull(env.alice);
  EXPECT_EQ(env.as(env.alice,
                   OpenPullRequest{env.repo, "t", "", env.repo, "feature", "main", oid(2), false})
                .code(),
            Code::kAlreadyExists);  // one open pull request per head and base
  auto pr = *env.view().issue(env.repo, n);
  EXPECT_EQ(pr.base_sha, oid(1));
  EXPECT_EQ(env.view().revisions(env.repo, n).size(), 1u);

  // From a fork: bob forks, pushes a branch there, opens a pull request on alice's repository.
  ASSERT_TRUE(env.as(env.bob, ForkRepo{env.repo, "proj", false}).ok());
  auto fork = env.view().repo_by_name(env.bob.public_key(), "proj")->id;
  ASSERT_TRUE(env.as(env.bob, UpdateRefs{fork, {{"refs/heads/fix", {}, oid(3)}}}).ok());
  EXPECT_TRUE(
      env.as(env.bob, OpenPullRequest{env.repo, "Fix", "", fork, "fix", "main", oid(3), false})
          .ok());
  // An unrelated repository is not in the network.
  ASSERT_TRUE(env.as(env.bob, CreateRepo{"other", "", false, "main"}).ok());
  auto other = env.view().repo_by_name(env.bob.public_key(), "other")->id;
  ASSERT_TRUE(env.as(env.bob, UpdateRefs{other, {{"refs/heads/x", {}, oid(4)}}}).ok());
  EXPECT_EQ(env.as(env.bob, OpenPullRequest{env.repo, "t", "", other, "x", "main", oid(4), false})
                .message(),
            "head: is not in the fork network of the base repository");
}

TEST(CollabPulls, HeadMovesRecordRevisions) {
  Env env;
  auto n = env.pull(env.alice);
  ASSERT_TRUE(
      env.as(env.alice, UpdateRefs{env.repo, {{"refs/heads/feature", oid(2), oid(6)}}}).ok());
  auto pr = *env.view().issue(env.repo, n);
  EXPECT_EQ(pr.head_sha, oid(6));
  EXPECT_EQ(pr.revisions, 2u);
  auto revs = env.view().revisions(env.repo, n);
  ASSERT_EQ(revs.size(), 2u);
  EXPECT_EQ(revs[1].head_sha, oid(6));
  EXPECT_EQ(revs[1].base_sha, oid(1));
  // Deleting the branch keeps the last head.
  ASSERT_TRUE(env.as(env.alice, UpdateRefs{env.repo, {{"refs/heads/feature", oid(6), {}}}}).ok());
  EXPECT_EQ(env.view().issue(env.repo, n)->head_sha, oid(6));
}

TEST(CollabPulls, MergeNeedsWriteFreshHeadAndBaseCas) {
  Env env;
  auto n = env.pull(env.alice);
  MergePullRequest m{env.repo, n, kMergeCommit, oid(2), oid(1), oid(8)};
  EXPECT_EQ(env.as(env.bob, m).code(), Code::kPermissionDenied);
  auto stale = m;
  stale.head_sha = oid(3);
  EXPECT_EQ(env.as(env.alice, stale).message(),
            "sha: Head branch was modified. Review and try the merge again.");
  auto moved = m;
  moved.base_old = oid(4);
  EXPECT_EQ(env.as(env.alice, moved).code(), Code::kConflict);
  auto bad = m;
  bad.method = 9;
  EXPECT_EQ(env.as(env.alice, bad).code(), Code::kInvalidArgument);
  EXPECT_EQ(*env.view().ref(env.repo, "refs/heads/main"), oid(1));  // nothing changed
  ASSERT_TRUE(env.as(env.alice, m).ok());
  auto pr = *env.view().issue(env.repo, n);
  EXPECT_TRUE(pr.merged);
  EXPECT_EQ(pr.state, kIssueClosed);
  EXPECT_EQ(pr.merge_sha, oid(8));
  EXPECT_EQ(pr.merge_method, kMergeCommit);
  EXPECT_EQ(*env.view().ref(env.repo, "refs/heads/main"), oid(8));
  EXPECT_EQ(env.view().issue_count(env.repo, true, 'c'), 1u);
  EXPECT_NE(env.as(env.alice, m).message().find("already merged"), std::string::npos);
  EditIssue reopen{};
  reopen.repo_id = env.repo;
  reopen.number = n;
  reopen.state = kIssueOpen;
  EXPECT_EQ(env.as(env.alice, reopen).code(), Code::kInvalidArgument);
  // Drafts are not mergeable.
  ASSERT_TRUE(env.as(env.alice, UpdateRefs{env.repo, {{"refs/heads/d", {}, oid(9)}}}).ok());
  ASSERT_TRUE(
      env.as(env.alice, OpenPullRequest{env.repo, "wip", "", env.repo, "d", "main", oid(9), true})
          .ok());
  auto d = env.view().last_issue_number(env.repo);
  EXPECT_NE(env.as(env.alice, MergePullRequest{env.repo, d, kMergeSquash, oid(9), oid(8), oid(10)})
                .message()
                .find("draft"),
            std::string::npos);
}

TEST(CollabReviews, ReviewsInlineCommentsRepliesDismiss) {
  Env env;
  auto n = env.pull(env.alice);
  EXPECT_EQ(env.as(env.alice, SubmitReview{env.repo, n, kReviewApprove, "", {}, {}}).message(),
            "event: Can not approve your own pull request");
  EXPECT_EQ(env.as(env.bob, SubmitReview{env.repo, n, kReviewComment, "", {}, {}}).message(),
            "body: is required for this review event");
  EXPECT_EQ(
      env.as(env.bob,
             SubmitReview{env.repo, n, kReviewComment, "x", {}, {{"", 1, kSideRight, 0, "c"}}})
          .message(),
      "path: must be a file path of the pull request");
  EXPECT_EQ(
      env.as(env.bob,
             SubmitReview{env.repo, n, kReviewComment, "x", {}, {{"a", 0, kSideRight, 0, "c"}}})
          .code(),
      Code::kInvalidArgument);
  ASSERT_TRUE(env.as(env.bob, SubmitReview{env.repo,
                                           n,
                                           kReviewRequestChanges,
                                           "please fix",
                                           {},
                                           {{"src/a.c", 3, kSideRight, 0, "off by one"}}})
                  .ok());
  auto reviews = env.view().reviews_of(env.repo, n);
  ASSERT_EQ(reviews.size(), 1u);
  EXPECT_EQ(reviews[0].commit_sha, oid(2));
  auto comments = env.view().comments_of(env.repo, n, kReviewCommentKind);
  ASSERT_EQ(comments.size(), 1u);
  EXPECT_EQ(comments[0].review_id, reviews[0].id);
  // Replies inherit the position and point at the thread's root.
  ASSERT_TRUE(
      env.as(env.alice, CreateReviewComment{env.repo, n, "fixed", {}, "", 0, 0, 0, comments[0].id})
          .ok());
  ASSERT_TRUE(
      env.as(env.bob,
             CreateReviewComment{env.repo,
                                 n,
                                 "thanks",
                                 {},
                                 "",
                                 0,
                                 0,
                                 0,
                                 env.view().comments_of(env.repo, n, kReviewCommentKind)[1].id})
          .ok());
  comments = env.view().comments_of(env.repo, n, kReviewCommentKind);
  ASSERT_EQ(comments.size(), 3u);
  EXPECT_EQ(comments[2].in_reply_to, comments[0].id);
  EXPECT_EQ(comments[2].path, "src/a.c");
  EXPECT_EQ(comments[2].line, 3u);
  EXPECT_EQ(env.view().issue(env.repo, n)->review_comments, 3u);
  EXPECT_EQ(env.as(env.bob, CreateReviewComment{env.repo, n, "x", {}, "", 0, 0, 0, 12345}).code(),
            Code::kNotFound);
  // Dismissing needs write, a message, and an approving or blocking review.
  auto rid = reviews[0].id;
  EXPECT_EQ(env.as(env.bob, DismissReview{env.repo, n, rid, "no"}).code(), Code::kPermissionDenied);
  EXPECT_EQ(env.as(env.alice, DismissReview{env.repo, n, rid, ""}).message(),
            "message: can't be blank");
  ASSERT_TRUE(env.as(env.alice, DismissReview{env.repo, n, rid, "addressed"}).ok());
  EXPECT_EQ(env.view().review(env.repo, n, rid)->state, kReviewDismissed);
  EXPECT_EQ(env.as(env.alice, DismissReview{env.repo, n, rid, "again"}).code(),
            Code::kInvalidArgument);
}

TEST(CollabReviews, RequestedReviewers) {
  Env env;
  auto n = env.pull(env.alice);
  EditIssue req{};
  req.repo_id = env.repo;
  req.number = n;
  req.reviewers_add = {env.alice.public_key()};
  EXPECT_EQ(env.as(env.alice, req).message(),
            "reviewers: Review cannot be requested from pull request author.");
  req.reviewers_add = {env.bob.public_key()};
  EXPECT_EQ(env.as(env.carol, req).code(), Code::kPermissionDenied);
  ASSERT_TRUE(env.as(env.alice, req).ok());
  EXPECT_EQ(env.view().issue(env.repo, n)->requested_reviewers.size(), 1u);
  ASSERT_TRUE(env.as(env.bob, SubmitReview{env.repo, n, kReviewApprove, "", {}, {}}).ok());
  EXPECT_TRUE(env.view().issue(env.repo, n)->requested_reviewers.empty());  // reviewed
  // Issues have no reviewers.
  auto i = env.issue(env.bob);
  req.number = i;
  EXPECT_EQ(env.as(env.alice, req).message(), "reviewers: only pull requests have it");
}

TEST(CollabScopes, DelegatedNodeNeedsCollabScope) {
  Env env;
  ASSERT_TRUE(
      env.as(env.bob, GrantDelegation{env.node.public_key(), kScopePush, kT0 + 1000000}).ok());
  auto tx = make_tx(env.node, env.bob.public_key(), 1, CreateIssue{env.repo, "t", "", {}, {}, 0});
  EXPECT_EQ(env.ex.apply(env.state, tx).message(), "delegation does not cover create_issue");
  ASSERT_TRUE(
      env.as(env.bob, GrantDelegation{env.node.public_key(), kScopeCollab, kT0 + 1000000}).ok());
  EXPECT_TRUE(env.ex.apply(env.state, tx).ok());
}
