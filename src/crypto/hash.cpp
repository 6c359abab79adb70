#include "crypto/hash.h"

#include <openssl/evp.h>

#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <utility>

namespace guts::crypto {

void ensure_sodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) throw std::runtime_error("libsodium initialisation failed");
  });
}

namespace {

// Fetched once: an implicit fetch (EVP_sha256() in EVP_DigestInit_ex) costs a provider lookup
// per hash, as much as hashing a tree node.
const EVP_MD* sha256_md() {
  static EVP_MD* md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (!m) throw std::runtime_error("OpenSSL has no SHA-256");
    return m;
  }();
  return md;
}

void check(int ok) {
  if (ok != 1) throw std::runtime_error("OpenSSL SHA-256 failed");
}

EVP_MD_CTX* new_context() {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx) throw std::bad_alloc();
  return ctx;
}

}  // namespace

Digest sha256(ByteView data) {
  // One context per thread, reused: allocating one per hash would cost more than the hash.
  thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(new_context(),
                                                                           &EVP_MD_CTX_free);
  Digest out;
  unsigned int n = 0;
  check(EVP_DigestInit_ex(ctx.get(), sha256_md(), nullptr));
  check(EVP_DigestUpdate(ctx.get(), data.data(), data.size()));
  check(EVP_DigestFinal_ex(ctx.get(), out.data(), &n));
  return out;
}

Sha256::Sha256() : ctx_(new_context()) {
  if (EVP_DigestInit_ex(ctx_, sha256_md(), nullptr) != 1) {
    EVP_MD_CTX_free(ctx_);
    throw std::runtime_error("OpenSSL SHA-256 failed");
  }
}

Sha256::~Sha256() {
  EVP_MD_CTX_free(ctx_);
}

Sha256::Sha256(Sha256&& other) noexcept : ctx_(std::exchange(other.ctx_, nullptr)) {}

Sha256& Sha256::operator=(Sha256&& other) noexcept {
  std::swap(ctx_, other.ctx_);
  return *this;
}

Sha256& Sha256::update(ByteView data) {
  check(EVP_DigestUpdate(ctx_, data.data(), data.size()));
  return *this;
}

Digest Sha256::finish() {
  Digest out;
  unsigned int n = 0;
  check(EVP_DigestFinal_ex(ctx_, out.data(), &n));
  return out;
}

void random_bytes(uint8_t* out, size_t n) {
  ensure_sodium();
  randombytes_buf(out, n);
}

}  // namespace guts::crypto
