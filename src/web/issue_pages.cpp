// Issues and pull requests: lists (state filter, pagination) and the conversation pages (body
// and comments rendered as Markdown, labels, assignees, state; reviews on pulls). Signed in,
// the pages carry the forms of issue_form_pages.cpp (comment, close/reopen, edit, new issue).
#include <algorithm>
#include <array>
#include <functional>
#include <map>

#include "core/bytes.h"
#include "core/time.h"
#include "crypto/did.h"
#include "web/issue_query.h"
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

// The list's URL for query `q` (page > 1 adds &page=).
std::string list_url(const std::string& here, const IssueQuery& q, size_t page = 1) {
  std::string u = here + "?q=" + url_query(format_issue_query(q));
  if (page > 1) u += "&page=" + std::to_string(page);
  return u;
}

// Labels as links to the list filtered by each (docs/web.md "Filtering").
void labels_of(Html& h, const state::StateView& view, const state::Issue& i,
               const std::string& list) {
  for (uint64_t id : i.labels)
    if (auto l = view.label(i.repo_id, id)) {
      IssueQuery q;
      q.labels.push_back(l->name);
      h.raw(" <a class=\"label\" href=\"") << list_url(list, q);
      h.raw("\">") << l->name << Safe{"</a>"};
    }
}

// A person's name linking to the list of what they opened (`qualifier` author or assignee).
void person_link(Html& h, const state::StateView& view, const crypto::PublicKey& key,
                 const std::string& list, bool assignee = false) {
  std::string name = display_name(view, key);
  auto a = view.account(key);
  if (!a || a->username.empty()) {
    h << name;
    return;
  }
  IssueQuery q;
  (assignee ? q.assignee : q.author) = a->username;
  h.raw("<a class=\"person\" href=\"") << list_url(list, q);
  h.raw("\">") << name << Safe{"</a>"};
}

// The query of a list request: `q` (GitHub's qualifiers), plus the plain parameters state,
// label, author, assignee and milestone (forms and links may use either).
IssueQuery request_query(const api::Request& req) {
  IssueQuery q = parse_issue_query(req.query_param("q").value_or(""));
  if (auto s = req.query_param("state"); s && (*s == "open" || *s == "closed" || *s == "all"))
    q.state = *s;
  if (auto l = req.query_param("label"); l && !l->empty() && l->size() <= 256)
    q.labels.push_back(*l);
  if (auto a = req.query_param("author"); a && !a->empty() && a->size() <= 256) q.author = *a;
  if (auto a = req.query_param("assignee"); a && !a->empty() && a->size() <= 256) q.assignee = *a;
  if (auto m = req.query_param("milestone"); m && !m->empty() && m->size() <= 256) q.milestone = *m;
  return q;
}

// How many issues a filtered list reads at most (the newest); docs/web.md says so.
constexpr size_t kMaxScan = 5000;

// Whether `i` matches the query's qualifiers other than its state (names resolved once).
struct Matcher {
  const IssueQuery& q;
  bool impossible = false;  // a label, user or milestone that does not exist: nothing matches
  std::vector<uint64_t> labels;
  std::optional<crypto::PublicKey> author, assignee;
  uint64_t milestone = 0;

  Matcher(const state::StateView& view, uint64_t repo_id, const IssueQuery& query) : q(query) {
    for (const auto& name : q.labels) {
      auto l = view.label_by_name(repo_id, name);
      if (!l)
        impossible = true;
      else
        labels.push_back(l->id);
    }
    auto user = [&](const std::optional<std::string>& login) -> std::optional<crypto::PublicKey> {
      if (!login) return std::nullopt;
      auto a = view.account_by_username(*login);
      if (!a) {
        impossible = true;
        return std::nullopt;
      }
      return a->key;
    };
    author = user(q.author);
    assignee = user(q.assignee);
    if (q.milestone) {
      for (const auto& m : view.milestones(repo_id))
        if (iequals(m.title, *q.milestone)) milestone = m.number;
      if (!milestone) impossible = true;
    }
  }

  bool operator()(const state::Issue& i) const {
    if (impossible) return false;
    for (uint64_t l : labels)
      if (std::find(i.labels.begin(), i.labels.end(), l) == i.labels.end()) return false;
    if (author && i.author != *author) return false;
    if (assignee &&
        std::find(i.assignees.begin(), i.assignees.end(), *assignee) == i.assignees.end())
      return false;
    if (milestone && i.milestone != milestone) return false;
    if (q.no_label && !i.labels.empty()) return false;
    if (q.no_assignee && !i.assignees.empty()) return false;
    if (q.no_milestone && i.milestone) return false;
    for (const auto& w : q.words)
      if (!icontains(i.title, w)) return false;
    return true;
  }
};

bool state_matches(std::string_view st, const state::Issue& i) {
  if (st == "open") return i.state == state::kIssueOpen;
  if (st == "closed") return i.state != state::kIssueOpen;
  if (st == "merged") return i.merged;
  return true;
}

api::Response list(WebEnv& env, api::Request& req, bool pulls) {
  RepoView rv = open_repo(env, req);
  auto view = env.svc.chain().view();
  IssueQuery query = request_query(req);
  const std::string& st = query.state;
  size_t page_no = page_number(req);
  const uint64_t repo_id = rv.rc->repo.id;
  std::string here = rv.base + (pulls ? "/pulls" : "/issues");
  uint64_t n_open = 0, n_closed = 0;
  std::vector<uint64_t> numbers;
  size_t skip = (page_no - 1) * kPerPage;
  bool more = false;
  if (query.filtered()) {
    // Read the newest issues of any state and filter them here (counts per state too).
    Matcher match(view, repo_id, query);
    if (!match.impossible)
      for (uint64_t n : view.issue_numbers(repo_id, pulls, '*', 0, kMaxScan)) {
        auto i = view.issue(repo_id, n);
        if (!i || i->is_pull != pulls || !match(*i)) continue;
        ++(i->state == state::kIssueOpen ? n_open : n_closed);
        if (!state_matches(st, *i)) continue;
        if (skip > 0) {
          --skip;
        } else if (numbers.size() < kPerPage) {
          numbers.push_back(n);
        } else {
          more = true;
        }
      }
  } else {
    char code = st == "closed" ? 'c' : st == "all" ? '*' : 'o';
    auto count = [&](char c) {
      uint64_t with_pulls = view.issue_count(repo_id, pulls, c);
      return pulls ? with_pulls : with_pulls - view.issue_count(repo_id, true, c);
    };
    n_open = count('o');
    n_closed = count('c');
    // The state's index holds issues and pulls together: for issues, read past the pulls.
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
    more = numbers.size() > kPerPage;
    if (more) numbers.pop_back();
  }
  Html h;
  repo_header(h, rv, pulls ? "pulls" : "issues");
  // The filter: a GET form (works without JavaScript), GitHub's qualifiers.
  h.raw("<form class=\"filter\" id=\"filter\" method=\"get\" action=\"") << here;
  h.raw(
      "\" role=\"search\"><input type=\"search\" name=\"q\" size=\"60\" aria-label=\"Filter\" "
      "value=\"")
      << format_issue_query(query);
  h.raw("\"> <button type=\"submit\">Filter</button>");
  if (query.filtered() || st != "open")
    h.raw(" <a id=\"clear-filter\" href=\"") << here << Safe{"\">Clear filter</a>"};
  h.raw("</form><nav class=\"pager\">");
  for (const char* s : {"open", "closed", "all"}) {
    IssueQuery tab = query;
    tab.state = s;
    uint64_t n = s[0] == 'o' ? n_open : s[0] == 'c' ? n_closed : n_open + n_closed;
    h.raw("<a href=\"") << list_url(here, tab);
    h.raw(st == s ? "\"><strong>" : "\">") << n << " " << s;
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
    h.raw("<li data-number=\"") << n << Safe{"\">"};
    state_pill(h, *i);
    h.raw(" <a href=\"") << rv.base + (i->is_pull ? "/pull/" : "/issues/") + std::to_string(n);
    h.raw("\"><strong>") << i->title << Safe{"</strong></a>"};
    labels_of(h, view, *i, here);
    h.raw("<br><span class=\"muted\">#") << n << " opened " << age(i->created_ms, now) << " by ";
    person_link(h, view, i->author, here);
    if (i->milestone)
      if (auto m = view.milestone(repo_id, i->milestone)) {
        IssueQuery mq;
        mq.milestone = m->title;
        h.raw(" · <a class=\"milestone\" href=\"") << list_url(here, mq);
        h.raw("\">") << m->title << Safe{"</a>"};
      }
    if (i->comments) h << " · " << i->comments << (i->comments == 1 ? " comment" : " comments");
    h.raw("</span></li>");
  }
  if (shown == 0) h.raw("<li class=\"muted\">Nothing here.</li>");
  h.raw("</ul></div><nav class=\"pager\">");
  if (page_no > 1)
    h.raw("<a rel=\"prev\" href=\"") << list_url(here, query, page_no - 1) << Safe{"\">Newer</a>"};
  if (more)
    h.raw("<a rel=\"next\" href=\"") << list_url(here, query, page_no + 1) << Safe{"\">Older</a>"};
  h.raw("</nav>");
  return page(env, 200, std::string(pulls ? "Pull requests · " : "Issues · ") + rv.full, h);
}

// Reactions of an issue (`comment` 0) or a comment: the counts, and signed in, a toggle form per
// content (the same SetReaction transaction as POST/DELETE .../reactions; docs/web.md).
constexpr const char* kReactionEmoji[8] = {"\U0001F44D", "\U0001F44E",   "\U0001F604",
                                           "\U0001F615", "\u2764\uFE0F", "\U0001F389",
                                           "\U0001F680", "\U0001F440"};

void reactions_bar(Html& h, const api::Request& req, const RepoView& rv,
                   const state::StateView& view, uint64_t number, uint64_t comment) {
  const uint8_t type = comment ? state::kReactComment : state::kReactIssue;
  const uint64_t target = comment ? comment : number;
  auto counts = view.reaction_counts(rv.rc->repo.id, type, target);
  std::array<bool, 8> mine{};
  auto me = req.principal.authenticated ? crypto::parse_did(req.principal.did) : std::nullopt;
  uint64_t total = 0;
  for (auto c : counts) total += c;
  if (me && total)
    for (const auto& r : view.reactions(rv.rc->repo.id, type, target))
      if (r.user == *me)
        if (int k = state::reaction_index(r.content); k >= 0) mine[static_cast<size_t>(k)] = true;
  std::string action = rv.base + "/issues/" + std::to_string(number) + "/reactions";
  std::string cid = std::to_string(comment);
  auto button = [&](size_t k, bool with_count) {
    const char* content = state::kReactionContents[k];
    if (!me) {
      h.raw("<span class=\"reaction\" data-content=\"") << content << Safe{"\">"};
      h << Safe{kReactionEmoji[k]} << " " << counts[k] << Safe{"</span>"};
      return;
    }
    h.raw("<form class=\"inline\" method=\"post\" action=\"") << action << Safe{"\">"};
    csrf_field(h, req);
    h.raw("<input type=\"hidden\" name=\"content\" value=\"") << content << Safe{"\">"};
    if (comment) h.raw("<input type=\"hidden\" name=\"comment\" value=\"") << cid << Safe{"\">"};
    h.raw("<button type=\"submit\" class=\"reaction") << (mine[k] ? " mine" : "");
    h.raw("\" data-content=\"") << content;
    h.raw("\" aria-pressed=\"") << (mine[k] ? "true" : "false");
    h.raw("\" title=\"") << content << Safe{"\">"} << Safe{kReactionEmoji[k]};
    if (with_count) h << " " << counts[k];
    h.raw("</button></form>");
  };
  h.raw("<div class=\"reactions\" data-target=\"")
      << (comment ? "comment-" + cid : "issue") << Safe{"\">"};
  for (size_t k = 0; k < 8; ++k)
    if (counts[k]) button(k, true);
  if (me) {
    h.raw("<details class=\"react\"><summary>React</summary>");
    for (size_t k = 0; k < 8; ++k) button(k, false);
    h.raw("</details>");
  }
  h.raw("</div>");
}

// `reactions` renders the reactions bar at the bottom of the box (empty: none).
void comment_box(Html& h, const RepoView& rv, const std::string& author, uint64_t created_ms,
                 std::string_view body, std::string_view extra = {},
                 const std::function<void(Html&)>& reactions = {}, uint64_t anchor = 0) {
  h.raw("<div class=\"box comment\"");
  if (anchor) h.raw(" id=\"comment-") << anchor << Safe{"\""};
  h.raw("><div class=\"head\"><strong>") << author;
  h.raw("</strong> <span class=\"muted\">commented ") << age(created_ms, unix_millis());
  if (!extra.empty()) h << " · " << extra;
  h.raw("</span></div><div class=\"body markdown\">");
  if (body.empty())
    h.raw("<p class=\"note\">No description provided.</p>");
  else
    h << body_markdown(rv, body);
  h.raw("</div>");
  if (reactions) reactions(h);
  h.raw("</div>");
}

// Signed in: the comment form, close/reopen and edit (the transaction's rules decide who may;
// a refusal comes back as the error page). Anonymous: a way to sign in.
// Logins of `keys`, space-separated (the value of the assignee and reviewer fields).
std::string logins_of(const state::StateView& view, const std::vector<crypto::PublicKey>& keys) {
  std::string out;
  for (const auto& k : keys)
    if (auto a = view.account(k)) out += (out.empty() ? "" : " ") + a->username;
  return out;
}

// Labels, assignees, milestone and (pull requests) requested reviewers: one form, folded in a
// <details> (no script); POST .../issues/{n}/meta (issue_form_pages.cpp) makes the EditIssue.
void meta_form(Html& h, const api::Request& req, const RepoView& rv, const state::StateView& view,
               const state::Issue& i) {
  const uint64_t repo = rv.rc->repo.id;
  h.raw("<details class=\"box form\" id=\"meta\"><summary>Labels, assignees, milestone");
  if (i.is_pull) h.raw(", reviewers");
  h.raw("</summary><form method=\"post\" action=\"")
      << rv.base + "/issues/" + std::to_string(i.number) + "/meta" << Safe{"\">"};
  csrf_field(h, req);
  h.raw("<fieldset><legend>Labels</legend><input type=\"hidden\" name=\"labels\" value=\"1\">");
  auto labels = view.labels(repo);
  if (labels.empty()) h.raw("<span class=\"muted\">This repository has no labels.</span>");
  for (const auto& l : labels) {
    bool on = std::find(i.labels.begin(), i.labels.end(), l.id) != i.labels.end();
    h.raw("<label class=\"label-choice\"><input type=\"checkbox\" name=\"label-")
        << l.id << Safe{"\" value=\"1\""} << Safe{on ? " checked" : ""} << Safe{"> "} << l.name
        << Safe{"</label> "};
  }
  h.raw(
      "</fieldset><p><label>Assignees (user names, separated by spaces)<br>"
      "<input type=\"text\" name=\"assignees\" size=\"60\" value=\"")
      << logins_of(view, i.assignees) << Safe{"\"></label></p>"};
  if (i.is_pull)
    h.raw(
        "<p><label>Reviewers requested (user names)<br>"
        "<input type=\"text\" name=\"reviewers\" size=\"60\" value=\"")
        << logins_of(view, i.requested_reviewers) << Safe{"\"></label></p>"};
  h.raw("<p><label>Milestone <select name=\"milestone\"><option value=\"0\">none</option>");
  for (const auto& m : view.milestones(repo)) {
    if (m.state != state::kIssueOpen && m.number != i.milestone) continue;
    h.raw("<option value=\"") << m.number << Safe{"\""}
                              << Safe{m.number == i.milestone ? " selected" : ""} << Safe{">"}
                              << m.title << Safe{"</option>"};
  }
  h.raw(
      "</select></label></p><p><button type=\"submit\" id=\"save-meta\">Save</button></p>"
      "</form></details>");
}

void write_forms(Html& h, const api::Request& req, const RepoView& rv, const state::StateView& view,
                 const state::Issue& i) {
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
  meta_form(h, req, rv, view, i);
}

api::Response conversation(WebEnv& env, api::Request& req, bool pull) {
  RepoView rv = open_repo(env, req);
  auto view = env.svc.chain().view();
  auto parsed = decimal(req.param("number"));
  if (!parsed) throw Error(Code::kNotFound, "No such number");
  const uint64_t number = *parsed;
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
  const std::string list = rv.base + (pull ? "/pulls" : "/issues");
  h.raw(" <span class=\"muted\">");
  person_link(h, view, shown_author(view, rv.rc->repo.id, i->author, i->body), list);
  h << " opened this " << age(i->created_ms, unix_millis());
  if (pull) h << " · wants to merge " << i->head_ref << " into " << i->base_ref;
  h.raw("</span>");
  labels_of(h, view, *i, list);
  if (!i->assignees.empty()) {
    h.raw(" <span class=\"muted\">· assigned to");
    for (const auto& a : i->assignees) {
      h.raw(" ");
      person_link(h, view, a, list, true);
    }
    h.raw("</span>");
  }
  if (i->milestone)
    if (auto m = view.milestone(rv.rc->repo.id, i->milestone)) {
      IssueQuery mq;
      mq.milestone = m->title;
      h.raw(" <span class=\"muted\">· milestone <a class=\"milestone\" href=\"")
          << list_url(list, mq);
      h.raw("\">") << m->title << Safe{"</a></span>"};
    }
  h.raw("</p>");
  if (pull) pull_tabs(h, rv.base, number, "conversation");
  auto reactions_of = [&](uint64_t comment) {
    return [&, comment](Html& out) { reactions_bar(out, req, rv, view, number, comment); };
  };
  const uint64_t repo_id = rv.rc->repo.id;
  comment_box(h, rv, display_name(view, shown_author(view, repo_id, i->author, i->body)),
              i->created_ms, i->body, {}, reactions_of(0));
  for (const auto& c : view.comments_of(rv.rc->repo.id, number, state::kIssueComment))
    comment_box(h, rv, display_name(view, shown_author(view, repo_id, c.author, c.body)),
                c.created_ms, c.body, {}, reactions_of(c.id), c.id);
  if (pull) {
    for (const auto& r : view.reviews_of(rv.rc->repo.id, number)) {
      const char* verdict = r.state == state::kReviewApprove          ? "approved"
                            : r.state == state::kReviewRequestChanges ? "requested changes"
                            : r.state == state::kReviewDismissed      ? "review dismissed"
                                                                      : "reviewed";
      comment_box(h, rv, display_name(view, r.author), r.submitted_ms, r.body, verdict);
    }
    for (const auto& c : view.comments_of(rv.rc->repo.id, number, state::kReviewCommentKind))
      comment_box(h, rv, display_name(view, shown_author(view, repo_id, c.author, c.body)),
                  c.created_ms, c.body, "on " + c.path + " line " + std::to_string(c.line),
                  reactions_of(c.id), c.id);
    if (i->merged)
      h.raw("<p class=\"muted\" id=\"merged-as\">Merged as <code>")
          << hex_encode(i->merge_sha).substr(0, 12) << Safe{"</code></p>"};
    pull_merge_box(env, req, h, rv.base, *i);
  }
  h.raw("</div>");
  write_forms(h, req, rv, view, *i);
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
