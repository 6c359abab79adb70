// did:key identifiers for Ed25519 keys: "did:key:z" + base58btc(0xed 0x01 || public key).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "crypto/ed25519.h"

namespace guts::crypto {

std::string did_from_key(const PublicKey& pk);
// Rejects any other method, multibase, multicodec, length, or an invalid curve point.
std::optional<PublicKey> parse_did(std::string_view did);

}  // namespace guts::crypto
