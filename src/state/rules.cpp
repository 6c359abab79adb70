#include "state/rules.h"

#include <algorithm>
#include <array>

#include "git/ref_name.h"

namespace guts::state {

std::string fold_case(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

static bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::optional<std::string> username_error(std::string_view name) {
  // Top-level paths of the web interface and the APIs (a user named so would be shadowed).
  static constexpr std::array<std::string_view, 17> kReserved = {
      "api",     "ws",     "login",  "logout",  "settings",     "new",
      "explore", "static", "assets", "admin",   "guts",         "organizations",
      "users",   "repos",  "search", "network", "notifications"};
  if (name.empty() || name.size() > 39) return "username must be 1 to 39 characters";
  if (name.front() == '-' || name.back() == '-')
    return "username may not begin or end with a hyphen";
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c == '-') {
      if (name[i + 1] == '-') return "username may not contain consecutive hyphens";
    } else if (!is_alnum(c)) {
      return "username may only contain alphanumeric characters or single hyphens";
    }
  }
  auto folded = fold_case(name);
  if (std::find(kReserved.begin(), kReserved.end(), folded) != kReserved.end())
    return "username '" + std::string(name) + "' is reserved";
  return std::nullopt;
}

std::optional<std::string> repo_name_error(std::string_view name) {
  if (name.empty() || name.size() > 100) return "name must be 1 to 100 characters";
  if (name == "." || name == "..") return "name cannot be '.' or '..'";
  for (char c : name)
    if (!is_alnum(c) && c != '.' && c != '_' && c != '-')
      return "name may only contain ASCII letters, digits, '.', '-' and '_'";
  auto folded = fold_case(name);
  if (folded.size() >= 4 && folded.compare(folded.size() - 4, 4, ".git") == 0)
    return "name cannot end with '.git'";
  return std::nullopt;
}

std::optional<std::string> ref_name_error(std::string_view ref) {
  // Guts policy on top of git's rules: only full names under refs/, and not refs/heads or
  // refs/tags themselves (git accepts both as two-component names).
  if (ref.substr(0, 5) != "refs/") return "ref name must start with 'refs/'";
  if (ref == "refs/heads" || ref == "refs/tags") return "ref name has too few components";
  if (auto e = git::ref_name_error(ref); !e.empty()) return e;
  return std::nullopt;
}

std::optional<std::string> branch_name_error(std::string_view branch) {
  if (branch.empty()) return "branch name is empty";
  if (branch.front() == '-') return "branch name may not begin with '-'";
  if (branch == "HEAD") return "branch name may not be 'HEAD'";
  return ref_name_error("refs/heads/" + std::string(branch));
}

}  // namespace guts::state
