// Facts about git objects that some validity rules need (branch protection: force pushes,
// `strict` status checks, linear history, signed commits, CODEOWNERS; docs/governance.md
// "Branch protection", "Git facts").
//
// The state machine itself never reads git: the node injects an implementation over its
// repository store (git/git_facts.h, libgit2) into the Chain, which hands it to the Executor
// only on the CHECK paths — the mempool door, building a block, verifying a proposed block.
// Applying a finalized block (Chain::commit of a block not executed here, replay, full nodes)
// never consults it: those blocks were valid for 2f+1 validators that did, so state stays a
// function of the blocks alone.
//
// Every fact may be unknown (nullopt): the repository is not hosted here, an object is not
// here (not yet replicated), or the walk is over its bound. What unknown means is decided by
// the caller (FactsUse::unknown_refuses): at the door it passes (the block decides), in a
// block it refuses the transaction (an honest validator never votes for what it cannot check).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"

namespace guts::state {

// How many commits a range walk may visit before its answer becomes unknown.
inline constexpr size_t kMaxFactCommits = 100000;
// How many changed paths a diff may report before its answer becomes unknown.
inline constexpr size_t kMaxFactPaths = 100000;

// A file read at a commit: unknown (objects missing), absent (no such path), or its bytes.
struct FileFact {
  enum State : uint8_t { kUnknown, kAbsent, kPresent } state = kUnknown;
  std::string content;
};

class GitFacts {
 public:
  virtual ~GitFacts() = default;
  // Object ids are raw (20 bytes for SHA-1). `repo_id` is the Guts repository id.
  // Is commit `a` an ancestor of (or equal to) commit `b`?
  virtual std::optional<bool> is_ancestor(uint64_t repo_id, const Bytes& a,
                                          const Bytes& b) const = 0;
  // Is there a commit with more than one parent among those reachable from `new_oid` and not
  // from `old_oid` (`old_oid` empty: every commit reachable from `new_oid`)?
  virtual std::optional<bool> has_merge_commits(uint64_t repo_id, const Bytes& old_oid,
                                                const Bytes& new_oid) const = 0;
  // Does every commit reachable from `new_oid` and not from `old_oid` carry a signature
  // (a `gpgsig` or `gpgsig-sha256` header: OpenPGP, SSH or X.509; docs/governance.md says why
  // presence and not verification)?
  virtual std::optional<bool> all_commits_signed(uint64_t repo_id, const Bytes& old_oid,
                                                 const Bytes& new_oid) const = 0;
  // Paths changed by `head` relative to its merge base with `base` (GitHub's "Files changed"
  // of a pull request: three dots), sorted, without duplicates; a rename lists both paths.
  virtual std::optional<std::vector<std::string>> changed_paths(uint64_t repo_id, const Bytes& base,
                                                                const Bytes& head) const = 0;
  // The blob at `path` in `commit`'s tree (at most `max_bytes`: larger is unknown).
  virtual FileFact read_file(uint64_t repo_id, const Bytes& commit, std::string_view path,
                             size_t max_bytes) const = 0;
};

// How the Executor uses the facts: none (applying finalized blocks), at the door (unknown
// passes), or in a block (unknown refuses, kUnavailable).
struct FactsUse {
  const GitFacts* facts = nullptr;
  bool unknown_refuses = false;
};

}  // namespace guts::state
