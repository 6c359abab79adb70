// Repository home, tree, blob, raw, branches and tags pages (reads through git::Browser).
#include <algorithm>

#include "core/time.h"
#include "git/process.h"
#include "web/markdown.h"
#include "web/pages.h"
#include "web/repo_view.h"

namespace guts::web {

namespace {

bool is_markdown(std::string_view name) {
  auto ends = [&](std::string_view ext) {
    if (name.size() < ext.size()) return false;
    auto tail = name.substr(name.size() - ext.size());
    return std::equal(tail.begin(), tail.end(), ext.begin(), [](char a, char b) {
      return std::tolower(static_cast<unsigned char>(a)) == b;
    });
  };
  return ends(".md") || ends(".markdown") || ends(".mdown");
}

std::string parent_dir(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? "" : std::string(path.substr(0, slash));
}

// A Markdown file of the repository, its relative links resolved against its directory.
Safe render_repo_markdown(const RepoView& rv, std::string_view ref, std::string_view file_path,
                          std::string_view text) {
  MarkdownOptions mo;
  std::string dir = parent_dir(file_path);
  std::string r(ref);
  mo.resolve = [&](std::string_view url, bool image) {
    std::string suffix;
    std::string target = join_repo_path(dir, url, &suffix);
    if (target.empty() && !image) return rv.base + "/tree/" + url_path(r) + suffix;
    return rv.base + (image ? "/raw/" : "/blob/") + url_path(r) + "/" + url_path(target) + suffix;
  };
  return render_markdown(text, mo);
}

void entries_table(Html& h, const RepoView& rv, const std::string& ref,
                   std::vector<git::TreeEntry> entries) {
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return (a.type == "tree") > (b.type == "tree");
  });
  h.raw("<div class=\"box\"><table class=\"files\">");
  for (const auto& e : entries) {
    h.raw("<tr><td>");
    if (e.type == "commit") {
      h << e.name << Safe{" <span class=\"muted\">@ "} << e.sha.substr(0, 7);
      h.raw("</span>");
    } else {
      bool dir = e.type == "tree";
      h.raw("<a href=\"") << rv.base + (dir ? "/tree/" : "/blob/") + url_path(ref) + "/" +
                                 url_path(e.path);
      h.raw("\">") << e.name << (dir ? "/" : "") << Safe{"</a>"};
    }
    h.raw("</td><td class=\"age\">");
    if (e.type == "blob") h << byte_size(e.size);
    h.raw("</td></tr>");
  }
  if (entries.empty()) h.raw("<tr><td class=\"muted\">Empty directory</td></tr>");
  h.raw("</table></div>");
}

void readme_box(Html& h, const RepoView& rv, const std::string& ref, const std::string& dir) {
  auto b = rv.git->readme(ref, dir, 1 << 20);
  if (!b) return;
  h.raw("<div class=\"box\" id=\"readme\"><div class=\"head\"><a href=\"")
      << rv.base + "/blob/" + url_path(ref) + "/" + url_path(b->path);
  h.raw("\">") << b->path << Safe{"</a></div><div class=\"body markdown\">"};
  if (b->binary)
    h.raw("<p class=\"note\">Binary file</p>");
  else if (is_markdown(b->path))
    h << render_repo_markdown(rv, ref, b->path, b->content);
  else
    h.raw("<pre>") << b->content << Safe{"</pre>"};
  h.raw("</div></div>");
}

void clone_box(Html& h, WebEnv& env, const RepoView& rv) {
  h.raw("<div class=\"box clone\"><div class=\"head\">Clone</div><div class=\"body\">")
          .raw("<label>HTTPS <input readonly value=\"")
      << env.svc.public_url() + rv.base + ".git";
  h.raw("\"></label></div></div>");
}

}  // namespace

api::Response repo_page(WebEnv& env, api::Request& req) {
  RepoView rv = open_repo(env, req);
  Html h;
  repo_header(h, rv, "code");
  watch_box(env, req, h, rv.base, rv.rc->repo.id);
  if (!rv.hosted) {
    h.raw(
        "<div class=\"box\"><div class=\"body\"><p class=\"note\">This node does not host "
        "this repository's files (its seeding policy); browse or clone it on a node that "
        "does.</p></div></div>");
    return page(env, 200, rv.full, h);
  }
  if (!rv.git) {
    h.raw("<div class=\"box\"><div class=\"body\"><h2>This repository is empty</h2>")
            .raw("<p>Push an existing repository:</p><pre>git remote add origin ")
        << env.svc.public_url() + rv.base + ".git";
    h.raw("\ngit push -u origin ") << rv.rc->repo.default_branch << Safe{"</pre></div></div>"};
    clone_box(h, env, rv);
    return page(env, 200, rv.full, h);
  }
  std::string ref = rv.rc->repo.default_branch;
  if (!rv.git->resolve(ref)) ref = rv.git->default_branch().value_or(ref);
  auto branches = rv.git->branches();
  auto tags = rv.git->tags();
  h.raw("<p><span class=\"pill\">") << ref;
  h.raw("</span> <a href=\"") << rv.base + "/branches";
  h.raw("\">") << static_cast<uint64_t>(branches.size())
               << (branches.size() == 1 ? " branch" : " branches");
  h.raw("</a> · <a href=\"") << rv.base + "/tags";
  h.raw("\">") << static_cast<uint64_t>(tags.size()) << (tags.size() == 1 ? " tag" : " tags");
  h.raw("</a>");
  if (auto sha = rv.git->resolve(ref)) {
    auto k = rv.git->commit(*sha);
    h.raw(" · latest commit <a href=\"") << rv.base + "/commit/" + k.sha;
    h.raw("\"><code>") << k.sha.substr(0, 7);
    h.raw("</code></a> ") << summary_line(k.message);
    h.raw(" <span class=\"muted\">")
        << k.author.name << " · "
        << age(static_cast<uint64_t>(k.author.time) * 1000, unix_millis());
    h.raw("</span>");
    h.raw("</p>");
    clone_box(h, env, rv);
    entries_table(h, rv, ref, rv.git->tree(ref, "", false, 5000));
    readme_box(h, rv, ref, "");
  } else {
    h.raw("</p><p class=\"note\">The default branch has no commits.</p>");
    clone_box(h, env, rv);
  }
  return page(env, 200, rv.full, h);
}

api::Response tree_page(WebEnv& env, api::Request& req) {
  RepoView rv = open_repo(env, req);
  auto& git = git_of(rv);
  auto [ref, path] = split_ref(git, req.param("rest"), rv.rc->repo.default_branch);
  if (!git.resolve(ref)) throw Error(Code::kNotFound, "No such ref");
  if (!path.empty()) {
    auto e = git.entry(ref, path);
    if (!e) throw Error(Code::kNotFound, "No such path");
    if (e->type == "blob")
      return redirect(rv.base + "/blob/" + url_path(ref) + "/" + url_path(path));
  }
  Html h;
  repo_header(h, rv, "code", ref);
  breadcrumbs(h, rv, ref, path);
  entries_table(h, rv, ref, git.tree(ref, path, false, 5000));
  readme_box(h, rv, ref, path);
  return page(env, 200, (path.empty() ? rv.full : path) + " at " + ref, h);
}

api::Response blob_page(WebEnv& env, api::Request& req) {
  RepoView rv = open_repo(env, req);
  auto& git = git_of(rv);
  auto [ref, path] = split_ref(git, req.param("rest"), rv.rc->repo.default_branch);
  if (!git.resolve(ref)) throw Error(Code::kNotFound, "No such ref");
  auto e = path.empty() ? std::nullopt : git.entry(ref, path);
  if (!e) throw Error(Code::kNotFound, "No such file");
  if (e->type == "tree") return redirect(rv.base + "/tree/" + url_path(ref) + "/" + url_path(path));
  if (e->type != "blob") throw Error(Code::kNotFound, "Not a file");
  constexpr uint64_t kMaxShown = 1 << 20;
  auto b = git.blob(ref, path, kMaxShown);
  std::string raw_url = rv.base + "/raw/" + url_path(ref) + "/" + url_path(path);
  bool plain = req.query_param("plain").value_or("") == "1";
  Html h;
  repo_header(h, rv, "code", ref);
  breadcrumbs(h, rv, ref, path);
  h.raw("<div class=\"box\"><div class=\"head\">") << byte_size(e->size);
  h.raw(" · <a href=\"") << raw_url << Safe{"\">Raw</a>"};
  h.raw(" · <a href=\"") << rv.base + "/commits/" + url_path(ref) + "/" + url_path(path);
  h.raw("\">History</a>");
  if (!b.binary)
    h.raw(" · <a id=\"blame-link\" href=\"")
        << rv.base + "/blame/" + url_path(ref) + "/" + url_path(path) << Safe{"\">Blame</a>"};
  bool markdown = is_markdown(path) && !b.binary && !b.truncated;
  if (markdown) {
    h.raw(" · <a href=\"?plain=") << (plain ? "0" : "1");
    h.raw(plain ? "\">Preview</a>" : "\">Code</a>");
  }
  h.raw("</div>");
  if (b.binary) {
    h.raw("<div class=\"body\"><p class=\"note\">Binary file not shown. <a href=\"") << raw_url;
    h.raw("\">Download it</a>.</p></div>");
  } else if (b.truncated) {
    h.raw("<div class=\"body\"><p class=\"note\">This file is too large to show (")
        << byte_size(e->size);
    h.raw("). <a href=\"") << raw_url << Safe{"\">View it raw</a>.</p></div>"};
  } else if (markdown && !plain) {
    h.raw("<div class=\"body markdown\">")
        << render_repo_markdown(rv, ref, path, b.content) << Safe{"</div>"};
  } else {
    auto lit = env.highlighter.lines(e->sha, path, b.content);
    h.raw("<table class=\"code\">");
    size_t n = 0, pos = 0;
    const std::string& c = b.content;
    while (pos < c.size()) {
      size_t nl = c.find('\n', pos);
      if (nl == std::string::npos) nl = c.size();
      ++n;
      std::string id = "L" + std::to_string(n);
      h.raw("<tr id=\"") << id;
      h.raw("\"><td class=\"ln\"><a href=\"#") << id << Safe{"\">"} << static_cast<uint64_t>(n);
      h.raw("</a></td><td class=\"code\">");
      if (lit && n <= lit->size())
        h << Safe{(*lit)[n - 1]};
      else
        h << std::string_view(c).substr(pos, nl - pos);
      h.raw("</td></tr>\n");
      pos = nl + 1;
    }
    h.raw("</table>");
  }
  h.raw("</div>");
  return page(env, 200, path + " at " + ref, h);
}

std::string raw_content_type(std::string_view filename, bool binary) {
  static const std::pair<const char*, const char*> kImages[] = {
      {".png", "image/png"},    {".jpg", "image/jpeg"},  {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},    {".webp", "image/webp"}, {".ico", "image/x-icon"},
      {".svg", "image/svg+xml"}};
  std::string lower(filename);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  for (const auto& [ext, type] : kImages) {
    std::string_view e(ext);
    if (lower.size() >= e.size() && lower.compare(lower.size() - e.size(), e.size(), e) == 0)
      return type;
  }
  return binary ? "application/octet-stream" : "text/plain; charset=utf-8";
}

void raw_file(WebEnv& env, api::Request& req, api::Exchange& ex) {
  run_page(env, req, ex, [](WebEnv& env, api::Request& req) -> api::Response {
    RepoView rv = open_repo(env, req);
    auto& git = git_of(rv);
    auto [ref, path] = split_ref(git, req.param("rest"), rv.rc->repo.default_branch);
    if (!git.resolve(ref)) throw Error(Code::kNotFound, "No such ref");
    auto e = path.empty() ? std::nullopt : git.entry(ref, path);
    if (!e || e->type != "blob") throw Error(Code::kNotFound, "No such file");
    // Up to 32 MiB from memory; the pages never link larger raw files for display.
    auto b = git.blob(ref, path, 32 << 20);
    if (b.truncated) throw Error(Code::kTooLarge, "This file is too large to serve raw.");
    api::Response r;
    r.body = std::move(b.content);
    r.headers.set("Content-Type", raw_content_type(path, b.binary));
    r.headers.set("Cache-Control", "no-cache");
    security_headers(r.headers, kRawCsp);
    return r;
  });
}

api::Response branches_page(WebEnv& env, api::Request& req) {
  RepoView rv = open_repo(env, req);
  Html h;
  repo_header(h, rv, "branches");
  h.raw("<div class=\"box\"><ul class=\"list\">");
  if (rv.git) {
    uint64_t now = unix_millis();
    for (const auto& b : rv.git->branches()) {
      auto k = rv.git->commit(b.sha);
      h.raw("<li><a href=\"") << rv.base + "/tree/" + url_path(b.name);
      h.raw("\"><strong>") << b.name << Safe{"</strong></a>"};
      if (b.name == rv.rc->repo.default_branch) h.raw(" <span class=\"pill\">default</span>");
      h.raw(" <span class=\"muted\">· <a href=\"") << rv.base + "/commit/" + k.sha;
      h.raw("\"><code>") << k.sha.substr(0, 7) << Safe{"</code></a> "} << summary_line(k.message);
      h << " · " << age(static_cast<uint64_t>(k.committer.time) * 1000, now)
        << Safe{"</span></li>"};
    }
  }
  if (!rv.git || rv.git->branches().empty()) h.raw("<li class=\"muted\">No branches</li>");
  h.raw("</ul></div>");
  return page(env, 200, "Branches · " + rv.full, h);
}

api::Response tags_page(WebEnv& env, api::Request& req) {
  RepoView rv = open_repo(env, req);
  Html h;
  repo_header(h, rv, "tags");
  h.raw("<div class=\"box\"><ul class=\"list\">");
  size_t n = 0;
  if (rv.git) {
    for (const auto& t : rv.git->tags()) {
      ++n;
      h.raw("<li><a href=\"") << rv.base + "/tree/" + url_path(t.name);
      h.raw("\"><strong>") << t.name << Safe{"</strong></a> <span class=\"muted\">"};
      if (t.target_type == "commit") {
        h.raw("<a href=\"") << rv.base + "/commit/" + t.target;
        h.raw("\"><code>") << t.target.substr(0, 7) << Safe{"</code></a>"};
      }
      if (t.annotated) h << " · " << summary_line(t.message);
      h.raw("</span></li>");
    }
  }
  if (n == 0) h.raw("<li class=\"muted\">No tags</li>");
  h.raw("</ul></div>");
  return page(env, 200, "Tags · " + rv.full, h);
}

}  // namespace guts::web
