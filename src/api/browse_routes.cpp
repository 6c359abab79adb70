// Browse API: GitHub REST shapes for a repository's git data, read through libgit2
// (git::Browser) from the bare repository, which only shows applied state.
//
// The routes are streaming routes only so that they run on the worker pool: libgit2 reads
// block, and the server's I/O threads must not. Responses are small JSON documents, except raw
// file contents and archives, which are streamed from git with bounded memory.
#include <sodium.h>

#include "api/auth.h"
#include "api/git_routes.h"
#include "api/github.h"
#include "api/http_parse.h"
#include "api/shapes.h"
#include "core/time.h"
#include "git/browse.h"
#include "git/repo_store.h"
#include "state/protection_view.h"

namespace guts::api {

namespace {

namespace fs = std::filesystem;

void send(Exchange& ex, int status, const json& body, Headers extra = {}) {
  // Commit messages and paths are raw bytes from git: invalid UTF-8 is replaced, never fatal.
  std::string text = body.dump(-1, ' ', false, json::error_handler_t::replace);
  Headers h = std::move(extra);
  h.set("Content-Type", "application/json; charset=utf-8");
  h.set("Content-Length", std::to_string(text.size()));
  ex.begin_response(status, h);
  ex.write(text);
  ex.finish();
}

void send_error(Exchange& ex, int status, std::string_view message) {
  send(ex, status, json{{"message", message}, {"documentation_url", kDocsUrl}});
}

std::string base64(std::string_view data) {
  if (data.empty()) return {};
  std::string out(sodium_base64_ENCODED_LEN(data.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(data.data()),
                    data.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  // GitHub wraps the content at 60 characters.
  std::string wrapped;
  wrapped.reserve(out.size() + out.size() / 60 + 1);
  for (size_t i = 0; i < out.size(); i += 60) wrapped += out.substr(i, 60) + "\n";
  return wrapped;
}

std::string percent_encode_path(std::string_view s) {
  return percent_encode(s, /*keep_slash=*/true);
}

bool wants_raw(const Request& req) {
  auto accept = req.headers.get("Accept").value_or("");
  return accept.find("application/vnd.github.raw") != std::string::npos ||
         accept.find("application/vnd.github.v3.raw") != std::string::npos;
}

struct Ctx {
  Request& req;
  Exchange& ex;
  Services& svc;
  const RepoContext& repo;
  fs::path dir;
  git::Browser& git;
  std::string api;   // .../api/v3/repos/owner/name
  std::string html;  // .../owner/name
};

// A 200 JSON answer with an ETag, or 304 Not Modified when If-None-Match names it: the
// streaming-route half of "conditional requests everywhere" (api/github.h finish_rest_response).
void send_ok(Ctx& c, const json& body, Headers extra = {}) {
  Response r{200, std::move(extra), body.dump(-1, ' ', false, json::error_handler_t::replace)};
  r = with_etag(c.req, std::move(r));
  r.headers.set("Content-Type", "application/json; charset=utf-8");
  r.headers.set("Content-Length", std::to_string(r.body.size()));
  c.ex.begin_response(r.status, r.headers);
  if (!r.body.empty()) c.ex.write(r.body);
  c.ex.finish();
}

std::string mode_string(uint32_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%06o", mode);
  return buf;
}

// The contents API's JSON for one entry (files carry their content when `blob` is given).
json content_json(const Ctx& c, const git::TreeEntry& e, const std::string& ref,
                  const git::Blob* blob) {
  std::string type = e.type == "tree" ? "dir" : e.type == "commit" ? "submodule" : "file";
  if (e.type == "blob" && e.mode == 0120000) type = "symlink";
  std::string path_url = c.api + "/contents/" + percent_encode_path(e.path) + "?ref=" + ref;
  std::string git_url = c.api + (e.type == "tree" ? "/git/trees/" : "/git/blobs/") + e.sha;
  std::string html_url =
      c.html + (e.type == "tree" ? "/tree/" : "/blob/") + ref + "/" + percent_encode_path(e.path);
  json j{{"type", type},
         {"size", e.size},
         {"name", e.name},
         {"path", e.path},
         {"sha", e.sha},
         {"url", path_url},
         {"git_url", git_url},
         {"html_url", html_url},
         {"download_url", type == "file"
                              ? json(c.html + "/raw/" + ref + "/" + percent_encode_path(e.path))
                              : json(nullptr)}};
  if (blob) {
    if (blob->truncated) {
      j["encoding"] = "none";
      j["content"] = "";
    } else {
      j["encoding"] = "base64";
      j["content"] = base64(blob->content);
    }
  }
  j["_links"] = {{"self", path_url}, {"git", git_url}, {"html", html_url}};
  return j;
}

// Streams `git cat-file blob <sha>` as the raw response body.
void send_raw_blob(const Ctx& c, const std::string& sha, uint64_t size) {
  auto po =
      git::git_process_options({"cat-file", "blob", sha}, c.dir, {}, std::chrono::minutes(10));
  po.capture_stdin = false;
  auto p = git::Process::spawn(po);
  Headers h;
  h.set("Content-Type", "application/vnd.github.raw; charset=utf-8");
  h.set("Content-Length", std::to_string(size));
  c.ex.begin_response(200, h);
  auto st = p.pump(
      {},
      [&](ByteView chunk) {
        c.ex.write(std::string_view(reinterpret_cast<const char*>(chunk.data()), chunk.size()));
      },
      {});
  if (!st.success()) throw Error(Code::kInternal, "git cat-file: " + st.describe());
  c.ex.finish();
}

std::string ref_or_default(const Ctx& c, std::optional<std::string> ref) {
  if (ref && !ref->empty()) return *ref;
  return c.repo.repo.default_branch;
}

// Link header for lists whose total is unknown (commits): next when there is more.
void link_header(Headers& h, const Ctx& c, const Page& page, bool has_more) {
  std::string other;
  size_t pos = 0;
  const std::string& q = c.req.query;
  while (!q.empty() && pos <= q.size()) {
    size_t amp = q.find('&', pos);
    if (amp == std::string::npos) amp = q.size();
    auto part = q.substr(pos, amp - pos);
    if (!part.empty() && part.rfind("page=", 0) != 0 && part.rfind("per_page=", 0) != 0)
      other += part + "&";
    pos = amp + 1;
  }
  auto url = [&](size_t n) {
    return "<" + c.svc.public_url() + c.req.path + "?" + other +
           "per_page=" + std::to_string(page.per_page) + "&page=" + std::to_string(n) + ">";
  };
  std::vector<std::string> links;
  if (has_more) links.push_back(url(page.page + 1) + "; rel=\"next\"");
  if (page.page > 1) {
    links.push_back(url(1) + "; rel=\"first\"");
    links.push_back(url(page.page - 1) + "; rel=\"prev\"");
  }
  std::string v;
  for (size_t i = 0; i < links.size(); ++i) v += (i ? ", " : "") + links[i];
  if (!v.empty()) h.set("Link", v);
}

void empty_repo(const Ctx& c) {
  send_error(c.ex, 409, "Git Repository is empty.");
}

// ---- handlers ----

void branches(Ctx& c) {
  auto all = c.git.branches();
  Page page = page_of(c.req);
  json arr = json::array();
  size_t start = (page.page - 1) * page.per_page;
  for (size_t i = start; i < all.size() && i < start + page.per_page; ++i)
    arr.push_back({{"name", all[i].name},
                   {"commit", {{"sha", all[i].sha}, {"url", c.api + "/commits/" + all[i].sha}}},
                   {"protected", state::branch_is_protected(c.svc.chain().view(), c.repo.repo.id,
                                                            all[i].name)}});
  Response r;
  add_link_header(r, c.req, c.svc.public_url(), page, all.size());
  send_ok(c, arr, r.headers);
}

void branch(Ctx& c) {
  std::string name = c.req.param("branch");
  for (const auto& b : c.git.branches()) {
    if (b.name != name) continue;
    auto k = c.git.commit(b.sha);
    send_ok(c,
            json{{"name", b.name},
                 {"commit", commit_json(c.api, c.html, k, true)},
                 {"_links",
                  {{"self", c.api + "/branches/" + b.name}, {"html", c.html + "/tree/" + b.name}}},
                 {"protected",
                  state::branch_is_protected(c.svc.chain().view(), c.repo.repo.id, b.name)},
                 {"protection_url", c.api + "/branches/" + b.name + "/protection"}});
    return;
  }
  send_error(c.ex, 404, "Branch not found");
}

void tags(Ctx& c) {
  auto all = c.git.tags();
  Page page = page_of(c.req);
  json arr = json::array();
  size_t start = (page.page - 1) * page.per_page;
  for (size_t i = start; i < all.size() && i < start + page.per_page; ++i) {
    const auto& t = all[i];
    json tag{{"name", t.name},
             {"commit", {{"sha", t.target}, {"url", c.api + "/commits/" + t.target}}},
             {"zipball_url", c.api + "/zipball/refs/tags/" + t.name},
             {"tarball_url", c.api + "/tarball/refs/tags/" + t.name},
             {"node_id", ""}};
    if (t.annotated) {
      tag["guts_tag"] = {{"sha", t.sha}, {"message", t.message}};
      if (t.tagger) tag["guts_tag"]["tagger"] = signature_json(*t.tagger);
    }
    arr.push_back(tag);
  }
  Response r;
  add_link_header(r, c.req, c.svc.public_url(), page, all.size());
  send_ok(c, arr, r.headers);
}

void commits(Ctx& c) {
  if (c.git.empty()) return empty_repo(c);
  Page page = page_of(c.req);
  git::CommitQuery q;
  q.rev = ref_or_default(c, c.req.query_param("sha"));
  q.path = c.req.query_param("path").value_or("");
  while (!q.path.empty() && q.path.back() == '/') q.path.pop_back();
  while (!q.path.empty() && q.path.front() == '/') q.path.erase(0, 1);
  if (!c.git.resolve(q.rev)) return send_error(c.ex, 404, "No commit found for SHA: " + q.rev);
  q.skip = (page.page - 1) * page.per_page;
  q.limit = page.per_page + 1;  // one more tells whether there is a next page
  auto list = c.git.commits(q);
  bool more = list.size() > page.per_page;
  if (more) list.pop_back();
  json arr = json::array();
  for (const auto& k : list) arr.push_back(commit_json(c.api, c.html, k, true));
  Headers h;
  link_header(h, c, page, more);
  send_ok(c, arr, h);
}

void commit(Ctx& c) {
  if (c.git.empty()) return empty_repo(c);
  std::string rev = c.req.param("sha");
  auto sha = c.git.resolve(rev);
  if (!sha) return send_error(c.ex, 422, "No commit found for SHA: " + rev);
  auto k = c.git.commit(*sha);
  json j = commit_json(c.api, c.html, k, true);
  json files = json::array();
  int adds = 0, dels = 0;
  if (!k.parents.empty()) {
    auto cmp = c.git.compare(k.parents[0], k.sha, 1, 300);
    for (const auto& f : cmp.files) {
      files.push_back(file_json(c.api, c.html, k.sha, f));
      adds += f.additions;
      dels += f.deletions;
    }
  } else {
    for (const auto& e : c.git.tree(k.sha, "", true))
      if (e.type == "blob")
        files.push_back({{"sha", e.sha},
                         {"filename", e.path},
                         {"status", "added"},
                         {"additions", 0},
                         {"deletions", 0},
                         {"changes", 0}});
  }
  j["stats"] = {{"total", adds + dels}, {"additions", adds}, {"deletions", dels}};
  j["files"] = files;
  send_ok(c, j);
}

void tree(Ctx& c) {
  if (c.git.empty()) return empty_repo(c);
  std::string rev = c.req.param("sha");
  bool recursive = c.req.query_param("recursive").has_value() &&
                   c.req.query_param("recursive") != "0" &&
                   c.req.query_param("recursive") != "false";
  // A tree sha, or anything that resolves to a commit (branch, tag, commit sha).
  std::string tree_sha;
  if (auto commit_sha = c.git.resolve(rev)) {
    tree_sha = c.git.commit(*commit_sha).tree;
  } else if (auto obj = c.git.resolve(rev, false)) {
    tree_sha = *obj;  // Browser::tree peels it (Error(kNotFound) when not a tree)
  } else {
    return send_error(c.ex, 404, "Not Found");
  }
  constexpr size_t kMax = 100000;
  auto entries = c.git.tree(tree_sha, "", recursive, kMax + 1);
  bool truncated = entries.size() > kMax;
  if (truncated) entries.resize(kMax);
  json arr = json::array();
  for (const auto& e : entries) {
    json j{{"path", e.path}, {"mode", mode_string(e.mode)}, {"type", e.type}, {"sha", e.sha}};
    if (e.type == "blob") j["size"] = e.size;
    if (e.type != "commit")
      j["url"] = c.api + (e.type == "tree" ? "/git/trees/" : "/git/blobs/") + e.sha;
    arr.push_back(j);
  }
  send_ok(c, json{{"sha", tree_sha},
                  {"url", c.api + "/git/trees/" + tree_sha},
                  {"tree", arr},
                  {"truncated", truncated}});
}

void contents(Ctx& c) {
  if (c.git.empty()) return send_error(c.ex, 404, "This repository is empty.");
  std::string path = c.req.param("path");
  while (!path.empty() && path.back() == '/') path.pop_back();
  std::string ref = ref_or_default(c, c.req.query_param("ref"));
  if (!c.git.resolve(ref)) return send_error(c.ex, 404, "No commit found for the ref " + ref);
  if (path.empty()) {
    json arr = json::array();
    for (const auto& e : c.git.tree(ref, "", false))
      arr.push_back(content_json(c, e, ref, nullptr));
    return send_ok(c, arr);
  }
  auto e = c.git.entry(ref, path);
  if (!e) return send_error(c.ex, 404, "Not Found");
  if (e->type == "tree") {
    json arr = json::array();
    for (const auto& x : c.git.tree(ref, path, false))
      arr.push_back(content_json(c, x, ref, nullptr));
    return send_ok(c, arr);
  }
  if (e->type != "blob") return send_ok(c, content_json(c, *e, ref, nullptr));
  if (wants_raw(c.req)) return send_raw_blob(c, e->sha, e->size);
  auto blob = c.git.blob(ref, path, 1 << 20);  // GitHub: content up to 1 MB, "none" above
  send_ok(c, content_json(c, *e, ref, &blob));
}

void readme(Ctx& c) {
  if (c.git.empty()) return send_error(c.ex, 404, "Not Found");
  std::string ref = ref_or_default(c, c.req.query_param("ref"));
  std::string dir = c.req.param("dir");
  auto b = c.git.readme(ref, dir, 1 << 20);
  if (!b) return send_error(c.ex, 404, "Not Found");
  auto e = c.git.entry(ref, b->path);
  if (!e) return send_error(c.ex, 404, "Not Found");
  if (wants_raw(c.req)) return send_raw_blob(c, e->sha, e->size);
  send_ok(c, content_json(c, *e, ref, &*b));
}

void compare(Ctx& c) {
  if (c.git.empty()) return empty_repo(c);
  std::string spec = c.req.param("basehead");
  auto dots = spec.find("...");
  if (dots == std::string::npos || dots == 0 || dots + 3 >= spec.size())
    return send_error(c.ex, 404, "Not Found");
  std::string base = spec.substr(0, dots), head = spec.substr(dots + 3);
  auto base_sha = c.git.resolve(base), head_sha = c.git.resolve(head);
  if (!base_sha || !head_sha) return send_error(c.ex, 404, "Not Found");
  auto cmp = c.git.compare(*base_sha, *head_sha);
  json commits = json::array();
  for (const auto& k : cmp.commits) commits.push_back(commit_json(c.api, c.html, k, true));
  json files = json::array();
  for (const auto& f : cmp.files) files.push_back(file_json(c.api, c.html, cmp.head_sha, f));
  json j{{"url", c.api + "/compare/" + spec},
         {"html_url", c.html + "/compare/" + spec},
         {"permalink_url", c.html + "/compare/" + cmp.base_sha + "..." + cmp.head_sha},
         {"base_commit", commit_json(c.api, c.html, c.git.commit(cmp.base_sha), true)},
         {"merge_base_commit",
          cmp.merge_base.empty() ? json(nullptr)
                                 : commit_json(c.api, c.html, c.git.commit(cmp.merge_base), true)},
         {"status", cmp.status},
         {"ahead_by", cmp.ahead_by},
         {"behind_by", cmp.behind_by},
         {"total_commits", cmp.ahead_by},
         {"commits", commits},
         {"files", files}};
  send_ok(c, j);
}

void archive(Ctx& c, const std::string& format) {
  if (c.git.empty()) return empty_repo(c);
  std::string ref = ref_or_default(c, c.req.param("ref"));
  auto sha = c.git.resolve(ref);
  if (!sha) return send_error(c.ex, 404, "Not Found");
  std::string prefix = c.repo.owner.username + "-" + c.repo.repo.name + "-" + sha->substr(0, 7);
  std::string ext = format == "zip" ? ".zip" : ".tar.gz";
  bool started = false;
  auto start = [&] {
    if (started) return;
    started = true;
    Headers h;
    h.set("Content-Type", format == "zip" ? "application/zip" : "application/x-gzip");
    h.set("Content-Disposition", "attachment; filename=" + prefix + ext);
    c.ex.begin_response(200, h);
  };
  Status st =
      git::archive(c.dir, *sha, format == "zip" ? "zip" : "tar.gz", prefix, [&](ByteView chunk) {
        start();
        c.ex.write(std::string_view(reinterpret_cast<const char*>(chunk.data()), chunk.size()));
      });
  if (!st.ok()) {
    if (!started) return send_error(c.ex, st.code() == Code::kNotFound ? 404 : 500, st.message());
    throw Error(Code::kInternal, st.message());  // cuts the partial response
  }
  start();
  c.ex.finish();
}

// GET /tarball/{ref...} and /zipball/{ref...}
void tarball(Ctx& c) {
  archive(c, "tar.gz");
}
void zipball(Ctx& c) {
  archive(c, "zip");
}

// What the browse routes work with.
struct BrowseEnv {
  Services& svc;
  git::RepoStore& store;
};

// Opens the request's repository and runs `fn` on it (404 when it has no git directory).
void run_browse(BrowseEnv& env, Request& req, Exchange& ex, void (*fn)(Ctx&)) {
  Services& svc = env.svc;
  const auto& rc = repo_context(req);
  auto key = git_repo_key(rc.repo.id);
  if (!env.store.exists(key)) return send_error(ex, 404, "Not Found");
  auto dir = env.store.path_for(key);
  // an Error escaping here is answered by the server (status_response)
  git::Browser b(dir);
  std::string full = rc.owner.username + "/" + rc.repo.name;
  Ctx c{req,
        ex,
        svc,
        rc,
        dir,
        b,
        svc.public_url() + "/api/v3/repos/" + full,
        svc.public_url() + "/" + full};
  fn(c);
}

// A streaming route of the table running the browse function Fn.
template <void (*Fn)(Ctx&)>
void browse(BrowseEnv& env, Request& req, Exchange& ex) {
  run_browse(env, req, ex, Fn);
}

const RouteSpec<BrowseEnv> kBrowseRoutes[] = {
    {"GET", "/branches", "repo:read", nullptr, &browse<&branches>},
    {"GET", "/branches/{branch...}", "repo:read", nullptr, &browse<&branch>},
    {"GET", "/tags", "repo:read", nullptr, &browse<&tags>},
    {"GET", "/commits", "repo:read", nullptr, &browse<&commits>},
    {"GET", "/commits/{sha}", "repo:read", nullptr, &browse<&commit>},
    {"GET", "/git/trees/{sha}", "repo:read", nullptr, &browse<&tree>},
    {"GET", "/contents/{path...}", "repo:read", nullptr, &browse<&contents>},
    // also /readme (a catch-all matches zero segments)
    {"GET", "/readme/{dir...}", "repo:read", nullptr, &browse<&readme>},
    {"GET", "/compare/{basehead...}", "repo:read", nullptr, &browse<&compare>},
    {"GET", "/tarball/{ref...}", "repo:read", nullptr, &browse<&tarball>},
    {"GET", "/zipball/{ref...}", "repo:read", nullptr, &browse<&zipball>},
};

}  // namespace

void add_browse_routes(Router& router, Services& svc, git::RepoStore& store) {
  add_routes(router, std::make_shared<BrowseEnv>(BrowseEnv{svc, store}),
             "/api/v3/repos/{owner}/{repo}", kBrowseRoutes);
}

}  // namespace guts::api
