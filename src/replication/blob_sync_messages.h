// Messages of the blob replication channel (p2p channel 8, p2p::channel::kBlobs;
// replication/blob_sync.h, docs/blobs.md "Replication"), in the canonical codec: first byte =
// type, every field bounded, trailing bytes rejected, so decode(encode(m)) == m and
// encode(decode(b)) == b for every accepted b.
//
//   1 BlobGet      request id varint | repo id varint | sha256[32] | offset varint
//                  | length varint (1 ≤ length ≤ kMaxBlobChunk)
//   2 BlobData     request id varint | total size varint | bytes (≤ kMaxBlobChunk)
//   3 BlobMissing  request id varint | reason str (printable ASCII, ≤ 1 KiB)
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <variant>

#include "core/bytes.h"

namespace guts::replication::blobwire {

inline constexpr uint8_t kBlobGet = 1;
inline constexpr uint8_t kBlobData = 2;
inline constexpr uint8_t kBlobMissing = 3;

inline constexpr size_t kMaxBlobChunk = 1 << 20;
inline constexpr size_t kMaxReasonBytes = 1024;

struct BlobGet {
  uint64_t request_id = 0;
  uint64_t repo_id = 0;
  std::array<uint8_t, 32> sha256{};
  uint64_t offset = 0;
  uint64_t length = 0;
  bool operator==(const BlobGet&) const = default;
};
// The bytes [offset, offset + data.size()) of the blob asked for; `total` is its size.
struct BlobData {
  uint64_t request_id = 0;
  uint64_t total = 0;
  Bytes data;
  bool operator==(const BlobData&) const = default;
};
struct BlobMissing {
  uint64_t request_id = 0;
  std::string reason;
  bool operator==(const BlobMissing&) const = default;
};

using Message = std::variant<BlobGet, BlobData, BlobMissing>;

// Throws guts::Error(kInvalidArgument) for a message that would not decode (a bound exceeded).
Bytes encode(const Message& m);
// Throws codec::DecodeError on any malformed input.
Message decode(ByteView data);

}  // namespace guts::replication::blobwire
