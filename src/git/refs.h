// Ref listing and resolution (git for-each-ref / show-ref) shared by the receive, upload and
// store code. Name and object-id rules (pure, no git process): git/ref_name.h.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "git/ref_name.h"

namespace guts::git {

struct Ref {
  std::string name;    // "refs/heads/main"
  std::string oid;     // 40 lower-case hex
  std::string peeled;  // for annotated tags: the peeled (non-tag) object; else empty
  bool operator==(const Ref&) const = default;
};

// All refs of a repository, sorted by name, as `git for-each-ref` lists them (tags carry
// `peeled`, one level as `%(*objectname)`), read in process with libgit2.
// HEAD is not included. Throws guts::Error(kNotFound/kInternal).
std::vector<Ref> list_refs(const std::filesystem::path& repo_dir);
// Object id a full ref name points to, or nullopt.
std::optional<std::string> resolve_ref(const std::filesystem::path& repo_dir,
                                       std::string_view ref_name);
// Target of the symbolic HEAD ("refs/heads/main"), or nullopt.
std::optional<std::string> head_target(const std::filesystem::path& repo_dir);

}  // namespace guts::git
