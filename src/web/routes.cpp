// The web interface's route table. Pages run as streaming routes so that they execute on the
// server's worker pool (git reads block); the stylesheet is a buffered route answered from memory.
#include "api/collab_git.h"
#include "api/router.h"
#include "web/actions_pages.h"
#include "web/assets.h"
#include "web/pages.h"
#include "web/proposal_pages.h"
#include "web/web.h"

namespace guts::web {

namespace {

void stylesheet_file(WebEnv&, api::Request& req, api::Responder respond) {
  api::Response r;
  if (req.path == live_script_path() || req.path == job_log_script_path()) {
    r.body = std::string(req.path == live_script_path() ? live_script() : job_log_script());
    r.headers.set("Content-Type", "text/javascript; charset=utf-8");
    r.headers.set("Cache-Control", "public, max-age=31536000, immutable");
    security_headers(r.headers);
    return respond(std::move(r));
  }
  if (req.path != stylesheet_path()) {
    r.status = 404;
    r.headers.set("Content-Type", "text/plain; charset=utf-8");
    r.body = "Not Found";
    return respond(std::move(r));
  }
  r.body = std::string(stylesheet());
  r.headers.set("Content-Type", "text/css; charset=utf-8");
  r.headers.set("Cache-Control", "public, max-age=31536000, immutable");
  security_headers(r.headers);
  respond(std::move(r));
}

const api::RouteSpec<WebEnv> kSiteRoutes[] = {
    {"GET", "/", "public", nullptr, &serve<&home_page>},
    {"GET", "/network", "public", nullptr, &serve<&network_page>},
    {"GET", "/search", "public", nullptr, &serve<&search_page>},
    {"GET", "/-/static/{file}", "public", &stylesheet_file},
    {"GET", "/{user}", "public", nullptr, &serve<&user_page>},
    {"GET", "/-/signin", "public", nullptr, &serve<&signin_page>},
    {"POST", "/-/signin/device", "public", &start_device},
    {"GET", "/-/signin/device", "public", nullptr, &serve<&device_page>},
    {"POST", "/-/signin/token", "public", &token_signin},
    {"POST", "/-/signout", "public", &signout},
    {"GET", "/-/sessions", "user", nullptr, &serve<&sessions_page>},
    {"POST", "/-/sessions/{id}/revoke", "user", &revoke_session},
    {"POST", "/api/guts/web/device", "public", &approve_device},
    {"GET", "/api/openapi.json", "public", &openapi_file},
    {"GET", "/api", "public", nullptr, &serve<&api_page>},
    // Quorum proposals (proposal_pages.cpp).
    {"GET", "/-/proposals", "public", nullptr, &serve<&proposals_page>},
    {"GET", "/-/proposals/{id}", "public", nullptr, &serve<&proposal_page>},
    {"POST", "/-/proposals/{id}/approve", "user", &approve_proposal_form},
    {"POST", "/-/proposals/{id}/reject", "user", &reject_proposal_form},
};

const api::RouteSpec<WebEnv> kRepoRoutes[] = {
    {"GET", "", "repo:read", nullptr, &serve<&repo_page>},
    {"GET", "/tree/{rest...}", "repo:read", nullptr, &serve<&tree_page>},
    {"GET", "/blob/{rest...}", "repo:read", nullptr, &serve<&blob_page>},
    {"GET", "/raw/{rest...}", "repo:read", nullptr, &raw_file},
    {"GET", "/commits/{rest...}", "repo:read", nullptr, &serve<&commits_page>},
    {"GET", "/commit/{sha}", "repo:read", nullptr, &serve<&commit_page>},
    {"GET", "/branches", "repo:read", nullptr, &serve<&branches_page>},
    {"GET", "/tags", "repo:read", nullptr, &serve<&tags_page>},
    {"GET", "/issues", "repo:read", nullptr, &serve<&issues_page>},
    {"GET", "/issues/{number}", "repo:read", nullptr, &serve<&issue_page>},
    {"GET", "/pulls", "repo:read", nullptr, &serve<&pulls_page>},
    {"GET", "/pull/{number}", "repo:read", nullptr, &serve<&pull_page>},
    {"GET", "/issues/new", "repo:read", nullptr, &serve<&new_issue_page>},
    {"POST", "/issues", "repo:read", &create_issue_form},
    {"GET", "/issues/{number}/edit", "repo:read", nullptr, &serve<&edit_issue_page>},
    {"POST", "/issues/{number}/edit", "repo:read", &edit_issue_form},
    {"POST", "/issues/{number}/comments", "repo:read", &comment_form},
    {"POST", "/issues/{number}/state", "repo:read", &state_form},
    // Review, merge, compare, blame (pull_pages.cpp, history_pages.cpp, blame_page.cpp).
    {"GET", "/pull/{number}/commits", "repo:read", nullptr, &serve<&pull_commits_page>},
    {"GET", "/pull/{number}/files", "repo:read", nullptr, &serve<&pull_files_page>},
    {"POST", "/pull/{number}/pending", "repo:read", &pending_comment_form},
    {"POST", "/pull/{number}/review", "repo:read", &review_form},
    {"POST", "/pull/{number}/merge", "repo:write", &merge_form},
    {"GET", "/compare", "repo:read", nullptr, &serve<&compare_page>},
    {"GET", "/compare/{rest...}", "repo:read", nullptr, &serve<&compare_page>},
    {"POST", "/pulls", "repo:read", &create_pull_form},
    {"GET", "/rawdiff/{base}/{head}", "repo:read", nullptr, &raw_diff},
    {"GET", "/blame/{rest...}", "repo:read", nullptr, &serve<&blame_page>},
    // CI/CD: the Actions tab (actions_pages.cpp).
    {"GET", "/actions", "repo:read", nullptr, &serve<&actions_page>},
    {"GET", "/actions/runs/{id}", "repo:read", nullptr, &serve<&run_page>},
    {"GET", "/actions/jobs/{id}", "repo:read", nullptr, &serve<&job_page>},
    {"GET", "/actions/jobs/{id}/lines", "repo:read", &job_lines},
    {"POST", "/actions/runs/{id}/cancel", "repo:read", &cancel_run_form},
    {"POST", "/actions/runs/{id}/rerun", "repo:read", &rerun_run_form},
    // Reactions (issue_form_pages.cpp) and the Watch button (notification_pages.cpp).
    {"POST", "/issues/{number}/reactions", "repo:read", &reaction_form},
    {"POST", "/issues/{number}/meta", "repo:read", &meta_form},
    {"POST", "/subscription", "repo:read", &watch_form},
    // Quorum proposals of the repository (proposal_pages.cpp).
    {"GET", "/proposals", "repo:read", nullptr, &serve<&repo_proposals_page>},
};

}  // namespace

std::shared_ptr<WebEnv> make_web_env(api::Services& services, git::RepoStore& repos,
                                     api::PeersSource peers,
                                     std::function<bool(uint64_t repo_id)> hosts,
                                     WebOptions options) {
  auto env = std::shared_ptr<WebEnv>(
      new WebEnv{services, repos, std::move(peers), std::move(hosts), {}, nullptr});
  if (options.db) {
    env->sessions = std::make_unique<SessionStore>(*options.db, options.local);
    env->pending = std::make_unique<PendingReviews>(*options.db, options.local);
  }
  env->pulls = std::make_shared<api::PullGit>(repos);
  env->jobs = std::make_unique<Jobs>();
  env->session_lifetime_ms = options.session_lifetime_ms;
  env->secure_cookies = options.secure_cookies;
  return env;
}

void set_search_index(WebEnv& env, search::Index* index) {
  env.search = index;
}

void add_notification_pages(api::Router& router, std::shared_ptr<WebEnv> env);  // inbox

void add_web_routes(api::Router& router, std::shared_ptr<WebEnv> env) {
  if (env) env->router = &router;
  add_notification_pages(router, env);
  api::add_routes(router, env, "", kSiteRoutes);
  api::add_routes(router, env, "/{owner}/{repo}", kRepoRoutes);
}

std::function<void(std::string_view, std::string_view, api::Response&)> web_error_pages(
    std::shared_ptr<WebEnv> env) {
  return error_page_hook(std::move(env));
}

}  // namespace guts::web
