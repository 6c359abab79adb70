// Pull requests in the browser beyond the conversation (docs/web.md "Review and merge"):
//
//   GET  .../pull/{n}/commits    the commits of base...head
//   GET  .../pull/{n}/files      the diff (web/diff_view.h, ?diff=split), review threads at their
//                                lines; signed in, a line number opens the comment form there
//   POST .../pull/{n}/pending    a pending review comment (web/pending_review.h; node-local)
//   POST .../pull/{n}/review     submit the review: approve / request changes / comment, a body,
//                                and the pending comments → POST /pulls/{n}/reviews
//   POST .../pull/{n}/merge      merge commit / squash / rebase → PUT /pulls/{n}/merge
//   POST .../pulls               new pull request from the compare page → POST /pulls
//
// The writes run the REST handlers themselves (api/collab_routes.h: pulls_submit_review,
// pulls_merge, pulls_create) with the form turned into their JSON body, so the rules, the git
// work and the transactions (SubmitReview, MergePullRequest, OpenPullRequest signed under the
// identity's delegation) are one code path. Those handlers block (git, waiting for the block):
// the buffered POST (the CSRF check needs its body) queues them on WebEnv::jobs and answers from
// there: 303 to the page on success, the API's error (the HTML error page for browsers) otherwise.
#include <map>
#include <nlohmann/json.hpp>

#include "api/collab_common.h"
#include "api/collab_git.h"
#include "api/collab_routes.h"
#include "api/errors.h"
#include "api/http_parse.h"
#include "core/bytes.h"
#include "core/time.h"
#include "crypto/did.h"
#include "state/protection.h"
#include "web/diff_view.h"
#include "web/markdown.h"
#include "web/pages.h"
#include "web/repo_view.h"

namespace guts::web {

namespace {

constexpr size_t kMaxBody = 65536;
constexpr size_t kMaxPath = 4096;

struct PullOf {
  RepoView rv;
  state::Issue x;
  std::string base_sha, head_sha;  // what the pull request compares (base now, or at the merge)
};

PullOf load_pull(WebEnv& env, api::Request& req) {
  PullOf p{open_repo(env, req), {}, {}, {}};
  auto n = api::collab::number_param(req, "number");
  auto x = n ? env.svc.chain().view().issue(p.rv.rc->repo.id, *n) : std::nullopt;
  if (!x || !x->is_pull) throw Error(Code::kNotFound, "No such pull request");
  p.x = *x;
  api::collab::Shapes sh(env.svc, p.rv.rc->repo, p.rv.rc->owner);
  p.base_sha = sh.base_sha_of(*x);
  p.head_sha = x->head_sha.empty() ? std::string() : hex_encode(x->head_sha);
  if (p.base_sha.empty() || p.head_sha.empty())
    throw Error(Code::kNotFound, "This pull request has no commits to show");
  env.pulls->ensure_commit(x->repo_id, x->head_repo_id, p.head_sha);
  return p;
}

void pull_title(Html& h, const PullOf& p, std::string_view tab) {
  h.raw("<h1 class=\"issue-title\">")
      << p.x.title << Safe{" <span class=\"muted\">#"} << p.x.number << Safe{"</span></h1>"};
  pull_tabs(h, p.rv.base, p.x.number, tab);
}

std::string pull_url(const std::string& base, uint64_t number) {
  return base + "/pull/" + std::to_string(number);
}

// 401 for an anonymous caller, before anything is parsed.
bool needs_sign_in(const api::Request& req, const api::Responder& respond) {
  if (req.principal.authenticated) return false;
  respond(api::error_response(401, "Sign in to do this"));
  return true;
}

// Runs REST handler `fn` on the jobs thread with `body` as its JSON body; `done` turns its
// successful answer into the browser's (303), any other answer goes back as it is.
void run_rest(WebEnv& env, api::Request& req, api::Responder respond, nlohmann::json body,
              api::Response (*fn)(api::collab::CollabEnv&, api::Request&),
              std::function<std::optional<api::Response>(const api::Response&)> done) {
  api::Request copy = req;
  copy.body = body.dump();
  copy.headers.set("Content-Type", "application/json");
  env.jobs->post([&env, copy = std::move(copy), respond = std::move(respond), fn,
                  done = std::move(done)]() mutable {
    api::Response r;
    try {
      api::collab::CollabEnv cenv{env.svc, env.pulls};
      r = fn(cenv, copy);
    } catch (const Error& e) {
      r = api::status_response(e.status());
    } catch (const std::exception&) {
      r = api::error_response(500, "Internal Server Error");
    }
    if (auto ok = done(r)) return respond(std::move(*ok));
    respond(std::move(r));
  });
}

const char* side_name(uint8_t side) {
  return side == state::kSideLeft ? "L" : "R";
}

// The review threads of a pull request by (path, side, line): roots with their replies.
struct Threads {
  std::map<std::tuple<std::string, char, uint64_t>, std::vector<state::Comment>> at;
  std::map<std::tuple<std::string, char, uint64_t>, std::vector<PendingComment>> pending;
};

void comment_markup(Html& h, const RepoView& rv, const std::string& who, uint64_t when,
                    std::string_view body, bool pending) {
  MarkdownOptions mo;
  mo.max_input = 64 << 10;
  h.raw("<div class=\"review-comment\"><div class=\"head\"><strong>") << who;
  h.raw("</strong> <span class=\"muted\">");
  if (pending)
    h.raw("<span class=\"pill\">Pending</span>");
  else
    h << age(when, unix_millis());
  h.raw("</span></div><div class=\"body markdown\">") << render_markdown(body, mo);
  h.raw("</div></div>");
  (void)rv;
}

void comment_line_form(Html& h, const api::Request& req, const PullOf& p, DiffMode mode,
                       const std::string& path, char side, uint64_t line) {
  h.raw("<form class=\"form inline-form\" id=\"line-comment-form\" method=\"post\" action=\"")
      << pull_url(p.rv.base, p.x.number) + "/pending" << Safe{"\">"};
  csrf_field(h, req);
  h.raw("<input type=\"hidden\" name=\"path\" value=\"") << path;
  h.raw("\"><input type=\"hidden\" name=\"side\" value=\"") << std::string(1, side);
  h.raw("\"><input type=\"hidden\" name=\"line\" value=\"") << line;
  h.raw("\"><input type=\"hidden\" name=\"diff\" value=\"") << diff_mode_name(mode);
  h.raw("\"><p><label>Comment on line ") << std::string(1, side) << line;
  h.raw(
      " (Markdown)<br><textarea name=\"body\" rows=\"4\" cols=\"80\" required></textarea>"
      "</label></p><p><button type=\"submit\" id=\"add-line-comment\">Add review comment"
      "</button> <span class=\"muted\">(pending until you submit your review)</span></p></form>");
}

void review_box(Html& h, const api::Request& req, const PullOf& p, size_t pending) {
  h.raw("<form class=\"box form\" id=\"review-form\" method=\"post\" action=\"")
      << pull_url(p.rv.base, p.x.number) + "/review" << Safe{"\">"};
  csrf_field(h, req);
  h.raw("<input type=\"hidden\" name=\"commit\" value=\"") << p.head_sha;
  h.raw("\"><p><strong>Submit your review</strong>");
  if (pending)
    h.raw(" <span class=\"muted\" id=\"pending-count\">")
        << static_cast<uint64_t>(pending)
        << (pending == 1 ? " pending comment" : " pending comments") << Safe{"</span>"};
  h.raw(
      "</p><p><label>Review summary (Markdown)<br><textarea name=\"body\" rows=\"4\" cols=\"80\">"
      "</textarea></label></p><p>"
      "<label><input type=\"radio\" name=\"event\" value=\"COMMENT\" checked> Comment</label> "
      "<label><input type=\"radio\" name=\"event\" value=\"APPROVE\" id=\"event-approve\"> Approve"
      "</label> <label><input type=\"radio\" name=\"event\" value=\"REQUEST_CHANGES\" "
      "id=\"event-request-changes\"> Request changes</label></p><p><button type=\"submit\" "
      "id=\"submit-review\">Submit review</button></p></form>");
}

}  // namespace

void pull_tabs(Html& h, const std::string& base, uint64_t number, std::string_view tab) {
  std::string at = pull_url(base, number);
  h.raw("<nav class=\"tabs pull-tabs\">");
  const std::pair<const char*, std::string> tabs[] = {
      {"conversation", at}, {"commits", at + "/commits"}, {"files", at + "/files"}};
  for (const auto& [name, href] : tabs) {
    h.raw("<a id=\"tab-") << name << Safe{"\" href=\""} << href;
    h.raw(tab == name ? "\" class=\"on\">" : "\">");
    h << (std::string_view(name) == "files"     ? "Files changed"
          : std::string_view(name) == "commits" ? "Commits"
                                                : "Conversation");
    h.raw("</a>");
  }
  h.raw("</nav>");
}

void pull_merge_box(WebEnv& env, const api::Request& req, Html& h, const std::string& base,
                    const state::Issue& x) {
  if (x.merged || x.state != state::kIssueOpen) return;
  const auto& ctx = api::repo_context(req);
  auto view = env.svc.chain().view();
  h.raw("<div class=\"box merge-box\" id=\"merge-box\"><div class=\"head\"><strong>Merge</strong>");
  h.raw("</div><div class=\"body\"><ul class=\"list checks\">");
  std::string head = x.head_sha.empty() ? std::string() : hex_encode(x.head_sha);
  std::optional<bool> clean;
  try {
    api::collab::Shapes sh(env.svc, ctx.repo, ctx.owner);
    std::string b = sh.base_sha_of(x);
    if (!head.empty() && !b.empty()) {
      env.pulls->ensure_commit(x.repo_id, x.head_repo_id, head);
      clean = env.pulls->mergeability(x.repo_id, b, head).clean;
    }
  } catch (const std::exception&) {
  }
  if (x.draft) h.raw("<li class=\"blocked\">This pull request is a draft.</li>");
  if (!clean)
    h.raw("<li class=\"muted\">Mergeability unknown (the head is not here yet).</li>");
  else if (*clean)
    h.raw("<li class=\"ok\" id=\"no-conflicts\">No conflicts with the base branch.</li>");
  else
    h.raw("<li class=\"blocked\" id=\"conflicts\">This branch has conflicts with ")
        << x.base_ref << Safe{": it cannot be merged here.</li>"};
  // Branch protection of the base: required approvals and status checks.
  auto rules = state::protection_rules(view, ctx.repo.id);
  if (const state::ProtectionRule* rule = state::applicable_rule(rules, x.base_ref)) {
    if (rule->require_reviews) {
      auto t = state::tally_reviews(view, ctx.repo, x, *rule);
      h.raw("<li class=\"") << (t.approvals >= rule->required_approving_review_count &&
                                        !t.changes_requested
                                    ? "ok"
                                    : "blocked");
      h.raw("\" id=\"required-reviews\">")
          << static_cast<uint64_t>(t.approvals) << " of "
          << static_cast<uint64_t>(rule->required_approving_review_count) << " required approvals";
      if (t.changes_requested) h << "; changes were requested";
      h.raw("</li>");
    }
    if (rule->require_status_checks) {
      auto statuses = state::status_map(view, ctx.repo.id, x.head_sha);
      for (const auto& c : rule->contexts) {
        auto it = statuses.find(c);
        bool ok = it != statuses.end() && it->second == state::kStatusSuccess;
        h.raw("<li class=\"") << (ok ? "ok" : "blocked") << Safe{"\">Status check <code>"} << c;
        h.raw("</code>: ") << (it == statuses.end() ? "expected"
                                                    : state::status_state_name(it->second));
        h.raw("</li>");
      }
    }
  }
  auto me = api::collab::caller(req);
  if (me && ctx.permission >= state::Permission::kWrite) {
    if (auto why = state::merge_protection_denial(view, ctx.repo, x, *me, ctx.permission))
      h.raw("<li class=\"blocked\" id=\"merge-blocked\">") << *why << Safe{"</li>"};
  }
  h.raw("</ul>");
  if (me && ctx.permission >= state::Permission::kWrite) {
    h.raw("<form class=\"form\" id=\"merge-form\" method=\"post\" action=\"")
        << pull_url(base, x.number) + "/merge" << Safe{"\">"};
    csrf_field(h, req);
    h.raw("<input type=\"hidden\" name=\"sha\" value=\"") << head;
    h.raw(
        "\"><p><label><input type=\"radio\" name=\"merge_method\" value=\"merge\" checked "
        "id=\"method-merge\"> Create a merge commit</label> <label><input type=\"radio\" "
        "name=\"merge_method\" value=\"squash\" id=\"method-squash\"> Squash and merge</label> "
        "<label><input type=\"radio\" name=\"merge_method\" value=\"rebase\" id=\"method-rebase\">"
        " Rebase and merge</label></p><p><label>Commit title (optional)<br><input type=\"text\" "
        "name=\"commit_title\" maxlength=\"256\" size=\"80\"></label></p><p><button "
        "type=\"submit\" id=\"merge-button\">Merge pull request</button></p></form>");
  } else if (req.principal.authenticated) {
    h.raw("<p class=\"muted\">Only people with write access can merge.</p>");
  }
  h.raw("</div></div>");
}

api::Response pull_commits_page(WebEnv& env, api::Request& req) {
  PullOf p = load_pull(env, req);
  auto cmp = env.pulls->compare(p.x.repo_id, p.base_sha, p.head_sha);
  Html h;
  repo_header(h, p.rv, "pulls");
  pull_title(h, p, "commits");
  h.raw("<div class=\"box\"><ul class=\"list commits\">");
  uint64_t now = unix_millis();
  for (const auto& k : cmp->commits) {
    h.raw("<li><a href=\"") << p.rv.base + "/commit/" + k.sha;
    h.raw("\"><strong>") << summary_line(k.message)
                         << Safe{"</strong></a><br><span class=\"muted\">"};
    h << k.author.name << " committed " << age(static_cast<uint64_t>(k.committer.time) * 1000, now);
    h.raw(" · <code>") << k.sha.substr(0, 7) << Safe{"</code></span></li>"};
  }
  if (cmp->commits.empty()) h.raw("<li class=\"muted\">No commits</li>");
  h.raw("</ul></div>");
  return page(env, 200, p.x.title + " · Commits · " + p.rv.full, h);
}

api::Response pull_files_page(WebEnv& env, api::Request& req) {
  PullOf p = load_pull(env, req);
  auto cmp = env.pulls->compare(p.x.repo_id, p.base_sha, p.head_sha);
  auto view = env.svc.chain().view();
  Threads threads;
  std::map<uint64_t, std::tuple<std::string, char, uint64_t>> roots;  // comment id → place
  for (const auto& c : view.comments_of(p.x.repo_id, p.x.number, state::kReviewCommentKind)) {
    std::tuple<std::string, char, uint64_t> at{c.path, side_name(c.side)[0], c.line};
    if (c.in_reply_to) {
      auto it = roots.find(c.in_reply_to);
      if (it != roots.end()) at = it->second;
    } else {
      roots[c.id] = at;
    }
    threads.at[at].push_back(c);
  }
  const bool can_review =
      req.principal.authenticated && p.x.state == state::kIssueOpen && !p.x.merged && env.pending;
  std::vector<PendingComment> pending;
  if (can_review) {
    pending = env.pending->list(req.principal.did, p.x.repo_id, p.x.number);
    for (const auto& c : pending)
      threads.pending[{c.path, side_name(c.side)[0], c.line}].push_back(c);
  }
  // The line the comment form is open on (?path=&side=&line=).
  auto q_path = req.query_param("path");
  auto q_side = req.query_param("side").value_or("R");
  uint64_t q_line = 0;
  for (char c : req.query_param("line").value_or(""))
    if (c >= '0' && c <= '9' && q_line < (1ull << 40)) q_line = q_line * 10 + (c - '0');
  DiffView v;
  v.mode = diff_mode(req);
  v.here = pull_url(p.rv.base, p.x.number) + "/files";
  v.file_href = p.rv.base + "/blob/" + p.head_sha + "/";
  v.raw_diff = p.rv.base + "/rawdiff/" + p.base_sha + "/" + p.head_sha;
  v.line_links = can_review;
  std::string me = req.principal.username.empty() ? "you" : req.principal.username;
  v.after_line = [&](Html& out, const git::FileDiff& f, char side, uint64_t line) {
    std::tuple<std::string, char, uint64_t> at{f.filename, side, line};
    auto it = threads.at.find(at);
    auto pt = threads.pending.find(at);
    bool form = can_review && q_path && *q_path == f.filename && q_line == line &&
                !q_side.empty() && q_side[0] == side;
    if (it == threads.at.end() && pt == threads.pending.end() && !form) return;
    out.raw("<div class=\"thread\">");
    if (it != threads.at.end())
      for (const auto& c : it->second)
        comment_markup(out, p.rv,
                       display_name(view, shown_author(view, p.rv.rc->repo.id, c.author, c.body)),
                       c.created_ms, c.body, false);
    if (pt != threads.pending.end())
      for (const auto& c : pt->second) comment_markup(out, p.rv, me, 0, c.body, true);
    if (form) comment_line_form(out, req, p, v.mode, f.filename, side, line);
    out.raw("</div>");
  };
  Html h;
  repo_header(h, p.rv, "pulls");
  pull_title(h, p, "files");
  if (can_review)
    h.raw("<p class=\"muted\">Click a line number to comment on that line.</p>");
  else if (!req.principal.authenticated)
    h.raw("<p class=\"muted\"><a href=\"/-/signin\">Sign in</a> to review.</p>");
  diff_stats(h, cmp->files);
  diff_toggle(h, v);
  render_diff(h, cmp->files, v, false);
  if (can_review) review_box(h, req, p, pending.size());
  return page(env, 200, p.x.title + " · Files changed · " + p.rv.full, h);
}

// POST .../pull/{number}/pending
void pending_comment_form(WebEnv& env, api::Request& req, api::Responder respond) {
  if (needs_sign_in(req, respond)) return;
  if (!env.pending) return respond(api::error_response(503, "Reviews are not kept on this node"));
  const auto& ctx = api::repo_context(req);
  auto x = api::collab::path_pull(req, env.svc.chain().view());
  if (!x) return respond(api::error_response(404, "Not Found"));
  PendingComment c;
  c.path = form_field(req, "path").value_or("");
  c.body = form_field(req, "body").value_or("");
  std::string side = form_field(req, "side").value_or("R");
  c.side = side == "L" ? state::kSideLeft : state::kSideRight;
  for (char ch : form_field(req, "line").value_or(""))
    if (ch >= '0' && ch <= '9' && c.line < (1ull << 40)) c.line = c.line * 10 + (ch - '0');
  if (c.path.empty() || c.path.size() > kMaxPath || c.line == 0)
    return respond(api::error_response(422, "A path and a line are required"));
  if (c.body.empty() || c.body.size() > kMaxBody)
    return respond(api::error_response(422, "A comment needs a body (at most 64 KiB)"));
  if (!env.pending->add(req.principal.did, ctx.repo.id, x->number, c))
    return respond(api::error_response(422, "Too many pending comments: submit your review"));
  std::string mode = form_field(req, "diff").value_or("") == "split" ? "split" : "unified";
  respond(see_other(pull_url(repo_base_url(ctx), x->number) + "/files?diff=" + mode));
}

// POST .../pull/{number}/review
void review_form(WebEnv& env, api::Request& req, api::Responder respond) {
  if (needs_sign_in(req, respond)) return;
  const auto& ctx = api::repo_context(req);
  auto x = api::collab::path_pull(req, env.svc.chain().view());
  if (!x) return respond(api::error_response(404, "Not Found"));
  std::string event = form_field(req, "event").value_or("COMMENT");
  std::string body = form_field(req, "body").value_or("");
  if (body.size() > kMaxBody) return respond(api::error_response(422, "The body is too long"));
  nlohmann::json j{{"event", event}, {"body", body}};
  if (auto commit = form_field(req, "commit"); commit && !commit->empty()) j["commit_id"] = *commit;
  std::string did = req.principal.did;
  uint64_t repo_id = ctx.repo.id, number = x->number;
  if (env.pending) {
    nlohmann::json comments = nlohmann::json::array();
    for (const auto& c : env.pending->list(did, repo_id, number))
      comments.push_back({{"path", c.path},
                          {"line", c.line},
                          {"side", c.side == state::kSideLeft ? "LEFT" : "RIGHT"},
                          {"body", c.body}});
    if (!comments.empty()) j["comments"] = std::move(comments);
  }
  std::string to = pull_url(repo_base_url(ctx), number);
  run_rest(
      env, req, std::move(respond), std::move(j), &api::pulls_submit_review,
      [&env, did, repo_id, number, to](const api::Response& r) -> std::optional<api::Response> {
        if (r.status != 200) return std::nullopt;
        if (env.pending) env.pending->clear(did, repo_id, number);
        return see_other(to);
      });
}

// POST .../pull/{number}/merge
void merge_form(WebEnv& env, api::Request& req, api::Responder respond) {
  if (needs_sign_in(req, respond)) return;
  const auto& ctx = api::repo_context(req);
  auto x = api::collab::path_pull(req, env.svc.chain().view());
  if (!x) return respond(api::error_response(404, "Not Found"));
  nlohmann::json j{{"merge_method", form_field(req, "merge_method").value_or("merge")}};
  if (auto sha = form_field(req, "sha"); sha && !sha->empty()) j["sha"] = *sha;
  if (auto t = form_field(req, "commit_title"); t && !t->empty()) {
    if (t->size() > 256) return respond(api::error_response(422, "The title is too long"));
    j["commit_title"] = *t;
  }
  std::string to = pull_url(repo_base_url(ctx), x->number);
  run_rest(env, req, std::move(respond), std::move(j), &api::pulls_merge,
           [to](const api::Response& r) -> std::optional<api::Response> {
             if (r.status == 202)  // a quorum decides: the proposal the merge created or approved
               if (auto j = nlohmann::json::parse(r.body, nullptr, false); j.contains("proposal"))
                 return see_other("/-/proposals/" + std::to_string(j["proposal"].value("id", 0)));
             if (r.status != 200) return std::nullopt;
             return see_other(to);
           });
}

// POST .../pulls
void create_pull_form(WebEnv& env, api::Request& req, api::Responder respond) {
  if (needs_sign_in(req, respond)) return;
  const auto& ctx = api::repo_context(req);
  std::string title = form_field(req, "title").value_or("");
  std::string body = form_field(req, "body").value_or("");
  if (title.empty() || title.size() > 256)
    return respond(api::error_response(422, "A title of 1 to 256 bytes is required"));
  if (body.size() > kMaxBody) return respond(api::error_response(422, "The body is too long"));
  nlohmann::json j{{"title", title},
                   {"body", body},
                   {"base", form_field(req, "base").value_or("")},
                   {"head", form_field(req, "head").value_or("")}};
  std::string base = repo_base_url(ctx);
  run_rest(env, req, std::move(respond), std::move(j), &api::pulls_create,
           [base](const api::Response& r) -> std::optional<api::Response> {
             if (r.status != 201) return std::nullopt;
             auto j = nlohmann::json::parse(r.body, nullptr, false);
             if (!j.is_object() || !j.contains("number") || !j["number"].is_number_unsigned())
               return std::nullopt;
             return see_other(pull_url(base, j["number"].get<uint64_t>()));
           });
}

}  // namespace guts::web
