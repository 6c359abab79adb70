// /api/v3/repos/{owner}/{repo}/{collaborators,forks}: collaborators with their permission
// (which StateView::permission, hence the push path and the auth middleware, honour) and forks.
#include "api/collab_routes.h"

#include "api/collab_common.h"
#include "git/repo_store.h"

namespace guts::api {

using namespace collab;

namespace {

const std::string kRepo = "/api/v3/repos/{owner}/{repo}";

std::optional<uint8_t> permission_from(const std::string& s) {
  if (s == "pull" || s == "read") return 1;
  if (s == "triage") return 2;
  if (s == "push" || s == "write") return 3;
  if (s == "maintain") return 4;
  if (s == "admin") return 5;
  return std::nullopt;
}

// GET /collaborators
void list_collaborators(Services& svc, Request& req, Responder respond) {
  const auto& ctx = repo_context(req);
  Shapes sh(svc, ctx.repo, ctx.owner);
  json arr = json::array({sh.collaborator(ctx.repo.owner, state::Permission::kAdmin)});
  auto filter = req.query_param("permission");
  for (const auto& c : sh.view().collaborators(ctx.repo.id)) {
    auto p = static_cast<state::Permission>(c.permission);
    if (filter && permission_from(*filter).value_or(0) > c.permission) continue;
    arr.push_back(sh.collaborator(c.user, p));
  }
  respond(page_response(req, svc, arr));
}

// GET /collaborators/{username}
void check_collaborator(Services& svc, Request& req, Responder respond) {
  const auto& ctx = repo_context(req);
  auto view = svc.chain().view();
  auto k = user_key(view, req.param("username"));
  bool yes = k && (*k == ctx.repo.owner || view.collaborator(ctx.repo.id, *k));
  respond(yes ? Response{204, {}, ""} : error_response(404, "Not Found"));
}

// GET /collaborators/{username}/permission
void get_collaborator_permission(Services& svc, Request& req, Responder respond) {
  const auto& ctx = repo_context(req);
  Shapes sh(svc, ctx.repo, ctx.owner);
  auto k = user_key(sh.view(), req.param("username"));
  if (!k) return respond(error_response(404, "Not Found"));
  auto p = sh.view().permission(ctx.repo, *k);
  respond(get_response(req, sh.collaborator_permission(*k, p)));
}

// PUT /collaborators/{username}
void add_collaborator(Services& svc, Request& req, Responder respond) {
  auto body = read_body(req, respond, "Collaborator", {{"permission", BodyField::kString}});
  if (!body) return;
  const auto& ctx = repo_context(req);
  auto view = svc.chain().view();
  auto k = user_key(view, req.param("username"));
  if (!k) return respond(error_response(404, "Not Found"));
  uint8_t perm = 3;  // GitHub's default: push
  if (auto p = string_field(*body, "permission")) {
    auto v = permission_from(*p);
    if (!v)
      return respond(validation_failed("Collaborator", "permission", "invalid",
                                       "must be pull, triage, push, maintain or admin"));
    perm = *v;
  }
  bool existed = view.collaborator(ctx.repo.id, *k).has_value();
  submit(svc, req, std::move(respond), state::SetCollaborator{ctx.repo.id, *k, perm},
         "Collaborator",
         [&svc, repo = ctx.repo, owner = ctx.owner, k = *k, existed,
          inviter = caller(req)](const state::TxOutcome&) {
           if (existed) return Response{204, {}, ""};
           // Guts adds collaborators at once (the owner's signed transaction is the grant);
           // the answer keeps GitHub's invitation shape for clients that read it.
           Shapes sh(svc, repo, owner);
           return json_response(201, sh.invitation(k, inviter));
         });
}

// DELETE /collaborators/{username}
void remove_collaborator(Services& svc, Request& req, Responder respond) {
  const auto& ctx = repo_context(req);
  auto k = user_key(svc.chain().view(), req.param("username"));
  if (!k) return respond(error_response(404, "Not Found"));
  submit(svc, req, std::move(respond), state::SetCollaborator{ctx.repo.id, *k, 0}, "Collaborator",
         [](const state::TxOutcome&) {
           return Response{204, {}, ""};
         });
}

// GET /forks
void list_forks(Services& svc, Request& req, Responder respond) {
  const auto& ctx = repo_context(req);
  Shapes sh(svc, ctx.repo, ctx.owner);
  auto who = caller(req);
  std::vector<uint64_t> ids = sh.view().forks_of(ctx.repo.id);
  if (req.query_param("sort").value_or("newest") != "oldest") std::reverse(ids.begin(), ids.end());
  json arr = json::array();
  for (auto id : ids) {
    auto r = sh.view().repo(id);
    if (!r || sh.view().permission(*r, who) == state::Permission::kNone) continue;
    arr.push_back(sh.repo(id));
  }
  respond(page_response(req, svc, arr));
}

// POST /forks
void create_fork(Services& svc, Request& req, Responder respond) {
  auto body = read_body(req, respond, "Fork",
                        {{"organization", BodyField::kString},
                         {"name", BodyField::kString},
                         {"default_branch_only", BodyField::kBoolean}});
  if (!body) return;
  const auto& ctx = repo_context(req);
  state::ForkRepo f;
  f.parent_id = ctx.repo.id;
  if (string_field(*body, "organization"))
    return respond(validation_failed("Fork", "organization", "invalid",
                                     "organizations are not supported yet"));
  f.name = string_field(*body, "name").value_or(ctx.repo.name);
  f.default_branch_only = bool_field(*body, "default_branch_only").value_or(false);
  submit(svc, req, std::move(respond), f, "Repository",
         [&svc, repo = ctx.repo, owner = ctx.owner](const state::TxOutcome& o) {
           Shapes sh(svc, repo, owner);
           auto id = sh.view().receipt(o.id);
           if (!id) return error_response(404, "Not Found");
           json j = sh.repo(*id);
           j["source"] = sh.repo(sh.view().fork_root(*id));
           return json_response(202, j);
         });
}

const RouteSpec<Services> kCollabRoutes[] = {
    {"GET", "/collaborators", "repo:write", &list_collaborators},
    {"GET", "/collaborators/{username}", "repo:read", &check_collaborator},
    {"GET", "/collaborators/{username}/permission", "repo:read", &get_collaborator_permission},
    {"PUT", "/collaborators/{username}", "repo:admin", &add_collaborator},
    {"DELETE", "/collaborators/{username}", "repo:admin", &remove_collaborator},
    {"GET", "/forks", "repo:read", &list_forks},
    {"POST", "/forks", "repo:read", &create_fork},
};

}  // namespace

void add_collab_routes(Router& router, Services& svc, std::shared_ptr<PullGit>) {
  add_routes(router, svc, kRepo, kCollabRoutes);
}

void add_collaboration_routes(Router& router, Services& services, git::RepoStore& store) {
  auto pg = std::make_shared<PullGit>(store);
  add_issues_routes(router, services);
  add_pulls_routes(router, services, pg);
  add_collab_routes(router, services, pg);
}

}  // namespace guts::api
