#include "crypto/hash.h"

#include <mutex>
#include <stdexcept>

namespace guts::crypto {

void ensure_sodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) throw std::runtime_error("libsodium initialisation failed");
  });
}

Digest sha256(ByteView data) {
  Digest out;
  crypto_hash_sha256(out.data(), data.data(), data.size());
  return out;
}

Sha256::Sha256() {
  crypto_hash_sha256_init(&st_);
}

Sha256& Sha256::update(ByteView data) {
  crypto_hash_sha256_update(&st_, data.data(), data.size());
  return *this;
}

Digest Sha256::finish() {
  Digest out;
  crypto_hash_sha256_final(&st_, out.data());
  return out;
}

void random_bytes(uint8_t* out, size_t n) {
  ensure_sodium();
  randombytes_buf(out, n);
}

}  // namespace guts::crypto
