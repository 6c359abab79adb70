// CODEOWNERS (GitHub's format; docs/governance.md "Code owners"), read by branch protection's
// `require_code_owner_reviews`: a merge needs an approval from an owner of each changed path.
//
// The file is read at the base branch's tip, from the first of `.github/CODEOWNERS`,
// `CODEOWNERS`, `docs/CODEOWNERS` that exists. Each line is `pattern owner...`; `#` starts a
// comment (also after the owners); the LAST matching line decides a path's owners (a line
// without owners leaves the path unowned). Owners are `@user`, `@org/team` or an email
// address. Patterns follow GitHub's subset of gitignore:
//   - `*` matches any run of characters but `/`, `?` one character but `/`, `**` (a whole
//     segment) any number of directories;
//   - a leading `/`, or a `/` inside the pattern, anchors it at the repository root; otherwise
//     it matches at any depth (`*.js`, `docs`, `apps/`);
//   - a trailing `/` matches directories only (everything under them);
//   - a pattern whose last segment is literal (or `**`) also matches everything under a
//     directory of that name; one whose last segment has a wildcard matches files at that
//     level only (`docs/*` owns `docs/a.md`, not `docs/x/b.md`, as on GitHub).
// Not supported, as on GitHub: `!` negation, `[ ]` character classes, `\` escapes; such lines
// are errors and skipped (GitHub also skips lines with invalid syntax).
//
// Bounded: a file over kMaxCodeownersBytes is ignored entirely (GitHub ignores files over
// 3 MB), a line over kMaxCodeownersLine is skipped, at most kMaxCodeownersOwners owners per line.
// Pure and deterministic: every validator derives the same owners from the same bytes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace guts::state {

inline constexpr size_t kMaxCodeownersBytes = 512 * 1024;
inline constexpr size_t kMaxCodeownersLine = 4096;
inline constexpr size_t kMaxCodeownersOwners = 50;
inline constexpr size_t kMaxCodeownersSegments = 64;
// Where the file is looked for, in order (GitHub's).
inline constexpr std::string_view kCodeownersPaths[] = {".github/CODEOWNERS", "CODEOWNERS",
                                                        "docs/CODEOWNERS"};

struct CodeownersRule {
  std::string pattern;              // as written
  std::vector<std::string> owners;  // "@user", "@org/team", "user@example.com"
  size_t line = 0;                  // 1-based
  // Compiled form.
  std::vector<std::string> segments;
  bool dir_only = false;   // trailing '/'
  bool prefix_ok = false;  // also matches everything under a matching directory
};

struct Codeowners {
  std::vector<CodeownersRule> rules;
  std::vector<std::string> errors;  // "line N: why", for skipped lines
};

Codeowners parse_codeowners(std::string_view text);

// Whether `rule` matches the repository path `path` (no leading '/').
bool codeowners_rule_matches(const CodeownersRule& rule, std::string_view path);

// The last rule matching `path`, or null (unowned).
const CodeownersRule* codeowners_for(const Codeowners& file, std::string_view path);

}  // namespace guts::state
