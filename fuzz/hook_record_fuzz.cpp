// Webhook records and URLs (state/hooks.h) from arbitrary bytes: decoding either fails with
// DecodeError or yields a record whose encoding is exactly the input; URL and event checks
// never crash. (Hook transaction bodies are covered by tx_decode_fuzz.)
#include <algorithm>
#include <cstdlib>

#include "codec/codec.h"
#include "state/hooks.h"

using namespace guts;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  try {
    auto h = state::decode_hook(input);
    auto again = state::encode_hook(h);
    if (again != input) std::abort();
    (void)h.wants("push");
  } catch (const codec::DecodeError&) {
  }
  (void)state::hook_url_error(std::string(input.substr(0, 4096)));
  (void)state::hook_events_error({std::string(input.substr(0, 64))});
  return 0;
}
