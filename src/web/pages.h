// The page functions (registered in routes.cpp). Each file holds one group:
//   site_pages.cpp     home, user/organization profile, network
//   code_pages.cpp     repository home, tree, blob, raw, branches, tags
//   history_pages.cpp  commit log, commit with its diff
//   issue_pages.cpp    issues and pull requests (lists and conversations)
//   signin_pages.cpp   sign-in (device code, token), sessions, sign-out, device approval
//   issue_form_pages.cpp  browser writes: new issue, comment, close/reopen, edit
#pragma once

#include <nlohmann/json.hpp>

#include "api/http.h"
#include "api/router.h"
#include "state/collab.h"
#include "web/page.h"

namespace guts::web {

api::Response home_page(WebEnv& env, api::Request& req);     // GET /
api::Response user_page(WebEnv& env, api::Request& req);     // GET /{user}
api::Response network_page(WebEnv& env, api::Request& req);  // GET /network
api::Response search_page(WebEnv& env, api::Request& req);   // GET /search?q=&type=&page=

api::Response repo_page(WebEnv& env, api::Request& req);      // GET /{owner}/{repo}
api::Response tree_page(WebEnv& env, api::Request& req);      // GET .../tree/{rest...}
api::Response blob_page(WebEnv& env, api::Request& req);      // GET .../blob/{rest...}
api::Response branches_page(WebEnv& env, api::Request& req);  // GET .../branches
api::Response tags_page(WebEnv& env, api::Request& req);      // GET .../tags
// GET .../raw/{rest...}: the file's bytes, streamed (never as text/html).
void raw_file(WebEnv& env, api::Request& req, api::Exchange& ex);

api::Response issues_page(WebEnv& env, api::Request& req);  // GET .../issues?state=&page=
api::Response issue_page(WebEnv& env, api::Request& req);   // GET .../issues/{number}
api::Response pulls_page(WebEnv& env, api::Request& req);   // GET .../pulls?state=&page=
api::Response pull_page(WebEnv& env, api::Request& req);    // GET .../pull/{number}

// Sign-in and sessions (signin_pages.cpp). Buffered routes (void ..., Responder) are POSTs.
api::Response signin_page(WebEnv& env, api::Request& req);  // GET /-/signin
api::Response device_page(WebEnv& env, api::Request& req);  // GET /-/signin/device
void start_device(WebEnv& env, api::Request& req, api::Responder respond);
void token_signin(WebEnv& env, api::Request& req, api::Responder respond);
void signout(WebEnv& env, api::Request& req, api::Responder respond);
api::Response sessions_page(WebEnv& env, api::Request& req);  // GET /-/sessions
void revoke_session(WebEnv& env, api::Request& req, api::Responder respond);
void approve_device(WebEnv& env, api::Request& req, api::Responder respond);

// Browser writes (issue_form_pages.cpp): the same transactions as REST and the CLI.
api::Response new_issue_page(WebEnv& env, api::Request& req);   // GET .../issues/new
api::Response edit_issue_page(WebEnv& env, api::Request& req);  // GET .../issues/{n}/edit
void create_issue_form(WebEnv& env, api::Request& req, api::Responder respond);  // POST .../issues
void edit_issue_form(WebEnv& env, api::Request& req, api::Responder respond);
void comment_form(WebEnv& env, api::Request& req, api::Responder respond);
void state_form(WebEnv& env, api::Request& req, api::Responder respond);
void reaction_form(WebEnv& env, api::Request& req, api::Responder respond);  // toggle
// Labels, assignees, milestone, requested reviewers (one EditIssue).
void meta_form(WebEnv& env, api::Request& req, api::Responder respond);

// Watching (notification_pages.cpp): the Watch box of the repository page (watchers on this
// node, the caller's state and the three choices) and its form, POST .../subscription.
void watch_box(WebEnv& env, const api::Request& req, Html& h, const std::string& base,
               uint64_t repo_id);
void watch_form(WebEnv& env, api::Request& req, api::Responder respond);

api::Response commits_page(WebEnv& env, api::Request& req);  // GET .../commits/{rest...}
api::Response commit_page(WebEnv& env, api::Request& req);   // GET .../commit/{sha}

// The content type a raw file is served with: a few image types by extension (SVG included,
// under kRawCsp), else text/plain for text and application/octet-stream for binary.
std::string raw_content_type(std::string_view filename, bool binary);

// Pull requests beyond the conversation (pull_pages.cpp): the commits and files tabs, inline
// review comments (pending until the review is submitted), the review and the merge (the same
// code as POST /pulls/{n}/reviews and PUT /pulls/{n}/merge), a new pull request from compare.
api::Response pull_commits_page(WebEnv& env, api::Request& req);  // GET .../pull/{n}/commits
api::Response pull_files_page(WebEnv& env, api::Request& req);    // GET .../pull/{n}/files
void pending_comment_form(WebEnv& env, api::Request& req, api::Responder respond);
void review_form(WebEnv& env, api::Request& req, api::Responder respond);
void merge_form(WebEnv& env, api::Request& req, api::Responder respond);
void create_pull_form(WebEnv& env, api::Request& req, api::Responder respond);  // POST .../pulls
// The conversation tab's pull request parts: tabs, mergeability and the merge box, the review
// threads (issue_pages.cpp calls these).
void pull_tabs(Html& h, const std::string& base, uint64_t number, std::string_view tab);
void pull_merge_box(WebEnv& env, const api::Request& req, Html& h, const std::string& base,
                    const state::Issue& pull);

// GET .../compare/{base}...{head} (history_pages.cpp): commits and the diff.
api::Response compare_page(WebEnv& env, api::Request& req);
// GET .../rawdiff/{base}/{head}: `git diff` of merge-base(base, head) → head as text/plain.
void raw_diff(WebEnv& env, api::Request& req, api::Exchange& ex);
// GET .../blame/{ref}/{path} (blame_page.cpp).
api::Response blame_page(WebEnv& env, api::Request& req);

// The API description (api_page.cpp): GET /api/openapi.json and the page GET /api.
void openapi_file(WebEnv& env, api::Request& req, api::Responder respond);
api::Response api_page(WebEnv& env, api::Request& req);
// The OpenAPI 3 document of the /api/v3 and /api/guts routes among `routes`.
nlohmann::json openapi_document(const std::vector<api::Router::RouteInfo>& routes,
                                std::string_view server_url);
// Adds components.schemas (GitHub's main objects, the Error of docs/errors.md) and the request
// and success response schemas of the main /api/v3 operations present in `doc`.
void add_openapi_schemas(nlohmann::json& doc);

}  // namespace guts::web
