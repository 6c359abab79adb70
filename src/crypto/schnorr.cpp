#include "crypto/schnorr.h"

#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>
#include <sodium.h>

#include "core/status.h"
#include "crypto/hash.h"

namespace guts::crypto {
namespace {

// One context for the process. Created with SECP256K1_CONTEXT_NONE (signing and verification
// both work with it since 0.2) and randomized once against side channels; libsecp256k1 allows
// concurrent use of a context for everything but randomization.
const secp256k1_context* context() {
  static const secp256k1_context* ctx = [] {
    secp256k1_context* c = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    auto seed = random_array<32>();
    if (secp256k1_context_randomize(c, seed.data()) != 1) {
      throw Error(Code::kInternal, "secp256k1: cannot randomize the context");
    }
    return c;
  }();
  return ctx;
}

}  // namespace

SchnorrKey SchnorrKey::generate() {
  for (;;) {
    auto secret = random_array<32>();
    if (secp256k1_ec_seckey_verify(context(), secret.data()) == 1) return from_secret(secret);
  }
}

SchnorrKey SchnorrKey::from_secret(const std::array<uint8_t, 32>& secret) {
  secp256k1_keypair kp;
  if (secp256k1_keypair_create(context(), &kp, secret.data()) != 1) {
    throw Error(Code::kInvalidArgument, "not a valid secp256k1 secret key");
  }
  secp256k1_xonly_pubkey xonly;
  if (secp256k1_keypair_xonly_pub(context(), &xonly, nullptr, &kp) != 1) {
    throw Error(Code::kInternal, "secp256k1: cannot derive the public key");
  }
  SchnorrKey k;
  k.secret_ = secret;
  if (secp256k1_xonly_pubkey_serialize(context(), k.pk_.data(), &xonly) != 1) {
    throw Error(Code::kInternal, "secp256k1: cannot serialize the public key");
  }
  sodium_memzero(&kp, sizeof kp);
  return k;
}

SchnorrKey::~SchnorrKey() {
  sodium_memzero(secret_.data(), secret_.size());
}

SchnorrSignature SchnorrKey::sign(const Digest32& message) const {
  secp256k1_keypair kp;
  if (secp256k1_keypair_create(context(), &kp, secret_.data()) != 1) {
    throw Error(Code::kInternal, "secp256k1: invalid key");
  }
  auto aux = random_array<32>();
  SchnorrSignature sig{};
  int ok = secp256k1_schnorrsig_sign32(context(), sig.data(), message.data(), &kp, aux.data());
  sodium_memzero(&kp, sizeof kp);
  if (ok != 1) throw Error(Code::kInternal, "secp256k1: signing failed");
  return sig;
}

bool schnorr_verify(const XOnlyPublicKey& pk, const Digest32& message,
                    const SchnorrSignature& sig) {
  secp256k1_xonly_pubkey xonly;
  if (secp256k1_xonly_pubkey_parse(context(), &xonly, pk.data()) != 1) return false;
  return secp256k1_schnorrsig_verify(context(), sig.data(), message.data(), message.size(),
                                     &xonly) == 1;
}

bool is_valid_xonly_public_key(const XOnlyPublicKey& pk) {
  secp256k1_xonly_pubkey xonly;
  return secp256k1_xonly_pubkey_parse(context(), &xonly, pk.data()) == 1;
}

}  // namespace guts::crypto
