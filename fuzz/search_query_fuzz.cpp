// Search queries (search/query.h) come from anyone: parse_query either returns a bounded query
// or throws guts::Error; the FTS5 expression built from it quotes every term.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/status.h"
#include "search/query.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view q(reinterpret_cast<const char*>(data), size);
  try {
    auto query = guts::search::parse_query(q);
    if (query.terms.size() > guts::search::kMaxTokens) __builtin_trap();
    auto expr = guts::search::fts_match(query.terms, query.in, false);
    // Every quote inside a term is doubled: the expression has an even number of quotes.
    size_t quotes = 0;
    for (char c : expr) quotes += c == '"';
    if (quotes % 2 != 0) __builtin_trap();
  } catch (const guts::Error&) {
  }
  return 0;
}
