// The page functions (registered in routes.cpp). Each file holds one group:
//   site_pages.cpp     home, user/organization profile, network
//   code_pages.cpp     repository home, tree, blob, raw, branches, tags
//   history_pages.cpp  commit log, commit with its diff
//   issue_pages.cpp    issues and pull requests (lists and conversations)
//   signin_pages.cpp   sign-in (device code, token), sessions, sign-out, device approval
//   issue_form_pages.cpp  browser writes: new issue, comment, close/reopen, edit
#pragma once

#include "api/http.h"
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

api::Response commits_page(WebEnv& env, api::Request& req);  // GET .../commits/{rest...}
api::Response commit_page(WebEnv& env, api::Request& req);   // GET .../commit/{sha}

// The content type a raw file is served with: a few image types by extension (SVG included,
// under kRawCsp), else text/plain for text and application/octet-stream for binary.
std::string raw_content_type(std::string_view filename, bool binary);

// The lines of a unified diff as table rows (add, del, hunk, context), escaped.
void diff_rows(Html& h, std::string_view patch, size_t max_lines = 5000);

}  // namespace guts::web
