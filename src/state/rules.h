// Naming rules shared by the state machine (validity) and the API (early 422s).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace guts::state {

// GitHub's username rules: 1-39 characters, ASCII letters, digits and single hyphens, not
// starting or ending with a hyphen; some names are reserved because they are web routes.
// Returns the reason when invalid.
std::optional<std::string> username_error(std::string_view name);
// 1-100 characters of [A-Za-z0-9._-], not "." or "..", not ending in ".git".
std::optional<std::string> repo_name_error(std::string_view name);
// A full ref name ("refs/heads/main"): under refs/, not refs/heads or refs/tags alone, and valid
// per git check-ref-format (git/ref_name.h, the one implementation of those rules).
std::optional<std::string> ref_name_error(std::string_view ref);
// A branch name as used for default_branch ("main"): valid as refs/heads/<name>.
std::optional<std::string> branch_name_error(std::string_view branch);

// ASCII lower-case, for case-insensitive uniqueness of usernames and repository names.
std::string fold_case(std::string_view s);

}  // namespace guts::state
