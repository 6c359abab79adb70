// A finalization head: the message that proves a block final to a node that does not vote
// (a full node, finality/relay_core.h). It carries a finalization certificate — ≥ q validator
// signatures over (view, parent view, block id) — and the height of that block. The height is
// not signed: a follower learns the real height from the block it fetches by id.
//
// Message bytes (tag first, so that one channel can carry requests too):
//   kHead     0x00 ‖ u64be height ‖ bytes(certificate)   certificate ≤ 64 KiB, finalize kind
//   kGetHead  0x01                                        "send me your newest head"
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "consensus/types.h"

namespace guts::consensus {

inline constexpr uint8_t kHead = 0;
inline constexpr uint8_t kGetHead = 1;
inline constexpr size_t kMaxCertificateBytes = 64 << 10;

struct FinalityHead {
  uint64_t height = 0;
  View view = 0;
  Digest block{};
  Bytes certificate;  // encoded Certificate (finalize)
};

// The whole kHead message, tag included.
Bytes encode_head(const FinalityHead& head);

// The view a kHead body claims, without checking its signatures (to drop stale heads cheaply
// before verifying). Throws codec::DecodeError when malformed.
View head_view(ByteView body);

// Decodes a kHead body (the bytes after the tag) and verifies its certificate against the
// validator set of namespace `ns`. Throws codec::DecodeError when malformed; nullopt when the
// certificate is not a valid finalization (wrong kind, too few signers, a bad signature).
std::optional<FinalityHead> verify_head(ByteView body, std::string_view ns,
                                        const std::vector<crypto::PublicKey>& validators);

}  // namespace guts::consensus
