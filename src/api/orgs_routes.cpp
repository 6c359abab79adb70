// Organizations, memberships, organization repositories and repository transfers
// (docs/governance.md §6). Every write is one signed transaction (state/org.h) submitted as the
// caller; the middleware (auth.cpp, org:* access) has already resolved {org} and the caller's
// membership, and the state machine re-checks every rule.
#include "api/auth.h"
#include "api/collab_common.h"
#include "api/github.h"
#include "api/org_shapes.h"
#include "api/routes.h"
#include "state/permission.h"
#include "state/rules.h"

namespace guts::api {

using collab::caller;
using collab::read_body;
using collab::submit;
using collab::user_key;

namespace {

Response not_found() {
  return error_response(404, "Not Found");
}

std::optional<uint8_t> role_of(const std::string& s) {
  if (s == "member") return state::kOrgMember;
  if (s == "admin") return state::kOrgOwner;
  return std::nullopt;
}

// A registered user (not an organization) named by {username}; nullopt when there is none.
std::optional<crypto::PublicKey> path_user(const state::StateView& view, const Request& req) {
  auto a = view.account_by_username(req.param("username"));
  if (!a || a->is_org) return std::nullopt;
  return a->key;
}

Response membership_after(Services& svc, const state::Org& org, const crypto::PublicKey& user,
                          int status) {
  auto view = svc.chain().view();
  auto m = view.org_membership(org.key, user);
  if (!m) return not_found();
  return json_response(status, org_membership_json(view, org, *m, svc.public_url()));
}

// Active organizations of `user`, as organization-simple objects.
json orgs_json(Services& svc, const crypto::PublicKey& user) {
  auto view = svc.chain().view();
  json arr = json::array();
  for (const auto& m : view.orgs_of(user))
    if (m.state == state::kMembershipActive)
      if (auto o = view.org(m.org)) arr.push_back(org_simple_json(*o, svc.public_url()));
  return arr;
}

// Creates an organization from {login, name?, description?}; the caller is its first owner.
void create_org_with(Services& svc, Request& req, Responder respond, const std::string& login,
                     const std::string& name, const std::string& description) {
  if (auto e = state::username_error(login))
    return respond(validation_failed("Organization", "login", "invalid", *e));
  if (req.principal.username.empty())
    return respond(error_response(403, "Register a username before creating organizations"));
  submit(svc, req, std::move(respond), state::CreateOrg{login, name, description}, "Organization",
         [&svc, login, who = caller(req)](const state::TxOutcome&) {
           auto view = svc.chain().view();
           auto org = view.org_by_login(login);
           if (!org) return not_found();
           return json_response(201, org_json(view, *org, svc.public_url(), who));
         });
}

// POST /api/guts/orgs {login, name, description}
void create_org(Services& svc, Request& req, Responder respond) {
  auto body = read_body(req, respond, "Organization",
                        {{"login", BodyField::kString, true},
                         {"name", BodyField::kString},
                         {"description", BodyField::kString}});
  if (!body) return;
  create_org_with(svc, req, std::move(respond), *string_field(*body, "login"),
                  string_field(*body, "name").value_or(""),
                  string_field(*body, "description").value_or(""));
}

// POST /api/v3/admin/organizations {login, admin, profile_name} (GitHub Enterprise's route).
// The admin must be the caller: an organization's first owner signs its creation.
void create_org_admin(Services& svc, Request& req, Responder respond) {
  auto body = read_body(req, respond, "Organization",
                        {{"login", BodyField::kString, true},
                         {"admin", BodyField::kString, true},
                         {"profile_name", BodyField::kString}});
  if (!body) return;
  if (state::fold_case(*string_field(*body, "admin")) != state::fold_case(req.principal.username))
    return respond(validation_failed("Organization", "admin", "invalid",
                                     "must be the authenticated user (the first owner signs)"));
  create_org_with(svc, req, std::move(respond), *string_field(*body, "login"),
                  string_field(*body, "profile_name").value_or(""), "");
}

// GET /orgs/{org}
void get_org(Services& svc, Request& req, Responder respond) {
  const auto& ctx = org_context(req);
  respond(collab::get_response(
      req, org_json(svc.chain().view(), ctx.org, svc.public_url(), caller(req))));
}

// PATCH /orgs/{org}
void update_org(Services& svc, Request& req, Responder respond) {
  auto body = read_body(req, respond, "Organization",
                        {{"name", BodyField::kString},
                         {"description", BodyField::kString},
                         {"email", BodyField::kString},
                         {"location", BodyField::kString},
                         {"blog", BodyField::kString},
                         {"default_repository_permission", BodyField::kString}});
  if (!body) return;
  const auto& ctx = org_context(req);
  state::UpdateOrg u;
  u.org = ctx.org.key;
  u.name = string_field(*body, "name");
  u.description = string_field(*body, "description");
  u.email = string_field(*body, "email");
  u.location = string_field(*body, "location");
  u.blog = string_field(*body, "blog");
  if (auto p = string_field(*body, "default_repository_permission")) {
    std::optional<uint8_t> level;
    if (*p == "none") level = 0;
    if (*p == "read") level = 1;
    if (*p == "write") level = 3;
    if (*p == "admin") level = 5;
    if (!level)
      return respond(validation_failed("Organization", "default_repository_permission", "invalid",
                                       "must be read, write, admin or none"));
    u.default_permission = level;
  }
  submit(svc, req, std::move(respond), u, "Organization",
         [&svc, key = ctx.org.key, who = caller(req)](const state::TxOutcome&) {
           auto view = svc.chain().view();
           return json_response(200, org_json(view, *view.org(key), svc.public_url(), who));
         });
}

// GET /orgs/{org}/members?role=all|admin|member
void list_members(Services& svc, Request& req, Responder respond) {
  const auto& ctx = org_context(req);
  auto role = req.query_param("role").value_or("all");
  if (role != "all" && !role_of(role))
    return respond(validation_failed("Organization", "role", "invalid", "all, admin or member"));
  auto view = svc.chain().view();
  json arr = json::array();
  for (const auto& m : view.org_members(ctx.org.key)) {
    if (m.state != state::kMembershipActive) continue;
    if (role != "all" && m.role != *role_of(role)) continue;
    if (auto a = view.account(m.user)) arr.push_back(user_json(*a, svc.public_url()));
  }
  respond(collab::page_response(req, svc, arr));
}

// GET /orgs/{org}/members/{username}: 204 when an active member, else 404.
void check_member(Services& svc, Request& req, Responder respond) {
  const auto& ctx = org_context(req);
  auto view = svc.chain().view();
  auto k = path_user(view, req);
  auto m = k ? view.org_membership(ctx.org.key, *k) : std::nullopt;
  respond(m && m->state == state::kMembershipActive ? Response{204, {}, ""} : not_found());
}

// PUT /orgs/{org}/members/{username} {role}: adds at once (Guts; GitHub only invites).
// PUT /orgs/{org}/memberships/{username} {role}: invites, or changes the role of a member.
void set_member(Services& svc, Request& req, Responder respond, uint8_t action) {
  auto body = read_body(req, respond, "Membership", {{"role", BodyField::kString}});
  if (!body) return;
  const auto& ctx = org_context(req);
  auto k = path_user(svc.chain().view(), req);
  if (!k) return respond(not_found());
  uint8_t role = state::kOrgMember;
  if (auto r = string_field(*body, "role")) {
    auto v = role_of(*r);
    if (!v)
      return respond(validation_failed("Membership", "role", "invalid", "must be admin or member"));
    role = *v;
  }
  submit(svc, req, std::move(respond), state::SetOrgMember{ctx.org.key, *k, action, role},
         "Membership", [&svc, org = ctx.org, k = *k](const state::TxOutcome&) {
           return membership_after(svc, org, k, 200);
         });
}
void add_member(Services& svc, Request& req, Responder respond) {
  set_member(svc, req, std::move(respond), state::kMemberAdd);
}
void set_membership(Services& svc, Request& req, Responder respond) {
  set_member(svc, req, std::move(respond), state::kMemberInvite);
}

// DELETE /orgs/{org}/members/{username} and /orgs/{org}/memberships/{username}: an owner
// removes anyone, a member themself.
void remove_member(Services& svc, Request& req, Responder respond) {
  const auto& ctx = org_context(req);
  auto k = path_user(svc.chain().view(), req);
  if (!k) return respond(not_found());
  submit(svc, req, std::move(respond),
         state::SetOrgMember{ctx.org.key, *k, state::kMemberRemove, 0}, "Membership",
         collab::no_content);
}

// GET /orgs/{org}/memberships/{username}
void get_membership(Services& svc, Request& req, Responder respond) {
  const auto& ctx = org_context(req);
  auto view = svc.chain().view();
  auto k = path_user(view, req);
  auto m = k ? view.org_membership(ctx.org.key, *k) : std::nullopt;
  if (!m) return respond(not_found());
  respond(collab::get_response(req, org_membership_json(view, ctx.org, *m, svc.public_url())));
}

// GET /user/memberships/orgs?state=active|pending
void list_my_memberships(Services& svc, Request& req, Responder respond) {
  auto view = svc.chain().view();
  auto state = req.query_param("state");
  json arr = json::array();
  for (const auto& m : view.orgs_of(*caller(req))) {
    if (state && *state != state::membership_state_name(m.state)) continue;
    if (auto o = view.org(m.org)) arr.push_back(org_membership_json(view, *o, m, svc.public_url()));
  }
  respond(collab::page_response(req, svc, arr));
}

// GET /user/memberships/orgs/{org}
void get_my_membership(Services& svc, Request& req, Responder respond) {
  auto view = svc.chain().view();
  auto org = view.org_by_login(req.param("org"));
  auto m = org ? view.org_membership(org->key, *caller(req)) : std::nullopt;
  if (!m) return respond(not_found());
  respond(json_response(200, org_membership_json(view, *org, *m, svc.public_url())));
}

// PATCH /user/memberships/orgs/{org} {state: "active"} accepts an invitation ("declined":
// declines it, a Guts extension).
void answer_my_membership(Services& svc, Request& req, Responder respond) {
  auto body = read_body(req, respond, "Membership", {{"state", BodyField::kString, true}});
  if (!body) return;
  auto st = *string_field(*body, "state");
  if (st != "active" && st != "declined")
    return respond(validation_failed("Membership", "state", "invalid", "must be active"));
  auto view = svc.chain().view();
  auto org = view.org_by_login(req.param("org"));
  if (!org) return respond(not_found());
  auto me = *caller(req);
  auto m = view.org_membership(org->key, me);
  if (!m) return respond(not_found());
  if (m->state == state::kMembershipActive && st == "active")
    return respond(json_response(200, org_membership_json(view, *org, *m, svc.public_url())));
  submit(svc, req, std::move(respond), state::AnswerOrgInvite{org->key, st == "active"},
         "Membership", [&svc, org = *org, me, st](const state::TxOutcome&) {
           if (st != "active") return Response{204, {}, ""};
           return membership_after(svc, org, me, 200);
         });
}

// GET /user/orgs
void list_my_orgs(Services& svc, Request& req, Responder respond) {
  respond(collab::page_response(req, svc, orgs_json(svc, *caller(req))));
}

// GET /users/{username}/orgs
void list_user_orgs(Services& svc, Request& req, Responder respond) {
  auto a = svc.chain().view().account_by_username(req.param("username"));
  if (!a) return respond(not_found());
  respond(collab::page_response(req, svc, orgs_json(svc, a->key)));
}

// GET /orgs/{org}/repos: the repositories the caller can see, by name.
void list_org_repos(Services& svc, Request& req, Responder respond) {
  const auto& ctx = org_context(req);
  auto view = svc.chain().view();
  auto who = caller(req);
  json arr = json::array();
  for (const auto& r : view.repos_of(ctx.org.key)) {
    auto p = state::effective_permission(view, r, who);
    if (p == state::Permission::kNone) continue;
    arr.push_back(
        repo_json(r, ctx.account, svc.public_url(), who ? std::optional(p) : std::nullopt));
  }
  respond(collab::page_response(req, svc, arr));
}

// POST /orgs/{org}/repos
void create_org_repo(Services& svc, Request& req, Responder respond) {
  auto body = read_body(req, respond, "Repository",
                        {{"name", BodyField::kString, true},
                         {"description", BodyField::kString},
                         {"private", BodyField::kBoolean},
                         {"visibility", BodyField::kString},
                         {"default_branch", BodyField::kString}});
  if (!body) return;
  const auto& ctx = org_context(req);
  state::CreateOrgRepo c;
  c.org = ctx.org.key;
  c.name = *string_field(*body, "name");
  c.description = string_field(*body, "description").value_or("");
  c.is_private = bool_field(*body, "private").value_or(false);
  if (auto vis = string_field(*body, "visibility")) {
    if (*vis != "public" && *vis != "private")
      return respond(
          validation_failed("Repository", "visibility", "invalid", "must be public or private"));
    c.is_private = *vis == "private";
  }
  c.default_branch = string_field(*body, "default_branch").value_or("main");
  if (auto e = state::repo_name_error(c.name))
    return respond(validation_failed("Repository", "name", "custom", *e));
  submit(svc, req, std::move(respond), c, "Repository",
         [&svc, account = ctx.account, who = caller(req)](const state::TxOutcome& o) {
           auto view = svc.chain().view();
           auto id = view.receipt(o.id);
           auto repo = id ? view.repo(*id) : std::nullopt;
           if (!repo) return not_found();
           return json_response(201, repo_json(*repo, account, svc.public_url(),
                                               state::effective_permission(view, *repo, who)));
         });
}

// POST /repos/{owner}/{repo}/transfer {new_owner, new_name}
void transfer_repo(Services& svc, Request& req, Responder respond) {
  auto body = read_body(req, respond, "Repository",
                        {{"new_owner", BodyField::kString, true},
                         {"new_name", BodyField::kString},
                         {"team_ids", BodyField::kArray}});
  if (!body) return;
  const auto& ctx = repo_context(req);
  auto view = svc.chain().view();
  auto target = view.account_by_username(*string_field(*body, "new_owner"));
  if (!target) return respond(not_found());
  auto name = string_field(*body, "new_name");
  if (name)
    if (auto e = state::repo_name_error(*name))
      return respond(validation_failed("Repository", "new_name", "invalid", *e));
  if (body->contains("team_ids") && !(*body)["team_ids"].empty())
    return respond(validation_failed("Repository", "team_ids", "invalid",
                                     "not supported: grant teams access after the transfer"));
  submit(svc, req, std::move(respond), state::TransferRepo{ctx.repo.id, target->key, name},
         "Repository", [&svc, id = ctx.repo.id, who = caller(req)](const state::TxOutcome&) {
           auto view = svc.chain().view();
           auto repo = view.repo(id);
           if (!repo) return not_found();
           auto owner = view.account(repo->owner);
           return json_response(202, repo_json(*repo, *owner, svc.public_url(),
                                               state::effective_permission(view, *repo, who)));
         });
}

const RouteSpec<Services> kOrgRoutes[] = {
    {"POST", "/admin/organizations", "user", &create_org_admin},
    {"GET", "/orgs/{org}", "org:read", &get_org},
    {"PATCH", "/orgs/{org}", "org:admin", &update_org},
    {"GET", "/orgs/{org}/members", "org:read", &list_members},
    {"GET", "/orgs/{org}/members/{username}", "org:read", &check_member},
    {"PUT", "/orgs/{org}/members/{username}", "org:admin", &add_member},
    {"DELETE", "/orgs/{org}/members/{username}", "org:member", &remove_member},
    {"GET", "/orgs/{org}/memberships/{username}", "org:member", &get_membership},
    {"PUT", "/orgs/{org}/memberships/{username}", "org:admin", &set_membership},
    {"DELETE", "/orgs/{org}/memberships/{username}", "org:member", &remove_member},
    {"GET", "/orgs/{org}/repos", "org:read", &list_org_repos},
    {"POST", "/orgs/{org}/repos", "org:member", &create_org_repo},
    {"GET", "/user/orgs", "user", &list_my_orgs},
    {"GET", "/users/{username}/orgs", "public", &list_user_orgs},
    {"GET", "/user/memberships/orgs", "user", &list_my_memberships},
    {"GET", "/user/memberships/orgs/{org}", "user", &get_my_membership},
    {"PATCH", "/user/memberships/orgs/{org}", "user", &answer_my_membership},
    {"POST", "/repos/{owner}/{repo}/transfer", "repo:admin", &transfer_repo},
};

const RouteSpec<Services> kGutsOrgRoutes[] = {
    {"POST", "/orgs", "user", &create_org},
};

}  // namespace

void add_org_routes(Router& router, Services& svc) {
  add_routes(router, svc, "/api/v3", kOrgRoutes);
  add_routes(router, svc, "/api/guts", kGutsOrgRoutes);
}

}  // namespace guts::api
