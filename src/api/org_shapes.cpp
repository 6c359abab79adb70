#include "api/org_shapes.h"

#include "core/time.h"

namespace guts::api {

namespace {
json or_null(const std::string& s) {
  return s.empty() ? json(nullptr) : json(s);
}
const char* default_permission_name(uint8_t p) {
  switch (p) {
    case 0:
      return "none";
    case 3:
      return "write";
    case 5:
      return "admin";
    default:
      return "read";
  }
}
}  // namespace

const char* team_permission_name(uint8_t level) {
  switch (level) {
    case 2:
      return "triage";
    case 3:
      return "push";
    case 4:
      return "maintain";
    case 5:
      return "admin";
    default:
      return "pull";
  }
}

std::optional<uint8_t> permission_level(const std::string& s) {
  if (s == "pull" || s == "read") return 1;
  if (s == "triage") return 2;
  if (s == "push" || s == "write") return 3;
  if (s == "maintain") return 4;
  if (s == "admin") return 5;
  return std::nullopt;
}

json permissions_object(state::Permission p) {
  using state::Permission;
  return {{"admin", p >= Permission::kAdmin},
          {"maintain", p >= Permission::kMaintain},
          {"push", p >= Permission::kWrite},
          {"triage", p >= Permission::kTriage},
          {"pull", p >= Permission::kRead}};
}

json org_simple_json(const state::Org& o, const std::string& base) {
  const std::string api = base + "/api/v3/orgs/" + o.login;
  return json{{"login", o.login},
              {"id", o.id},
              {"node_id", node_id("Organization", o.id)},
              {"url", api},
              {"repos_url", api + "/repos"},
              {"events_url", api + "/events"},
              {"hooks_url", api + "/hooks"},
              {"issues_url", api + "/issues"},
              {"members_url", api + "/members{/member}"},
              {"public_members_url", api + "/public_members{/member}"},
              {"avatar_url", ""},
              {"description", or_null(o.description)}};
}

json org_json(const state::StateView& view, const state::Org& o, const std::string& base,
              const std::optional<crypto::PublicKey>& who) {
  json j = org_simple_json(o, base);
  size_t public_repos = 0, private_repos = 0;
  for (const auto& r : view.repos_of(o.key)) (r.is_private ? private_repos : public_repos) += 1;
  j["name"] = or_null(o.name);
  j["company"] = nullptr;
  j["blog"] = or_null(o.blog);
  j["location"] = or_null(o.location);
  j["email"] = or_null(o.email);
  j["is_verified"] = false;
  j["has_organization_projects"] = false;
  j["has_repository_projects"] = false;
  j["public_repos"] = public_repos;
  j["public_gists"] = 0;
  j["followers"] = 0;
  j["following"] = 0;
  j["html_url"] = base + "/" + o.login;
  j["created_at"] = iso8601(o.created_ms);
  j["updated_at"] = iso8601(o.updated_ms);
  j["type"] = "Organization";
  // Members see the settings, as on GitHub.
  auto m = who ? view.org_membership(o.key, *who) : std::nullopt;
  if (m && m->state == state::kMembershipActive) {
    j["total_private_repos"] = private_repos;
    j["owned_private_repos"] = private_repos;
    j["default_repository_permission"] = default_permission_name(o.default_permission);
    j["members_can_create_repositories"] = true;
  }
  return j;
}

json org_membership_json(const state::StateView& view, const state::Org& o,
                         const state::OrgMembership& m, const std::string& base) {
  auto acct = view.account(m.user);
  std::string login = acct ? acct->username : "";
  return json{{"url", base + "/api/v3/orgs/" + o.login + "/memberships/" + login},
              {"state", state::membership_state_name(m.state)},
              {"role", state::org_role_name(m.role)},
              {"organization_url", base + "/api/v3/orgs/" + o.login},
              {"organization", org_simple_json(o, base)},
              {"user", acct ? user_json(*acct, base) : json(nullptr)}};
}

json team_json(const state::StateView& view, const state::Org& o, const state::Team& t,
               const std::string& base, bool full) {
  const std::string api = base + "/api/v3/orgs/" + o.login + "/teams/" + t.slug;
  json parent = nullptr;
  if (t.parent_id)
    if (auto p = view.team(t.parent_id)) parent = team_json(view, o, *p, base, false);
  json j{{"id", t.id},
         {"node_id", node_id("Team", t.id)},
         {"url", api},
         {"html_url", base + "/orgs/" + o.login + "/teams/" + t.slug},
         {"name", t.name},
         {"slug", t.slug},
         {"description", or_null(t.description)},
         {"privacy", state::team_privacy_name(t.privacy)},
         {"notification_setting", "notifications_enabled"},
         {"permission", "pull"},
         {"members_url", api + "/members{/member}"},
         {"repositories_url", api + "/repos"},
         {"parent", parent}};
  if (full) {
    j["members_count"] = view.team_members(t.id).size();
    j["repos_count"] = view.team_repos(t.id).size();
    j["created_at"] = iso8601(t.created_ms);
    j["updated_at"] = iso8601(t.updated_ms);
    j["organization"] = org_json(view, o, base, std::nullopt);
  }
  return j;
}

json team_membership_json(const state::Org& o, const state::Team& t, const std::string& login,
                          uint8_t role, const std::string& base) {
  return json{
      {"url", base + "/api/v3/orgs/" + o.login + "/teams/" + t.slug + "/memberships/" + login},
      {"role", state::team_role_name(role)},
      {"state", "active"}};
}

}  // namespace guts::api
