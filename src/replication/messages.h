// Messages of the git replication channel (p2p channel 4, docs/git.md "Replication"), in the
// canonical codec (src/codec): first byte = type, every field bounded, trailing bytes rejected,
// so decode(encode(m)) == m and encode(decode(b)) == b for every accepted b.
//
//   1 Want       request id varint | repo id varint | count ‖ oid[20] × n (wants, ≥ 1)
//                | count ‖ oid[20] × n (haves)
//   2 PackChunk  request id varint | seq varint | last bool | bytes (≤ 1 MiB)
//   3 NotFound   request id varint | reason str (≤ 1 KiB)
//   4 Inventory  hosts_all bool | count ‖ repo id varint × n (strictly increasing; empty when
//                hosts_all)
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "core/bytes.h"

namespace guts::replication::wire {

inline constexpr uint8_t kWant = 1;
inline constexpr uint8_t kPackChunk = 2;
inline constexpr uint8_t kNotFound = 3;
inline constexpr uint8_t kInventory = 4;

inline constexpr size_t kMaxChunkBytes = 1 << 20;
inline constexpr size_t kMaxWants = 65536;
inline constexpr size_t kMaxHaves = 65536;
inline constexpr size_t kMaxReasonBytes = 1024;
inline constexpr size_t kMaxInventoryRepos = 1 << 20;

using Oid = std::array<uint8_t, 20>;

struct Want {
  uint64_t request_id = 0;
  uint64_t repo_id = 0;
  std::vector<Oid> wants;
  std::vector<Oid> haves;
  bool operator==(const Want&) const = default;
};
struct PackChunk {
  uint64_t request_id = 0;
  uint64_t seq = 0;
  bool last = false;
  Bytes data;
  bool operator==(const PackChunk&) const = default;
};
struct NotFound {
  uint64_t request_id = 0;
  std::string reason;
  bool operator==(const NotFound&) const = default;
};
struct Inventory {
  bool hosts_all = false;
  std::vector<uint64_t> repos;  // sorted, unique
  bool operator==(const Inventory&) const = default;
};

using Message = std::variant<Want, PackChunk, NotFound, Inventory>;

// Throws guts::Error(kInvalidArgument) for a message that would not decode (over a bound,
// unsorted inventory, empty wants): the sender's bug, never sent.
Bytes encode(const Message& m);
// Throws codec::DecodeError on any malformed input.
Message decode(ByteView data);

// Hex (40 lower-case digits) <-> binary oid; from_hex throws guts::Error(kInvalidArgument).
std::string to_hex(const Oid& oid);
Oid from_hex(std::string_view hex);

}  // namespace guts::replication::wire
