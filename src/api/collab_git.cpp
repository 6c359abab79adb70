#include "api/collab_git.h"

#include <sstream>

#include "api/git_routes.h"
#include "core/status.h"
#include "git/process.h"
#include "git/refs.h"
#include "git/repo_store.h"
#include "state/collab.h"

namespace guts::api {

namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxCompareCache = 256;
constexpr size_t kMaxMergeCache = 4096;

git::GitResult git_in(const fs::path& dir, const std::vector<std::string>& args,
                      std::string_view input = {},
                      std::vector<std::pair<std::string, std::string>> env = {}) {
  git::GitOptions o;
  o.cwd = dir;
  o.env = std::move(env);
  o.env.emplace_back("GIT_DIR", dir.string());
  o.timeout = std::chrono::minutes(2);
  return git::run_git(args, o, input);
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string must(const git::GitResult& r, const char* what) {
  if (!r.ok()) throw Error(Code::kInternal, std::string(what) + ": " + trim(r.err));
  return trim(r.out);
}

std::vector<std::pair<std::string, std::string>> identity_env(const GitIdentity& committer,
                                                              const GitIdentity& author) {
  std::vector<std::pair<std::string, std::string>> env = {{"GIT_AUTHOR_NAME", author.name},
                                                          {"GIT_AUTHOR_EMAIL", author.email},
                                                          {"GIT_COMMITTER_NAME", committer.name},
                                                          {"GIT_COMMITTER_EMAIL", committer.email}};
  if (!author.date.empty()) env.emplace_back("GIT_AUTHOR_DATE", author.date);
  if (!committer.date.empty()) env.emplace_back("GIT_COMMITTER_DATE", committer.date);
  return env;
}

std::string commit_tree(const fs::path& dir, const std::string& tree,
                        const std::vector<std::string>& parents, const std::string& message,
                        const GitIdentity& committer, const GitIdentity& author) {
  std::vector<std::string> args = {"commit-tree", tree};
  for (const auto& p : parents) {
    args.push_back("-p");
    args.push_back(p);
  }
  args.push_back("-F");
  args.push_back("-");
  return must(git_in(dir, args, message, identity_env(committer, author)), "git commit-tree");
}

struct RawCommit {
  std::string tree;
  std::vector<std::string> parents;
  GitIdentity author;
  std::string message;
};

RawCommit read_commit(const fs::path& dir, const std::string& sha) {
  auto r = git_in(dir, {"cat-file", "commit", sha});
  if (!r.ok()) throw Error(Code::kInternal, "git cat-file " + sha + ": " + trim(r.err));
  RawCommit c;
  size_t pos = 0;
  const std::string& raw = r.out;
  while (pos < raw.size()) {
    size_t eol = raw.find('\n', pos);
    if (eol == std::string::npos) eol = raw.size();
    std::string_view line(raw.data() + pos, eol - pos);
    pos = eol + 1;
    if (line.empty()) break;  // message follows
    if (line.rfind("tree ", 0) == 0) c.tree = std::string(line.substr(5));
    if (line.rfind("parent ", 0) == 0) c.parents.emplace_back(line.substr(7));
    if (line.rfind("author ", 0) == 0) {
      auto rest = line.substr(7);
      auto lt = rest.find(" <"), gt = rest.find("> ");
      if (lt != std::string_view::npos && gt != std::string_view::npos && gt > lt) {
        c.author.name = std::string(rest.substr(0, lt));
        c.author.email = std::string(rest.substr(lt + 2, gt - lt - 2));
        c.author.date = std::string(rest.substr(gt + 2));
      }
    }
  }
  c.message = pos < raw.size() ? raw.substr(pos) : std::string();
  return c;
}

// `git merge-tree --write-tree ours theirs`: the merged tree, or nullopt on conflicts.
std::optional<std::string> merge_trees(const fs::path& dir, const std::string& ours,
                                       const std::string& theirs) {
  auto r = git_in(dir, {"merge-tree", "--write-tree", "--no-messages", ours, theirs});
  if (r.exit.code == 0) return trim(r.out.substr(0, r.out.find('\n')));
  if (r.exit.code == 1) return std::nullopt;  // conflicts
  // Unrelated histories and the like: not mergeable either.
  if (r.err.find("unrelated histories") != std::string::npos) return std::nullopt;
  throw Error(Code::kInternal, "git merge-tree: " + trim(r.err));
}

}  // namespace

fs::path PullGit::dir(uint64_t repo_id) const {
  return store_.path_for(git_repo_key(repo_id));
}

bool PullGit::has_commit(uint64_t repo_id, const std::string& sha) const {
  if (!git::is_valid_oid(sha)) return false;
  auto d = dir(repo_id);
  if (!fs::exists(d)) return false;
  return git_in(d, {"cat-file", "-e", sha + "^{commit}"}).ok();
}

void PullGit::ensure_commit(uint64_t base_repo, uint64_t head_repo, const std::string& sha) {
  // A branch of the repository itself: its objects are there (the ref exists in state).
  if (base_repo == head_repo) return;
  {
    std::lock_guard lock(mu_);
    if (present_.count({base_repo, sha})) return;
  }
  if (!has_commit(base_repo, sha)) {
    if (!has_commit(head_repo, sha))
      throw Error(Code::kNotFound, "commit " + sha + " is not in the repository");
    auto r = git_in(dir(base_repo),
                    {"-c", "uploadpack.allowAnySHA1InWant=true", "fetch", "--quiet", "--no-tags",
                     "--no-write-fetch-head", dir(head_repo).string(), sha});
    if (!r.ok() || !has_commit(base_repo, sha))
      throw Error(Code::kInternal, "fetching " + sha + " from the head repository: " + trim(r.err));
  }
  std::lock_guard lock(mu_);
  if (present_.size() > 100000) present_.clear();
  present_.insert({base_repo, sha});
}

PullGit::Mergeability PullGit::mergeability(uint64_t repo_id, const std::string& base,
                                            const std::string& head) {
  Key key{repo_id, base, head};
  {
    std::lock_guard lock(mu_);
    auto it = merge_cache_.find(key);
    if (it != merge_cache_.end()) return it->second;
  }
  Mergeability m;
  if (auto tree = merge_trees(dir(repo_id), base, head)) {
    m.clean = true;
    m.tree = *tree;
  }
  std::lock_guard lock(mu_);
  if (merge_cache_.size() >= kMaxMergeCache) merge_cache_.clear();
  merge_cache_[key] = m;
  return m;
}

std::shared_ptr<const git::Comparison> PullGit::compare(uint64_t repo_id, const std::string& base,
                                                        const std::string& head) {
  Key key{repo_id, base, head};
  {
    std::lock_guard lock(mu_);
    auto it = compare_cache_.find(key);
    if (it != compare_cache_.end()) return it->second;
  }
  git::Browser b(dir(repo_id));
  auto cmp = std::make_shared<const git::Comparison>(b.compare(base, head, 250, 3000, 8 << 20));
  std::lock_guard lock(mu_);
  if (compare_cache_.emplace(key, cmp).second) {
    compare_order_.push_back(key);
    if (compare_order_.size() > kMaxCompareCache) {
      compare_cache_.erase(compare_order_.front());
      compare_order_.pop_front();
    }
  }
  return cmp;
}

std::string PullGit::diff(uint64_t repo_id, const std::string& base, const std::string& head) {
  auto d = dir(repo_id);
  auto mb = git_in(d, {"merge-base", base, head});
  std::string from = mb.ok() ? trim(mb.out) : base;
  return must(git_in(d, {"diff", "--no-color", "--no-ext-diff", from, head}), "git diff") + "\n";
}

MergeOutcome PullGit::merge(uint64_t repo_id, uint8_t method, const std::string& base,
                            const std::string& head, const std::string& message,
                            const GitIdentity& committer, const GitIdentity& author) {
  auto d = dir(repo_id);
  MergeOutcome out;
  if (method == state::kMergeCommit || method == state::kMergeSquash) {
    auto m = mergeability(repo_id, base, head);
    if (!m.clean) return {MergeOutcome::kConflict, "", "Merge conflict"};
    if (method == state::kMergeCommit)
      out.sha = commit_tree(d, m.tree, {base, head}, message, committer, committer);
    else
      out.sha = commit_tree(d, m.tree, {base}, message, committer, author);
    return out;
  }
  // Rebase: replay each commit of head that base lacks, oldest first, on top of base.
  auto list =
      must(git_in(d, {"rev-list", "--reverse", "--topo-order", "--parents", head, "^" + base}),
           "git rev-list");
  std::istringstream in(list);
  std::string line;
  std::string cur = base;
  size_t n = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string sha, parent, extra;
    fields >> sha >> parent >> extra;
    if (parent.empty() || !extra.empty())
      return {MergeOutcome::kNotRebaseable, "",
              "This branch can't be rebased (it contains merge or root commits)"};
    RawCommit c = read_commit(d, sha);
    std::string tree;
    if (parent == cur) {
      tree = c.tree;
    } else {
      // Three-way merge of (parent → commit) onto cur: synthetic commits give merge-tree the
      // parent's tree as merge base (git 2.39 has no --merge-base).
      RawCommit p = read_commit(d, parent);
      GitIdentity synth{"guts", "guts@localhost", "@0 +0000"};
      auto x = commit_tree(d, p.tree, {}, "base\n", synth, synth);
      auto ours = commit_tree(d, must(git_in(d, {"rev-parse", cur + "^{tree}"}), "git rev-parse"),
                              {x}, "ours\n", synth, synth);
      auto theirs = commit_tree(d, c.tree, {x}, "theirs\n", synth, synth);
      auto merged = merge_trees(d, ours, theirs);
      if (!merged)
        return {MergeOutcome::kConflict, "", "Merge conflict while rebasing " + sha.substr(0, 7)};
      tree = *merged;
    }
    cur = commit_tree(d, tree, {cur}, c.message, committer, c.author);
    ++n;
  }
  if (n == 0) return {MergeOutcome::kNotRebaseable, "", "There are no commits to rebase"};
  out.sha = cur;
  return out;
}

}  // namespace guts::api
