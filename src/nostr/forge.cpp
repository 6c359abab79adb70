#include "nostr/forge.h"

#include <unistd.h>

#include <algorithm>

#include "core/log.h"
#include "core/status.h"
#include "core/time.h"
#include "crypto/base64.h"
#include "git/process.h"

namespace guts::nostr {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr std::string_view kCommitterName = "Guts Nostr bridge";
constexpr std::string_view kCommitterEmail = "nostr-bridge@guts.invalid";

std::string trim_newlines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

int64_t seconds_of(const json& j, const char* field) {
  if (!j.contains(field) || !j[field].is_string()) return 0;
  auto ms = parse_iso8601(j[field].get<std::string>());
  return ms ? static_cast<int64_t>(*ms / 1000) : 0;
}

std::string str_of(const json& j, const char* field) {
  return j.is_object() && j.contains(field) && j[field].is_string() ? j[field].get<std::string>()
                                                                    : "";
}

bool bool_of(const json& j, const char* field) {
  return j.is_object() && j.contains(field) && j[field].is_boolean() && j[field].get<bool>();
}

uint64_t number_of(const json& j) {
  return j.is_object() && j.contains("number") && j["number"].is_number_unsigned()
             ? j["number"].get<uint64_t>()
             : 0;
}

json object_of(const json& j, const char* field) {
  return j.is_object() && j.contains(field) && j[field].is_object() ? j[field] : json::object();
}

std::vector<std::string> labels_of(const json& j) {
  std::vector<std::string> out;
  if (j.contains("labels") && j["labels"].is_array())
    for (const auto& l : j["labels"])
      if (l.is_object() && l.contains("name") && l["name"].is_string())
        out.push_back(l["name"].get<std::string>());
  return out;
}

// Runs git, throwing guts::Error(kUnavailable) with git's message on failure. `header` (HTTP
// credentials) goes through the environment, never the command line.
git::GitResult git_run(const std::vector<std::string>& args, const std::string& header = "",
                       std::string_view input = {}, const fs::path& cwd = {},
                       std::vector<std::pair<std::string, std::string>> env = {}) {
  git::GitOptions o;
  o.cwd = cwd;
  o.timeout = std::chrono::minutes(10);
  o.env = std::move(env);
  if (!header.empty()) {
    o.env.emplace_back("GIT_CONFIG_COUNT", "1");
    o.env.emplace_back("GIT_CONFIG_KEY_0", "http.extraHeader");
    o.env.emplace_back("GIT_CONFIG_VALUE_0", header);
  }
  return git::run_git(args, o, input);
}

std::string git_checked(const std::vector<std::string>& args, const std::string& header = "") {
  auto r = git_run(args, header);
  if (!r.ok())
    throw Error(Code::kUnavailable,
                "git " + args[args[0] == "--git-dir" ? 2 : 0] + ": " + trim_newlines(r.err));
  return trim_newlines(r.out);
}

}  // namespace

Forge::Forge(ForgeOptions options) : opt_(std::move(options)), http_(opt_.node_url) {
  http_.set_token(opt_.token);
}

std::string Forge::branch_of(const std::string& root_event) {
  return "nostr/" + root_event.substr(0, 16);
}

json Forge::post_json(const std::string& path, const json& body) {
  auto r = http_.post(path, body.dump());
  if (r.status == 201 || r.status == 202) {
    auto j = json::parse(r.body, nullptr, false);
    if (j.is_discarded()) throw Error(Code::kUnavailable, "POST " + path + ": not JSON");
    return j;
  }
  const std::string what =
      "POST " + path + ": HTTP " + std::to_string(r.status) + " " + r.body.substr(0, 300);
  throw Error(r.status >= 400 && r.status < 500 ? Code::kInvalidArgument : Code::kUnavailable,
              what);
}

json Forge::get_json(const std::string& path) {
  auto r = http_.get(path);
  if (r.status == 404) throw Error(Code::kNotFound, "not found on the node: " + path);
  if (r.status != 200)
    throw Error(Code::kUnavailable,
                "GET " + path + ": HTTP " + std::to_string(r.status) + " " + r.body.substr(0, 200));
  try {
    return json::parse(r.body);
  } catch (const json::exception& e) {
    throw Error(Code::kMalformed, "GET " + path + ": not JSON: " + e.what());
  }
}

void Forge::for_each_item(const std::string& path, const std::function<void(const json&)>& fn) {
  for (int page = 1;; ++page) {
    json list = get_json(path + "&per_page=100&page=" + std::to_string(page));
    if (!list.is_array()) return;
    for (const auto& x : list) fn(x);
    if (list.size() < 100) return;
  }
}

fs::path Forge::mirror_of(const ForgeRepo& repo) const {
  return opt_.work_dir / "git" / repo.owner / (repo.name + ".git");
}

std::string Forge::clone_url_of(const std::string& owner, const std::string& name) const {
  return opt_.node_url + "/" + owner + "/" + name + ".git";
}

std::string Forge::ensure_fork(const ForgeRepo& repo) {
  const std::string key = repo.d();
  if (auto it = forks_.find(key); it != forks_.end()) return it->second;
  for (const std::string& name : {repo.name, repo.owner + "-" + repo.name}) {
    auto r = http_.get("/api/v3/repos/" + opt_.username + "/" + name);
    if (r.status == 200) {
      auto j = json::parse(r.body, nullptr, false);
      if (str_of(object_of(j, "parent"), "full_name") == key) return forks_[key] = name;
      continue;  // the user's own repository of that name: try the other name
    }
    if (r.status != 404)
      throw Error(Code::kUnavailable,
                  "GET the fork " + name + ": HTTP " + std::to_string(r.status));
    post_json("/api/v3/repos/" + key + "/forks", json{{"name", name}});
    return forks_[key] = name;
  }
  throw Error(Code::kInvalidArgument, opt_.username + " has repositories named " + repo.name +
                                          " and " + repo.owner + "-" + repo.name +
                                          " that are not forks of " + key);
}

void Forge::refresh_mirror(const fs::path& mirror, const std::string& clone_url) {
  if (!fs::exists(mirror / "HEAD")) {
    fs::create_directories(mirror);
    git_checked({"init", "--quiet", "--bare", mirror.string()});
  }
  // Branches and tags as the node has them; the bridge's worktrees are detached.
  git_checked({"--git-dir", mirror.string(), "fetch", "--quiet", "--prune", "--no-tags", clone_url,
               "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"});
}

std::vector<ForgePatch> Forge::patches_of(const fs::path& mirror, const std::string& base,
                                          const std::string& head) {
  const std::string g = mirror.string();
  auto list = git_run({"--git-dir", g, "rev-list", "--reverse",
                       "--max-count=" + std::to_string(opt_.max_patches + 1), head, "^" + base});
  if (!list.ok()) return {};
  std::vector<ForgePatch> out;
  size_t start = 0;
  const std::string& text = list.out;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string sha = text.substr(start, end - start);
    start = end + 1;
    if (sha.empty()) continue;
    if (out.size() > opt_.max_patches) break;
    auto patch = git_run(
        {"--git-dir", g, "format-patch", "--stdout", "-1", "--no-signature", "--full-index", sha});
    auto parent = git_run({"--git-dir", g, "rev-parse", sha + "^"});
    if (!patch.ok() || !parent.ok()) return {};
    out.push_back({sha, trim_newlines(parent.out), patch.out});
  }
  return out;
}

ForgeRepo Forge::snapshot(const std::string& owner, const std::string& name,
                          const RepoRecord& record) {
  const std::string base = "/api/v3/repos/" + owner + "/" + name;
  json r = get_json(base);
  if (bool_of(r, "private"))
    throw Error(Code::kPermissionDenied,
                owner + "/" + name + " is private: only public repositories are bridged");
  if (bool_of(object_of(r, "permissions"), "push"))
    throw Error(Code::kPermissionDenied,
                opt_.username + " may write to " + owner + "/" + name +
                    ": patches from Nostr would run CI with the repository's secrets; run the "
                    "bridge as a user without write access (docs/nostr.md)");
  ForgeRepo repo;
  repo.owner = owner;
  repo.name = name;
  repo.description = str_of(r, "description");
  repo.web_url = str_of(r, "html_url");
  repo.default_branch = str_of(r, "default_branch");
  // The owner's bound Nostr key (kind 75) is named a maintainer in the announcement.
  if (auto b = http_.get("/api/guts/users/" + owner + "/nostr"); b.status == 200) {
    const std::string pk = str_of(json::parse(b.body, nullptr, false), "pubkey");
    if (pk.size() == 64) repo.maintainers.push_back(pk);
  }
  const std::string clone = str_of(r, "clone_url");
  if (!clone.empty()) repo.clone_urls.push_back(clone);
  repo.clone_urls.push_back("guts://" + owner + "/" + name);

  const fs::path mirror = mirror_of(repo);
  refresh_mirror(mirror, clone_url_of(owner, name));
  const std::string g = mirror.string();
  auto refs = git_run({"--git-dir", g, "for-each-ref", "--format=%(objectname) %(refname)",
                       "refs/heads", "refs/tags"});
  if (refs.ok()) {
    size_t start = 0;
    while (start < refs.out.size()) {
      size_t end = refs.out.find('\n', start);
      if (end == std::string::npos) end = refs.out.size();
      std::string line = refs.out.substr(start, end - start);
      start = end + 1;
      auto sp = line.find(' ');
      if (sp != std::string::npos) repo.refs.emplace_back(line.substr(sp + 1), line.substr(0, sp));
    }
  }
  std::sort(repo.refs.begin(), repo.refs.end());
  if (!repo.default_branch.empty()) {
    auto roots = git_run(
        {"--git-dir", g, "rev-list", "--max-parents=0", "refs/heads/" + repo.default_branch});
    if (roots.ok()) repo.earliest_commit = roots.out.substr(0, roots.out.find('\n'));
  }

  for_each_item(base + "/issues?state=all", [&](const json& x) {
    if (x.contains("pull_request")) return;
    ForgeIssue i;
    i.number = number_of(x);
    i.title = str_of(x, "title");
    i.body = str_of(x, "body");
    i.by_bridge = str_of(object_of(x, "user"), "login") == opt_.username;
    i.open = str_of(x, "state") == "open";
    i.labels = labels_of(x);
    i.created_at = seconds_of(x, "created_at");
    i.closed_at = seconds_of(x, "closed_at");
    repo.issues.push_back(std::move(i));
  });
  for_each_item(base + "/pulls?state=all", [&](const json& x) {
    ForgePull p;
    p.number = number_of(x);
    p.title = str_of(x, "title");
    p.body = str_of(x, "body");
    p.by_bridge = str_of(object_of(x, "user"), "login") == opt_.username;
    p.open = str_of(x, "state") == "open";
    p.merged = bool_of(x, "merged") || !str_of(x, "merged_at").empty();
    p.draft = bool_of(x, "draft");
    p.merge_commit = str_of(x, "merge_commit_sha");
    p.created_at = seconds_of(x, "created_at");
    p.closed_at = seconds_of(x, "closed_at");
    p.merged_at = seconds_of(x, "merged_at");
    const json head = object_of(x, "head");
    const json base_side = object_of(x, "base");
    p.head_sha = str_of(head, "sha");
    std::string base_sha = str_of(base_side, "sha");
    if (!patches_needed(record, p.number, p.head_sha, p.open,
                        bridge_origin(p.by_bridge, p.body).has_value())) {
      repo.pulls.push_back(std::move(p));
      return;
    }
    // A pull request from another repository (a fork): fetch its head first.
    if (!p.head_sha.empty() &&
        !git_run({"--git-dir", g, "cat-file", "-e", p.head_sha + "^{commit}"}).ok()) {
      const json head_repo = object_of(head, "repo");
      const std::string url = str_of(head_repo, "clone_url");
      const std::string ref = str_of(head, "ref");
      if (!url.empty() && !ref.empty())
        git_run({"--git-dir", g, "fetch", "--quiet", "--no-tags", url,
                 "+refs/heads/" + ref + ":refs/guts-nostr/pull/" + std::to_string(p.number)});
    }
    // Merged with a merge commit: its first parent is the base the series applied to.
    if (p.merged && !p.merge_commit.empty()) base_sha = p.merge_commit + "^1";
    if (!p.head_sha.empty() && !base_sha.empty())
      p.patches = patches_of(mirror, base_sha, p.head_sha);
    repo.pulls.push_back(std::move(p));
  });
  std::sort(repo.issues.begin(), repo.issues.end(),
            [](const auto& a, const auto& b) { return a.number < b.number; });
  std::sort(repo.pulls.begin(), repo.pulls.end(),
            [](const auto& a, const auto& b) { return a.number < b.number; });
  return repo;
}

std::string Forge::bound_login(const std::string& pubkey_hex) {
  try {
    auto r = http_.get("/api/guts/nostr/" + pubkey_hex);
    if (r.status != 200) return "";
    auto j = json::parse(r.body, nullptr, false);
    return str_of(object_of(j, "user"), "login");
  } catch (const Error&) {
    return "";
  }
}

uint64_t Forge::create_issue(const ForgeRepo& repo, const std::string& title,
                             const std::string& body) {
  return number_of(
      post_json("/api/v3/repos/" + repo.d() + "/issues", json{{"title", title}, {"body", body}}));
}

std::string Forge::apply(const fs::path& mirror, const std::string& base,
                         const std::string& patch) {
  const std::string g = mirror.string();
  const fs::path tree = opt_.work_dir / "worktrees" / ("am-" + std::to_string(::getpid()));
  std::error_code ec;
  fs::remove_all(tree, ec);
  git_run({"--git-dir", g, "worktree", "prune"});
  fs::create_directories(tree.parent_path());
  git_checked({"--git-dir", g, "worktree", "add", "--quiet", "--detach", tree.string(), base});
  // The committer and its date are fixed (the author's date), so the same patch on the same base
  // always makes the same commit: an import that is retried pushes nothing new.
  auto am = git_run({"am", "--quiet", "--committer-date-is-author-date", "--keep-non-patch"}, "",
                    patch, tree,
                    {{"GIT_COMMITTER_NAME", std::string(kCommitterName)},
                     {"GIT_COMMITTER_EMAIL", std::string(kCommitterEmail)}});
  std::string head;
  if (am.ok()) head = trim_newlines(git_run({"rev-parse", "HEAD"}, "", {}, tree).out);
  git_run({"--git-dir", g, "worktree", "remove", "--force", tree.string()});
  fs::remove_all(tree, ec);
  if (!am.ok() || head.empty())
    throw Error(Code::kInvalidArgument, "the patch does not apply on " + base.substr(0, 12) + ": " +
                                            trim_newlines(am.err + am.out).substr(0, 300));
  return head;
}

void Forge::push(const ForgeRepo& repo, const std::string& commit, const std::string& branch) {
  const std::string header =
      "Authorization: Basic " + crypto::base64_encode(opt_.username + ":" + opt_.token);
  git_checked({"--git-dir", mirror_of(repo).string(), "push", "--quiet",
               clone_url_of(opt_.username, ensure_fork(repo)), commit + ":refs/heads/" + branch},
              header);
  // The mirror keeps the fork's branches apart from the repository's own.
  git_run({"--git-dir", mirror_of(repo).string(), "update-ref", "refs/fork/" + branch, commit});
}

uint64_t Forge::open_pull(const ForgeRepo& repo, const InboundPatch& patch,
                          const std::string& title, const std::string& body) {
  const fs::path mirror = mirror_of(repo);
  std::string base = "refs/heads/" + repo.default_branch;
  if (!patch.parent_commit.empty() &&
      git_run({"--git-dir", mirror.string(), "cat-file", "-e", patch.parent_commit + "^{commit}"})
          .ok())
    base = patch.parent_commit;
  const std::string commit = apply(mirror, base, patch.patch);
  const std::string branch = branch_of(patch.event_id);
  push(repo, commit, branch);
  return number_of(
      post_json("/api/v3/repos/" + repo.d() + "/pulls", json{{"title", title},
                                                             {"head", opt_.username + ":" + branch},
                                                             {"base", repo.default_branch},
                                                             {"body", body}}));
}

bool Forge::append_patch(const ForgeRepo& repo, const std::string& root_event,
                         const InboundPatch& patch) {
  const fs::path mirror = mirror_of(repo);
  const std::string g = mirror.string();
  const std::string branch = branch_of(root_event);
  // The branch as the fork has it (a restart has an empty refs/fork/).
  git_run({"--git-dir", g, "fetch", "--quiet", "--no-tags",
           clone_url_of(opt_.username, ensure_fork(repo)),
           "+refs/heads/" + branch + ":refs/fork/" + branch});
  const std::string tip = git_checked({"--git-dir", g, "rev-parse", "refs/fork/" + branch});
  // Already applied? Compare the patch's id with those of the branch's own commits.
  auto id_of = [&](std::string_view text) {
    auto r = git_run({"--git-dir", g, "patch-id", "--stable"}, "", text);
    return r.out.substr(0, r.out.find(' '));
  };
  const std::string wanted = id_of(patch.patch);
  auto log =
      git_run({"--git-dir", g, "log", "-p", "--max-count=" + std::to_string(opt_.max_patches), tip,
               "^refs/heads/" + repo.default_branch});
  if (!wanted.empty() && log.ok()) {
    auto ids = git_run({"--git-dir", g, "patch-id", "--stable"}, "", log.out);
    for (size_t at = 0; at < ids.out.size();) {
      size_t end = ids.out.find('\n', at);
      if (end == std::string::npos) end = ids.out.size();
      if (ids.out.compare(at, wanted.size(), wanted) == 0) return false;
      at = end + 1;
    }
  }
  push(repo, apply(mirror, tip, patch.patch), branch);
  return true;
}

}  // namespace guts::nostr
