// Commit log (paginated), commit page, compare page and the raw diff. The diffs are drawn by
// web/diff_view.h (unified or split).

#include "api/collab_git.h"
#include "core/time.h"
#include "web/diff_view.h"
#include "web/pages.h"
#include "web/repo_view.h"

namespace guts::web {

namespace {

constexpr size_t kPerPage = 30;
// Diff bounds of the commit and compare pages (more: cut, with a link to the raw diff).
constexpr size_t kMaxFiles = 300;
constexpr size_t kMaxPatchBytes = 1 << 20;
constexpr size_t kMaxRawDiff = 32 << 20;

void commit_item(Html& h, const RepoView& rv, const git::Commit& k, uint64_t now) {
  h.raw("<li><a href=\"") << rv.base + "/commit/" + k.sha;
  h.raw("\"><strong>") << summary_line(k.message)
                       << Safe{"</strong></a><br><span class=\"muted\">"};
  h << k.author.name << " committed " << age(static_cast<uint64_t>(k.committer.time) * 1000, now);
  h.raw(" · <code>") << k.sha.substr(0, 7);
  h.raw("</code> · <a href=\"") << rv.base + "/tree/" + k.sha;
  h.raw("\">Browse files</a></span></li>");
}

}  // namespace

api::Response commits_page(WebEnv& env, api::Request& req) {
  RepoView rv = open_repo(env, req);
  auto& git = git_of(rv);
  auto [ref, path] = split_ref(git, req.param("rest"), rv.rc->repo.default_branch);
  if (!git.resolve(ref)) throw Error(Code::kNotFound, "No such ref");
  size_t page_no = page_number(req);
  git::CommitQuery q;
  q.rev = ref;
  q.path = path;
  q.skip = (page_no - 1) * kPerPage;
  q.limit = kPerPage + 1;
  auto list = git.commits(q);
  bool more = list.size() > kPerPage;
  if (more) list.pop_back();
  Html h;
  repo_header(h, rv, "commits", ref);
  h.raw("<h2>Commits on <span class=\"pill\">") << ref << Safe{"</span>"};
  if (!path.empty()) h.raw(" touching <code>") << path << Safe{"</code>"};
  h.raw("</h2><div class=\"box\"><ul class=\"list commits\">");
  uint64_t now = unix_millis();
  for (const auto& k : list) commit_item(h, rv, k, now);
  if (list.empty()) h.raw("<li class=\"muted\">No commits</li>");
  h.raw("</ul></div><nav class=\"pager\">");
  std::string here =
      rv.base + "/commits/" + url_path(ref) + (path.empty() ? "" : "/" + url_path(path));
  if (page_no > 1)
    h.raw("<a rel=\"prev\" href=\"")
        << here + "?page=" + std::to_string(page_no - 1) << Safe{"\">Newer</a>"};
  if (more)
    h.raw("<a rel=\"next\" href=\"")
        << here + "?page=" + std::to_string(page_no + 1) << Safe{"\">Older</a>"};
  h.raw("</nav>");
  return page(env, 200, "Commits · " + rv.full, h);
}

api::Response commit_page(WebEnv& env, api::Request& req) {
  RepoView rv = open_repo(env, req);
  auto& git = git_of(rv);
  auto sha = git.resolve(req.param("sha"));
  if (!sha) throw Error(Code::kNotFound, "No such commit");
  auto k = git.commit(*sha);
  Html h;
  repo_header(h, rv, "commits");
  h.raw("<div class=\"box\"><div class=\"head\"><strong>") << summary_line(k.message);
  h.raw("</strong></div><div class=\"body\">");
  size_t nl = k.message.find('\n');
  if (nl != std::string::npos && nl + 1 < k.message.size())
    h.raw("<pre>") << std::string_view(k.message).substr(nl + 1) << Safe{"</pre>"};
  h.raw("<p class=\"muted\">") << k.author.name << " authored "
                               << age(static_cast<uint64_t>(k.author.time) * 1000, unix_millis());
  h.raw(" · commit <code>") << k.sha << Safe{"</code>"};
  for (const auto& p : k.parents) {
    h.raw(" · parent <a href=\"") << rv.base + "/commit/" + p;
    h.raw("\"><code>") << p.substr(0, 7) << Safe{"</code></a>"};
  }
  h.raw(" · <a href=\"") << rv.base + "/tree/" + k.sha
                         << Safe{"\">Browse files</a></p></div></div>"};
  if (k.parents.empty()) {
    h.raw("<h2>Files</h2><div class=\"box\"><ul class=\"list\">");
    for (const auto& e : git.tree(k.sha, "", true, 5000)) {
      if (e.type != "blob") continue;
      h.raw("<li><span class=\"pill\">added</span> <a href=\"")
          << rv.base + "/blob/" + k.sha + "/" + url_path(e.path);
      h.raw("\">") << e.path << Safe{"</a></li>"};
    }
    h.raw("</ul></div>");
    return page(env, 200, summary_line(k.message) + " · " + rv.full, h);
  }
  auto cmp = git.compare(k.parents[0], k.sha, 1, kMaxFiles, kMaxPatchBytes);
  DiffView v;
  v.mode = diff_mode(req);
  v.here = rv.base + "/commit/" + k.sha;
  v.file_href = rv.base + "/blob/" + k.sha + "/";
  v.raw_diff = rv.base + "/rawdiff/" + k.parents[0] + "/" + k.sha;
  diff_stats(h, cmp.files);
  diff_toggle(h, v);
  render_diff(h, cmp.files, v, cmp.files.size() >= kMaxFiles);
  return page(env, 200, summary_line(k.message) + " · " + rv.full, h);
}

namespace {

// "base...head" (or "base..head") of the compare path; branch names may hold '/' but not "..".
std::optional<std::pair<std::string, std::string>> compare_range(std::string_view rest) {
  size_t at = rest.find("...");
  size_t len = 3;
  if (at == std::string_view::npos) {
    at = rest.find("..");
    len = 2;
  }
  if (at == std::string_view::npos || at == 0 || at + len >= rest.size()) return std::nullopt;
  return std::make_pair(std::string(rest.substr(0, at)), std::string(rest.substr(at + len)));
}

void compare_form(Html& h, const RepoView& rv, const git::Browser& git, std::string_view base,
                  std::string_view head) {
  h.raw("<form class=\"box form\" method=\"get\" action=\"") << rv.base + "/compare";
  h.raw("\"><p><label>base <select name=\"base\">");
  auto branches = git.branches();
  for (const char* which : {"base", "head"}) {
    std::string_view cur = std::string_view(which) == "base" ? base : head;
    if (std::string_view(which) == "head")
      h.raw("</select></label> ← <label>compare <select name=\"head\">");
    for (const auto& b : branches) {
      h.raw("<option") << Safe{b.name == cur ? " selected" : ""} << Safe{" value=\""} << b.name;
      h.raw("\">") << b.name << Safe{"</option>"};
    }
  }
  h.raw("</select></label> <button type=\"submit\" id=\"compare-go\">Compare</button></p></form>");
}

// Signed in, comparing two branches with commits between them: the new pull request form.
void new_pull_form(Html& h, const api::Request& req, const RepoView& rv, const std::string& base,
                   const std::string& head, const git::Comparison& cmp) {
  if (!req.principal.authenticated) {
    h.raw("<p class=\"muted\"><a href=\"/-/signin\">Sign in</a> to open a pull request.</p>");
    return;
  }
  std::string title = cmp.commits.size() == 1 ? summary_line(cmp.commits[0].message) : head;
  h.raw("<form class=\"box form\" id=\"new-pull\" method=\"post\" action=\"")
      << rv.base + "/pulls" << Safe{"\">"};
  csrf_field(h, req);
  h.raw("<input type=\"hidden\" name=\"base\" value=\"") << base;
  h.raw("\"><input type=\"hidden\" name=\"head\" value=\"") << head;
  h.raw(
      "\"><p><strong>Open a pull request</strong></p><p><label>Title<br><input type=\"text\" "
      "name=\"title\" required maxlength=\"256\" size=\"80\" value=\"")
      << title;
  h.raw(
      "\"></label></p><p><label>Description (Markdown)<br><textarea name=\"body\" rows=\"6\" "
      "cols=\"80\"></textarea></label></p><p><button type=\"submit\" id=\"submit-pull\">"
      "Create pull request</button></p></form>");
}

}  // namespace

api::Response compare_page(WebEnv& env, api::Request& req) {
  RepoView rv = open_repo(env, req);
  auto& git = git_of(rv);
  std::string rest = req.param("rest");
  if (rest.empty()) {
    auto qb = req.query_param("base"), qh = req.query_param("head");
    if (qb && qh && !qb->empty() && !qh->empty())
      return redirect(rv.base + "/compare/" + url_path(*qb) + "..." + url_path(*qh));
  }
  auto range = compare_range(rest);
  Html h;
  repo_header(h, rv, "pulls");
  if (!range) {
    h.raw("<h2>Compare changes</h2>");
    compare_form(h, rv, git, rv.rc->repo.default_branch, "");
    return page(env, 200, "Compare · " + rv.full, h);
  }
  auto& [base, head] = *range;
  auto base_sha = git.resolve(base), head_sha = git.resolve(head);
  if (!base_sha || !head_sha) throw Error(Code::kNotFound, "No such ref");
  auto cmp = git.compare(*base_sha, *head_sha, 250, kMaxFiles, kMaxPatchBytes);
  h.raw("<h2>Comparing <span class=\"pill\">")
      << base << Safe{"</span> … <span class=\"pill\">"} << head << Safe{"</span></h2>"};
  compare_form(h, rv, git, base, head);
  h.raw("<p class=\"muted\" id=\"compare-status\">")
      << cmp.status << " · " << static_cast<uint64_t>(cmp.ahead_by);
  h << (cmp.ahead_by == 1 ? " commit ahead, " : " commits ahead, ")
    << static_cast<uint64_t>(cmp.behind_by) << " behind</p>";
  bool branches = false;
  for (const auto& b : git.branches()) branches |= b.name == head;
  bool base_branch = false;
  for (const auto& b : git.branches()) base_branch |= b.name == base;
  if (branches && base_branch && cmp.ahead_by > 0 && base != head)
    new_pull_form(h, req, rv, base, head, cmp);
  h.raw("<h3>Commits</h3><div class=\"box\"><ul class=\"list commits\">");
  uint64_t now = unix_millis();
  for (const auto& k : cmp.commits) commit_item(h, rv, k, now);
  if (cmp.commits.empty()) h.raw("<li class=\"muted\">No commits</li>");
  h.raw("</ul></div>");
  DiffView v;
  v.mode = diff_mode(req);
  v.here = rv.base + "/compare/" + url_path(base) + "..." + url_path(head);
  v.file_href = rv.base + "/blob/" + *head_sha + "/";
  v.raw_diff = rv.base + "/rawdiff/" + *base_sha + "/" + *head_sha;
  h.raw("<h3>Files changed</h3>");
  diff_stats(h, cmp.files);
  diff_toggle(h, v);
  render_diff(h, cmp.files, v, cmp.files.size() >= kMaxFiles);
  return page(env, 200, "Comparing " + base + "..." + head + " · " + rv.full, h);
}

void raw_diff(WebEnv& env, api::Request& req, api::Exchange& ex) {
  run_page(env, req, ex, [](WebEnv& env, api::Request& req) -> api::Response {
    RepoView rv = open_repo(env, req);
    auto& git = git_of(rv);
    auto base = git.resolve(req.param("base")), head = git.resolve(req.param("head"));
    if (!base || !head) throw Error(Code::kNotFound, "No such commit");
    // Full shas only reach git's command line (resolved above).
    std::string d = env.pulls->diff(rv.rc->repo.id, *base, *head);
    if (d.size() > kMaxRawDiff) {
      d.resize(kMaxRawDiff);
      d += "\n[diff truncated]\n";
    }
    api::Response r;
    r.body = std::move(d);
    r.headers.set("Content-Type", "text/plain; charset=utf-8");
    security_headers(r.headers, kRawCsp);
    return r;
  });
}

}  // namespace guts::web
