// A run's trace hash (FNV-1a over every processed event): the same seed and script give the
// same hash, so a replay is checked bit for bit.
#pragma once

#include <cstdint>

#include "core/bytes.h"

namespace guts::sim {

class Trace {
 public:
  void mix(uint64_t v) {
    for (int i = 0; i < 8; ++i) byte(static_cast<uint8_t>(v >> (8 * i)));
  }
  void mix(ByteView b) {
    for (uint8_t c : b) byte(c);
  }
  uint64_t hash() const { return h_; }

 private:
  void byte(uint8_t c) {
    h_ ^= c;
    h_ *= 0x100000001b3ull;
  }
  uint64_t h_ = 0xcbf29ce484222325ull;
};

}  // namespace guts::sim
