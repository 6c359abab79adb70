#include "crypto/hash.h"

// SHA256_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP, which costs 60 % more
// per small hash (hash.h); they remain part of its API and use the same assembly.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <mutex>
#include <stdexcept>

namespace guts::crypto {

void ensure_sodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) throw std::runtime_error("libsodium initialisation failed");
  });
}

namespace {

SHA256_CTX* context(std::array<uint8_t, 112>& state) {
  static_assert(sizeof(SHA256_CTX) <= 112 && alignof(SHA256_CTX) <= 8);
  return reinterpret_cast<SHA256_CTX*>(state.data());
}

}  // namespace

Digest sha256(ByteView data) {
  SHA256_CTX ctx;
  Digest out;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, data.data(), data.size());
  SHA256_Final(out.data(), &ctx);
  return out;
}

Sha256::Sha256() {
  SHA256_Init(context(state_));
}

Sha256& Sha256::update(ByteView data) {
  SHA256_Update(context(state_), data.data(), data.size());
  return *this;
}

Digest Sha256::finish() {
  Digest out;
  SHA256_Final(out.data(), context(state_));
  return out;
}

void random_bytes(uint8_t* out, size_t n) {
  ensure_sodium();
  randombytes_buf(out, n);
}

}  // namespace guts::crypto
