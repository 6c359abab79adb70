// Ed25519 identities (libsodium; strict, deterministic verification on every node) and
// domain-separated signing: every signature covers varint(len(domain)) || domain || payload,
// where domain is a namespace plus a purpose ("guts/tx", "guts/<chain>/notarize", ...), so a
// signature made for one purpose can never be replayed as another.
#pragma once

#include <array>
#include <string_view>

#include "core/bytes.h"

namespace guts::crypto {

using PublicKey = std::array<uint8_t, 32>;
using Signature = std::array<uint8_t, 64>;
using Seed = std::array<uint8_t, 32>;

// The exact bytes that are signed for `payload` under `domain`.
Bytes domain_message(std::string_view domain, ByteView payload);

class SigningKey {
 public:
  static SigningKey generate();  // 32-byte seed from the CSPRNG
  static SigningKey from_seed(const Seed& seed);

  SigningKey(const SigningKey& other);
  SigningKey& operator=(const SigningKey& other);
  ~SigningKey();

  const PublicKey& public_key() const { return pk_; }
  const Seed& seed() const { return seed_; }

  Signature sign_raw(ByteView message) const;
  Signature sign(std::string_view domain, ByteView payload) const;

 private:
  SigningKey() = default;
  Seed seed_{};
  PublicKey pk_{};
  std::array<uint8_t, 64> sk_{};
};

bool verify_raw(const PublicKey& pk, ByteView message, const Signature& sig);
bool verify(const PublicKey& pk, std::string_view domain, ByteView payload, const Signature& sig);

// True if pk is a valid, non-small-order curve point (what a did:key must hold).
bool is_valid_public_key(const PublicKey& pk);

}  // namespace guts::crypto
