// Commit log (paginated) and commit pages with a unified diff.

#include "core/time.h"
#include "web/pages.h"
#include "web/repo_view.h"

namespace guts::web {

namespace {

constexpr size_t kPerPage = 30;

}  // namespace

void diff_rows(Html& h, std::string_view patch, size_t max_lines) {
  size_t pos = 0, lines = 0;
  while (pos < patch.size()) {
    size_t nl = patch.find('\n', pos);
    if (nl == std::string_view::npos) nl = patch.size();
    std::string_view line = patch.substr(pos, nl - pos);
    pos = nl + 1;
    if (++lines > max_lines) {
      h.raw("<tr><td class=\"hunk\">Diff truncated.</td></tr>");
      return;
    }
    const char* cls = "";
    if (line.rfind("@@", 0) == 0)
      cls = "hunk";
    else if (!line.empty() && line[0] == '+')
      cls = "add";
    else if (!line.empty() && line[0] == '-')
      cls = "del";
    h.raw("<tr><td class=\"") << cls << Safe{"\">"} << line << Safe{"</td></tr>\n"};
  }
}

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
  for (const auto& k : list) {
    h.raw("<li><a href=\"") << rv.base + "/commit/" + k.sha;
    h.raw("\"><strong>") << summary_line(k.message)
                         << Safe{"</strong></a><br><span class=\"muted\">"};
    h << k.author.name << " committed " << age(static_cast<uint64_t>(k.committer.time) * 1000, now);
    h.raw(" · <code>") << k.sha.substr(0, 7);
    h.raw("</code> · <a href=\"") << rv.base + "/tree/" + k.sha;
    h.raw("\">Browse files</a></span></li>");
  }
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
  auto cmp = git.compare(k.parents[0], k.sha, 1, 300, 1 << 20);
  int adds = 0, dels = 0;
  for (const auto& f : cmp.files) {
    adds += f.additions;
    dels += f.deletions;
  }
  h.raw("<p>") << static_cast<uint64_t>(cmp.files.size())
               << (cmp.files.size() == 1 ? " file changed, " : " files changed, ") << adds
               << " additions, " << dels << Safe{" deletions</p>"};
  for (const auto& f : cmp.files) {
    h.raw("<div class=\"box diff-file\"><div class=\"head\"><span class=\"pill\">") << f.status;
    h.raw("</span> <a href=\"") << rv.base + "/blob/" + k.sha + "/" + url_path(f.filename);
    h.raw("\"><code>") << f.filename << Safe{"</code></a>"};
    if (!f.previous_filename.empty() && f.previous_filename != f.filename)
      h.raw(" <span class=\"muted\">from ") << f.previous_filename << Safe{"</span>"};
    h.raw(" <span class=\"muted\">+")
        << f.additions << " −" << f.deletions << Safe{"</span></div>"};
    if (f.binary)
      h.raw("<div class=\"body note\">Binary file</div>");
    else if (f.patch.empty())
      h.raw("<div class=\"body note\">No textual change shown.</div>");
    else {
      h.raw("<table class=\"code diff\">");
      diff_rows(h, f.patch);
      h.raw("</table>");
    }
    h.raw("</div>");
  }
  return page(env, 200, summary_line(k.message) + " · " + rv.full, h);
}

}  // namespace guts::web
