// Line authorship of a file at a commit (`git blame`), through libgit2's git_blame_file, for the
// web's blame page. Blocking (call from worker threads).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "git/browse.h"

namespace guts::git {

struct BlameHunk {
  uint64_t start_line = 0;  // 1-based, in the file at the blamed commit
  uint64_t lines = 0;
  std::string sha;   // the commit that last changed these lines
  Signature author;  // of that commit (the hunk's final signature)
};

// Blames `path` as of commit `sha` (a full sha: resolve first) in the bare repository `dir`,
// following the file's history from that commit. Error(kNotFound) when the repository, commit
// or path is missing.
std::vector<BlameHunk> blame(const std::filesystem::path& dir, const std::string& sha,
                             std::string_view path);

}  // namespace guts::git
