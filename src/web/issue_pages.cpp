// Issues and pull requests: lists (state filter, pagination) and the conversation pages (body
// and comments rendered as Markdown, labels, assignees, state; reviews on pulls). Signed in,
// the pages carry the forms of issue_form_pages.cpp (comment, close/reopen, edit, new issue).
#include <map>

#include "core/bytes.h"
#include "core/time.h"
#include "crypto/did.h"
#include "web/markdown.h"
#include "web/pages.h"
#include "web/repo_view.h"

namespace guts::web {

namespace {

constexpr size_t kPerPage = 25;

// Markdown of an issue, comment or review; relative links point into the default branch.
Safe body_markdown(const RepoView& rv, std::string_view text) {
  MarkdownOptions mo;
  mo.max_input = 256 << 10;
  const std::string& ref = rv.rc->repo.default_branch;
  mo.resolve = [&](std::string_view url, bool image) {
    std::string suffix;
    std::string target = join_repo_path("", url, &suffix);
    return rv.base + (image ? "/raw/" : "/blob/") + url_path(ref) + "/" + url_path(target) + suffix;
  };
  return render_markdown(text, mo);
}

std::string state_name(const state::Issue& i) {
  if (i.merged) return "merged";
  return i.state == state::kIssueOpen ? "open" : "closed";
}

void state_pill(Html& h, const state::Issue& i) {
  std::string s = state_name(i);
  h.raw("<span class=\"label state-") << (s == "open" ? "open" : "closed") << Safe{"\">"} << s;
  h.raw("</span>");
}

void labels_of(Html& h, const state::StateView& view, const state::Issue& i) {
  for (uint64_t id : i.labels)
    if (auto l = view.label(i.repo_id, id))
      h.raw(" <span class=\"label\">") << l->name << Safe{"</span>"};
}

api::Response list(WebEnv& env, api::Request& req, bool pulls) {
  RepoView rv = open_repo(env, req);
  auto view = env.svc.chain().view();
  std::string st = req.query_param("state").value_or("open");
  char code = st == "closed" ? 'c' : st == "all" ? '*' : 'o';
  if (code == 'o') st = "open";
  size_t page_no = page_number(req);
  const uint64_t repo_id = rv.rc->repo.id;
  auto count = [&](char c) {
    uint64_t with_pulls = view.issue_count(repo_id, pulls, c);
    return pulls ? with_pulls : with_pulls - view.issue_count(repo_id, true, c);
  };
  // The state's index holds issues and pulls together: for issues, read past the pulls.
  size_t skip = (page_no - 1) * kPerPage;
  std::vector<uint64_t> numbers;
  if (pulls) {
    numbers = view.issue_numbers(repo_id, true, code, skip, kPerPage + 1);
  } else {
    size_t extra = static_cast<size_t>(view.issue_count(repo_id, true, code));
    for (uint64_t n : view.issue_numbers(repo_id, false, code, 0, skip + kPerPage + 1 + extra)) {
      auto i = view.issue(repo_id, n);
      if (!i || i->is_pull) continue;
      if (skip > 0) {
        --skip;
        continue;
      }
      numbers.push_back(n);
      if (numbers.size() > kPerPage) break;
    }
  }
  bool more = numbers.size() > kPerPage;
  if (more) numbers.pop_back();
  std::string here = rv.base + (pulls ? "/pulls" : "/issues");
  Html h;
  repo_header(h, rv, pulls ? "pulls" : "issues");
  h.raw("<nav class=\"pager\">");
  for (const char* s : {"open", "closed", "all"}) {
    h.raw("<a href=\"") << here + "?state=" + s;
    h.raw(st == s ? "\"><strong>" : "\">") << count(s[0] == 'a' ? '*' : s[0]) << " " << s;
    h.raw(st == s ? "</strong></a>" : "</a>");
  }
  if (!pulls)
    h.raw("<a class=\"button\" id=\"new-issue\" href=\"")
        << rv.base + (req.principal.authenticated ? "/issues/new" : "/-/signin")
        << Safe{"\">New issue</a>"};
  h.raw("</nav><div class=\"box\"><ul class=\"list issues\">");
  uint64_t now = unix_millis();
  size_t shown = 0;
  for (uint64_t n : numbers) {
    auto i = view.issue(repo_id, n);
    if (!i || i->is_pull != pulls) continue;
    ++shown;
    h.raw("<li>");
    state_pill(h, *i);
    h.raw(" <a href=\"") << rv.base + (i->is_pull ? "/pull/" : "/issues/") + std::to_string(n);
    h.raw("\"><strong>") << i->title << Safe{"</strong></a>"};
    labels_of(h, view, *i);
    h.raw("<br><span class=\"muted\">#")
        << n << " opened " << age(i->created_ms, now) << " by " << display_name(view, i->author);
    if (i->comments) h << " · " << i->comments << (i->comments == 1 ? " comment" : " comments");
    h.raw("</span></li>");
  }
  if (shown == 0) h.raw("<li class=\"muted\">Nothing here.</li>");
  h.raw("</ul></div><nav class=\"pager\">");
  std::string q = here + "?state=" + st + "&page=";
  if (page_no > 1)
    h.raw("<a rel=\"prev\" href=\"") << q + std::to_string(page_no - 1) << Safe{"\">Newer</a>"};
  if (more)
    h.raw("<a rel=\"next\" href=\"") << q + std::to_string(page_no + 1) << Safe{"\">Older</a>"};
  h.raw("</nav>");
  return page(env, 200, std::string(pulls ? "Pull requests · " : "Issues · ") + rv.full, h);
}

void comment_box(Html& h, const RepoView& rv, const std::string& author, uint64_t created_ms,
                 std::string_view body, std::string_view extra = {}) {
  h.raw("<div class=\"box comment\"><div class=\"head\"><strong>") << author;
  h.raw("</strong> <span class=\"muted\">commented ") << age(created_ms, unix_millis());
  if (!extra.empty()) h << " · " << extra;
  h.raw("</span></div><div class=\"body markdown\">");
  if (body.empty())
    h.raw("<p class=\"note\">No description provided.</p>");
  else
    h << body_markdown(rv, body);
  h.raw("</div></div>");
}

// Signed in: the comment form, close/reopen and edit (the transaction's rules decide who may;
// a refusal comes back as the error page). Anonymous: a way to sign in.
void write_forms(Html& h, const api::Request& req, const RepoView& rv, const state::Issue& i) {
  if (!req.principal.authenticated) {
    h.raw("<p class=\"muted\"><a href=\"/-/signin\">Sign in</a> to comment.</p>");
    return;
  }
  std::string at = rv.base + "/issues/" + std::to_string(i.number);
  h.raw("<form class=\"box form\" id=\"comment-form\" method=\"post\" action=\"")
      << at + "/comments" << Safe{"\">"};
  csrf_field(h, req);
  h.raw(
      "<p><label>Comment (Markdown)<br><textarea name=\"body\" rows=\"6\" cols=\"80\" "
      "required></textarea></label></p><p><button type=\"submit\" id=\"submit-comment\">"
      "Comment</button></p></form><p class=\"actions\">");
  if (!i.merged) {
    bool open = i.state == state::kIssueOpen;
    post_button(h, req, at + "/state",
                open ? (i.is_pull ? "Close pull request" : "Close issue") : "Reopen",
                {{"state", open ? "closed" : "open"}});
  }
  h.raw(" <a href=\"") << at + "/edit" << Safe{"\">Edit title and description</a></p>"};
}

api::Response conversation(WebEnv& env, api::Request& req, bool pull) {
  RepoView rv = open_repo(env, req);
  auto view = env.svc.chain().view();
  uint64_t number = 0;
  for (char c : req.param("number")) {
    if (c < '0' || c > '9' || number > (1ull << 50)) throw Error(Code::kNotFound, "No such number");
    number = number * 10 + static_cast<uint64_t>(c - '0');
  }
  auto i = view.issue(rv.rc->repo.id, number);
  if (!i) throw Error(Code::kNotFound, "No such issue");
  if (i->is_pull != pull)
    return redirect(rv.base + (i->is_pull ? "/pull/" : "/issues/") + std::to_string(number));
  Html h;
  repo_header(h, rv, pull ? "pulls" : "issues");
  // Live updates (docs/web.md): the conversation is refreshed when an event concerns it.
  h.raw("<div id=\"conversation\" data-live=\"issue\" data-repo=\"") << rv.full;
  h.raw("\" data-number=\"") << number << Safe{"\">"};
  h.raw("<h1 class=\"issue-title\">") << i->title << Safe{" <span class=\"muted\">#"} << number;
  h.raw("</span></h1><p>");
  state_pill(h, *i);
  if (i->draft) h.raw(" <span class=\"pill\">draft</span>");
  h.raw(" <span class=\"muted\">")
      << display_name(view, i->author) << " opened this " << age(i->created_ms, unix_millis());
  if (pull) h << " · wants to merge " << i->head_ref << " into " << i->base_ref;
  h.raw("</span>");
  labels_of(h, view, *i);
  if (!i->assignees.empty()) {
    h.raw(" <span class=\"muted\">· assigned to");
    for (const auto& a : i->assignees) h << " " << display_name(view, a);
    h.raw("</span>");
  }
  if (i->milestone)
    if (auto m = view.milestone(rv.rc->repo.id, i->milestone))
      h.raw(" <span class=\"muted\">· milestone ") << m->title << Safe{"</span>"};
  h.raw("</p>");
  if (pull) pull_tabs(h, rv.base, number, "conversation");
  comment_box(h, rv, display_name(view, i->author), i->created_ms, i->body);
  for (const auto& c : view.comments_of(rv.rc->repo.id, number, state::kIssueComment))
    comment_box(h, rv, display_name(view, c.author), c.created_ms, c.body);
  if (pull) {
    for (const auto& r : view.reviews_of(rv.rc->repo.id, number)) {
      const char* verdict = r.state == state::kReviewApprove          ? "approved"
                            : r.state == state::kReviewRequestChanges ? "requested changes"
                            : r.state == state::kReviewDismissed      ? "review dismissed"
                                                                      : "reviewed";
      comment_box(h, rv, display_name(view, r.author), r.submitted_ms, r.body, verdict);
    }
    for (const auto& c : view.comments_of(rv.rc->repo.id, number, state::kReviewCommentKind))
      comment_box(h, rv, display_name(view, c.author), c.created_ms, c.body,
                  "on " + c.path + " line " + std::to_string(c.line));
    if (i->merged)
      h.raw("<p class=\"muted\" id=\"merged-as\">Merged as <code>")
          << hex_encode(i->merge_sha).substr(0, 12) << Safe{"</code></p>"};
    pull_merge_box(env, req, h, rv.base, *i);
  }
  h.raw("</div>");
  write_forms(h, req, rv, *i);
  return page(env, 200, i->title + " · " + rv.full, h);
}

}  // namespace

api::Response issues_page(WebEnv& env, api::Request& req) {
  return list(env, req, false);
}
api::Response pulls_page(WebEnv& env, api::Request& req) {
  return list(env, req, true);
}
api::Response issue_page(WebEnv& env, api::Request& req) {
  return conversation(env, req, false);
}
api::Response pull_page(WebEnv& env, api::Request& req) {
  return conversation(env, req, true);
}

}  // namespace guts::web
