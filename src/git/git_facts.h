// state::GitFacts over the node's repository store, with libgit2 (docs/governance.md "Git
// facts"). Reads the repository's objects and those of its push quarantines
// (<repo>/objects/incoming-*: pushes received here and not yet applied), so the node that took a
// push can check it at the mempool door, and a validator can once replication brought the
// objects. Anything missing, malformed or over a bound is unknown (nullopt), never an error.
// Thread-safe: every call opens its own libgit2 handles (door: API threads; blocks: ledger).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "state/git_facts.h"

namespace guts::git {

class RepoStore;

class RepoGitFacts : public state::GitFacts {
 public:
  // `key_of` maps a repository id to its RepoStore key (the API's git_repo_key).
  RepoGitFacts(const RepoStore& store, std::function<std::string(uint64_t)> key_of);

  std::optional<bool> is_ancestor(uint64_t repo_id, const Bytes& a, const Bytes& b) const override;
  std::optional<bool> has_merge_commits(uint64_t repo_id, const Bytes& old_oid,
                                        const Bytes& new_oid) const override;
  std::optional<bool> all_commits_signed(uint64_t repo_id, const Bytes& old_oid,
                                         const Bytes& new_oid) const override;
  std::optional<std::vector<std::string>> changed_paths(uint64_t repo_id, const Bytes& base,
                                                        const Bytes& head) const override;
  state::FileFact read_file(uint64_t repo_id, const Bytes& commit, std::string_view path,
                            size_t max_bytes) const override;

 private:
  const RepoStore& store_;
  std::function<std::string(uint64_t)> key_of_;
};

}  // namespace guts::git
