// Ref names, object ids and ref listing shared by the receive, upload and store code.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace guts::git {

inline constexpr std::string_view kZeroOid = "0000000000000000000000000000000000000000";
inline constexpr size_t kMaxRefNameLength = 1024;

struct Ref {
  std::string name;    // "refs/heads/main"
  std::string oid;     // 40 lower-case hex
  std::string peeled;  // for annotated tags: the peeled (non-tag) object; else empty
  bool operator==(const Ref&) const = default;
};

// 40 lower-case hex digits (SHA-1 object format; the only one Guts repositories use).
bool is_valid_oid(std::string_view oid);
inline bool is_zero_oid(std::string_view oid) {
  return oid == kZeroOid;
}

// git check-ref-format rules (without --allow-onelevel, without patterns), plus Guts policy:
// at most kMaxRefNameLength bytes. Returns an empty string when valid, else the reason.
std::string ref_name_error(std::string_view name);
inline bool is_valid_ref_name(std::string_view name) {
  return ref_name_error(name).empty();
}
// Refs clients may push: refs/heads/* and refs/tags/* (validated as above).
std::string pushable_ref_error(std::string_view name);

// All refs of a repository, sorted by name, via `git for-each-ref` (tags carry `peeled`).
// HEAD is not included. Throws guts::Error(kNotFound/kInternal).
std::vector<Ref> list_refs(const std::filesystem::path& repo_dir);
// Object id a full ref name points to, or nullopt.
std::optional<std::string> resolve_ref(const std::filesystem::path& repo_dir,
                                       std::string_view ref_name);
// Target of the symbolic HEAD ("refs/heads/main"), or nullopt.
std::optional<std::string> head_target(const std::filesystem::path& repo_dir);

}  // namespace guts::git
