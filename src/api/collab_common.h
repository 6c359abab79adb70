// Shared by issues_routes.cpp, pulls_routes.cpp and collab_routes.cpp: GitHub JSON shapes of
// the collaboration objects, error mapping of rejected transactions, submission helpers, and
// the worker adapter for routes that run git (run_blocking), path lookups, body reading
// (read_body) and the answers of applied writes.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "api/auth.h"
#include "api/collab_git.h"
#include "api/github.h"
#include "api/services.h"
#include "state/mempool.h"

namespace guts::api::collab {

std::optional<crypto::PublicKey> caller(const Request& req);

// URLs of a repository: api = <base>/api/v3/repos/o/r, html = <base>/o/r.
struct RepoUrls {
  std::string full, api, html;
};
RepoUrls urls_of(const Services& svc, const state::Repo& repo, const state::Account& owner);

// Builds JSON for one request from the committed state, caching users, labels, milestones.
class Shapes {
 public:
  Shapes(Services& svc, const state::Repo& repo, const state::Account& owner);

  const state::StateView& view() const { return view_; }
  const RepoUrls& urls() const { return urls_; }
  const std::string& base() const { return base_; }

  json user(const crypto::PublicKey& key);
  json user_or_null(const std::optional<crypto::PublicKey>& key);
  // The `user` of an item `key` wrote: the claimant of a confirmed placeholder when `body` is a
  // migrated item's (state::claimed_author; docs/migrate.md), else user(key).
  json author(const crypto::PublicKey& key, std::string_view body);
  std::optional<state::Account> account(const crypto::PublicKey& key);
  std::string association(const crypto::PublicKey& key);
  json repo(uint64_t repo_id);  // repo_json of any repository (null if gone)

  // A collaborator: the user with "permissions" and "role_name"; GET .../permission's answer;
  // and the repository invitation GitHub answers when one is added (Guts adds at once).
  json collaborator(const crypto::PublicKey& key, state::Permission p);
  json collaborator_permission(const crypto::PublicKey& key, state::Permission p);
  json invitation(const crypto::PublicKey& invitee,
                  const std::optional<crypto::PublicKey>& inviter);

  json label(const state::Label& l);
  json milestone(const state::Milestone& m);
  json milestone_or_null(uint64_t number);
  json labels_of(const state::Issue& x);
  json reactions_summary(uint8_t type, uint64_t target, const std::string& url);
  json reaction(const state::Reaction& r);
  json issue(const state::Issue& x);
  json comment(const state::Comment& c);
  json review_comment(const state::Comment& c);
  json review(const state::Review& r);

  // Git-derived fields of a pull request (GET /pulls/{n}).
  struct PullGitInfo {
    std::optional<bool> mergeable;
    bool rebaseable = false;
    std::string mergeable_state = "unknown";
    size_t commits = 0, additions = 0, deletions = 0, changed_files = 0;
  };
  json pull(const state::Issue& x, const PullGitInfo* info);
  // The base sha a pull request is compared with: the base branch now, or at the merge.
  std::string base_sha_of(const state::Issue& x);

 private:
  Services& svc_;
  state::StateView view_;
  state::Repo repo_;
  state::Account owner_;
  RepoUrls urls_;
  std::string base_;
  std::map<crypto::PublicKey, std::optional<state::Account>> accounts_;
  std::optional<std::map<uint64_t, state::Label>> labels_;
  std::map<uint64_t, json> milestones_;
  std::map<uint64_t, json> repos_;
  std::map<crypto::PublicKey, std::string> associations_;
  std::map<crypto::PublicKey, json> users_;
  std::map<uint64_t, json> label_json_;
};

// A 200 response for a GET with an ETag; 304 when If-None-Match matches.
Response get_response(const Request& req, const json& body);

// Read-through cache of GET responses, keyed by the request target (and Accept) and valid for
// one state height: any finalized block invalidates everything, so a cached answer is always
// the answer the current state gives. Only successful (200) answers are kept. Authorization
// happened before (the middleware), and the cached bodies do not depend on who asks.
Response cached_get(const Request& req, Services& svc, const std::function<Response()>& build);
// The paged slice of `items` with the Link header.
Response page_response(const Request& req, const Services& svc, const json& items);

// Parses a JSON object body; invalid UTF-8 is answered 422 with the field it was found in.
std::optional<nlohmann::json> parse_body(const Request& req, const Responder& respond,
                                         std::string_view resource);
// The one way a route reads its JSON body: parse_body, then api::check_body with `fields`.
// On failure the answer goes to `respond` (buffered routes) or into *error (worker routes) and
// the result is nullopt; afterwards the typed getters (string_field, ...) cannot throw for the
// fields listed.
std::optional<nlohmann::json> read_body(const Request& req, const Responder& respond,
                                        std::string_view resource,
                                        std::initializer_list<BodyField> fields);
std::optional<nlohmann::json> read_body(const Request& req, Response* error,
                                        std::string_view resource,
                                        std::initializer_list<BodyField> fields);

// The issue or pull request of the path's {number} in the request's repository.
std::optional<state::Issue> path_issue(const Request& req, const state::StateView& view);
// The same, answering 404 through `respond` when there is none.
std::optional<state::Issue> path_issue(const Request& req, const state::StateView& view,
                                       const Responder& respond);
// Only a pull request.
std::optional<state::Issue> path_pull(const Request& req, const state::StateView& view);
// The comment of the path's {comment_id}, of `kind` and in the request's repository.
std::optional<state::Comment> path_comment(const Request& req, const state::StateView& view,
                                           uint8_t kind);

// Logins to keys (assignees, reviewers): a login that names nobody is answered 422 Validation
// Failed on resource.field ("'x' is not a user"); nullopt when all are known.
std::optional<Response> keys_of(const state::StateView& view,
                                const std::vector<std::string>& logins, std::string_view resource,
                                std::string_view field, std::vector<crypto::PublicKey>* out);

// Submits `body` as the caller (401 when anonymous) and answers: on success with what
// `on_applied` builds from the new state (the outcome's id finds the receipt), otherwise with
// tx_error.
using AppliedFn = std::function<Response(const state::TxOutcome&)>;
void submit(Services& svc, const Request& req, Responder respond, state::TxBody body,
            std::string resource, AppliedFn on_applied);
// The same, blocking until the outcome (worker threads only).
state::TxOutcome submit_wait(Services& svc, const Principal& who, state::TxBody body);

// Answers of applied writes (AppliedFn), built from the new state.
Response no_content(const state::TxOutcome&);  // 204
// The issue `number` (or the one the transaction created), with `status`.
AppliedFn issue_after(Services& svc, const RepoContext& ctx, std::optional<uint64_t> number,
                      int status);
// The comment `id` (or the one the transaction created), an issue or a review comment.
AppliedFn comment_after(Services& svc, const RepoContext& ctx, std::optional<uint64_t> id,
                        int status);

// Answers a streaming request (on a worker thread) with what `fn` returns, after buffering the
// body (up to 1 MiB): for handlers that run git and so must not block the server's I/O threads.
// Errors escaping fn are answered with status_response.
void run_blocking(Request& req, Exchange& ex, const std::function<Response(Request&)>& fn);
// A worker route in a route table: {"POST", "/pulls", "repo:read", nullptr, &worker<Ctx, &f>}
// with `Response f(Ctx&, Request&)` runs f through run_blocking().
template <class Ctx, Response (*Fn)(Ctx&, Request&)>
void worker(Ctx& ctx, Request& req, Exchange& ex) {
  run_blocking(req, ex, [&ctx](Request& r) { return Fn(ctx, r); });
}

// What the pull request and collaboration routes work with (collab_routes.h).
struct CollabEnv {
  Services& svc;
  std::shared_ptr<PullGit> git;
};

// Path number parameter ("12"); nullopt when not a positive integer.
std::optional<uint64_t> number_param(const Request& req, const std::string& name);
// A username to its key; nullopt when unknown.
std::optional<crypto::PublicKey> user_key(const state::StateView& view, const std::string& login);

// GET /issues and GET /pulls (issues_routes.cpp).
Response list_issues(const Request& req, Services& svc, bool pulls_only);

// Lists of strings in a JSON body ("labels": ["a", "b"] or [{"name": "a"}]); throws FieldError.
std::vector<std::string> string_list(const nlohmann::json& j, const char* field);

}  // namespace guts::api::collab
