// NIP-19: the bech32 names people copy and paste, never used inside events.
//
//   npub1...  a 32-byte x-only public key      nsec1...  a 32-byte secret key
//   note1...  a 32-byte event id               naddr1... an addressable event (kind:pubkey:d)
//                                                        with relay hints, as TLV records
//
// The encoding is bech32 (BIP-173), NOT bech32m. Bech32's 90-character limit is lifted to
// kMaxBech32Length, as in nostr-tools, because an naddr with relays is longer. Decoders throw
// guts::Error(kMalformed) naming the problem (bad checksum, wrong prefix, wrong length);
// encoders throw guts::Error(kInvalidArgument) for arguments that have no encoding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "crypto/schnorr.h"

namespace guts::nostr {

inline constexpr size_t kMaxBech32Length = 5000;

// Plain bech32 of `data` (8-bit bytes regrouped in 5-bit words) under a lowercase `hrp`.
std::string bech32_encode(std::string_view hrp, ByteView data);
struct Bech32 {
  std::string hrp;  // lowercase
  Bytes data;
};
// All-lowercase or all-uppercase text (never mixed, per BIP-173), a valid bech32 checksum (not
// bech32m), and zero padding bits.
Bech32 bech32_decode(std::string_view text, size_t max_length = kMaxBech32Length);

std::string npub_encode(const crypto::XOnlyPublicKey& pk);
// The key is not checked to be on the curve (crypto::is_valid_xonly_public_key does that).
crypto::XOnlyPublicKey npub_decode(std::string_view text);

std::string nsec_encode(const std::array<uint8_t, 32>& secret);
std::array<uint8_t, 32> nsec_decode(std::string_view text);

// note1... of an event id given as 64 lowercase hex, and back to the hex.
std::string note_encode(std::string_view event_id_hex);
std::string note_decode(std::string_view text);

// naddr1... of the addressable event <kind>:<pubkey>:<d> (NIP-34 repositories are kind 30617).
// TLV records: 0 = d (UTF-8), 1 = relay URL (one per relay), 2 = author (32 bytes), 3 = kind
// (32-bit big-endian), written in nostr-tools' order (3, 2, 1..., 0) so both produce the same
// text. d and every relay are at most 255 bytes (one length byte).
std::string naddr_encode(std::string_view d, const std::string& pubkey_hex, uint32_t kind,
                         const std::vector<std::string>& relays);
struct Naddr {
  std::string d;
  std::string pubkey;  // 64 lowercase hex
  uint32_t kind = 0;
  std::vector<std::string> relays;
  bool operator==(const Naddr&) const = default;
};
// Requires one d, one 32-byte author and one 4-byte kind record; records of unknown types are
// skipped, as NIP-19 asks.
Naddr naddr_decode(std::string_view text);

}  // namespace guts::nostr
