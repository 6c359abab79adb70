// Git work behind pull requests, on the node's bare repositories (git::RepoStore):
// mergeability (`git merge-tree --write-tree`), the comparison shown as files and commits
// (libgit2, git::Browser), and the commits a merge creates (merge commit, squash, rebase) —
// written into the base repository BEFORE the MergePullRequest transaction that moves the base
// branch to them (the commit listener of the git projection then moves the ref).
//
// Results are cached by (repository, base sha, head sha): when the base or the head of a pull
// request moves, its key changes and the next read computes afresh. Thread-safe; blocking (call
// from worker threads: streaming routes).
#pragma once

#include <filesystem>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "git/browse.h"

namespace guts::git {
class RepoStore;
}

namespace guts::api {

struct GitIdentity {
  std::string name;
  std::string email;
  std::string date;  // git's internal "<unix seconds> <+hhmm>"; empty: now
};

struct MergeOutcome {
  enum Kind { kOk, kConflict, kNotRebaseable } kind = kOk;
  std::string sha;
  std::string message;  // why not
};

class PullGit {
 public:
  explicit PullGit(git::RepoStore& store) : store_(store) {}

  std::filesystem::path dir(uint64_t repo_id) const;
  bool has_commit(uint64_t repo_id, const std::string& sha) const;
  // Makes the head commit of a pull request from another repository of the fork network present
  // in the base repository's object store (fetched from the head repository; no ref is
  // written). Throws guts::Error(kNotFound) when the head repository lacks it too.
  void ensure_commit(uint64_t base_repo, uint64_t head_repo, const std::string& sha);

  struct Mergeability {
    bool clean = false;
    std::string tree;  // the merged tree when clean
  };
  Mergeability mergeability(uint64_t repo_id, const std::string& base, const std::string& head);
  // merge-base(base, head) → head: commits and files with patches.
  std::shared_ptr<const git::Comparison> compare(uint64_t repo_id, const std::string& base,
                                                 const std::string& head);
  // `git diff` of merge-base(base, head) → head, as GitHub's application/vnd.github.diff.
  std::string diff(uint64_t repo_id, const std::string& base, const std::string& head);

  // Creates the commit(s) of a merge of head into base; nothing is referenced yet.
  MergeOutcome merge(uint64_t repo_id, uint8_t method, const std::string& base,
                     const std::string& head, const std::string& message,
                     const GitIdentity& committer, const GitIdentity& author);

 private:
  using Key = std::tuple<uint64_t, std::string, std::string>;
  git::RepoStore& store_;
  std::mutex mu_;
  std::map<Key, Mergeability> merge_cache_;
  std::map<Key, std::shared_ptr<const git::Comparison>> compare_cache_;
  std::list<Key> compare_order_;
  std::set<std::pair<uint64_t, std::string>> present_;  // head commits fetched into a base
};

}  // namespace guts::api
