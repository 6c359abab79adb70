// Browser writes (docs/web.md "Writes from the browser"): the forms post here, and each POST
// becomes exactly the transaction the REST API builds for the same change (api/issues_routes.cpp):
// collab::submit → Services::submit_as, signed by this node's key on behalf of the signed-in
// identity under the delegation it granted to this node, as for a bearer token. Success answers
// 303 to the conversation (the transaction is applied by then); a refusal answers the API's
// error, which the error hook turns into the HTML error page.
//
//   GET  .../issues/new             the new-issue form
//   POST .../issues                 CreateIssue (title, body)
//   GET  .../issues/{n}/edit        the edit form (title, body)
//   POST .../issues/{n}/edit        EditIssue (title, body)
//   POST .../issues/{n}/comments    CreateComment (body), issues and pull requests
//   POST .../issues/{n}/state       EditIssue (state open|closed)
//   POST .../issues/{n}/reactions   SetReaction (content; comment: a comment id), a toggle
//   POST .../issues/{n}/meta        EditIssue (labels: label-<id> checkboxes; assignees and, for
//                                   pull requests, reviewers: user names; milestone: a number)
#include <algorithm>

#include "api/collab_common.h"
#include "api/errors.h"
#include "api/http_parse.h"
#include "core/utf8.h"
#include "crypto/did.h"
#include "web/pages.h"
#include "web/repo_view.h"

namespace guts::web {

namespace {

constexpr size_t kMaxTitle = 256;
constexpr size_t kMaxBody = 65536;

std::string conversation_url(const api::RepoContext& ctx, const state::Issue& i) {
  return repo_base_url(ctx) + (i.is_pull ? "/pull/" : "/issues/") + std::to_string(i.number);
}

// The path's issue or pull request; answers 404 (and returns nullopt) when there is none.
std::optional<state::Issue> path_issue(WebEnv& env, api::Request& req,
                                       const api::Responder& respond) {
  return api::collab::path_issue(req, env.svc.chain().view(), respond);
}

// 401 for an anonymous caller, before anything is parsed.
bool needs_sign_in(const api::Request& req, const api::Responder& respond) {
  if (req.principal.authenticated) return false;
  respond(api::error_response(401, "Sign in to do this"));
  return true;
}

// Submits `body` as the caller and answers 303 to `where(outcome)` once it is applied.
void write(WebEnv& env, api::Request& req, api::Responder respond, state::TxBody body,
           std::string resource, std::function<std::string(const state::TxOutcome&)> where) {
  api::collab::submit(
      env.svc, req, std::move(respond), std::move(body), std::move(resource),
      [where = std::move(where)](const state::TxOutcome& o) { return see_other(where(o)); });
}

void title_body_fields(Html& h, std::string_view title, std::string_view body) {
  h.raw(
      "<p><label>Title<br><input type=\"text\" name=\"title\" required maxlength=\"256\" "
      "size=\"80\" value=\"")
      << title;
  h.raw(
      "\"></label></p><p><label>Description (Markdown)<br><textarea name=\"body\" rows=\"10\" "
      "cols=\"80\">")
      << body;
  h.raw("</textarea></label></p>");
}

}  // namespace

api::Response new_issue_page(WebEnv& env, api::Request& req) {
  RepoView rv = open_repo(env, req);
  if (!req.principal.authenticated) return redirect("/-/signin");
  Html h;
  repo_header(h, rv, "issues");
  h.raw("<h1>New issue</h1><form class=\"box form\" method=\"post\" action=\"")
      << rv.base + "/issues" << Safe{"\">"};
  csrf_field(h, req);
  title_body_fields(h, "", "");
  h.raw("<p><button type=\"submit\" id=\"submit-issue\">Open issue</button></p></form>");
  return page(env, 200, "New issue · " + rv.full, h);
}

api::Response edit_issue_page(WebEnv& env, api::Request& req) {
  RepoView rv = open_repo(env, req);
  if (!req.principal.authenticated) return redirect("/-/signin");
  auto number = api::collab::number_param(req, "number");
  auto i = number ? env.svc.chain().view().issue(rv.rc->repo.id, *number) : std::nullopt;
  if (!i) throw Error(Code::kNotFound, "No such issue");
  Html h;
  repo_header(h, rv, i->is_pull ? "pulls" : "issues");
  h.raw("<h1>Edit #") << i->number
                      << Safe{"</h1><form class=\"box form\" method=\"post\" action=\""}
                      << rv.base + "/issues/" + std::to_string(i->number) + "/edit" << Safe{"\">"};
  csrf_field(h, req);
  title_body_fields(h, i->title, i->body);
  h.raw("<p><button type=\"submit\" id=\"submit-edit\">Save</button></p></form>");
  return page(env, 200, "Edit #" + std::to_string(i->number) + " · " + rv.full, h);
}

// POST .../issues
void create_issue_form(WebEnv& env, api::Request& req, api::Responder respond) {
  if (needs_sign_in(req, respond)) return;
  const auto& ctx = api::repo_context(req);
  state::CreateIssue c;
  c.repo_id = ctx.repo.id;
  c.title = form_field(req, "title").value_or("");
  c.body = form_field(req, "body").value_or("");
  if (c.title.empty() || c.title.size() > kMaxTitle)
    return respond(api::error_response(422, "A title of 1 to 256 bytes is required"));
  if (c.body.size() > kMaxBody) return respond(api::error_response(422, "The body is too long"));
  write(env, req, std::move(respond), c, "Issue", [&env, ctx](const state::TxOutcome& o) {
    auto view = env.svc.chain().view();
    auto n = view.receipt(o.id);
    auto i = n ? view.issue(ctx.repo.id, *n) : std::nullopt;
    return i ? conversation_url(ctx, *i) : repo_base_url(ctx) + "/issues";
  });
}

// POST .../issues/{number}/edit
void edit_issue_form(WebEnv& env, api::Request& req, api::Responder respond) {
  if (needs_sign_in(req, respond)) return;
  const auto& ctx = api::repo_context(req);
  auto i = path_issue(env, req, respond);
  if (!i) return;
  state::EditIssue e;
  e.repo_id = ctx.repo.id;
  e.number = i->number;
  e.title = form_field(req, "title");
  e.body = form_field(req, "body");
  if (e.title && (e.title->empty() || e.title->size() > kMaxTitle))
    return respond(api::error_response(422, "A title of 1 to 256 bytes is required"));
  if (e.body && e.body->size() > kMaxBody)
    return respond(api::error_response(422, "The body is too long"));
  std::string to = conversation_url(ctx, *i);
  write(env, req, std::move(respond), e, "Issue", [to](const state::TxOutcome&) { return to; });
}

// POST .../issues/{number}/comments
void comment_form(WebEnv& env, api::Request& req, api::Responder respond) {
  if (needs_sign_in(req, respond)) return;
  const auto& ctx = api::repo_context(req);
  auto i = path_issue(env, req, respond);
  if (!i) return;
  std::string body = form_field(req, "body").value_or("");
  if (body.empty() || body.size() > kMaxBody)
    return respond(api::error_response(422, "A comment needs a body (at most 64 KiB)"));
  std::string to = conversation_url(ctx, *i);
  write(env, req, std::move(respond), state::CreateComment{ctx.repo.id, i->number, body},
        "IssueComment", [to](const state::TxOutcome&) { return to; });
}

// POST .../issues/{number}/state
void state_form(WebEnv& env, api::Request& req, api::Responder respond) {
  if (needs_sign_in(req, respond)) return;
  const auto& ctx = api::repo_context(req);
  auto i = path_issue(env, req, respond);
  if (!i) return;
  std::string s = form_field(req, "state").value_or("");
  if (s != "open" && s != "closed")
    return respond(api::error_response(422, "state must be open or closed"));
  state::EditIssue e;
  e.repo_id = ctx.repo.id;
  e.number = i->number;
  e.state = s == "open" ? state::kIssueOpen : state::kIssueClosed;
  e.state_reason = s == "open" ? state::kReasonReopened : state::kReasonCompleted;
  std::string to = conversation_url(ctx, *i);
  write(env, req, std::move(respond), e, "Issue", [to](const state::TxOutcome&) { return to; });
}

// POST .../issues/{number}/reactions: toggles the caller's reaction `content` on the issue or,
// with `comment`, on one of its comments (issue or review comment): the SetReaction transaction
// of POST .../reactions when the caller has none, of DELETE .../reactions/{id} when they have.
void reaction_form(WebEnv& env, api::Request& req, api::Responder respond) {
  if (needs_sign_in(req, respond)) return;
  const auto& ctx = api::repo_context(req);
  auto i = path_issue(env, req, respond);
  if (!i) return;
  std::string content = form_field(req, "content").value_or("");
  if (!state::is_valid_reaction(content))
    return respond(api::error_response(422,
                                       "content must be one of +1, -1, laugh, confused, "
                                       "heart, hooray, rocket, eyes"));
  auto view = env.svc.chain().view();
  uint8_t type = state::kReactIssue;
  uint64_t target = i->number;
  std::string to = conversation_url(ctx, *i);
  if (auto c = form_field(req, "comment")) {
    auto parsed = decimal(*c);
    if (!parsed) return respond(api::error_response(404, "Not Found"));
    const uint64_t id = *parsed;
    auto cm = view.comment(id);
    if (!cm || cm->repo_id != ctx.repo.id || cm->number != i->number)
      return respond(api::error_response(404, "Not Found"));
    type = state::kReactComment;
    target = id;
    to += "#comment-" + std::to_string(id);
  }
  auto me = crypto::parse_did(req.principal.did);
  bool had = false;
  if (me)
    for (const auto& r : view.reactions(ctx.repo.id, type, target))
      had |= r.user == *me && r.content == content;
  write(env, req, std::move(respond), state::SetReaction{ctx.repo.id, type, target, content, had},
        "Reaction", [to](const state::TxOutcome&) { return to; });
}

namespace {

// User names separated by spaces or commas, as keys; nullopt (and a 422 answered) for a name
// that is no user.
std::optional<std::vector<crypto::PublicKey>> users_field(const state::StateView& view,
                                                          const std::string& text, const char* what,
                                                          const api::Responder& respond) {
  std::vector<crypto::PublicKey> out;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find_first_of(" ,\t\n", at);
    if (end == std::string::npos) end = text.size();
    std::string name = text.substr(at, end - at);
    at = end + 1;
    if (name.empty()) continue;
    if (name.front() == '@') name.erase(0, 1);
    auto key = name.empty() || name.size() > 64 ? std::nullopt : api::collab::user_key(view, name);
    if (!key) {
      respond(api::error_response(
          422, std::string(what) + ": no user named '" + printable_excerpt(name, 64) + "'"));
      return std::nullopt;
    }
    if (std::find(out.begin(), out.end(), *key) == out.end()) out.push_back(*key);
    if (out.size() > 10) {
      respond(api::error_response(422, std::string(what) + ": at most 10"));
      return std::nullopt;
    }
  }
  return out;
}

template <class T>
bool same_set(std::vector<T> a, std::vector<T> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return a == b;
}

}  // namespace

// POST .../issues/{number}/meta: labels, assignees, milestone and requested reviewers in one
// EditIssue (only the parts that changed; nothing changed: no transaction). Permission (triage)
// is the state machine's, as for PATCH .../issues/{n} and the reviewer requests.
void meta_form(WebEnv& env, api::Request& req, api::Responder respond) {
  if (needs_sign_in(req, respond)) return;
  const auto& ctx = api::repo_context(req);
  auto i = path_issue(env, req, respond);
  if (!i) return;
  auto view = env.svc.chain().view();
  state::EditIssue e;
  e.repo_id = ctx.repo.id;
  e.number = i->number;
  bool changed = false;
  if (form_field(req, "labels")) {
    std::vector<std::string> names;
    std::vector<uint64_t> ids;
    for (const auto& l : view.labels(ctx.repo.id))
      if (form_field(req, "label-" + std::to_string(l.id))) {
        names.push_back(l.name);
        ids.push_back(l.id);
      }
    if (!same_set(ids, i->labels)) {
      e.labels = std::move(names);
      changed = true;
    }
  }
  if (auto text = form_field(req, "assignees")) {
    auto keys = users_field(view, *text, "assignees", respond);
    if (!keys) return;
    if (!same_set(*keys, i->assignees)) {
      e.assignees = std::move(*keys);
      changed = true;
    }
  }
  if (auto text = form_field(req, "reviewers"); text && i->is_pull) {
    auto keys = users_field(view, *text, "reviewers", respond);
    if (!keys) return;
    for (const auto& k : *keys)
      if (std::find(i->requested_reviewers.begin(), i->requested_reviewers.end(), k) ==
          i->requested_reviewers.end())
        e.reviewers_add.push_back(k);
    for (const auto& k : i->requested_reviewers)
      if (std::find(keys->begin(), keys->end(), k) == keys->end()) e.reviewers_remove.push_back(k);
    changed |= !e.reviewers_add.empty() || !e.reviewers_remove.empty();
  }
  if (auto m = form_field(req, "milestone")) {
    auto parsed = decimal(*m);
    if (!parsed) return respond(api::error_response(422, "milestone: not a number"));
    const uint64_t number = *parsed;
    if (number != 0 && !view.milestone(ctx.repo.id, number))
      return respond(api::error_response(422, "milestone: no such milestone"));
    if (number != i->milestone) {
      e.milestone = number;
      changed = true;
    }
  }
  std::string to = conversation_url(ctx, *i);
  if (!changed) return respond(see_other(to));
  write(env, req, std::move(respond), e, "Issue", [to](const state::TxOutcome&) { return to; });
}

}  // namespace guts::web
