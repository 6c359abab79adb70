// Teams of an organization: the teams, their members and their repository permissions
// (docs/governance.md §6). The middleware (team:* access) resolved {org} and {team_slug}.
#include "api/auth.h"
#include "api/collab_common.h"
#include "api/github.h"
#include "api/org_shapes.h"
#include "api/routes.h"
#include "state/permission.h"

namespace guts::api {

using collab::caller;
using collab::read_body;
using collab::submit;

namespace {

Response not_found() {
  return error_response(404, "Not Found");
}

std::optional<uint8_t> privacy_of(const std::string& s) {
  if (s == "closed") return state::kTeamClosed;
  if (s == "secret") return state::kTeamSecret;
  return std::nullopt;
}

Response bad(std::string_view field, std::string_view message) {
  return validation_failed("Team", field, "invalid", message);
}

Response team_after(Services& svc, const state::Org& org, uint64_t id, int status) {
  auto view = svc.chain().view();
  auto t = view.team(id);
  if (!t) return not_found();
  return json_response(status, team_json(view, org, *t, svc.public_url(), true));
}

// {owner}/{repo} of the path, if the caller can see it.
std::optional<state::Repo> path_repo(const state::StateView& view, const Request& req) {
  auto owner = view.account_by_username(req.param("owner"));
  auto repo = owner ? view.repo_by_name(owner->key, req.param("repo")) : std::nullopt;
  if (!repo || state::effective_permission(view, *repo, caller(req)) == state::Permission::kNone)
    return std::nullopt;
  return repo;
}

// GET /orgs/{org}/teams
void list_teams(Services& svc, Request& req, Responder respond) {
  const auto& ctx = org_context(req);
  auto view = svc.chain().view();
  json arr = json::array();
  for (const auto& t : view.teams_of_org(ctx.org.key))
    arr.push_back(team_json(view, ctx.org, t, svc.public_url(), false));
  respond(collab::page_response(req, svc, arr));
}

// POST /orgs/{org}/teams {name, description, maintainers, repo_names, privacy, permission,
// parent_team_id}: one transaction, so the team, its maintainers and grants appear together.
void create_team(Services& svc, Request& req, Responder respond) {
  auto body = read_body(req, respond, "Team",
                        {{"name", BodyField::kString, true},
                         {"description", BodyField::kString},
                         {"maintainers", BodyField::kNameList},
                         {"repo_names", BodyField::kNameList},
                         {"privacy", BodyField::kString},
                         {"permission", BodyField::kString},
                         {"parent_team_id", BodyField::kUnsigned}});
  if (!body) return;
  const auto& ctx = org_context(req);
  auto view = svc.chain().view();
  state::CreateTeam t;
  t.org = ctx.org.key;
  t.name = *string_field(*body, "name");
  t.description = string_field(*body, "description").value_or("");
  if (auto e = state::team_name_error(t.name)) return respond(bad("name", *e));
  if (auto p = string_field(*body, "privacy")) {
    auto v = privacy_of(*p);
    if (!v) return respond(bad("privacy", "must be closed or secret"));
    t.privacy = *v;
  }
  if (auto p = string_field(*body, "permission")) {
    auto v = permission_level(*p);
    if (!v) return respond(bad("permission", "must be pull, triage, push, maintain or admin"));
    t.repo_permission = *v;
  }
  if (body->contains("parent_team_id") && !(*body)["parent_team_id"].is_null())
    t.parent_id = (*body)["parent_team_id"].get<uint64_t>();
  if (body->contains("maintainers"))
    if (auto err = collab::keys_of(view, collab::string_list(*body, "maintainers"), "Team",
                                   "maintainers", &t.maintainers))
      return respond(*err);
  if (body->contains("repo_names")) {
    for (const auto& name : collab::string_list(*body, "repo_names")) {
      // "repo" or "org/repo" (GitHub takes full names).
      auto slash = name.find('/');
      auto short_name = slash == std::string::npos ? name : name.substr(slash + 1);
      auto r = view.repo_by_name(ctx.org.key, short_name);
      if (!r)
        return respond(bad("repo_names", "'" + name + "' is not a repository of " + ctx.org.login));
      t.repo_ids.push_back(r->id);
    }
  }
  submit(svc, req, std::move(respond), t, "Team", [&svc, org = ctx.org](const state::TxOutcome& o) {
    auto id = svc.chain().view().receipt(o.id);
    return id ? team_after(svc, org, *id, 201) : not_found();
  });
}

// GET /orgs/{org}/teams/{team_slug}
void get_team(Services& svc, Request& req, Responder respond) {
  const auto& ctx = org_context(req);
  respond(collab::get_response(
      req, team_json(svc.chain().view(), ctx.org, *ctx.team, svc.public_url(), true)));
}

// PATCH /orgs/{org}/teams/{team_slug} {name, description, privacy, parent_team_id (null: none)}
void update_team(Services& svc, Request& req, Responder respond) {
  auto body = read_body(req, respond, "Team",
                        {{"name", BodyField::kString},
                         {"description", BodyField::kString},
                         {"privacy", BodyField::kString},
                         {"permission", BodyField::kString},
                         {"parent_team_id", BodyField::kUnsigned}});
  if (!body) return;
  const auto& ctx = org_context(req);
  state::UpdateTeam u;
  u.team_id = ctx.team->id;
  u.name = string_field(*body, "name");
  if (u.name)
    if (auto e = state::team_name_error(*u.name)) return respond(bad("name", *e));
  u.description = string_field(*body, "description");
  if (auto p = string_field(*body, "privacy")) {
    auto v = privacy_of(*p);
    if (!v) return respond(bad("privacy", "must be closed or secret"));
    u.privacy = *v;
  }
  if (body->contains("parent_team_id")) {
    const auto& v = (*body)["parent_team_id"];
    u.parent_id = v.is_null() ? 0 : v.get<uint64_t>();
  }
  submit(svc, req, std::move(respond), u, "Team",
         [&svc, org = ctx.org, id = ctx.team->id](const state::TxOutcome&) {
           return team_after(svc, org, id, 200);
         });
}

// DELETE /orgs/{org}/teams/{team_slug}
void delete_team(Services& svc, Request& req, Responder respond) {
  const auto& ctx = org_context(req);
  submit(svc, req, std::move(respond), state::DeleteTeam{ctx.team->id}, "Team", collab::no_content);
}

// GET /orgs/{org}/teams/{team_slug}/members?role=all|member|maintainer
void list_team_members(Services& svc, Request& req, Responder respond) {
  const auto& ctx = org_context(req);
  auto role = req.query_param("role").value_or("all");
  if (role != "all" && role != "member" && role != "maintainer")
    return respond(bad("role", "must be all, member or maintainer"));
  auto view = svc.chain().view();
  json arr = json::array();
  for (const auto& m : view.team_members(ctx.team->id)) {
    if (role != "all" && role != state::team_role_name(m.role)) continue;
    if (auto a = view.account(m.user)) arr.push_back(user_json(*a, svc.public_url()));
  }
  respond(collab::page_response(req, svc, arr));
}

// GET /orgs/{org}/teams/{team_slug}/memberships/{username}
void get_team_membership(Services& svc, Request& req, Responder respond) {
  const auto& ctx = org_context(req);
  auto view = svc.chain().view();
  auto k = collab::user_key(view, req.param("username"));
  auto m = k ? view.team_member(ctx.team->id, *k) : std::nullopt;
  if (!m) return respond(not_found());
  respond(collab::get_response(req, team_membership_json(ctx.org, *ctx.team, req.param("username"),
                                                         m->role, svc.public_url())));
}

// PUT /orgs/{org}/teams/{team_slug}/memberships/{username} {role: member|maintainer}
void set_team_membership(Services& svc, Request& req, Responder respond) {
  auto body = read_body(req, respond, "Team", {{"role", BodyField::kString}});
  if (!body) return;
  const auto& ctx = org_context(req);
  auto k = collab::user_key(svc.chain().view(), req.param("username"));
  if (!k) return respond(not_found());
  uint8_t role = state::kTeamMember;
  if (auto r = string_field(*body, "role")) {
    if (*r == "maintainer")
      role = state::kTeamMaintainer;
    else if (*r != "member")
      return respond(bad("role", "must be member or maintainer"));
  }
  submit(svc, req, std::move(respond), state::SetTeamMember{ctx.team->id, *k, role}, "Team",
         [&svc, org = ctx.org, team = *ctx.team, login = req.param("username"),
          role](const state::TxOutcome&) {
           return json_response(200,
                                team_membership_json(org, team, login, role, svc.public_url()));
         });
}

// DELETE /orgs/{org}/teams/{team_slug}/memberships/{username}
void remove_team_membership(Services& svc, Request& req, Responder respond) {
  const auto& ctx = org_context(req);
  auto k = collab::user_key(svc.chain().view(), req.param("username"));
  if (!k) return respond(not_found());
  submit(svc, req, std::move(respond), state::SetTeamMember{ctx.team->id, *k, state::kTeamNone},
         "Team", collab::no_content);
}

// A repository as a team sees it: "permissions" and "role_name" of the team's grant.
json team_repo_json(const state::StateView& view, const state::Repo& r, uint8_t level,
                    const std::string& base) {
  auto owner = view.account(r.owner);
  json j = repo_json(r, *owner, base, state::permission_of(level));
  j["role_name"] = team_permission_name(level);
  return j;
}

// GET /orgs/{org}/teams/{team_slug}/repos
void list_team_repos(Services& svc, Request& req, Responder respond) {
  const auto& ctx = org_context(req);
  auto view = svc.chain().view();
  auto who = caller(req);
  json arr = json::array();
  for (const auto& g : view.team_repos(ctx.team->id)) {
    auto r = view.repo(g.repo_id);
    if (!r || state::effective_permission(view, *r, who) == state::Permission::kNone) continue;
    arr.push_back(team_repo_json(view, *r, g.permission, svc.public_url()));
  }
  respond(collab::page_response(req, svc, arr));
}

// GET /orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}: 204 when the team has access (200
// with the repository for Accept: application/vnd.github.v3.repository+json), else 404.
void check_team_repo(Services& svc, Request& req, Responder respond) {
  const auto& ctx = org_context(req);
  auto view = svc.chain().view();
  auto r = path_repo(view, req);
  auto g = r ? view.team_repo(ctx.team->id, r->id) : std::nullopt;
  if (!g) return respond(not_found());
  if (req.headers.get("Accept").value_or("").find("repository+json") != std::string::npos)
    return respond(json_response(200, team_repo_json(view, *r, g->permission, svc.public_url())));
  respond(Response{204, {}, ""});
}

// PUT /orgs/{org}/teams/{team_slug}/repos/{owner}/{repo} {permission}
void set_team_repo(Services& svc, Request& req, Responder respond) {
  auto body = read_body(req, respond, "Team", {{"permission", BodyField::kString}});
  if (!body) return;
  const auto& ctx = org_context(req);
  auto r = path_repo(svc.chain().view(), req);
  if (!r) return respond(not_found());
  uint8_t level = 1;  // GitHub's default: pull
  if (auto p = string_field(*body, "permission")) {
    auto v = permission_level(*p);
    if (!v) return respond(bad("permission", "must be pull, triage, push, maintain or admin"));
    level = *v;
  }
  submit(svc, req, std::move(respond), state::SetTeamRepo{ctx.team->id, r->id, level}, "Team",
         collab::no_content);
}

// DELETE /orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}
void remove_team_repo(Services& svc, Request& req, Responder respond) {
  const auto& ctx = org_context(req);
  auto r = path_repo(svc.chain().view(), req);
  if (!r) return respond(not_found());
  submit(svc, req, std::move(respond), state::SetTeamRepo{ctx.team->id, r->id, 0}, "Team",
         collab::no_content);
}

// GET /repos/{owner}/{repo}/teams: the teams with access, with their permission.
void list_repo_teams(Services& svc, Request& req, Responder respond) {
  const auto& ctx = repo_context(req);
  auto view = svc.chain().view();
  auto org = view.org(ctx.repo.owner);
  json arr = json::array();
  if (org) {
    for (uint64_t id : view.teams_of_repo(ctx.repo.id)) {
      auto t = view.team(id);
      auto g = view.team_repo(id, ctx.repo.id);
      if (!t || !g) continue;
      json j = team_json(view, *org, *t, svc.public_url(), false);
      j["permission"] = team_permission_name(g->permission);
      j["permissions"] = permissions_object(state::permission_of(g->permission));
      arr.push_back(j);
    }
  }
  respond(collab::page_response(req, svc, arr));
}

const RouteSpec<Services> kTeamRoutes[] = {
    {"GET", "/orgs/{org}/teams", "org:read", &list_teams},
    {"POST", "/orgs/{org}/teams", "org:admin", &create_team},
    {"GET", "/orgs/{org}/teams/{team_slug}", "team:read", &get_team},
    {"PATCH", "/orgs/{org}/teams/{team_slug}", "team:admin", &update_team},
    {"DELETE", "/orgs/{org}/teams/{team_slug}", "team:admin", &delete_team},
    {"GET", "/orgs/{org}/teams/{team_slug}/members", "team:read", &list_team_members},
    {"GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}", "team:read",
     &get_team_membership},
    {"PUT", "/orgs/{org}/teams/{team_slug}/memberships/{username}", "team:admin",
     &set_team_membership},
    {"DELETE", "/orgs/{org}/teams/{team_slug}/memberships/{username}", "team:admin",
     &remove_team_membership},
    {"GET", "/orgs/{org}/teams/{team_slug}/repos", "team:read", &list_team_repos},
    {"GET", "/orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}", "team:read", &check_team_repo},
    {"PUT", "/orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}", "team:admin", &set_team_repo},
    {"DELETE", "/orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}", "team:admin",
     &remove_team_repo},
    {"GET", "/repos/{owner}/{repo}/teams", "repo:read", &list_repo_teams},
};

}  // namespace

void add_team_routes(Router& router, Services& svc) {
  add_routes(router, svc, "/api/v3", kTeamRoutes);
}

}  // namespace guts::api
