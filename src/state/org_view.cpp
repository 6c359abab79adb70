// StateView's governance reads and key layout (state/org.h, docs/governance.md §5). All live
// in the `governance` family under a one-byte tag:
//   o·org → Org                      m·org·user → OrgMembership     u·user·org → —
//   t·team → Team                    n·org·slug → team id           T·org·team → —
//   c·parent·child → —               M·team·user → TeamMember       U·user·team → —
//   R·team·repo → TeamRepo           r·repo·team → —
#include "state/rules.h"
#include "state/view.h"

namespace guts::state {

using storage::be64;
using storage::read_be64;

namespace {
crypto::PublicKey key_at(std::string_view k, size_t pos) {
  crypto::PublicKey out;
  std::copy(k.begin() + static_cast<std::ptrdiff_t>(pos),
            k.begin() + static_cast<std::ptrdiff_t>(pos + 32), out.begin());
  return out;
}
}  // namespace

std::string StateView::org_key_of(const crypto::PublicKey& org) {
  return "o" + key_of(org);
}
std::string StateView::org_member_key(const crypto::PublicKey& org, const crypto::PublicKey& user) {
  return "m" + key_of(org, user);
}
std::string StateView::user_org_key(const crypto::PublicKey& user, const crypto::PublicKey& org) {
  return "u" + key_of(user, org);
}
std::string StateView::team_key(uint64_t id) {
  return "t" + be64(id);
}
std::string StateView::team_slug_key(const crypto::PublicKey& org, std::string_view slug) {
  return "n" + key_of(org) + std::string(slug);
}
std::string StateView::org_team_key(const crypto::PublicKey& org, uint64_t id) {
  return "T" + key_of(org) + be64(id);
}
std::string StateView::team_child_key(uint64_t parent, uint64_t child) {
  return "c" + be64(parent) + be64(child);
}
std::string StateView::team_member_key(uint64_t team, const crypto::PublicKey& user) {
  return "M" + be64(team) + key_of(user);
}
std::string StateView::user_team_key(const crypto::PublicKey& user, uint64_t team) {
  return "U" + key_of(user) + be64(team);
}
std::string StateView::team_repo_key(uint64_t team, uint64_t repo) {
  return "R" + be64(team) + be64(repo);
}
std::string StateView::repo_team_key(uint64_t repo, uint64_t team) {
  return "r" + be64(repo) + be64(team);
}

std::optional<Org> StateView::org(const crypto::PublicKey& key) const {
  auto v = kv_.get(s_.governance, org_key_of(key));
  if (!v) return std::nullopt;
  return decode_org(*v);
}

std::optional<Org> StateView::org_by_login(std::string_view login) const {
  auto a = account_by_username(login);
  if (!a || !a->is_org) return std::nullopt;
  return org(a->key);
}

std::optional<OrgMembership> StateView::org_membership(const crypto::PublicKey& org,
                                                       const crypto::PublicKey& user) const {
  auto v = kv_.get(s_.governance, org_member_key(org, user));
  if (!v) return std::nullopt;
  return decode_org_membership(*v);
}

std::vector<OrgMembership> StateView::org_members(const crypto::PublicKey& org) const {
  std::vector<OrgMembership> out;
  kv_.scan_prefix(s_.governance, "m" + key_of(org), [&](std::string_view, std::string_view v) {
    out.push_back(decode_org_membership(v));
    return true;
  });
  return out;
}

std::vector<OrgMembership> StateView::orgs_of(const crypto::PublicKey& user) const {
  std::vector<crypto::PublicKey> orgs;
  kv_.scan_prefix(s_.governance, "u" + key_of(user), [&](std::string_view k, std::string_view) {
    orgs.push_back(key_at(k, 33));
    return true;
  });
  std::vector<OrgMembership> out;
  for (const auto& o : orgs)
    if (auto m = org_membership(o, user)) out.push_back(*m);
  return out;
}

size_t StateView::org_owner_count(const crypto::PublicKey& org) const {
  size_t n = 0;
  for (const auto& m : org_members(org))
    if (m.role == kOrgOwner && m.state == kMembershipActive) ++n;
  return n;
}

std::optional<Team> StateView::team(uint64_t id) const {
  auto v = kv_.get(s_.governance, team_key(id));
  if (!v) return std::nullopt;
  return decode_team(*v);
}

std::optional<Team> StateView::team_by_slug(const crypto::PublicKey& org,
                                            std::string_view slug) const {
  auto v = kv_.get(s_.governance, team_slug_key(org, fold_case(slug)));
  if (!v) return std::nullopt;
  return team(read_be64(*v));
}

std::vector<Team> StateView::teams_of_org(const crypto::PublicKey& org) const {
  std::vector<uint64_t> ids;
  kv_.scan_prefix(s_.governance, "T" + key_of(org), [&](std::string_view k, std::string_view) {
    ids.push_back(read_be64(k.substr(33)));
    return true;
  });
  std::vector<Team> out;
  for (auto id : ids)
    if (auto t = team(id)) out.push_back(std::move(*t));
  return out;
}

std::vector<uint64_t> StateView::child_teams(uint64_t parent_id) const {
  std::vector<uint64_t> out;
  kv_.scan_prefix(s_.governance, "c" + be64(parent_id), [&](std::string_view k, std::string_view) {
    out.push_back(read_be64(k.substr(9)));
    return true;
  });
  return out;
}

std::optional<TeamMember> StateView::team_member(uint64_t team_id,
                                                 const crypto::PublicKey& user) const {
  auto v = kv_.get(s_.governance, team_member_key(team_id, user));
  if (!v) return std::nullopt;
  return decode_team_member(*v);
}

std::vector<TeamMember> StateView::team_members(uint64_t team_id) const {
  std::vector<TeamMember> out;
  kv_.scan_prefix(s_.governance, "M" + be64(team_id), [&](std::string_view, std::string_view v) {
    out.push_back(decode_team_member(v));
    return true;
  });
  return out;
}

std::vector<uint64_t> StateView::teams_of_user(const crypto::PublicKey& user) const {
  std::vector<uint64_t> out;
  kv_.scan_prefix(s_.governance, "U" + key_of(user), [&](std::string_view k, std::string_view) {
    out.push_back(read_be64(k.substr(33)));
    return true;
  });
  return out;
}

std::optional<TeamRepo> StateView::team_repo(uint64_t team_id, uint64_t repo_id) const {
  auto v = kv_.get(s_.governance, team_repo_key(team_id, repo_id));
  if (!v) return std::nullopt;
  return decode_team_repo(*v);
}

std::vector<TeamRepo> StateView::team_repos(uint64_t team_id) const {
  std::vector<TeamRepo> out;
  kv_.scan_prefix(s_.governance, "R" + be64(team_id), [&](std::string_view, std::string_view v) {
    out.push_back(decode_team_repo(v));
    return true;
  });
  return out;
}

std::vector<uint64_t> StateView::teams_of_repo(uint64_t repo_id) const {
  std::vector<uint64_t> out;
  kv_.scan_prefix(s_.governance, "r" + be64(repo_id), [&](std::string_view k, std::string_view) {
    out.push_back(read_be64(k.substr(9)));
    return true;
  });
  return out;
}

}  // namespace guts::state
