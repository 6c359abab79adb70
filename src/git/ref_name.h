// Ref names and object ids: the one implementation of git's check-ref-format rules in Guts
// (cross-checked against `git check-ref-format` in tests/git), used by the receive path, the
// repository store and the state machine (state/rules.h). Pure: no git process, no I/O; its own
// library (guts_git_names) so that guts_state links it without the git process code.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace guts::git {

inline constexpr std::string_view kZeroOid = "0000000000000000000000000000000000000000";
inline constexpr size_t kMaxRefNameLength = 1024;

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

}  // namespace guts::git
