#include "api/collab_common.h"

#include <future>
#include <mutex>
#include <unordered_map>

#include "api/http_parse.h"
#include "core/time.h"
#include "core/utf8.h"
#include "crypto/did.h"
#include "state/placeholder_state.h"

namespace guts::api::collab {

std::optional<crypto::PublicKey> caller(const Request& req) {
  if (!req.principal.authenticated) return std::nullopt;
  return crypto::parse_did(req.principal.did);
}

RepoUrls urls_of(const Services& svc, const state::Repo& repo, const state::Account& owner) {
  RepoUrls u;
  u.full = owner.username + "/" + repo.name;
  u.api = svc.public_url() + "/api/v3/repos/" + u.full;
  u.html = svc.public_url() + "/" + u.full;
  return u;
}

namespace {
json time_or_null(uint64_t ms) {
  return ms ? json(iso8601(ms)) : json(nullptr);
}
std::string hex_or_empty(const Bytes& b) {
  return b.empty() ? std::string() : hex_encode(b);
}
json hex_or_null(const Bytes& b) {
  return b.empty() ? json(nullptr) : json(hex_encode(b));
}
json str_or_null(const std::string& s) {
  return s.empty() ? json(nullptr) : json(s);
}
}  // namespace

namespace {

// GitHub's legacy "permission" (admin / write / read / none) and role name.
const char* legacy_permission(state::Permission p) {
  switch (p) {
    case state::Permission::kAdmin:
      return "admin";
    case state::Permission::kMaintain:
    case state::Permission::kWrite:
      return "write";
    case state::Permission::kTriage:
    case state::Permission::kRead:
      return "read";
    default:
      return "none";
  }
}

json permissions_json(state::Permission p) {
  using state::Permission;
  return json{{"admin", p >= Permission::kAdmin},
              {"maintain", p >= Permission::kMaintain},
              {"push", p >= Permission::kWrite},
              {"triage", p >= Permission::kTriage},
              {"pull", p >= Permission::kRead}};
}

}  // namespace

Shapes::Shapes(Services& svc, const state::Repo& repo, const state::Account& owner)
    : svc_(svc),
      view_(svc.chain().view()),
      repo_(repo),
      owner_(owner),
      urls_(urls_of(svc, repo, owner)),
      base_(svc.public_url()) {}

std::optional<state::Account> Shapes::account(const crypto::PublicKey& key) {
  auto it = accounts_.find(key);
  if (it != accounts_.end()) return it->second;
  auto a = view_.account(key);
  accounts_[key] = a;
  return a;
}

json Shapes::author(const crypto::PublicKey& key, std::string_view body) {
  auto claimed = state::claimed_author(view_, repo_.id, key, body);
  return user(claimed ? *claimed : key);
}

json Shapes::user(const crypto::PublicKey& key) {
  auto cached = users_.find(key);
  if (cached != users_.end()) return cached->second;
  if (auto a = account(key)) return users_[key] = user_json(*a, base_);
  // An identity without a username: GitHub's "ghost" stands in.
  return json{{"login", "ghost"},
              {"id", 0},
              {"type", "User"},
              {"site_admin", false},
              {"guts_did", crypto::did_from_key(key)}};
}

json Shapes::user_or_null(const std::optional<crypto::PublicKey>& key) {
  return key ? user(*key) : json(nullptr);
}

std::string Shapes::association(const crypto::PublicKey& key) {
  if (key == repo_.owner) return "OWNER";
  auto it = associations_.find(key);
  if (it != associations_.end()) return it->second;
  std::string a = view_.collaborator(repo_.id, key) ? "COLLABORATOR" : "NONE";
  associations_[key] = a;
  return a;
}

json Shapes::repo(uint64_t repo_id) {
  auto it = repos_.find(repo_id);
  if (it != repos_.end()) return it->second;
  json j = nullptr;
  if (auto r = view_.repo(repo_id)) {
    if (auto o = account(r->owner)) {
      j = repo_json(*r, *o, base_, std::nullopt);
      if (auto parent = view_.fork_parent(r->id)) {
        j["fork"] = true;
        if (auto p = view_.repo(*parent))
          if (auto po = account(p->owner)) j["parent"] = repo_json(*p, *po, base_, std::nullopt);
      }
    }
  }
  repos_[repo_id] = j;
  return j;
}

json Shapes::collaborator(const crypto::PublicKey& key, state::Permission p) {
  json u = user(key);
  u["permissions"] = permissions_json(p);
  u["role_name"] = state::permission_name(p);
  return u;
}

json Shapes::collaborator_permission(const crypto::PublicKey& key, state::Permission p) {
  return json{{"permission", legacy_permission(p)},
              {"role_name", state::permission_name(p)},
              {"user", collaborator(key, p)}};
}

json Shapes::invitation(const crypto::PublicKey& invitee,
                        const std::optional<crypto::PublicKey>& inviter) {
  auto c = view_.collaborator(repo_.id, invitee);
  auto p = static_cast<state::Permission>(c ? c->permission : 0);
  return json{{"id", 0},
              {"node_id", ""},
              {"repository", repo(repo_.id)},
              {"invitee", user(invitee)},
              {"inviter", user_or_null(inviter)},
              {"permissions", legacy_permission(p)},
              {"created_at", iso8601(c ? c->added_ms : 0)},
              {"expired", false},
              {"url", urls_.api + "/collaborators/" + user(invitee)["login"].get<std::string>()},
              {"html_url", urls_.html}};
}

json Shapes::label(const state::Label& l) {
  return json{{"id", l.id},
              {"node_id", node_id("Label", l.id)},
              {"url", urls_.api + "/labels/" + percent_encode(l.name)},
              {"name", l.name},
              {"color", l.color},
              {"default", false},
              {"description", str_or_null(l.description)}};
}

json Shapes::milestone(const state::Milestone& m) {
  std::string api = urls_.api + "/milestones/" + std::to_string(m.number);
  return json{{"url", api},
              {"html_url", urls_.html + "/milestone/" + std::to_string(m.number)},
              {"labels_url", api + "/labels"},
              {"id", m.id},
              {"node_id", node_id("Milestone", m.id)},
              {"number", m.number},
              {"state", m.state == state::kIssueOpen ? "open" : "closed"},
              {"title", m.title},
              {"description", str_or_null(m.description)},
              {"creator", user(m.creator)},
              {"open_issues", m.open_issues},
              {"closed_issues", m.closed_issues},
              {"created_at", iso8601(m.created_ms)},
              {"updated_at", iso8601(m.updated_ms)},
              {"closed_at", time_or_null(m.closed_ms)},
              {"due_on", time_or_null(m.due_on_ms)}};
}

json Shapes::milestone_or_null(uint64_t number) {
  if (number == 0) return nullptr;
  auto it = milestones_.find(number);
  if (it != milestones_.end()) return it->second;
  auto m = view_.milestone(repo_.id, number);
  json j = m ? milestone(*m) : json(nullptr);
  milestones_[number] = j;
  return j;
}

json Shapes::labels_of(const state::Issue& x) {
  if (!labels_) {
    labels_.emplace();
    for (auto& l : view_.labels(repo_.id)) (*labels_)[l.id] = std::move(l);
  }
  json arr = json::array();
  for (auto id : x.labels) {
    auto done = label_json_.find(id);
    if (done != label_json_.end()) {
      arr.push_back(done->second);
      continue;
    }
    auto it = labels_->find(id);
    if (it != labels_->end())
      arr.push_back(label_json_[id] = label(it->second));  // deleted labels vanish
  }
  return arr;
}

json Shapes::reactions_summary(uint8_t type, uint64_t target, const std::string& url) {
  auto counts = view_.reaction_counts(repo_.id, type, target);
  uint64_t total = 0;
  for (auto n : counts) total += n;
  json j{{"url", url + "/reactions"}, {"total_count", total}};
  for (int i = 0; i < 8; ++i) j[state::kReactionContents[i]] = counts[i];
  return j;
}

json Shapes::reaction(const state::Reaction& r) {
  return json{{"id", r.id},
              {"node_id", node_id("Reaction", r.id)},
              {"user", user(r.user)},
              {"content", r.content},
              {"created_at", iso8601(r.created_ms)}};
}

json Shapes::issue(const state::Issue& x) {
  const std::string n = std::to_string(x.number);
  const std::string api = urls_.api + "/issues/" + n;
  json assignees = json::array();
  for (const auto& a : x.assignees) assignees.push_back(user(a));
  json j{{"url", api},
         {"repository_url", urls_.api},
         {"labels_url", api + "/labels{/name}"},
         {"comments_url", api + "/comments"},
         {"events_url", api + "/events"},
         {"html_url", urls_.html + (x.is_pull ? "/pull/" : "/issues/") + n},
         {"id", x.id},
         {"node_id", node_id(x.is_pull ? "PullRequest" : "Issue", x.id)},
         {"number", x.number},
         {"title", x.title},
         {"user", author(x.author, x.body)},
         {"labels", labels_of(x)},
         {"state", x.state == state::kIssueOpen ? "open" : "closed"},
         {"locked", x.locked},
         {"assignee", assignees.empty() ? json(nullptr) : assignees[0]},
         {"assignees", assignees},
         {"milestone", milestone_or_null(x.milestone)},
         {"comments", x.comments},
         {"created_at", iso8601(x.created_ms)},
         {"updated_at", iso8601(x.updated_ms)},
         {"closed_at", time_or_null(x.closed_ms)},
         {"author_association", association(x.author)},
         {"active_lock_reason", x.locked ? str_or_null(x.lock_reason) : json(nullptr)},
         {"body", str_or_null(x.body)},
         {"closed_by", user_or_null(x.closed_by)},
         {"reactions", reactions_summary(state::kReactIssue, x.number, api)},
         {"state_reason", str_or_null(state::state_reason_name(x.state_reason))}};
  if (x.is_pull) {
    const std::string pull_html = urls_.html + "/pull/" + n;
    j["draft"] = x.draft;
    j["pull_request"] = {{"url", urls_.api + "/pulls/" + n},
                         {"html_url", pull_html},
                         {"diff_url", pull_html + ".diff"},
                         {"patch_url", pull_html + ".patch"},
                         {"merged_at", time_or_null(x.merged_ms)}};
  }
  return j;
}

json Shapes::comment(const state::Comment& c) {
  const std::string api = urls_.api + "/issues/comments/" + std::to_string(c.id);
  return json{{"url", api},
              {"html_url", urls_.html + "/issues/" + std::to_string(c.number) + "#issuecomment-" +
                               std::to_string(c.id)},
              {"issue_url", urls_.api + "/issues/" + std::to_string(c.number)},
              {"id", c.id},
              {"node_id", node_id("IssueComment", c.id)},
              {"user", author(c.author, c.body)},
              {"created_at", iso8601(c.created_ms)},
              {"updated_at", iso8601(c.updated_ms)},
              {"author_association", association(c.author)},
              {"body", c.body},
              {"reactions", reactions_summary(state::kReactComment, c.id, api)}};
}

json Shapes::review_comment(const state::Comment& c) {
  const std::string api = urls_.api + "/pulls/comments/" + std::to_string(c.id);
  const std::string side = state::side_name(c.side);
  json j{{"url", api},
         {"pull_request_review_id", c.review_id},
         {"id", c.id},
         {"node_id", node_id("PullRequestReviewComment", c.id)},
         {"diff_hunk", ""},
         {"path", c.path},
         {"position", nullptr},
         {"original_position", nullptr},
         {"commit_id", hex_or_empty(c.commit_sha)},
         {"original_commit_id", hex_or_empty(c.commit_sha)},
         {"user", author(c.author, c.body)},
         {"body", c.body},
         {"created_at", iso8601(c.created_ms)},
         {"updated_at", iso8601(c.updated_ms)},
         {"html_url", urls_.html + "/pull/" + std::to_string(c.number) + "#discussion_r" +
                          std::to_string(c.id)},
         {"pull_request_url", urls_.api + "/pulls/" + std::to_string(c.number)},
         {"author_association", association(c.author)},
         {"start_line", c.start_line ? json(c.start_line) : json(nullptr)},
         {"original_start_line", c.start_line ? json(c.start_line) : json(nullptr)},
         {"start_side", c.start_line ? json(side) : json(nullptr)},
         {"line", c.line},
         {"original_line", c.line},
         {"side", side},
         {"subject_type", "line"},
         {"reactions", reactions_summary(state::kReactComment, c.id, api)}};
  if (c.in_reply_to) j["in_reply_to_id"] = c.in_reply_to;
  return j;
}

json Shapes::review(const state::Review& r) {
  const std::string n = std::to_string(r.number);
  return json{
      {"id", r.id},
      {"node_id", node_id("PullRequestReview", r.id)},
      {"user", user(r.author)},
      {"body", r.body},
      {"state", state::review_state_name(r.state)},
      {"html_url", urls_.html + "/pull/" + n + "#pullrequestreview-" + std::to_string(r.id)},
      {"pull_request_url", urls_.api + "/pulls/" + n},
      {"author_association", association(r.author)},
      {"submitted_at", iso8601(r.submitted_ms)},
      {"commit_id", hex_or_empty(r.commit_sha)}};
}

std::string Shapes::base_sha_of(const state::Issue& x) {
  if (x.merged || x.state != state::kIssueOpen) return hex_or_empty(x.base_sha);
  auto cur = view_.ref(x.repo_id, "refs/heads/" + x.base_ref);
  return cur ? hex_encode(*cur) : hex_or_empty(x.base_sha);
}

json Shapes::pull(const state::Issue& x, const PullGitInfo* info) {
  const std::string n = std::to_string(x.number);
  const std::string api = urls_.api + "/pulls/" + n;
  const std::string html = urls_.html + "/pull/" + n;
  json issue_j = issue(x);
  auto side = [&](uint64_t repo_id, const std::string& ref, const std::string& sha) {
    json r = repo(repo_id);
    std::string login = r.is_object() ? r["owner"]["login"].get<std::string>() : "ghost";
    return json{{"label", login + ":" + ref},
                {"ref", ref},
                {"sha", sha},
                {"user", r.is_object() ? r["owner"] : json(nullptr)},
                {"repo", r}};
  };
  json reviewers = json::array();
  for (const auto& k : x.requested_reviewers) reviewers.push_back(user(k));
  json j{
      {"url", api},
      {"id", x.id},
      {"node_id", node_id("PullRequest", x.id)},
      {"html_url", html},
      {"diff_url", html + ".diff"},
      {"patch_url", html + ".patch"},
      {"issue_url", urls_.api + "/issues/" + n},
      {"commits_url", api + "/commits"},
      {"review_comments_url", api + "/comments"},
      {"review_comment_url", urls_.api + "/pulls/comments{/number}"},
      {"comments_url", urls_.api + "/issues/" + n + "/comments"},
      {"statuses_url", urls_.api + "/statuses/" + hex_or_empty(x.head_sha)},
      {"number", x.number},
      {"state", issue_j["state"]},
      {"locked", x.locked},
      {"title", x.title},
      {"user", issue_j["user"]},
      {"body", issue_j["body"]},
      {"labels", issue_j["labels"]},
      {"milestone", issue_j["milestone"]},
      {"active_lock_reason", issue_j["active_lock_reason"]},
      {"created_at", issue_j["created_at"]},
      {"updated_at", issue_j["updated_at"]},
      {"closed_at", issue_j["closed_at"]},
      {"merged_at", time_or_null(x.merged_ms)},
      {"merge_commit_sha", hex_or_null(x.merge_sha)},
      {"assignee", issue_j["assignee"]},
      {"assignees", issue_j["assignees"]},
      {"requested_reviewers", reviewers},
      {"requested_teams", json::array()},
      {"head", side(x.head_repo_id, x.head_ref, hex_or_empty(x.head_sha))},
      {"base", side(x.repo_id, x.base_ref, base_sha_of(x))},
      {"author_association", issue_j["author_association"]},
      {"auto_merge", nullptr},
      {"draft", x.draft},
      {"merged", x.merged},
      {"merge_method", x.merged ? json(state::merge_method_name(x.merge_method)) : json(nullptr)},
      {"revisions", x.revisions}};
  if (info) {
    j["mergeable"] =
        x.merged ? json(nullptr) : (info->mergeable ? json(*info->mergeable) : json(nullptr));
    j["rebaseable"] = info->rebaseable;
    j["mergeable_state"] = info->mergeable_state;
    j["merged_by"] = user_or_null(x.merged_by);
    j["comments"] = x.comments;
    j["review_comments"] = x.review_comments;
    j["maintainer_can_modify"] = false;
    j["commits"] = info->commits;
    j["additions"] = info->additions;
    j["deletions"] = info->deletions;
    j["changed_files"] = info->changed_files;
  }
  return j;
}

// ---- responses ----

Response get_response(const Request& req, const json& body) {
  return with_etag(req,
                   Response::json(200, body.dump(-1, ' ', false, json::error_handler_t::replace)));
}

namespace {
struct CachedResponse {
  uint64_t height = 0;
  Response resp;  // 200, with ETag
};
std::mutex g_cache_mu;
std::unordered_map<std::string, CachedResponse> g_cache;
constexpr size_t kMaxCached = 2048;

Response answer(const Request& req, const Response& cached) {
  auto inm = req.headers.get("If-None-Match");
  auto tag = cached.headers.get("ETag");
  if (inm && tag && (inm->find('*') != std::string::npos || inm->find(*tag) != std::string::npos)) {
    Response r{304, {}, ""};
    r.headers.set("ETag", *tag);
    return r;
  }
  return cached;
}
}  // namespace

Response cached_get(const Request& req, Services& svc, const std::function<Response()>& build) {
  const std::string key = req.target + "\n" + req.headers.get("Accept").value_or("");
  const uint64_t height = svc.chain().head().height;
  {
    std::lock_guard lock(g_cache_mu);
    auto it = g_cache.find(key);
    if (it != g_cache.end() && it->second.height == height) return answer(req, it->second.resp);
  }
  Response resp = build();
  if (resp.status != 200) return resp;  // errors, and 304s of a conditional first request
  if (resp.headers.get("Cache-Control").value_or("").find("no-store") != std::string::npos)
    return resp;
  if (!resp.headers.get("ETag")) resp = with_etag(Request{}, std::move(resp));
  {
    std::lock_guard lock(g_cache_mu);
    if (g_cache.size() >= kMaxCached) g_cache.clear();
    g_cache[key] = CachedResponse{height, resp};
  }
  return answer(req, resp);
}

Response page_response(const Request& req, const Services& svc, const json& items) {
  Page page = page_of(req);
  json arr = json::array();
  size_t start = (page.page - 1) * page.per_page;
  for (size_t i = start; i < items.size() && i < start + page.per_page; ++i)
    arr.push_back(items[i]);
  Response resp = get_response(req, arr);
  add_link_header(resp, req, svc.public_url(), page, items.size());
  return resp;
}

namespace {
// The key of the JSON string value holding byte offset `pos` ("" when it cannot be told).
std::string field_at(std::string_view body, size_t pos) {
  size_t i = pos;
  while (i > 0 && !(body[i - 1] == '"' && (i < 2 || body[i - 2] != '\\')))
    --i;  // value's opening quote
  if (i == 0) return "";
  size_t k = i - 1;
  while (k > 0 &&
         (body[k - 1] == ' ' || body[k - 1] == '\t' || body[k - 1] == '\n' || body[k - 1] == '\r'))
    --k;
  if (k == 0 || body[k - 1] != ':') return "";
  --k;
  while (k > 0 &&
         (body[k - 1] == ' ' || body[k - 1] == '\t' || body[k - 1] == '\n' || body[k - 1] == '\r'))
    --k;
  if (k == 0 || body[k - 1] != '"') return "";
  size_t end = k - 1;
  size_t start = body.rfind('"', end - 1);
  if (start == std::string_view::npos || end - start - 1 > 64) return "";
  return std::string(body.substr(start + 1, end - start - 1));
}
size_t first_invalid_utf8(std::string_view s) {
  // Smallest prefix that is invalid: binary search over valid prefixes is not monotone, so walk.
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = s[i];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size() || !is_valid_utf8(s.substr(i, n))) return i;
    i += n;
  }
  return s.size();
}
}  // namespace

std::optional<nlohmann::json> parse_body(const Request& req, const Responder& respond,
                                         std::string_view resource) {
  if (!is_valid_utf8(req.body)) {
    auto field = field_at(req.body, first_invalid_utf8(req.body));
    respond(validation_failed(resource, field.empty() ? "body" : field, "invalid",
                              "is not valid UTF-8"));
    return std::nullopt;
  }
  return parse_object_body(req, respond);
}

std::optional<nlohmann::json> read_body(const Request& req, const Responder& respond,
                                        std::string_view resource,
                                        std::initializer_list<BodyField> fields) {
  auto body = parse_body(req, respond, resource);
  if (!body) return std::nullopt;
  if (auto bad = check_body(*body, resource, fields)) {
    respond(std::move(*bad));
    return std::nullopt;
  }
  return body;
}

std::optional<nlohmann::json> read_body(const Request& req, Response* error,
                                        std::string_view resource,
                                        std::initializer_list<BodyField> fields) {
  return read_body(
      req, [error](Response r) { *error = std::move(r); }, resource, fields);
}

std::optional<state::Issue> path_issue(const Request& req, const state::StateView& view) {
  auto n = number_param(req, "number");
  if (!n) return std::nullopt;
  return view.issue(repo_context(req).repo.id, *n);
}

std::optional<state::Issue> path_issue(const Request& req, const state::StateView& view,
                                       const Responder& respond) {
  auto x = path_issue(req, view);
  if (!x) respond(error_response(404, "Not Found"));
  return x;
}

std::optional<state::Issue> path_pull(const Request& req, const state::StateView& view) {
  auto x = path_issue(req, view);
  if (!x || !x->is_pull) return std::nullopt;
  return x;
}

std::optional<state::Comment> path_comment(const Request& req, const state::StateView& view,
                                           uint8_t kind) {
  auto id = number_param(req, "comment_id");
  if (!id) return std::nullopt;
  auto c = view.comment(*id);
  if (!c || c->repo_id != repo_context(req).repo.id || c->kind != kind) return std::nullopt;
  return c;
}

std::optional<Response> keys_of(const state::StateView& view,
                                const std::vector<std::string>& logins, std::string_view resource,
                                std::string_view field, std::vector<crypto::PublicKey>* out) {
  out->clear();
  for (const auto& login : logins) {
    auto k = user_key(view, login);
    if (!k) {
      out->clear();
      return validation_failed(resource, field, "invalid", "'" + login + "' is not a user");
    }
    out->push_back(*k);
  }
  return std::nullopt;
}

Response no_content(const state::TxOutcome&) {
  return Response{204, {}, ""};
}

AppliedFn issue_after(Services& svc, const RepoContext& ctx, std::optional<uint64_t> number,
                      int status) {
  return [&svc, repo = ctx.repo, owner = ctx.owner, number, status](const state::TxOutcome& o) {
    Shapes sh(svc, repo, owner);
    auto n = number ? number : sh.view().receipt(o.id);
    auto x = n ? sh.view().issue(repo.id, *n) : std::nullopt;
    if (!x) return error_response(404, "Not Found");
    return json_response(status, sh.issue(*x));
  };
}

AppliedFn comment_after(Services& svc, const RepoContext& ctx, std::optional<uint64_t> id,
                        int status) {
  return [&svc, repo = ctx.repo, owner = ctx.owner, id, status](const state::TxOutcome& o) {
    Shapes sh(svc, repo, owner);
    auto cid = id ? id : sh.view().receipt(o.id);
    auto c = cid ? sh.view().comment(*cid) : std::nullopt;
    if (!c) return error_response(404, "Not Found");
    return json_response(
        status, c->kind == state::kReviewCommentKind ? sh.review_comment(*c) : sh.comment(*c));
  };
}

void submit(Services& svc, const Request& req, Responder respond, state::TxBody body,
            std::string resource, AppliedFn on_applied) {
  if (!req.principal.authenticated) return respond(error_response(401, "Requires authentication"));
  svc.submit_as(req.principal, std::move(body),
                [respond = std::move(respond), resource = std::move(resource),
                 on_applied = std::move(on_applied)](const state::TxOutcome& o) {
                  if (!o.applied) return respond(status_response(o.status, resource));
                  try {
                    respond(on_applied(o));
                  } catch (const std::exception&) {
                    respond(error_response(500, "Internal Server Error"));
                  }
                });
}

state::TxOutcome submit_wait(Services& svc, const Principal& who, state::TxBody body) {
  if (!who.authenticated)
    return state::TxOutcome{
        {}, false, Status(Code::kUnauthenticated, "Requires authentication"), 0};
  auto promise = std::make_shared<std::promise<state::TxOutcome>>();
  auto future = promise->get_future();
  svc.submit_as(who, std::move(body),
                [promise](const state::TxOutcome& o) { promise->set_value(o); });
  return future.get();
}

void run_blocking(Request& req, Exchange& ex, const std::function<Response(Request&)>& fn) {
  Response resp;
  try {
    std::string body;
    uint8_t buf[16384];
    while (size_t n = ex.read_body(buf, sizeof buf)) {
      body.append(reinterpret_cast<const char*>(buf), n);
      if (body.size() > (1u << 20)) throw Error(Code::kTooLarge, "request body too large");
    }
    req.body = std::move(body);
    resp = fn(req);
  } catch (const Error& e) {
    resp = status_response(e.status());
  } catch (const std::exception&) {
    resp = error_response(500, "Internal Server Error");
  }
  resp.headers.set("Content-Length", std::to_string(resp.body.size()));
  if (!resp.headers.get("Content-Type"))
    resp.headers.set("Content-Type", "application/json; charset=utf-8");
  ex.begin_response(resp.status, resp.headers);
  if (req.method != "HEAD") ex.write(resp.body);
  ex.finish();
}

std::optional<uint64_t> number_param(const Request& req, const std::string& name) {
  auto s = req.param(name);
  if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  uint64_t v = std::stoull(s);
  if (v == 0) return std::nullopt;
  return v;
}

std::optional<crypto::PublicKey> user_key(const state::StateView& view, const std::string& login) {
  auto a = view.account_by_username(login);
  if (!a) return std::nullopt;
  return a->key;
}

std::vector<std::string> string_list(const nlohmann::json& j, const char* field) {
  std::vector<std::string> out;
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return out;
  if (!it->is_array()) throw FieldError{field, "array"};
  for (const auto& v : *it) {
    if (v.is_string())
      out.push_back(v.get<std::string>());
    else if (v.is_object() && v.contains("name") && v["name"].is_string())
      out.push_back(v["name"].get<std::string>());
    else
      throw FieldError{field, "array of strings"};
  }
  return out;
}

}  // namespace guts::api::collab
