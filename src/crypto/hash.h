#pragma once

#include <sodium.h>

#include "core/bytes.h"

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace guts::crypto {

Digest sha256(ByteView data);
inline Digest sha256(std::string_view s) {
  return sha256(as_bytes(s));
}

// Incremental SHA-256 for streamed or multi-part input. Move-only.
//
// SHA-256 is OpenSSL's (libcrypto), not libsodium's: OpenSSL uses the CPU's SHA extensions
// where it has them, about 3x faster for the 65-byte inputs of the repository tree's nodes and
// 4x for long inputs on the development machine (docs/benchmarks.md, "The repository tree's
// share of a block"). libsodium stays for Ed25519, the CSPRNG and Noise.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&& other) noexcept;
  Sha256& operator=(Sha256&& other) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  Sha256& update(ByteView data);
  Sha256& update(std::string_view s) { return update(as_bytes(s)); }
  // The digest of everything given so far; the object is spent afterwards.
  Digest finish();

 private:
  evp_md_ctx_st* ctx_;
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
