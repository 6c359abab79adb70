// A finalization head: the message that proves a block final to a node that does not vote
// (a full node, finality/relay_core.h). It carries a finalization certificate — ≥ q validator
// signatures over (view, parent view, block id) — and the height of that block. The height is
// not signed: a follower learns the real height from the block it fetches by id.
//
// Message bytes (tag first, so that one channel can carry requests too):
//   kHead       0x00 ‖ u64be height ‖ bytes(certificate)   certificate ≤ 64 KiB, finalize kind
//   kGetHead    0x01                                       "send me your newest head"
//   kGetHandOver 0x02 ‖ u64be epoch                        "send me the head that ends epoch N"
//
// The certificate's round names its epoch: a head is verified against that epoch's validator set
// (docs/consensus.md "Epochs"). The head of the last block of an epoch, signed by that epoch's
// set, is its hand-over: a node that only knows the old set follows it to the block whose state
// names the next one.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "consensus/types.h"

namespace guts::consensus {

inline constexpr uint8_t kHead = 0;
inline constexpr uint8_t kGetHead = 1;
inline constexpr uint8_t kGetHandOver = 2;
inline constexpr size_t kMaxCertificateBytes = 64 << 10;

struct FinalityHead {
  uint64_t height = 0;
  View view = 0;
  Digest block{};
  Bytes certificate;  // encoded Certificate (finalize)
  Epoch epoch = 0;    // the certificate's epoch
};

// The whole kHead message, tag included.
Bytes encode_head(const FinalityHead& head);

// The view a kHead body claims, without checking its signatures (to drop stale heads cheaply
// before verifying). Throws codec::DecodeError when malformed.
View head_view(ByteView body);
// The round (epoch and view) a kHead body claims, unverified; throws codec::DecodeError.
Round head_round(ByteView body);

// Decodes a kHead body WITHOUT verifying its certificate (a head this node verified before and
// kept on disk). Throws codec::DecodeError when malformed.
FinalityHead decode_head(ByteView body);

// Decodes a kHead body (the bytes after the tag) and verifies its certificate against the
// validator set of namespace `ns`. Throws codec::DecodeError when malformed; nullopt when the
// certificate is not a valid finalization (wrong kind, too few signers, a bad signature).
std::optional<FinalityHead> verify_head(ByteView body, std::string_view ns,
                                        const std::vector<crypto::PublicKey>& validators);

}  // namespace guts::consensus
