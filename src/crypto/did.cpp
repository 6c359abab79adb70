#include "crypto/did.h"

#include "core/base58.h"

namespace guts::crypto {

static constexpr std::string_view kPrefix = "did:key:z";

std::string did_from_key(const PublicKey& pk) {
  Bytes raw{0xed, 0x01};
  raw.insert(raw.end(), pk.begin(), pk.end());
  return std::string(kPrefix) + base58_encode(raw);
}

std::optional<PublicKey> parse_did(std::string_view did) {
  // 34 bytes encode to at most 47 base58 characters.
  if (did.size() > kPrefix.size() + 48 || did.substr(0, kPrefix.size()) != kPrefix)
    return std::nullopt;
  auto raw = base58_decode(did.substr(kPrefix.size()), 64);
  if (!raw || raw->size() != 34 || (*raw)[0] != 0xed || (*raw)[1] != 0x01) return std::nullopt;
  PublicKey pk;
  std::copy(raw->begin() + 2, raw->end(), pk.begin());
  if (!is_valid_public_key(pk)) return std::nullopt;
  if (did_from_key(pk) != did) return std::nullopt;  // one spelling per key
  return pk;
}

}  // namespace guts::crypto
