// SSH public keys (state/ssh_keys.h): the OpenSSH one-line parser on arbitrary input, and the
// kind 60/61 bodies and the stored record. Accepted keys re-parse to the same blob from their
// canonical form; nothing crashes or reads out of bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "codec/codec.h"
#include "state/ssh_keys.h"

using namespace guts;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string why;
  if (auto k = state::parse_ssh_public_key(text, &why)) {
    auto again = state::parse_ssh_public_key(k->canonical());
    if (!again || again->blob != k->blob || again->type != k->type) std::abort();
    (void)k->fingerprint();
    (void)k->ed25519();
  }
  try {
    codec::Reader r(ByteView(data, size));
    (void)state::decode_add_ssh_key_body(r);
  } catch (const codec::DecodeError&) {
  }
  try {
    (void)state::decode_ssh_key(ByteView(data, size));
  } catch (const codec::DecodeError&) {
  }
  return 0;
}
