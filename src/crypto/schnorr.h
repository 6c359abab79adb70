// BIP-340 Schnorr signatures over secp256k1 (libsecp256k1), the keys and signatures of Nostr
// (NIP-01). Guts uses them only for the Nostr bridge: an identity binds one secp256k1 key
// (kind 75 `bind_nostr_key`, docs/nostr.md) and the bridge signs Nostr events with it.
//
// Public keys are x-only (32 bytes); messages are 32-byte digests (a Nostr event id).
#pragma once

#include <array>
#include <cstdint>

namespace guts::crypto {

using XOnlyPublicKey = std::array<uint8_t, 32>;
using SchnorrSignature = std::array<uint8_t, 64>;
using Digest32 = std::array<uint8_t, 32>;  // the same type as guts::Digest

class SchnorrKey {
 public:
  // A fresh secret from the CSPRNG (retried in the negligible case it is not a valid scalar).
  static SchnorrKey generate();
  // Throws guts::Error when the 32 bytes are not a valid secret (zero or >= the group order).
  static SchnorrKey from_secret(const std::array<uint8_t, 32>& secret);

  SchnorrKey(const SchnorrKey& other) = default;
  SchnorrKey& operator=(const SchnorrKey& other) = default;
  ~SchnorrKey();

  const XOnlyPublicKey& public_key() const { return pk_; }
  const std::array<uint8_t, 32>& secret() const { return secret_; }

  // BIP-340 signature of a 32-byte message, with fresh auxiliary randomness.
  SchnorrSignature sign(const Digest32& message) const;

 private:
  SchnorrKey() = default;
  std::array<uint8_t, 32> secret_{};
  XOnlyPublicKey pk_{};
};

// False for an invalid key (not an x coordinate on the curve) or a wrong signature.
bool schnorr_verify(const XOnlyPublicKey& pk, const Digest32& message, const SchnorrSignature& sig);

// True when pk is the x coordinate of a curve point (a usable x-only public key).
bool is_valid_xonly_public_key(const XOnlyPublicKey& pk);

}  // namespace guts::crypto
