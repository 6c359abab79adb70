// CODEOWNERS parser and matcher (state/codeowners.h) on untrusted file contents: a repository's
// CODEOWNERS is read by every validator when a protected merge needs code owners' reviews.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "state/codeowners.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto f = guts::state::parse_codeowners(text);
  // Match the file's own lines' patterns (as paths) against every rule.
  size_t n = 0;
  for (const auto& r : f.rules) {
    if (++n > 64) break;
    (void)guts::state::codeowners_for(f, r.pattern);
    (void)guts::state::codeowners_for(f, "src/a/b.c");
  }
  return 0;
}
