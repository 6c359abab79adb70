#pragma once

#include <sodium.h>

#include <span>

#include "core/bytes.h"

namespace guts::crypto {

Digest sha256(ByteView data);
inline Digest sha256(std::string_view s) {
  return sha256(as_bytes(s));
}

// Incremental SHA-256 for streamed or multi-part input. Copyable; no allocation.
//
// SHA-256 is OpenSSL's (libcrypto), not libsodium's: OpenSSL uses the CPU's SHA extensions
// where it has them, about 3x faster for the 65-byte inputs of the repository tree's nodes and
// 4x for long inputs on the development machine (docs/benchmarks.md, "The repository tree's
// share of a block"). Its low-level SHA256_* functions, not EVP: an EVP context re-creates its
// provider state at each initialisation, 160 ns per 65-byte hash against 98 ns (a standalone
// test). They are deprecated in OpenSSL 3 but built by default (docs/building.md). libsodium stays
// for Ed25519, the CSPRNG and Noise.
class Sha256 {
 public:
  Sha256();
  Sha256& update(ByteView data);
  Sha256& update(std::string_view s) { return update(as_bytes(s)); }
  // The digest of everything given so far; the object is spent afterwards.
  Digest finish();

 private:
  // OpenSSL's SHA256_CTX, held here without its header (sizes checked in hash.cpp).
  alignas(8) std::array<uint8_t, 112> state_;
};

// A 65-byte message: one node of the repository tree (a tag ‖ two digests, state/smt_proof.h).
using Block65 = std::array<uint8_t, 65>;
// out[i] = sha256(in[i]) for each i; `out` holds at least as many. With the CPU's SHA
// extensions (x86) four messages are hashed at once, their instructions interleaved: 1.9x
// OpenSSL's one at a time (sha256_pairs.cpp). Without them, or with `cpu_extensions` false (for
// tests), one by one with sha256().
void sha256_65(std::span<const Block65> in, std::span<Digest> out, bool cpu_extensions = true);
// The same for messages of any length: those that take as many 64-byte blocks go together.
void sha256_many(std::span<const ByteView> in, std::span<Digest> out, bool cpu_extensions = true);
bool sha256_65_uses_cpu_extensions();

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
