// A test helper of the Nostr unit tests: the error a call throws.
#pragma once

#include <string>
#include <utility>

#include "core/status.h"

namespace guts::nostr::testing {

// The code and message of the guts::Error `f` throws (kOk and "" when it throws none).
template <typename F>
std::pair<Code, std::string> error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return {e.code(), e.what()};
  }
  return {Code::kOk, ""};
}

}  // namespace guts::nostr::testing
