#include "crypto/ed25519.h"

#include <sodium.h>

#include "codec/codec.h"
#include "crypto/hash.h"

namespace guts::crypto {

Bytes domain_message(std::string_view domain, ByteView payload) {
  codec::Writer w(domain.size() + payload.size() + 4);
  w.str(domain).fixed(payload);
  return w.take();
}

SigningKey SigningKey::generate() {
  return from_seed(random_array<32>());
}

SigningKey SigningKey::from_seed(const Seed& seed) {
  ensure_sodium();
  SigningKey k;
  k.seed_ = seed;
  crypto_sign_seed_keypair(k.pk_.data(), k.sk_.data(), seed.data());
  return k;
}

SigningKey::SigningKey(const SigningKey& other) = default;
SigningKey& SigningKey::operator=(const SigningKey& other) = default;

SigningKey::~SigningKey() {
  sodium_memzero(seed_.data(), seed_.size());
  sodium_memzero(sk_.data(), sk_.size());
}

Signature SigningKey::sign_raw(ByteView message) const {
  Signature sig;
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), sk_.data());
  return sig;
}

Signature SigningKey::sign(std::string_view domain, ByteView payload) const {
  return sign_raw(domain_message(domain, payload));
}

bool verify_raw(const PublicKey& pk, ByteView message, const Signature& sig) {
  ensure_sodium();
  return crypto_sign_verify_detached(sig.data(), message.data(), message.size(), pk.data()) == 0;
}

bool verify(const PublicKey& pk, std::string_view domain, ByteView payload, const Signature& sig) {
  return verify_raw(pk, domain_message(domain, payload), sig);
}

bool is_valid_public_key(const PublicKey& pk) {
  ensure_sodium();
  return crypto_core_ed25519_is_valid_point(pk.data()) == 1;
}

}  // namespace guts::crypto
