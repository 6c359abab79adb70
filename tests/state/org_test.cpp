// Governance (state/org.h): the effective permission function, table-driven, and every
// validity rule of the organization and team transactions, each with "no partial effect".
#include <gtest/gtest.h>

#include <map>

#include "codec/codec.h"
#include "state/executor.h"
#include "state/permission.h"
#include "state/view.h"
#include "tests/state/fixtures.h"

using namespace guts;
using namespace guts::state;
using namespace guts::state::testing;

namespace {

using P = Permission;

struct Env : ExecEnv {
  // alice: org owner; bob, carol: members; dave: outsider; erin: unregistered.
  crypto::SigningKey alice = key(1), bob = key(2), carol = key(3), dave = key(4), erin = key(5);
  crypto::PublicKey org{};
  uint64_t repo = 0;

  Env() : ExecEnv("org") {
    ok(alice, RegisterUser{"alice"});
    ok(bob, RegisterUser{"bob"});
    ok(carol, RegisterUser{"carol"});
    ok(dave, RegisterUser{"dave"});
    ok(alice, CreateOrg{"acme", "", "Acme Inc."});
    org = view().org_by_login("acme")->key;
    ok(alice, SetOrgMember{org, bob.public_key(), kMemberAdd, kOrgMember});
    ok(alice, SetOrgMember{org, carol.public_key(), kMemberAdd, kOrgMember});
    ok(alice, CreateOrgRepo{org, "app", "", false, "main"});
    repo = view().repo_by_name(org, "app")->id;
    ok(alice, UpdateRefs{repo, {{"refs/heads/main", {}, oid(1)}}});
  }
  Repo repo_rec() { return *view().repo(repo); }
  uint64_t team(const std::string& name, uint64_t parent = 0) {
    CreateTeam t;
    t.org = org;
    t.name = name;
    t.parent_id = parent;
    EXPECT_TRUE(as(alice, t).ok());
    return view().team_by_slug(org, team_slug(name))->id;
  }
  Permission perm(const crypto::SigningKey& k) {
    return effective_permission(view(), repo_rec(), k.public_key());
  }
  // A digest of every write so far: equal before and after a rejected transaction.
  Digest snapshot() { return state.digest(); }
};

}  // namespace

TEST(OrgTx, KindsAreAppendedAndRoundTrip) {
  EXPECT_EQ(static_cast<int>(kind_of(CreateOrg{})), 23);
  EXPECT_EQ(static_cast<int>(kind_of(TransferRepo{})), 33);
  EXPECT_STREQ(tx_kind_name(TxKind::kSetTeamRepo), "set_team_repo");
  auto k = key(1).public_key();
  expect_roundtrip(CreateOrg{"acme", "Acme", "d"});
  expect_roundtrip(UpdateOrg{k, "Acme", std::nullopt, "a@b.c", std::nullopt, "x", 3});
  expect_roundtrip(SetOrgMember{k, k, kMemberInvite, kOrgOwner});
  expect_roundtrip(AnswerOrgInvite{k, false});
  expect_roundtrip(CreateTeam{k, "Core", "d", kTeamClosed, 4, {k}, {1, 2}, 3});
  expect_roundtrip(UpdateTeam{3, "x", std::nullopt, kTeamSecret, 0});
  expect_roundtrip(DeleteTeam{3});
  expect_roundtrip(SetTeamMember{3, k, kTeamMaintainer});
  expect_roundtrip(SetTeamRepo{3, 9, 4});
  expect_roundtrip(CreateOrgRepo{k, "r", "d", true, "trunk"});
  expect_roundtrip(TransferRepo{9, k, "new"});
  // Bounded lists and no trailing bytes.
  Bytes enc = encode_body(TxBody{DeleteTeam{3}});
  enc.push_back(0);
  EXPECT_THROW(decode_body(TxKind::kDeleteTeam, enc), codec::DecodeError);
}

TEST(OrgRecords, AccountKindIsATrailingByteUsersUnchanged) {
  Account user{7, key(1).public_key(), "alice", 5};
  Account org{8, org_key(8), "acme", 5, true};
  EXPECT_FALSE(decode_account(encode_account(user)).is_org);
  EXPECT_TRUE(decode_account(encode_account(org)).is_org);
  EXPECT_EQ(encode_account(org).size(),
            encode_account(Account{8, org_key(8), "acme", 5}).size() + 1);
  std::string bad = encode_account(user) + '\x02';
  EXPECT_THROW(decode_account(bad), codec::DecodeError);
  EXPECT_NE(org_key(1), org_key(2));
  EXPECT_EQ(team_slug("Core Devs!"), "core-devs");
  EXPECT_EQ(team_slug("  --A__b  "), "a__b");
  EXPECT_TRUE(team_name_error("!!!"));
}

// ---- the permission function, exhaustively ----

TEST(EffectivePermission, Table) {
  // Each row builds one situation for dave on a fresh org repository and expects a level.
  struct Row {
    const char* name;
    bool is_private;
    int org_default;  // -1: dave not a member; else the org's default permission
    bool owner;       // dave is an org owner
    uint8_t collab;   // direct grant
    uint8_t team;     // grant of a team dave is in
    uint8_t parent;   // grant of that team's parent (inherited)
    bool pending;     // dave's membership is only an invitation
    P want;
  };
  const Row rows[] = {
      {"public, outsider", false, -1, false, 0, 0, 0, false, P::kRead},
      {"private, outsider", true, -1, false, 0, 0, 0, false, P::kNone},
      {"private, member, default none", true, 0, false, 0, 0, 0, false, P::kNone},
      {"private, member, default read", true, 1, false, 0, 0, 0, false, P::kRead},
      {"private, member, default write", true, 3, false, 0, 0, 0, false, P::kWrite},
      {"private, member, default admin", true, 5, false, 0, 0, 0, false, P::kAdmin},
      {"private, owner", true, 0, true, 0, 0, 0, false, P::kAdmin},
      {"private, collaborator triage", true, -1, false, 2, 0, 0, false, P::kTriage},
      {"private, collaborator beats default", true, 1, false, 4, 0, 0, false, P::kMaintain},
      {"private, default beats collaborator", true, 3, false, 2, 0, 0, false, P::kWrite},
      {"private, team write", true, 0, false, 0, 3, 0, false, P::kWrite},
      {"private, team triage over default read", true, 1, false, 0, 2, 0, false, P::kTriage},
      {"private, inherited from parent", true, 0, false, 0, 0, 4, false, P::kMaintain},
      {"private, own team beats parent", true, 0, false, 0, 5, 2, false, P::kAdmin},
      {"private, parent beats own team", true, 0, false, 0, 1, 3, false, P::kWrite},
      {"private, max of all", true, 1, false, 2, 3, 4, false, P::kMaintain},
      {"public, team read stays read", false, 0, false, 0, 1, 0, false, P::kRead},
      {"private, pending invitation gives nothing", true, 5, false, 0, 0, 0, true, P::kNone},
      {"private, pending owner gives nothing", true, 0, true, 0, 0, 0, true, P::kNone},
      {"private, pending keeps collaborator", true, 5, false, 2, 0, 0, true, P::kTriage},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.name);
    Env env;
    auto d = env.dave.public_key();
    env.ok(env.alice, UpdateRepo{env.repo, std::nullopt, std::nullopt, row.is_private, std::nullopt,
                                 std::nullopt});
    uint64_t parent = env.team("parent");
    uint64_t child = env.team("child", parent);
    if (row.org_default >= 0) {
      env.ok(env.alice, UpdateOrg{env.org, std::nullopt, std::nullopt, std::nullopt, std::nullopt,
                                  std::nullopt, static_cast<uint8_t>(row.org_default)});
      env.ok(env.alice, SetOrgMember{env.org, d, kMemberAdd, row.owner ? kOrgOwner : kOrgMember});
      if (row.team || row.parent) env.ok(env.alice, SetTeamMember{child, d, kTeamMember});
      if (row.pending) {
        // Rebuild as a pending invitation (team memberships need an active member, so they
        // were added first; removing the member drops them, as the rule says).
        env.ok(env.alice, SetOrgMember{env.org, d, kMemberRemove, 0});
        env.ok(env.alice,
               SetOrgMember{env.org, d, kMemberInvite, row.owner ? kOrgOwner : kOrgMember});
      }
    }
    if (row.collab) env.ok(env.alice, SetCollaborator{env.repo, d, row.collab});
    if (row.team) env.ok(env.alice, SetTeamRepo{child, env.repo, row.team});
    if (row.parent) env.ok(env.alice, SetTeamRepo{parent, env.repo, row.parent});
    EXPECT_EQ(env.perm(env.dave), row.want);
    // The view's member and the API's path agree with the function.
    EXPECT_EQ(env.view().permission(env.repo_rec(), d), row.want);
  }
}

TEST(EffectivePermission, AnonymousOwnerAndSources) {
  Env env;
  auto repo = env.repo_rec();
  EXPECT_EQ(effective_permission(env.view(), repo, std::nullopt), P::kRead);
  EXPECT_EQ(env.perm(env.alice), P::kAdmin);  // org owner
  EXPECT_EQ(env.perm(env.bob), P::kRead);     // member, default read
  uint64_t t = env.team("core");
  env.ok(env.alice, SetTeamMember{t, env.bob.public_key(), kTeamMember});
  env.ok(env.alice, SetTeamRepo{t, env.repo, 3});
  auto s = permission_sources(env.view(), repo, env.bob.public_key());
  EXPECT_EQ(s.effective, P::kWrite);
  EXPECT_EQ(s.team, P::kWrite);
  EXPECT_EQ(s.org_default, P::kRead);
  EXPECT_EQ(s.teams, std::vector<uint64_t>{t});
  // A user-owned repository: owner admin, org teams irrelevant.
  env.ok(env.bob, CreateRepo{"own", "", true, "main"});
  auto own = *env.view().repo_by_name(env.bob.public_key(), "own");
  EXPECT_EQ(effective_permission(env.view(), own, env.bob.public_key()), P::kAdmin);
  EXPECT_EQ(effective_permission(env.view(), own, env.alice.public_key()), P::kNone);
  // Leaving the org drops everything that came through it.
  env.ok(env.bob, SetOrgMember{env.org, env.bob.public_key(), kMemberRemove, 0});
  EXPECT_EQ(env.perm(env.bob), P::kRead);  // public repository
  EXPECT_FALSE(env.view().team_member(t, env.bob.public_key()));
}

TEST(EffectivePermission, TeamsPushThroughUpdateRefs) {
  Env env;
  env.ok(env.alice,
         UpdateRepo{env.repo, std::nullopt, std::nullopt, true, std::nullopt, std::nullopt});
  uint64_t t = env.team("core");
  env.ok(env.alice, SetTeamMember{t, env.bob.public_key(), kTeamMember});
  env.ok(env.alice, SetTeamRepo{t, env.repo, 3});
  EXPECT_TRUE(env.as(env.bob, UpdateRefs{env.repo, {{"refs/heads/b", {}, oid(2)}}}).ok());
  // carol: a member with the default read: not a push.
  EXPECT_EQ(env.as(env.carol, UpdateRefs{env.repo, {{"refs/heads/c", {}, oid(2)}}}).code(),
            Code::kPermissionDenied);
  // dave: an outsider: the private repository does not exist for him.
  EXPECT_EQ(env.as(env.dave, UpdateRefs{env.repo, {{"refs/heads/d", {}, oid(2)}}}).code(),
            Code::kNotFound);
}

// ---- the default branch ----

TEST(DefaultBranch, CannotBeDeletedOtherBranchesCan) {
  Env env;
  env.ok(env.alice, UpdateRefs{env.repo, {{"refs/heads/topic", {}, oid(2)}}});
  auto before = env.snapshot();
  auto st = env.as(
      env.alice,
      UpdateRefs{env.repo, {{"refs/heads/topic", oid(2), {}}, {"refs/heads/main", oid(1), {}}}});
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "refusing to delete the default branch: refs/heads/main");
  EXPECT_EQ(env.snapshot(), before);  // the whole batch is refused: topic is still there
  EXPECT_TRUE(env.view().ref(env.repo, "refs/heads/topic"));
  EXPECT_TRUE(env.as(env.alice, UpdateRefs{env.repo, {{"refs/heads/topic", oid(2), {}}}}).ok());
  // Moving the default elsewhere makes the old one deletable; the new one is protected.
  env.ok(env.alice, UpdateRefs{env.repo, {{"refs/heads/dev", {}, oid(3)}}});
  env.ok(env.alice, UpdateRepo{env.repo, std::nullopt, std::nullopt, std::nullopt,
                               std::string("dev"), std::nullopt});
  EXPECT_TRUE(env.as(env.alice, UpdateRefs{env.repo, {{"refs/heads/main", oid(1), {}}}}).ok());
  EXPECT_FALSE(env.as(env.alice, UpdateRefs{env.repo, {{"refs/heads/dev", oid(3), {}}}}).ok());
  // Updating (not deleting) the default branch is fine.
  EXPECT_TRUE(env.as(env.alice, UpdateRefs{env.repo, {{"refs/heads/dev", oid(3), oid(4)}}}).ok());
}

// ---- organizations ----

TEST(Orgs, CreateSharesTheUsernameNamespace) {
  Env env;
  auto acct = env.view().account_by_username("ACME");
  ASSERT_TRUE(acct);
  EXPECT_TRUE(acct->is_org);
  EXPECT_EQ(acct->key, org_key(acct->id));
  auto m = env.view().org_membership(env.org, env.alice.public_key());
  ASSERT_TRUE(m);
  EXPECT_EQ(m->role, kOrgOwner);
  EXPECT_EQ(m->state, kMembershipActive);
  auto before = env.snapshot();
  EXPECT_EQ(env.as(env.bob, CreateOrg{"alice", "", ""}).message(), "login: already_exists");
  EXPECT_EQ(env.as(env.bob, CreateOrg{"Acme", "", ""}).message(), "login: already_exists");
  EXPECT_EQ(env.as(env.bob, CreateOrg{"-bad", "", ""}).code(), Code::kInvalidArgument);
  EXPECT_EQ(env.as(env.bob, CreateOrg{"api", "", ""}).code(), Code::kInvalidArgument);  // reserved
  EXPECT_EQ(env.as(env.erin, CreateOrg{"erinco", "", ""}).code(), Code::kPermissionDenied);
  EXPECT_EQ(env.as(env.bob, CreateOrg{"x", "", std::string(2001, 'd')}).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(env.snapshot(), before);
  // And a user cannot take an organization's name.
  EXPECT_EQ(env.as(env.erin, RegisterUser{"acme"}).code(), Code::kAlreadyExists);
}

TEST(Orgs, UpdateProfileOwnersOnly) {
  Env env;
  UpdateOrg u{env.org, "Acme Inc", "Rockets", "hi@acme.test", "Moon", "https://acme.test", 3};
  EXPECT_EQ(env.as(env.bob, u).code(), Code::kPermissionDenied);
  EXPECT_EQ(env.as(env.dave, u).code(), Code::kPermissionDenied);
  env.ok(env.alice, u);
  auto o = *env.view().org(env.org);
  EXPECT_EQ(o.name, "Acme Inc");
  EXPECT_EQ(o.blog, "https://acme.test");
  EXPECT_EQ(o.default_permission, 3);
  auto before = env.snapshot();
  u.default_permission = 2;  // triage is not an org default
  EXPECT_EQ(env.as(env.alice, u).message(),
            "default_repository_permission: must be read, write, admin or none");
  u.default_permission = std::nullopt;
  u.location = std::string("a\nb");
  EXPECT_EQ(env.as(env.alice, u).message(), "location: may not contain control characters");
  EXPECT_EQ(env.as(env.alice, UpdateOrg{org_key(999), "x"}).code(), Code::kNotFound);
  EXPECT_EQ(env.snapshot(), before);
}

TEST(Orgs, InviteAcceptDeclineAddRemoveLeave) {
  Env env;
  auto d = env.dave.public_key();
  // Only owners invite; unknown users and organizations are refused.
  EXPECT_EQ(env.as(env.bob, SetOrgMember{env.org, d, kMemberInvite, kOrgMember}).code(),
            Code::kPermissionDenied);
  EXPECT_EQ(
      env.as(env.alice, SetOrgMember{env.org, env.erin.public_key(), kMemberInvite, 1}).code(),
      Code::kNotFound);
  EXPECT_EQ(env.as(env.alice, SetOrgMember{env.org, env.org, kMemberAdd, 1}).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(env.as(env.alice, SetOrgMember{env.org, d, kMemberInvite, 7}).message(),
            "role: must be member or admin");
  EXPECT_EQ(env.as(env.alice, SetOrgMember{env.org, d, 9, 1}).message(),
            "action: must be add, invite or remove");
  env.ok(env.alice, SetOrgMember{env.org, d, kMemberInvite, kOrgMember});
  EXPECT_EQ(env.view().org_membership(env.org, d)->state, kMembershipPending);
  EXPECT_EQ(env.as(env.bob, AnswerOrgInvite{env.org, true}).code(), Code::kNotFound);
  env.ok(env.dave, AnswerOrgInvite{env.org, true});
  EXPECT_EQ(env.view().org_membership(env.org, d)->state, kMembershipActive);
  EXPECT_EQ(env.as(env.dave, AnswerOrgInvite{env.org, true}).code(), Code::kNotFound);
  // Leave; then invite again and decline.
  env.ok(env.dave, SetOrgMember{env.org, d, kMemberRemove, 0});
  EXPECT_FALSE(env.view().org_membership(env.org, d));
  env.ok(env.alice, SetOrgMember{env.org, d, kMemberInvite, kOrgOwner});
  env.ok(env.dave, AnswerOrgInvite{env.org, false});
  EXPECT_FALSE(env.view().org_membership(env.org, d));
  EXPECT_TRUE(env.view().orgs_of(d).empty());
  // Members cannot remove others; owners can; removing a non-member is 404.
  EXPECT_EQ(env.as(env.bob, SetOrgMember{env.org, env.carol.public_key(), kMemberRemove, 0}).code(),
            Code::kPermissionDenied);
  env.ok(env.alice, SetOrgMember{env.org, env.carol.public_key(), kMemberRemove, 0});
  EXPECT_EQ(env.as(env.alice, SetOrgMember{env.org, d, kMemberRemove, 0}).code(), Code::kNotFound);
  EXPECT_EQ(env.view().orgs_of(env.bob.public_key()).size(), 1u);
}

TEST(Orgs, LastOwnerCannotLeaveBeRemovedOrDemoted) {
  Env env;
  auto a = env.alice.public_key();
  auto before = env.snapshot();
  EXPECT_EQ(env.as(env.alice, SetOrgMember{env.org, a, kMemberRemove, 0}).message(),
            "user: the last owner cannot leave or be removed");
  EXPECT_EQ(env.as(env.alice, SetOrgMember{env.org, a, kMemberAdd, kOrgMember}).message(),
            "role: the last owner cannot be made a member");
  EXPECT_EQ(env.snapshot(), before);
  // With a second owner, the first may go.
  env.ok(env.alice, SetOrgMember{env.org, env.bob.public_key(), kMemberAdd, kOrgOwner});
  EXPECT_EQ(env.view().org_owner_count(env.org), 2u);
  env.ok(env.alice, SetOrgMember{env.org, a, kMemberRemove, 0});
  EXPECT_EQ(
      env.as(env.bob, SetOrgMember{env.org, env.bob.public_key(), kMemberRemove, 0}).message(),
      "user: the last owner cannot leave or be removed");
  // An invited (pending) owner does not count.
  env.ok(env.bob, SetOrgMember{env.org, env.dave.public_key(), kMemberInvite, kOrgOwner});
  EXPECT_EQ(env.view().org_owner_count(env.org), 1u);
}

TEST(Orgs, OrgReposCreateAndTransfer) {
  Env env;
  // Members create (and administer what they create); outsiders cannot.
  env.ok(env.bob, CreateOrgRepo{env.org, "tool", "", true, "main"});
  auto tool = *env.view().repo_by_name(env.org, "tool");
  EXPECT_EQ(effective_permission(env.view(), tool, env.bob.public_key()), P::kAdmin);
  EXPECT_EQ(effective_permission(env.view(), tool, env.carol.public_key()), P::kRead);
  EXPECT_EQ(env.as(env.dave, CreateOrgRepo{env.org, "x", "", false, "main"}).code(),
            Code::kPermissionDenied);
  EXPECT_EQ(env.as(env.alice, CreateOrgRepo{env.org, "app", "", false, "main"}).message(),
            "name: already_exists");
  EXPECT_EQ(env.as(env.alice, CreateOrgRepo{env.org, "a.git", "", false, "main"}).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(env.as(env.alice, CreateOrgRepo{org_key(999), "x", "", false, "main"}).code(),
            Code::kNotFound);
  // Transfer in: bob's own repository into the org.
  env.ok(env.bob, CreateRepo{"lib", "", false, "main"});
  auto lib = *env.view().repo_by_name(env.bob.public_key(), "lib");
  auto before = env.snapshot();
  EXPECT_EQ(env.as(env.dave, TransferRepo{lib.id, env.org, std::nullopt}).code(),
            Code::kPermissionDenied);  // public repo, read only
  EXPECT_EQ(env.as(env.bob, TransferRepo{lib.id, env.dave.public_key(), std::nullopt}).message(),
            "new_owner: a repository can be transferred to an organization or to yourself");
  EXPECT_EQ(env.as(env.bob, TransferRepo{lib.id, env.erin.public_key(), std::nullopt}).code(),
            Code::kNotFound);
  EXPECT_EQ(env.as(env.bob, TransferRepo{lib.id, env.org, std::string("app")}).message(),
            "new_name: already_exists");
  EXPECT_EQ(env.as(env.bob, TransferRepo{999, env.org, std::nullopt}).code(), Code::kNotFound);
  EXPECT_EQ(env.snapshot(), before);
  env.ok(env.bob, TransferRepo{lib.id, env.org, std::nullopt});
  lib = *env.view().repo(lib.id);
  EXPECT_EQ(lib.owner, env.org);
  EXPECT_FALSE(env.view().repo_by_name(env.bob.public_key(), "lib"));
  EXPECT_EQ(env.view().repo_by_name(env.org, "lib")->id, lib.id);
  EXPECT_EQ(effective_permission(env.view(), lib, env.bob.public_key()), P::kAdmin);
  // A team grant, then transfer out: the grant goes with the organization.
  uint64_t t = env.team("core");
  env.ok(env.alice, SetTeamRepo{t, lib.id, 3});
  env.ok(env.alice, TransferRepo{lib.id, env.alice.public_key(), std::string("mine")});
  EXPECT_TRUE(env.view().team_repos(t).empty());
  EXPECT_TRUE(env.view().teams_of_repo(lib.id).empty());
  EXPECT_EQ(env.view().repo(lib.id)->name, "mine");
  EXPECT_EQ(env.as(env.alice, TransferRepo{lib.id, env.alice.public_key(), std::nullopt}).message(),
            "new_owner: already owns the repository");
  // Deleting a repository drops team grants too.
  env.ok(env.alice, SetTeamRepo{t, tool.id, 2});
  env.ok(env.alice, DeleteRepo{tool.id});
  EXPECT_TRUE(env.view().team_repos(t).empty());
}

// ---- teams ----

TEST(Teams, CreateRulesAndAtomicity) {
  Env env;
  CreateTeam t{env.org, "Core Devs", "d", kTeamClosed, 0, {env.bob.public_key()}, {env.repo}, 3};
  EXPECT_EQ(env.as(env.bob, t).code(), Code::kPermissionDenied);  // members don't
  auto before = env.snapshot();
  auto bad = t;
  bad.maintainers = {env.bob.public_key(), env.dave.public_key()};  // dave is not a member
  EXPECT_EQ(env.as(env.alice, bad).code(), Code::kInvalidArgument);
  EXPECT_EQ(env.snapshot(), before);  // no team, no bob membership, no grant
  bad = t;
  env.ok(env.bob, CreateRepo{"own", "", false, "main"});
  before = env.snapshot();
  bad.repo_ids = {env.repo, env.view().repo_by_name(env.bob.public_key(), "own")->id};
  EXPECT_EQ(env.as(env.alice, bad).code(), Code::kInvalidArgument);
  bad = t;
  bad.privacy = 3;
  EXPECT_EQ(env.as(env.alice, bad).message(), "privacy: must be closed or secret");
  bad = t;
  bad.repo_permission = 0;
  EXPECT_EQ(env.as(env.alice, bad).code(), Code::kInvalidArgument);
  bad = t;
  bad.name = "?!";
  EXPECT_EQ(env.as(env.alice, bad).message(), "name: must contain a letter or a digit");
  bad = t;
  bad.parent_id = 77;
  EXPECT_EQ(env.as(env.alice, bad).code(), Code::kInvalidArgument);
  EXPECT_EQ(env.snapshot(), before);
  env.ok(env.alice, t);
  auto team = *env.view().team_by_slug(env.org, "core-devs");
  EXPECT_EQ(team.name, "Core Devs");
  EXPECT_EQ(env.view().team_member(team.id, env.alice.public_key())->role, kTeamMaintainer);
  EXPECT_EQ(env.view().team_member(team.id, env.bob.public_key())->role, kTeamMaintainer);
  EXPECT_EQ(env.view().team_repo(team.id, env.repo)->permission, 3);
  EXPECT_EQ(env.perm(env.bob), P::kWrite);
  t.name = "core devs";  // same slug
  EXPECT_EQ(env.as(env.alice, t).message(), "name: already_exists");
}

TEST(Teams, NestingOneLevelSecretTeamsNotNested) {
  Env env;
  uint64_t a = env.team("a");
  uint64_t b = env.team("b", a);
  CreateTeam c{env.org, "c", "", kTeamClosed, b};
  EXPECT_EQ(env.as(env.alice, c).message(),
            "parent_team_id: teams nest one level deep: the parent has a parent");
  c.parent_id = a;
  c.privacy = kTeamSecret;
  EXPECT_EQ(env.as(env.alice, c).message(), "parent_team_id: secret teams cannot be nested");
  // A parent cannot get a parent; a team cannot be its own parent.
  uint64_t d = env.team("d");
  EXPECT_EQ(env.as(env.alice, UpdateTeam{a, std::nullopt, std::nullopt, std::nullopt, d}).message(),
            "parent_team_id: a team with child teams cannot have a parent");
  EXPECT_EQ(env.as(env.alice, UpdateTeam{d, std::nullopt, std::nullopt, std::nullopt, d}).message(),
            "parent_team_id: a team cannot be its own parent");
  EXPECT_EQ(env.as(env.alice, UpdateTeam{a, std::nullopt, std::nullopt, kTeamSecret, std::nullopt})
                .message(),
            "privacy: a parent team cannot be secret");
  // Re-parenting b under d, then removing the parent.
  env.ok(env.alice, UpdateTeam{b, std::string("bee"), std::nullopt, std::nullopt, d});
  EXPECT_EQ(env.view().team(b)->parent_id, d);
  EXPECT_EQ(env.view().team_by_slug(env.org, "bee")->id, b);
  EXPECT_FALSE(env.view().team_by_slug(env.org, "b"));
  EXPECT_TRUE(env.view().child_teams(a).empty());
  env.ok(env.alice, UpdateTeam{b, std::nullopt, std::nullopt, std::nullopt, 0});
  EXPECT_EQ(env.view().team(b)->parent_id, 0u);
  EXPECT_EQ(env.as(env.alice, UpdateTeam{99}).code(), Code::kNotFound);
  // Another org's team cannot be a parent.
  env.ok(env.bob, CreateOrg{"other", "", ""});
  auto other = env.view().org_by_login("other")->key;
  env.ok(env.bob, CreateTeam{other, "x"});
  uint64_t x = env.view().team_by_slug(other, "x")->id;
  EXPECT_EQ(env.as(env.alice, UpdateTeam{b, std::nullopt, std::nullopt, std::nullopt, x}).code(),
            Code::kInvalidArgument);
}

TEST(Teams, MembersMaintainersAndRepoGrants) {
  Env env;
  uint64_t t = env.team("core");
  auto b = env.bob.public_key(), c = env.carol.public_key(), d = env.dave.public_key();
  EXPECT_EQ(env.as(env.bob, SetTeamMember{t, c, kTeamMember}).code(), Code::kPermissionDenied);
  EXPECT_EQ(env.as(env.alice, SetTeamMember{t, d, kTeamMember}).message(),
            "user: is not a member of acme");
  EXPECT_EQ(env.as(env.alice, SetTeamMember{t, env.erin.public_key(), kTeamMember}).code(),
            Code::kNotFound);
  EXPECT_EQ(env.as(env.alice, SetTeamMember{t, b, 5}).message(),
            "role: must be member or maintainer");
  EXPECT_EQ(env.as(env.alice, SetTeamMember{99, b, 1}).code(), Code::kNotFound);
  env.ok(env.alice, SetTeamMember{t, b, kTeamMaintainer});
  // A maintainer manages membership, but grants only on repositories they administer.
  env.ok(env.bob, SetTeamMember{t, c, kTeamMember});
  EXPECT_EQ(env.view().team_members(t).size(), 3u);  // alice (creator), bob, carol
  EXPECT_EQ(env.as(env.bob, SetTeamRepo{t, env.repo, 3}).code(), Code::kPermissionDenied);
  env.ok(env.alice, SetCollaborator{env.repo, b, 5});
  env.ok(env.bob, SetTeamRepo{t, env.repo, 3});
  EXPECT_EQ(env.perm(env.carol), P::kWrite);
  EXPECT_EQ(env.as(env.alice, SetTeamRepo{t, env.repo, 6}).code(), Code::kInvalidArgument);
  EXPECT_EQ(env.as(env.alice, SetTeamRepo{t, 999, 1}).code(), Code::kNotFound);
  env.ok(env.bob, CreateRepo{"own", "", false, "main"});
  auto own = env.view().repo_by_name(b, "own")->id;
  EXPECT_EQ(env.as(env.alice, SetTeamRepo{t, own, 1}).message(), "repo: is not owned by acme");
  env.ok(env.alice, SetTeamRepo{t, env.repo, 0});
  EXPECT_EQ(env.perm(env.carol), P::kRead);
  EXPECT_EQ(env.as(env.alice, SetTeamRepo{t, env.repo, 0}).code(), Code::kNotFound);
  env.ok(env.alice, SetTeamMember{t, c, kTeamNone});
  EXPECT_EQ(env.as(env.alice, SetTeamMember{t, c, kTeamNone}).code(), Code::kNotFound);
  EXPECT_EQ(env.view().teams_of_user(c).size(), 0u);
}

TEST(Teams, DeleteCascadesToChildren) {
  Env env;
  uint64_t p = env.team("parent");
  uint64_t ch = env.team("child", p);
  env.ok(env.alice, SetTeamMember{ch, env.bob.public_key(), kTeamMember});
  env.ok(env.alice, SetTeamRepo{p, env.repo, 4});
  EXPECT_EQ(env.perm(env.bob), P::kMaintain);  // inherited
  EXPECT_EQ(env.as(env.bob, DeleteTeam{p}).code(), Code::kPermissionDenied);
  env.ok(env.alice, DeleteTeam{p});
  EXPECT_FALSE(env.view().team(p));
  EXPECT_FALSE(env.view().team(ch));
  EXPECT_TRUE(env.view().teams_of_org(env.org).empty());
  EXPECT_TRUE(env.view().teams_of_user(env.bob.public_key()).empty());
  EXPECT_TRUE(env.view().teams_of_repo(env.repo).empty());
  EXPECT_FALSE(env.view().team_by_slug(env.org, "child"));
  EXPECT_EQ(env.perm(env.bob), P::kRead);
  EXPECT_EQ(env.as(env.alice, DeleteTeam{p}).code(), Code::kNotFound);
}

TEST(OrgScopes, DelegatedNodeNeedsRepoScope) {
  Env env;
  auto node = key(9);
  env.ok(env.alice, GrantDelegation{node.public_key(), kScopeCollab, kT0 + 1000000});
  auto tx = make_tx(node, env.alice.public_key(), 1, CreateTeam{env.org, "ops"});
  EXPECT_EQ(env.ex.apply(env.state, tx).message(), "delegation does not cover create_team");
  env.ok(env.alice, GrantDelegation{node.public_key(), kScopeRepo, kT0 + 1000000});
  EXPECT_TRUE(env.ex.apply(env.state, tx).ok());
}

// Golden vectors of the governance bodies (docs/protocol.md §3): byte for byte. A change to
// any of these encodings breaks the test and needs a new protocol version.
TEST(OrgGolden, Bodies) {
  auto a = key(1).public_key(), b = key(2).public_key();
  const std::vector<std::pair<const char*, TxBody>> bodies = {
      {"create_org", CreateOrg{"acme", "Acme", "Rockets"}},
      {"update_org", UpdateOrg{a, std::nullopt, "d", std::nullopt, std::nullopt, std::nullopt, 3}},
      {"set_org_member", SetOrgMember{a, b, kMemberInvite, kOrgOwner}},
      {"answer_org_invite", AnswerOrgInvite{a, true}},
      {"create_team", CreateTeam{a, "Core", "", kTeamClosed, 0, {b}, {7}, 3}},
      {"update_team", UpdateTeam{5, "Ops", std::nullopt, kTeamSecret, 0}},
      {"delete_team", DeleteTeam{5}},
      {"set_team_member", SetTeamMember{5, b, kTeamMaintainer}},
      {"set_team_repo", SetTeamRepo{5, 7, 4}},
      {"create_org_repo", CreateOrgRepo{a, "app", "", true, "main"}},
      {"transfer_repo", TransferRepo{7, a, "lib"}},
  };
  const std::map<std::string, std::string> expected = {
      {"create_org", "0461636d650441636d6507526f636b657473"},
      {"update_org",
       "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c000101640000000103"},
      {"set_org_member",
       "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c8139770ea87d175f56a35466c34"
       "c7ecccb8d8a91b4ee37a25df60f5b8fc9b3940202"},
      {"answer_org_invite", "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c01"},
      {"create_team",
       "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c04436f7265000100018139770ea"
       "87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394010703"},
      {"update_team", "0501034f70730001020100"},
      {"delete_team", "05"},
      {"set_team_member", "058139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b39402"},
      {"set_team_repo", "050704"},
      {"create_org_repo",
       "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c036170700001046d61696e"},
      {"transfer_repo",
       "078a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c01036c6962"},
  };
  for (const auto& [name, body] : bodies) {
    EXPECT_STREQ(tx_kind_name(kind_of(body)), name);
    std::string hex = hex_encode(encode_body(body));
    auto it = expected.find(name);
    if (it == expected.end())
      ADD_FAILURE() << "{\"" << name << "\", \"" << hex << "\"},";
    else
      EXPECT_EQ(hex, it->second) << name;
  }
}
