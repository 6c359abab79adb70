// Release and release-asset records (state/release.h) from arbitrary bytes: decoding either
// fails with DecodeError or yields a record whose encoding is exactly the input. (Release
// transaction bodies are covered by tx_decode_fuzz.)
#include <cstdlib>

#include "codec/codec.h"
#include "state/release.h"

using namespace guts;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  try {
    if (state::encode_release(state::decode_release(input)) != input) std::abort();
  } catch (const codec::DecodeError&) {
  }
  try {
    if (state::encode_release_asset(state::decode_release_asset(input)) != input) std::abort();
  } catch (const codec::DecodeError&) {
  }
  return 0;
}
