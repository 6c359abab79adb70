// In-process reads of a bare repository through libgit2: branches, tags, commits, trees, blobs,
// README, compare. Archives go through `git archive` (streamed).
//
// A Browser owns one libgit2 repository handle: use one per thread / request (opening is
// cheap). Revisions are resolved with revparse ("main", "refs/tags/v1", a sha, "main~2");
// unknown revisions give Error(kNotFound). All strings are raw bytes from git (commit messages
// are usually but not necessarily UTF-8).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "git/process.h"

struct git_repository;

namespace guts::git {

struct Signature {
  std::string name;
  std::string email;
  int64_t time = 0;        // seconds since the epoch
  int offset_minutes = 0;  // time zone
};

struct Commit {
  std::string sha;
  std::string tree;
  std::vector<std::string> parents;
  Signature author;
  Signature committer;
  std::string message;
};

struct Branch {
  std::string name;  // "main"
  std::string sha;
};

struct Tag {
  std::string name;         // "v1.0"
  std::string sha;          // what the ref points at (the tag object when annotated)
  std::string target;       // peeled object (usually a commit)
  std::string target_type;  // "commit", "tree", "blob"
  bool annotated = false;
  std::optional<Signature> tagger;
  std::string message;
};

struct TreeEntry {
  std::string path;  // relative to the repository root
  std::string name;
  std::string type;  // "blob", "tree", "commit" (submodule)
  std::string sha;
  uint32_t mode = 0;  // 0100644, 0100755, 0120000, 040000, 0160000
  uint64_t size = 0;  // blobs only
};

struct Blob {
  std::string sha;
  std::string path;
  uint64_t size = 0;
  bool binary = false;
  bool truncated = false;  // content holds only the first max_size bytes
  std::string content;
};

struct FileDiff {
  std::string filename;
  std::string previous_filename;  // renames
  std::string status;             // added, removed, modified, renamed, copied, changed
  std::string sha;                // new blob (or old one when removed)
  int additions = 0;
  int deletions = 0;
  bool binary = false;
  std::string patch;  // unified diff hunks (without the "diff --git" header); empty if binary
};

struct Comparison {
  std::string base_sha;
  std::string head_sha;
  std::string merge_base;       // empty when unrelated histories
  std::string status;           // identical, ahead, behind, diverged
  size_t ahead_by = 0;          // commits in head not in base
  size_t behind_by = 0;         // commits in base not in head
  std::vector<Commit> commits;  // merge_base..head, oldest first, at most max_commits
  std::vector<FileDiff> files;  // merge_base → head
};

struct CommitQuery {
  std::string rev = "HEAD";
  std::string path;  // only commits touching this path (file or directory); empty: all
  size_t skip = 0;
  size_t limit = 30;
};

class Browser {
 public:
  // Opens the bare repository; Error(kNotFound) if absent.
  explicit Browser(const std::filesystem::path& repo_dir);
  ~Browser();
  Browser(const Browser&) = delete;
  Browser& operator=(const Browser&) = delete;

  bool empty() const;                                 // no refs at all
  std::optional<std::string> default_branch() const;  // HEAD's target branch name

  std::vector<Branch> branches() const;  // sorted by name
  std::vector<Tag> tags() const;         // sorted by name
  // Full sha of a revision; nullopt if it does not resolve (to a commit-ish when `commit`).
  std::optional<std::string> resolve(std::string_view rev, bool commit = true) const;

  Commit commit(std::string_view rev) const;  // Error(kNotFound)
  // History walk from query.rev (topological + time order, like `git log`).
  std::vector<Commit> commits(const CommitQuery& query) const;

  // Entries of the tree at `path` ("" = root) of `rev`; `recursive` lists all descendants.
  // Error(kNotFound) if path is missing, Error(kInvalidArgument) if it is not a directory.
  std::vector<TreeEntry> tree(std::string_view rev, std::string_view path = {},
                              bool recursive = false, size_t max_entries = 100000) const;
  // The entry at path (file, dir, submodule) or nullopt.
  std::optional<TreeEntry> entry(std::string_view rev, std::string_view path) const;
  Blob blob(std::string_view rev, std::string_view path, uint64_t max_size = 10 << 20) const;
  // README, README.md, readme.markdown, ... in `dir` (case-insensitive, prefers markdown).
  std::optional<Blob> readme(std::string_view rev, std::string_view dir = {},
                             uint64_t max_size = 1 << 20) const;

  Comparison compare(std::string_view base, std::string_view head, size_t max_commits = 250,
                     size_t max_files = 300, size_t max_patch_bytes = 1 << 20) const;

 private:
  git_repository* repo_ = nullptr;
  std::filesystem::path dir_;
};

// Streams `git archive --format=tar.gz|zip --prefix=<prefix>/ <sha>` to `out`. `rev` is resolved
// with libgit2 first (so nothing client-controlled reaches git's command line but a sha).
Status archive(const std::filesystem::path& repo_dir, std::string_view rev, std::string_view format,
               std::string_view prefix, const Sink& out);

}  // namespace guts::git
