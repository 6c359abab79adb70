// GitHub's search syntax, the subset Guts answers (docs/search.md): free-text terms and
// "quoted phrases", plus qualifiers `repo:owner/name`, `user:`/`org:` (owner), `is:` (issue, pr,
// open, closed, merged, public, private), `type:` (issue, pr), `state:` (open, closed),
// `author:`, `label:`, `in:` (title, body, comments; name, description; file, path), `path:`
// and `extension:` (code). A qualifier Guts does not know is searched as text, as GitHub does.
//
// Pure and bounded: the query string is at most kMaxQueryBytes, with at most kMaxTokens terms
// and qualifiers; anything else is a clear error. The FTS5 expressions built from it quote
// every term, so no user input is ever parsed as FTS5 syntax.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace guts::search {

inline constexpr size_t kMaxQueryBytes = 256;  // GitHub's limit
inline constexpr size_t kMaxTokens = 16;

struct Query {
  std::vector<std::string> terms;    // free text (words and phrases), in order
  std::optional<std::string> repo;   // "owner/name"
  std::optional<std::string> owner;  // user: or org:
  std::optional<bool> is_pull;
  std::optional<bool> open;  // state: open (true) / closed (false)
  bool merged = false;       // is:merged
  std::optional<bool> is_private;
  std::optional<std::string> author;
  std::vector<std::string> labels;       // all must be present
  std::vector<std::string> in;           // fields the terms must occur in (empty: all)
  std::optional<std::string> path;       // code: path prefix or substring
  std::optional<std::string> extension;  // code: file extension without the dot
};

// Throws guts::Error(kInvalidArgument) with a message naming the problem (too long, too many
// terms, an unterminated quote, an empty qualifier value, an invalid is:/state:/in: value).
Query parse_query(std::string_view q);

// An FTS5 MATCH expression for the terms, restricted to `columns` when not empty (each must be
// a column of the table); every term is a quoted string. `prefix`: each term also matches as a
// prefix (names). Empty when there are no terms.
std::string fts_match(const std::vector<std::string>& terms,
                      const std::vector<std::string>& columns, bool prefix);

}  // namespace guts::search
