// /api/v3: GitHub REST shapes for users and repositories.
#include "api/auth.h"
#include "api/collab_common.h"
#include "api/github.h"
#include "api/routes.h"
#include "crypto/did.h"
#include "state/rules.h"

namespace guts::api {

namespace {

std::optional<crypto::PublicKey> caller(const Request& req) {
  if (!req.principal.authenticated) return std::nullopt;
  return crypto::parse_did(req.principal.did);
}

// Paginated repository listing, with the Link header.
Response repo_page(const Request& req, Services& svc, const state::Account& owner,
                   const std::vector<state::Repo>& repos) {
  auto view = svc.chain().view();
  auto who = caller(req);
  std::vector<const state::Repo*> visible;
  for (const auto& r : repos)
    if (view.permission(r, who) != state::Permission::kNone) visible.push_back(&r);
  Page page = page_of(req);
  json arr = json::array();
  size_t start = (page.page - 1) * page.per_page;
  for (size_t i = start; i < visible.size() && i < start + page.per_page; ++i)
    arr.push_back(repo_json(*visible[i], owner, svc.public_url(),
                            who ? std::optional(view.permission(*visible[i], who)) : std::nullopt));
  Response resp = json_response(200, arr);
  add_link_header(resp, req, svc.public_url(), page, visible.size());
  return resp;
}

// Answers with the repository as it is after a write was applied.
void respond_repo(Services& svc, const Request& req, uint64_t id, int status,
                  const Responder& respond) {
  auto view = svc.chain().view();
  auto repo = view.repo(id);
  if (!repo) return respond(error_response(404, "Not Found"));
  auto owner = view.account(repo->owner);
  respond(json_response(
      status, repo_json(*repo, *owner, svc.public_url(), view.permission(*repo, caller(req)))));
}

// GET /api/v3/user
void get_me(Services& svc, Request& req, Responder respond) {
  auto acct = svc.chain().view().account(*caller(req));
  if (!acct) return respond(error_response(404, "This identity has no registered username"));
  respond(json_response(200, user_json(*acct, svc.public_url())));
}

// GET /api/v3/users/{username}
void get_user(Services& svc, Request& req, Responder respond) {
  auto acct = svc.chain().view().account_by_username(req.param("username"));
  if (!acct) return respond(error_response(404, "Not Found"));
  respond(json_response(200, user_json(*acct, svc.public_url())));
}

// GET /api/v3/users/{username}/repos
void list_user_repos(Services& svc, Request& req, Responder respond) {
  auto view = svc.chain().view();
  auto acct = view.account_by_username(req.param("username"));
  if (!acct) return respond(error_response(404, "Not Found"));
  respond(repo_page(req, svc, *acct, view.repos_of(acct->key)));
}

// GET /api/v3/user/repos
void list_my_repos(Services& svc, Request& req, Responder respond) {
  auto view = svc.chain().view();
  auto acct = view.account(*caller(req));
  if (!acct) return respond(json_response(200, json::array()));
  respond(repo_page(req, svc, *acct, view.repos_of(acct->key)));
}

Response bad_visibility() {
  return validation_failed("Repository", "visibility", "invalid", "must be public or private");
}

// POST /api/v3/user/repos
void create_repo(Services& svc, Request& req, Responder respond) {
  auto body = collab::read_body(req, respond, "Repository",
                                {{"name", BodyField::kString, true},
                                 {"description", BodyField::kString},
                                 {"private", BodyField::kBoolean},
                                 {"visibility", BodyField::kString},
                                 {"default_branch", BodyField::kString}});
  if (!body) return;
  state::CreateRepo create;
  create.name = *string_field(*body, "name");
  create.description = string_field(*body, "description").value_or("");
  create.is_private = bool_field(*body, "private").value_or(false);
  if (auto vis = string_field(*body, "visibility")) {
    if (*vis != "public" && *vis != "private") return respond(bad_visibility());
    create.is_private = *vis == "private";
  }
  create.default_branch = string_field(*body, "default_branch").value_or("main");
  if (auto e = state::repo_name_error(create.name))
    return respond(validation_failed("Repository", "name", "custom", *e));
  if (req.principal.username.empty())
    return respond(error_response(403, "Register a username before creating repositories"));
  auto owner = *caller(req);
  std::string name = create.name;
  svc.submit_as(req.principal, create,
                [&svc, req, owner, name, respond = std::move(respond)](const state::TxOutcome& o) {
                  if (!o.applied) return respond(status_response(o.status, "Repository", "name"));
                  auto repo = svc.chain().view().repo_by_name(owner, name);
                  if (!repo) return respond(error_response(500, "Internal Server Error"));
                  respond_repo(svc, req, repo->id, 201, respond);
                });
}

// GET /api/v3/repos/{owner}/{repo}
void get_repo(Services& svc, Request& req, Responder respond) {
  const auto& ctx = repo_context(req);
  respond(json_response(
      200, repo_json(ctx.repo, ctx.owner, svc.public_url(),
                     req.principal.authenticated ? std::optional(ctx.permission) : std::nullopt)));
}

// PATCH /api/v3/repos/{owner}/{repo}
void update_repo(Services& svc, Request& req, Responder respond) {
  auto body = collab::read_body(req, respond, "Repository",
                                {{"name", BodyField::kString},
                                 {"description", BodyField::kString},
                                 {"private", BodyField::kBoolean},
                                 {"visibility", BodyField::kString},
                                 {"default_branch", BodyField::kString},
                                 {"allow_force_pushes", BodyField::kBoolean}});
  if (!body) return;
  const auto& ctx = repo_context(req);
  state::UpdateRepo update;
  update.repo_id = ctx.repo.id;
  update.name = string_field(*body, "name");
  update.description = string_field(*body, "description");
  update.is_private = bool_field(*body, "private");
  if (auto vis = string_field(*body, "visibility")) {
    if (*vis != "public" && *vis != "private") return respond(bad_visibility());
    update.is_private = *vis == "private";
  }
  update.default_branch = string_field(*body, "default_branch");
  update.allow_force_push = bool_field(*body, "allow_force_pushes");
  if (update.name)
    if (auto e = state::repo_name_error(*update.name))
      return respond(validation_failed("Repository", "name", "custom", *e));
  uint64_t id = ctx.repo.id;
  svc.submit_as(req.principal, update,
                [&svc, req, id, respond = std::move(respond)](const state::TxOutcome& o) {
                  if (!o.applied) return respond(status_response(o.status, "Repository", "name"));
                  respond_repo(svc, req, id, 200, respond);
                });
}

// DELETE /api/v3/repos/{owner}/{repo}
void delete_repo(Services& svc, Request& req, Responder respond) {
  const auto& ctx = repo_context(req);
  svc.submit_as(req.principal, state::DeleteRepo{ctx.repo.id},
                [respond = std::move(respond)](const state::TxOutcome& o) {
                  if (!o.applied) return respond(status_response(o.status));
                  respond(Response{204, {}, ""});
                });
}

const RouteSpec<Services> kV3Routes[] = {
    {"GET", "/user", "user", &get_me},
    {"GET", "/users/{username}", "public", &get_user},
    {"GET", "/users/{username}/repos", "public", &list_user_repos},
    {"GET", "/user/repos", "user", &list_my_repos},
    {"POST", "/user/repos", "user", &create_repo},
    {"GET", "/repos/{owner}/{repo}", "repo:read", &get_repo},
    {"PATCH", "/repos/{owner}/{repo}", "repo:admin", &update_repo},
    {"DELETE", "/repos/{owner}/{repo}", "repo:admin", &delete_repo},
};

}  // namespace

void add_v3_routes(Router& router, Services& svc) {
  add_routes(router, svc, "/api/v3", kV3Routes);
  add_org_routes(router, svc);
  add_team_routes(router, svc);
  add_reputation_routes(router, svc);
  add_protection_routes(router, svc);
  add_ssh_key_routes(router, svc);
}

}  // namespace guts::api
