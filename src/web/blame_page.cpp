// GET /{owner}/{repo}/blame/{ref}/{path}: each line of a file with the commit that last changed
// it (git/blame.h, libgit2's git_blame_file). Bounded: files over kMaxBlameBytes or
// kMaxBlameLines, and binary files, are refused with a note and links to the blob and raw views
// (blame walks the file's history, so its cost grows with the history, not only the size).
#include <map>

#include "core/time.h"
#include "git/blame.h"
#include "web/pages.h"
#include "web/repo_view.h"

namespace guts::web {

namespace {

constexpr uint64_t kMaxBlameBytes = 256 << 10;
constexpr size_t kMaxBlameLines = 5000;

}  // namespace

api::Response blame_page(WebEnv& env, api::Request& req) {
  RepoView rv = open_repo(env, req);
  auto& git = git_of(rv);
  auto [ref, path] = split_ref(git, req.param("rest"), rv.rc->repo.default_branch);
  auto sha = git.resolve(ref);
  if (!sha) throw Error(Code::kNotFound, "No such ref");
  auto e = path.empty() ? std::nullopt : git.entry(*sha, path);
  if (!e || e->type != "blob") throw Error(Code::kNotFound, "No such file");
  std::string blob_url = rv.base + "/blob/" + url_path(ref) + "/" + url_path(path);
  std::string raw_url = rv.base + "/raw/" + url_path(ref) + "/" + url_path(path);
  Html h;
  repo_header(h, rv, "code", ref);
  breadcrumbs(h, rv, ref, path);
  h.raw("<div class=\"box\"><div class=\"head\">Blame · ") << byte_size(e->size);
  h.raw(" · <a href=\"") << blob_url << Safe{"\">Code</a> · <a href=\""} << raw_url;
  h.raw("\">Raw</a></div>");
  auto b = git.blob(*sha, path, kMaxBlameBytes);
  size_t line_count = 0;
  for (char c : b.content) line_count += c == '\n';
  if (b.binary) {
    h.raw("<div class=\"body\"><p class=\"note\">Binary file: no blame.</p></div></div>");
    return page(env, 200, "Blame " + path + " at " + ref, h);
  }
  if (b.truncated || line_count > kMaxBlameLines) {
    h.raw("<div class=\"body\"><p class=\"note\">This file is too large to blame (over ")
        << byte_size(kMaxBlameBytes) << " or " << static_cast<uint64_t>(kMaxBlameLines);
    h.raw(" lines). <a href=\"") << blob_url << Safe{"\">View the file</a>.</p></div></div>"};
    return page(env, 200, "Blame " + path + " at " + ref, h);
  }
  auto hunks = git::blame(rv.dir, *sha, path);
  // Line number → the hunk starting there.
  std::map<uint64_t, const git::BlameHunk*> starts;
  for (const auto& x : hunks) starts[x.start_line] = &x;
  std::map<std::string, std::string> summaries;  // sha → first line of its message
  uint64_t now = unix_millis();
  h.raw("<table class=\"code blame\">");
  const std::string& c = b.content;
  size_t pos = 0;
  uint64_t n = 0;
  while (pos < c.size()) {
    size_t nl = c.find('\n', pos);
    if (nl == std::string::npos) nl = c.size();
    ++n;
    std::string id = "L" + std::to_string(n);
    h.raw("<tr id=\"") << id << Safe{"\""};
    auto it = starts.find(n);
    if (it != starts.end()) h.raw(" class=\"blame-start\"");
    h.raw("><td class=\"blame-commit\">");
    if (it != starts.end()) {
      const git::BlameHunk& x = *it->second;
      auto& s = summaries[x.sha];
      if (s.empty()) {
        try {
          s = summary_line(git.commit(x.sha).message);
        } catch (const std::exception&) {
          s = " ";
        }
      }
      h.raw("<a class=\"blame-sha\" href=\"") << rv.base + "/commit/" + x.sha << Safe{"\"><code>"};
      h << x.sha.substr(0, 7) << Safe{"</code></a> "} << s;
      h.raw("<br><span class=\"muted\">")
          << x.author.name << " · " << age(static_cast<uint64_t>(x.author.time) * 1000, now);
      h.raw("</span>");
    }
    h.raw("</td><td class=\"ln\"><a href=\"#") << id << Safe{"\">"} << n;
    h.raw("</a></td><td class=\"code\">") << std::string_view(c).substr(pos, nl - pos);
    h.raw("</td></tr>\n");
    pos = nl + 1;
  }
  h.raw("</table></div>");
  return page(env, 200, "Blame " + path + " at " + ref, h);
}

}  // namespace guts::web
