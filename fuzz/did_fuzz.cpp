// did:key parsing on arbitrary text: accepted dids round-trip exactly.
#include <cstdlib>
#include <string_view>

#include "crypto/did.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto pk = guts::crypto::parse_did(text)) {
    if (guts::crypto::did_from_key(*pk) != text) std::abort();
  }
  return 0;
}
