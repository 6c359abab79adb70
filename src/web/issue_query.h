// The filter of the issue and pull request lists (docs/web.md "Filtering issues and pull
// requests"): GitHub's search qualifiers in one `q` parameter, e.g.
//   is:open label:bug label:"help wanted" author:alice assignee:bob milestone:"v1.0" crash
// is:open|closed|merged|all, label: (every one required), author:, assignee:, milestone:,
// no:label|assignee|milestone, and free words that must all occur in the title (any case).
// Values with spaces are double-quoted. is:issue / is:pr are accepted and ignored (the page
// decides). An unknown qualifier is a free word. Pure (no state), so it is fuzzed alone
// (fuzz/issue_query_fuzz.cpp).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace guts::web {

struct IssueQuery {
  std::string state = "open";  // open, closed, merged, all
  std::vector<std::string> labels;
  std::optional<std::string> author, assignee, milestone;
  bool no_label = false, no_assignee = false, no_milestone = false;
  std::vector<std::string> words;

  // Anything beyond the state (the list must then be scanned and filtered).
  bool filtered() const;
};

// Bounds: the first kMaxQueryBytes bytes and kMaxQueryTerms terms (is: and state: not counted)
// are read, the rest ignored; each value is cut at 256 bytes.
inline constexpr size_t kMaxQueryBytes = 1024;
inline constexpr size_t kMaxQueryTerms = 24;

IssueQuery parse_issue_query(std::string_view q);
// The canonical text of a query (state first, then the qualifiers, then the words), such that
// parse_issue_query(format_issue_query(x)) == x for a parsed x whose text fits kMaxQueryBytes.
std::string format_issue_query(const IssueQuery& q);
// ASCII case-insensitive equality and substring search (labels, logins, titles).
bool iequals(std::string_view a, std::string_view b);
bool icontains(std::string_view haystack, std::string_view needle);

bool operator==(const IssueQuery& a, const IssueQuery& b);

}  // namespace guts::web
