// Binding a Nostr key to a Guts identity (issue 18 point 4; docs/nostr.md "Binding a key").
//
// Kind 75 `bind_nostr_key` binds one secp256k1 x-only key (Nostr's) to the author, with two
// signatures: the transaction's own (Ed25519, the author's key only: no node may bind on a
// user's behalf) says "this Nostr key speaks for me", and a BIP-340 signature by the Nostr key
// over the binding statement says "this identity may use me":
//
//   guts nostr binding v1
//   chain: CHAIN_ID
//   identity: did:key:...
//   nostr: HEX_PUBKEY
//
// signed as its SHA-256 digest. The chain id keeps a statement from being replayed on another
// network; naming the Nostr key keeps it from being reused for another one. Validators verify
// the Schnorr signature, so anyone reading the state (or a Nostr client given the statement) can
// check the binding without trusting a node. A key is bound to at most one identity and an
// identity binds at most one key: binding a new key replaces the old one; `unbind` removes it.
//
// Layout, in the `governance` family (tag 'N', not used by other features):
//   Nu·user pk32 → NostrBinding record (x-only key, signature, time)
//   Nk·xonly32   → user pk32
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/ed25519.h"
#include "crypto/schnorr.h"

namespace guts::codec {
class Writer;
class Reader;
}  // namespace guts::codec

namespace guts::state {

// Kind 75, the author's own key.
struct BindNostrKey {
  crypto::XOnlyPublicKey pubkey{};  // the Nostr key (unbind: zero)
  crypto::SchnorrSignature sig{};   // by pubkey over nostr_binding_digest (unbind: zero)
  bool unbind = false;
};

struct NostrBinding {
  crypto::XOnlyPublicKey pubkey{};
  crypto::SchnorrSignature sig{};  // the key's signature of the statement (kept to be shown)
  uint64_t bound_at_ms = 0;
};

// The statement the Nostr key signs, and its digest (what BIP-340 signs).
std::string nostr_binding_statement(std::string_view chain_id, const crypto::PublicKey& identity,
                                    const crypto::XOnlyPublicKey& pubkey);
crypto::Digest32 nostr_binding_digest(std::string_view chain_id, const crypto::PublicKey& identity,
                                      const crypto::XOnlyPublicKey& pubkey);
// A signed binding body, made by the holder of both keys (the CLI).
BindNostrKey make_nostr_binding(std::string_view chain_id, const crypto::PublicKey& identity,
                                const crypto::SchnorrKey& nostr_key);

void encode_bind_nostr_key(codec::Writer& w, const BindNostrKey& b);
BindNostrKey decode_bind_nostr_key(codec::Reader& r);  // throws codec::DecodeError
std::string encode_nostr_binding(const NostrBinding& b);
NostrBinding decode_nostr_binding(std::string_view data);  // throws codec::DecodeError

std::string nostr_binding_key(const crypto::PublicKey& user);
std::string nostr_key_owner_key(const crypto::XOnlyPublicKey& pubkey);

}  // namespace guts::state
