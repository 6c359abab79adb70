// Finalization head messages from untrusted peers (consensus/head.h): any bytes either decode
// and verify, or raise codec::DecodeError / return nullopt — nothing else.
#include <cstddef>
#include <cstdint>

#include "codec/codec.h"
#include "consensus/head.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<guts::crypto::PublicKey> validators = [] {
    std::vector<guts::crypto::PublicKey> v;
    for (uint8_t i = 1; i <= 4; ++i) {
      guts::crypto::Seed s;
      s.fill(i);
      v.push_back(guts::crypto::SigningKey::from_seed(s).public_key());
    }
    return v;
  }();
  try {
    (void)guts::consensus::verify_head(guts::ByteView(data, size), "guts/fuzz", validators);
  } catch (const guts::codec::DecodeError&) {
  }
  return 0;
}
