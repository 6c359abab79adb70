// The issue list filter (web/issue_query.h) on arbitrary bytes: never crashes, stays within its
// bounds, and formatting a parsed query parses back to the same query (when it fits the bound).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "web/issue_query.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto q = guts::web::parse_issue_query(in);
  if (q.labels.size() + q.words.size() > guts::web::kMaxQueryTerms) std::abort();
  std::string text = guts::web::format_issue_query(q);
  // Quoting may make the text longer than the input; within the bound it parses back the same.
  if (text.size() <= guts::web::kMaxQueryBytes && !(guts::web::parse_issue_query(text) == q))
    std::abort();
  return 0;
}
