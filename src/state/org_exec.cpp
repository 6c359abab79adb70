// Validity and application of the governance transactions (state/org.h; docs/governance.md §3).
// Rejections name the offending field as "<field>: <reason>" (422 Validation Failed), unknown
// organizations, teams, users and repositories are kNotFound (404), missing rights
// kPermissionDenied (403). Every rejection leaves the state untouched (the executor runs each
// transaction in a child overlay).
#include <algorithm>
#include <set>

#include "core/assert.h"
#include "crypto/did.h"
#include "state/executor.h"
#include "state/permission.h"
#include "state/rejections.h"
#include "state/rules.h"
#include "state/view.h"

namespace guts::state {

namespace {

using reject::denied;
using reject::invalid;
using reject::not_found;
using reject::taken;

Status field(const char* name, const std::string& why) {
  return invalid(std::string(name) + ": " + why);
}

class OrgApply {
 public:
  OrgApply(const Schema& s, Overlay& state, const Transaction& tx, uint64_t now)
      : s_(s), state_(state), view_(s, state), tx_(tx), author_(tx.author), now_(now) {}

  Status operator()(const CreateOrg& b);
  Status operator()(const UpdateOrg& b);
  Status operator()(const SetOrgMember& b);
  Status operator()(const AnswerOrgInvite& b);
  Status operator()(const CreateTeam& b);
  Status operator()(const UpdateTeam& b);
  Status operator()(const DeleteTeam& b);
  Status operator()(const SetTeamMember& b);
  Status operator()(const SetTeamRepo& b);
  Status operator()(const CreateOrgRepo& b);
  Status operator()(const TransferRepo& b);
  template <typename T>
  Status operator()(const T&) {
    return invalid("not a governance transaction");
  }

 private:
  Status load_org(const crypto::PublicKey& key, Org* out) {
    auto o = view_.org(key);
    if (!o) return not_found("org: " + crypto::did_from_key(key) + " is not an organization");
    *out = std::move(*o);
    return Status::Ok();
  }
  bool active(const crypto::PublicKey& org, const crypto::PublicKey& user) {
    auto m = view_.org_membership(org, user);
    return m && m->state == kMembershipActive;
  }
  bool owner(const crypto::PublicKey& org, const crypto::PublicKey& user) {
    auto m = view_.org_membership(org, user);
    return m && m->state == kMembershipActive && m->role == kOrgOwner;
  }
  Status must_own(const Org& org) {
    if (!owner(org.key, author_))
      return denied("You must be an owner of the organization " + org.login + ".");
    return Status::Ok();
  }
  // A registered user (not an organization).
  Status user(const crypto::PublicKey& key, const char* what) {
    auto a = view_.account(key);
    if (!a)
      return not_found(std::string(what) + ": " + crypto::did_from_key(key) + " is not registered");
    if (a->is_org) return field(what, a->username + " is an organization");
    return Status::Ok();
  }
  Status load_team(uint64_t id, Team* out, Org* org) {
    auto t = view_.team(id);
    if (!t) return not_found("team: " + std::to_string(id) + " does not exist");
    *out = std::move(*t);
    return load_org(out->org, org);
  }
  // Org owners, and maintainers of the team.
  Status may_manage(const Org& org, const Team& t) {
    if (owner(org.key, author_)) return Status::Ok();
    auto m = view_.team_member(t.id, author_);
    if (active(org.key, author_) && m && m->role == kTeamMaintainer) return Status::Ok();
    return denied("You must be an organization owner or a maintainer of the team " + t.slug + ".");
  }
  void put_membership(const OrgMembership& m) {
    state_.put(s_.governance, StateView::org_member_key(m.org, m.user), encode_org_membership(m));
    state_.put(s_.governance, StateView::user_org_key(m.user, m.org), "");
  }
  void drop_team_member(uint64_t team, const crypto::PublicKey& user) {
    state_.del(s_.governance, StateView::team_member_key(team, user));
    state_.del(s_.governance, StateView::user_team_key(user, team));
  }
  void put_team_member(uint64_t team, const crypto::PublicKey& user, uint8_t role) {
    auto old = view_.team_member(team, user);
    state_.put(s_.governance, StateView::team_member_key(team, user),
               encode_team_member({team, user, role, old ? old->added_ms : now_}));
    state_.put(s_.governance, StateView::user_team_key(user, team), "");
  }
  void put_team_repo(uint64_t team, uint64_t repo, uint8_t perm) {
    auto old = view_.team_repo(team, repo);
    state_.put(s_.governance, StateView::team_repo_key(team, repo),
               encode_team_repo({team, repo, perm, old ? old->added_ms : now_}));
    state_.put(s_.governance, StateView::repo_team_key(repo, team), "");
  }
  void drop_team_repo(uint64_t team, uint64_t repo) {
    state_.del(s_.governance, StateView::team_repo_key(team, repo));
    state_.del(s_.governance, StateView::repo_team_key(repo, team));
  }
  void drop_team(const Team& t) {
    for (const auto& m : view_.team_members(t.id)) drop_team_member(t.id, m.user);
    for (const auto& g : view_.team_repos(t.id)) drop_team_repo(t.id, g.repo_id);
    for (uint64_t c : view_.child_teams(t.id))
      state_.del(s_.governance, StateView::team_child_key(t.id, c));
    if (t.parent_id) state_.del(s_.governance, StateView::team_child_key(t.parent_id, t.id));
    state_.del(s_.governance, StateView::team_slug_key(t.org, t.slug));
    state_.del(s_.governance, StateView::org_team_key(t.org, t.id));
    state_.del(s_.governance, StateView::team_key(t.id));
  }
  // A parent for team `self` (0: a new team): same organization, itself without a parent.
  Status check_parent(const Org& org, uint64_t parent_id, uint64_t self, uint8_t privacy) {
    if (parent_id == 0) return Status::Ok();
    auto p = view_.team(parent_id);
    if (!p || p->org != org.key) return field("parent_team_id", "is not a team of " + org.login);
    if (parent_id == self) return field("parent_team_id", "a team cannot be its own parent");
    if (p->parent_id)
      return field("parent_team_id", "teams nest one level deep: the parent has a parent");
    if (self && !view_.child_teams(self).empty())
      return field("parent_team_id", "a team with child teams cannot have a parent");
    if (privacy == kTeamSecret || p->privacy == kTeamSecret)
      return field("parent_team_id", "secret teams cannot be nested");
    return Status::Ok();
  }
  Status check_name_free(const Org& org, const std::string& name, uint64_t self) {
    if (auto e = team_name_error(name)) return field("name", *e);
    auto existing = view_.team_by_slug(org.key, team_slug(name));
    if (existing && existing->id != self) return taken("name: already_exists");
    return Status::Ok();
  }
  void receipt(uint64_t v) { state_.put(s_.receipts, key_of(tx_.id()), storage::be64(v)); }
  Status new_repo(const crypto::PublicKey& owner, const std::string& name,
                  const std::string& description, bool is_private,
                  const std::string& default_branch, Repo* out);

  const Schema& s_;
  Overlay& state_;
  StateView view_;
  const Transaction& tx_;
  const crypto::PublicKey& author_;
  uint64_t now_;
};

Status OrgApply::operator()(const CreateOrg& b) {
  if (auto st = user(author_, "author"); !st.ok())
    return denied("the author has no registered username");
  if (auto e = username_error(b.login)) return field("login", *e);
  if (view_.account_by_username(b.login)) return taken("login: already_exists");
  if (auto e = profile_text_error(b.name, kMaxOrgTextChars)) return field("name", *e);
  if (auto e = profile_text_error(b.description, kMaxOrgDescriptionBytes))
    return field("description", *e);
  uint64_t id = view_.next_account_id();
  Org org;
  org.id = id;
  org.key = org_key(id);
  org.login = b.login;
  org.name = b.name;
  org.description = b.description;
  org.creator = author_;
  org.created_ms = org.updated_ms = now_;
  GUTS_ASSERT(!view_.account(org.key), "organization key collides with an account");
  Account acct{id, org.key, b.login, now_, /*is_org=*/true};
  state_.put(s_.meta, StateView::kNextAccountId, storage::be64(id + 1));
  state_.put(s_.accounts, key_of(org.key), encode_account(acct));
  state_.put(s_.usernames, fold_case(b.login), key_of(org.key));
  state_.put(s_.governance, StateView::org_key_of(org.key), encode_org(org));
  put_membership({org.key, author_, kOrgOwner, kMembershipActive, author_, now_});
  receipt(id);
  return Status::Ok();
}

Status OrgApply::operator()(const UpdateOrg& b) {
  Org org;
  if (auto st = load_org(b.org, &org); !st.ok()) return st;
  if (auto st = must_own(org); !st.ok()) return st;
  auto text = [&](const std::optional<std::string>& v, const char* name, size_t max,
                  std::string* dst) -> Status {
    if (!v) return Status::Ok();
    if (auto e = profile_text_error(*v, max)) return field(name, *e);
    *dst = *v;
    return Status::Ok();
  };
  for (auto st : {text(b.name, "name", kMaxOrgTextChars, &org.name),
                  text(b.description, "description", kMaxOrgDescriptionBytes, &org.description),
                  text(b.email, "email", kMaxOrgTextChars, &org.email),
                  text(b.location, "location", kMaxOrgTextChars, &org.location),
                  text(b.blog, "blog", kMaxOrgTextChars, &org.blog)})
    if (!st.ok()) return st;
  if (b.default_permission) {
    if (!valid_default_permission(*b.default_permission))
      return field("default_repository_permission", "must be read, write, admin or none");
    org.default_permission = *b.default_permission;
  }
  org.updated_ms = now_;
  state_.put(s_.governance, StateView::org_key_of(org.key), encode_org(org));
  return Status::Ok();
}

Status OrgApply::operator()(const SetOrgMember& b) {
  Org org;
  if (auto st = load_org(b.org, &org); !st.ok()) return st;
  if (auto st = user(b.user, "user"); !st.ok()) return st;
  auto existing = view_.org_membership(org.key, b.user);
  const bool last_owner = existing && existing->role == kOrgOwner &&
                          existing->state == kMembershipActive &&
                          view_.org_owner_count(org.key) == 1;
  if (b.action == kMemberRemove) {
    if (b.user != author_)
      if (auto st = must_own(org); !st.ok()) return st;
    if (!existing) return not_found("user: is not a member of " + org.login);
    if (last_owner) return field("user", "the last owner cannot leave or be removed");
    state_.del(s_.governance, StateView::org_member_key(org.key, b.user));
    state_.del(s_.governance, StateView::user_org_key(b.user, org.key));
    for (uint64_t id : view_.teams_of_user(b.user)) {
      auto t = view_.team(id);
      if (t && t->org == org.key) drop_team_member(id, b.user);
    }
    return Status::Ok();
  }
  if (b.action != kMemberAdd && b.action != kMemberInvite)
    return field("action", "must be add, invite or remove");
  if (b.role != kOrgMember && b.role != kOrgOwner) return field("role", "must be member or admin");
  if (auto st = must_own(org); !st.ok()) return st;
  if (last_owner && b.role != kOrgOwner)
    return field("role", "the last owner cannot be made a member");
  OrgMembership m;
  if (existing) {
    m = *existing;
    if (b.action == kMemberAdd) m.state = kMembershipActive;
  } else {
    m = {org.key, b.user, b.role, b.action == kMemberAdd ? kMembershipActive : kMembershipPending,
         author_, now_};
  }
  m.role = b.role;
  put_membership(m);
  return Status::Ok();
}

Status OrgApply::operator()(const AnswerOrgInvite& b) {
  Org org;
  if (auto st = load_org(b.org, &org); !st.ok()) return st;
  auto m = view_.org_membership(org.key, author_);
  if (!m || m->state != kMembershipPending)
    return not_found("org: no pending invitation to " + org.login);
  if (b.accept) {
    m->state = kMembershipActive;
    put_membership(*m);
  } else {
    state_.del(s_.governance, StateView::org_member_key(org.key, author_));
    state_.del(s_.governance, StateView::user_org_key(author_, org.key));
  }
  return Status::Ok();
}

Status OrgApply::operator()(const CreateTeam& b) {
  Org org;
  if (auto st = load_org(b.org, &org); !st.ok()) return st;
  if (auto st = must_own(org); !st.ok()) return st;
  if (auto st = check_name_free(org, b.name, 0); !st.ok()) return st;
  if (auto e = profile_text_error(b.description, kMaxOrgDescriptionBytes))
    return field("description", *e);
  if (b.privacy != kTeamClosed && b.privacy != kTeamSecret)
    return field("privacy", "must be closed or secret");
  if (auto st = check_parent(org, b.parent_id, 0, b.privacy); !st.ok()) return st;
  if (b.maintainers.size() > kMaxTeamListed) return field("maintainers", "too many");
  if (b.repo_ids.size() > kMaxTeamListed) return field("repo_names", "too many");
  if (b.repo_permission < 1 || b.repo_permission > 5)
    return field("permission", "must be pull, triage, push, maintain or admin");
  Team t;
  t.id = view_.next_id(StateView::kNextTeamId);
  t.org = org.key;
  t.name = b.name;
  t.slug = team_slug(b.name);
  t.description = b.description;
  t.privacy = b.privacy;
  t.parent_id = b.parent_id;
  t.created_ms = t.updated_ms = now_;
  state_.put(s_.meta, StateView::kNextTeamId, storage::be64(t.id + 1));
  state_.put(s_.governance, StateView::team_key(t.id), encode_team(t));
  state_.put(s_.governance, StateView::team_slug_key(org.key, t.slug), storage::be64(t.id));
  state_.put(s_.governance, StateView::org_team_key(org.key, t.id), "");
  if (t.parent_id) state_.put(s_.governance, StateView::team_child_key(t.parent_id, t.id), "");
  put_team_member(t.id, author_, kTeamMaintainer);
  for (const auto& k : b.maintainers) {
    if (auto st = user(k, "maintainers"); !st.ok()) return st;
    if (!active(org.key, k))
      return field("maintainers", crypto::did_from_key(k) + " is not a member of " + org.login);
    put_team_member(t.id, k, kTeamMaintainer);
  }
  for (uint64_t id : b.repo_ids) {
    auto r = view_.repo(id);
    if (!r || r->owner != org.key)
      return field("repo_names",
                   "repository " + std::to_string(id) + " is not owned by " + org.login);
    put_team_repo(t.id, id, b.repo_permission);
  }
  receipt(t.id);
  return Status::Ok();
}

Status OrgApply::operator()(const UpdateTeam& b) {
  Team t;
  Org org;
  if (auto st = load_team(b.team_id, &t, &org); !st.ok()) return st;
  if (auto st = may_manage(org, t); !st.ok()) return st;
  if (b.name && *b.name != t.name) {
    if (auto st = check_name_free(org, *b.name, t.id); !st.ok()) return st;
    state_.del(s_.governance, StateView::team_slug_key(org.key, t.slug));
    t.name = *b.name;
    t.slug = team_slug(t.name);
    state_.put(s_.governance, StateView::team_slug_key(org.key, t.slug), storage::be64(t.id));
  }
  if (b.description) {
    if (auto e = profile_text_error(*b.description, kMaxOrgDescriptionBytes))
      return field("description", *e);
    t.description = *b.description;
  }
  if (b.privacy) {
    if (*b.privacy != kTeamClosed && *b.privacy != kTeamSecret)
      return field("privacy", "must be closed or secret");
    if (*b.privacy == kTeamSecret && !view_.child_teams(t.id).empty())
      return field("privacy", "a parent team cannot be secret");
    t.privacy = *b.privacy;
  }
  if (b.parent_id && *b.parent_id != t.parent_id) {
    // Moving a team under another parent: the author must also manage the new parent.
    if (*b.parent_id && !owner(org.key, author_))
      return denied("You must be an organization owner to change a team's parent.");
    if (auto st = check_parent(org, *b.parent_id, t.id, t.privacy); !st.ok()) return st;
    if (t.parent_id) state_.del(s_.governance, StateView::team_child_key(t.parent_id, t.id));
    t.parent_id = *b.parent_id;
    if (t.parent_id) state_.put(s_.governance, StateView::team_child_key(t.parent_id, t.id), "");
  } else if (t.parent_id && t.privacy == kTeamSecret) {
    return field("privacy", "secret teams cannot be nested");
  }
  t.updated_ms = now_;
  state_.put(s_.governance, StateView::team_key(t.id), encode_team(t));
  return Status::Ok();
}

Status OrgApply::operator()(const DeleteTeam& b) {
  Team t;
  Org org;
  if (auto st = load_team(b.team_id, &t, &org); !st.ok()) return st;
  if (auto st = may_manage(org, t); !st.ok()) return st;
  for (uint64_t c : view_.child_teams(t.id))
    if (auto child = view_.team(c)) drop_team(*child);
  drop_team(t);
  return Status::Ok();
}

Status OrgApply::operator()(const SetTeamMember& b) {
  Team t;
  Org org;
  if (auto st = load_team(b.team_id, &t, &org); !st.ok()) return st;
  if (auto st = user(b.user, "user"); !st.ok()) return st;
  if (auto st = may_manage(org, t); !st.ok()) return st;
  if (b.role == kTeamNone) {
    if (!view_.team_member(t.id, b.user)) return not_found("user: is not a member of the team");
    drop_team_member(t.id, b.user);
    return Status::Ok();
  }
  if (b.role != kTeamMember && b.role != kTeamMaintainer)
    return field("role", "must be member or maintainer");
  if (!active(org.key, b.user)) return field("user", "is not a member of " + org.login);
  put_team_member(t.id, b.user, b.role);
  return Status::Ok();
}

Status OrgApply::operator()(const SetTeamRepo& b) {
  Team t;
  Org org;
  if (auto st = load_team(b.team_id, &t, &org); !st.ok()) return st;
  auto repo = view_.repo(b.repo_id);
  auto author_perm = repo ? view_.permission(*repo, author_) : Permission::kNone;
  if (!repo || author_perm == Permission::kNone)
    return not_found("repository " + std::to_string(b.repo_id) + " does not exist");
  if (repo->owner != org.key) return field("repo", "is not owned by " + org.login);
  // GitHub: an owner, or a maintainer of the team who is an admin of the repository.
  if (!owner(org.key, author_)) {
    if (auto st = may_manage(org, t); !st.ok()) return st;
    if (author_perm < Permission::kAdmin)
      return denied("You must have admin rights to the repository to change a team's access.");
  }
  if (b.permission == 0) {
    if (!view_.team_repo(t.id, repo->id)) return not_found("repo: the team has no access to it");
    drop_team_repo(t.id, repo->id);
    return Status::Ok();
  }
  if (b.permission > 5) return field("permission", "must be pull, triage, push, maintain or admin");
  put_team_repo(t.id, repo->id, b.permission);
  return Status::Ok();
}

Status OrgApply::new_repo(const crypto::PublicKey& owner_key, const std::string& name,
                          const std::string& description, bool is_private,
                          const std::string& default_branch, Repo* out) {
  if (auto e = repo_name_error(name)) return field("name", *e);
  if (description.size() > 2000) return field("description", "is longer than 2000 bytes");
  if (auto e = branch_name_error(default_branch)) return field("default_branch", *e);
  if (view_.repo_by_name(owner_key, name)) return taken("name: already_exists");
  Repo repo;
  repo.id = view_.next_repo_id();
  repo.owner = owner_key;
  repo.name = name;
  repo.description = description;
  repo.is_private = is_private;
  repo.default_branch = default_branch;
  repo.created_ms = repo.updated_ms = now_;
  state_.put(s_.meta, StateView::kNextRepoId, storage::be64(repo.id + 1));
  state_.put(s_.repos, StateView::repo_key(repo.id), encode_repo(repo));
  state_.put(s_.repo_names, StateView::repo_name_key(owner_key, repo.name), storage::be64(repo.id));
  *out = repo;
  return Status::Ok();
}

Status OrgApply::operator()(const CreateOrgRepo& b) {
  Org org;
  if (auto st = load_org(b.org, &org); !st.ok()) return st;
  if (!active(org.key, author_))
    return denied("You must be a member of " + org.login + " to create its repositories.");
  Repo repo;
  if (auto st = new_repo(org.key, b.name, b.description, b.is_private, b.default_branch, &repo);
      !st.ok())
    return st;
  // As on GitHub, a member who creates a repository administers it.
  if (!owner(org.key, author_))
    state_.put(s_.collaborators, StateView::collaborator_key(repo.id, author_),
               encode_collaborator({author_, static_cast<uint8_t>(Permission::kAdmin), now_}));
  receipt(repo.id);
  return Status::Ok();
}

Status OrgApply::operator()(const TransferRepo& b) {
  auto r = view_.repo(b.repo_id);
  auto have = r ? view_.permission(*r, author_) : Permission::kNone;
  if (!r || have == Permission::kNone)
    return not_found("repository " + std::to_string(b.repo_id) + " does not exist");
  if (have < Permission::kAdmin) return denied("Must have admin rights to Repository.");
  Repo repo = *r;
  auto target = view_.account(b.new_owner);
  if (!target)
    return not_found("new_owner: " + crypto::did_from_key(b.new_owner) + " is not registered");
  if (b.new_owner == repo.owner) return field("new_owner", "already owns the repository");
  if (target->is_org) {
    if (!active(b.new_owner, author_))
      return denied("You must be a member of " + target->username +
                    " to transfer repositories to it.");
  } else if (b.new_owner != author_) {
    return field("new_owner", "a repository can be transferred to an organization or to yourself");
  }
  std::string name = b.new_name.value_or(repo.name);
  if (auto e = repo_name_error(name)) return field("new_name", *e);
  if (view_.repo_by_name(b.new_owner, name)) return taken("new_name: already_exists");
  // Leaving an organization: its teams' grants go.
  if (view_.org(repo.owner))
    for (uint64_t team : view_.teams_of_repo(repo.id)) drop_team_repo(team, repo.id);
  state_.del(s_.repo_names, StateView::repo_name_key(repo.owner, repo.name));
  state_.del(s_.collaborators, StateView::collaborator_key(repo.id, b.new_owner));
  repo.owner = b.new_owner;
  repo.name = name;
  repo.updated_ms = now_;
  state_.put(s_.repos, StateView::repo_key(repo.id), encode_repo(repo));
  state_.put(s_.repo_names, StateView::repo_name_key(repo.owner, repo.name),
             storage::be64(repo.id));
  // The author keeps administering what they moved (GitHub keeps the former owner's access).
  if (view_.permission(repo, author_) < Permission::kAdmin)
    state_.put(s_.collaborators, StateView::collaborator_key(repo.id, author_),
               encode_collaborator({author_, static_cast<uint8_t>(Permission::kAdmin), now_}));
  return Status::Ok();
}

}  // namespace

Status Executor::apply_org(Overlay& state, const Transaction& tx) const {
  OrgApply apply(s_, state, tx, ctx_.timestamp_ms);
  return std::visit(apply, tx.body);
}

}  // namespace guts::state
