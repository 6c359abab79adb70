// Placeholder identities (state/placeholder.h) from arbitrary bytes: the origin-line parser
// (run on every migrated-looking body REST renders) answers only names that pass the name
// rules, and the claim and confirmation records decode exactly or fail with DecodeError.
// (Kinds 65-66 bodies are covered by tx_decode_fuzz.)
#include <cstdlib>

#include "codec/codec.h"
#include "state/placeholder.h"

using namespace guts;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  if (auto o = state::parse_origin_author(input)) {
    if (state::placeholder_host_error(o->host) || state::placeholder_login_error(o->login))
      std::abort();
  }
  try {
    auto c = state::decode_placeholder_claim(input);
    if (state::encode_placeholder_claim(c) != input) std::abort();
  } catch (const codec::DecodeError&) {
  }
  try {
    auto c = state::decode_placeholder_confirmation(input);
    if (state::encode_placeholder_confirmation(c) != input) std::abort();
  } catch (const codec::DecodeError&) {
  }
  return 0;
}
