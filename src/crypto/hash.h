#pragma once

#include <sodium.h>

#include "core/bytes.h"

namespace guts::crypto {

Digest sha256(ByteView data);
inline Digest sha256(std::string_view s) {
  return sha256(as_bytes(s));
}

// Incremental SHA-256 for streamed or multi-part input.
class Sha256 {
 public:
  Sha256();
  Sha256& update(ByteView data);
  Sha256& update(std::string_view s) { return update(as_bytes(s)); }
  Digest finish();

 private:
  crypto_hash_sha256_state st_;
};

// Fills `out` from the operating system's CSPRNG.
void random_bytes(uint8_t* out, size_t n);
template <size_t N>
std::array<uint8_t, N> random_array() {
  std::array<uint8_t, N> a;
  random_bytes(a.data(), N);
  return a;
}

// Calls sodium_init() once; every entry point of this module calls it.
void ensure_sodium();

}  // namespace guts::crypto
