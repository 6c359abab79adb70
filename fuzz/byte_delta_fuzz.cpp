// Deltas between byte strings (codec/byte_delta.h) on arbitrary bytes: the first byte splits the
// input into a base and a delta; applying it either gives at most the bound's bytes, built only
// from the base and the delta's inserts, or throws codec::DecodeError. A string the builder makes
// from pieces of the base and new bytes is what its delta makes of the base, and a builder of
// the delta alone makes the same delta.
#include <algorithm>
#include <cstdlib>

#include "codec/byte_delta.h"
#include "codec/codec.h"

using namespace guts;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t split = std::min<size_t>(data[0], size - 1);
  ByteView base(data + 1, split), delta(data + 1 + split, size - 1 - split);
  constexpr size_t kMax = 1 << 16;
  try {
    Bytes out = codec::apply_delta(base, delta, kMax);
    if (out.size() > kMax) std::abort();
  } catch (const codec::DecodeError&) {
  }
  // The builder: pieces read from the delta's bytes as (offset, length) pairs within the base,
  // single inserted bytes, and matches of what was inserted.
  // The same pieces given to a builder of the delta alone make the same delta and size.
  codec::DeltaBuilder b(base, 0), alone(base, 0, /*string=*/false);
  Bytes want;
  for (size_t i = 0; i + 1 < delta.size(); i += 2) {
    if (base.empty() || delta[i] % 3 == 0) {
      b.out().u8(delta[i + 1]);
      alone.out().u8(delta[i + 1]);
      want.push_back(delta[i + 1]);
      if (delta[i] % 2 == 0 && b.match(delta[i + 1] % (base.size() + 1)) !=
                                   alone.match(delta[i + 1] % (base.size() + 1)))
        std::abort();
      continue;
    }
    size_t offset = delta[i] % base.size();
    size_t length = delta[i + 1] % (base.size() - offset + 1);
    b.copy(offset, length);
    alone.copy(offset, length);
    want.insert(want.end(), base.begin() + offset, base.begin() + offset + length);
  }
  if (b.size() != want.size() || alone.size() != want.size()) std::abort();
  auto built = std::move(b).finish();
  if (built.bytes != want) std::abort();
  if (std::move(alone).finish().delta != built.delta) std::abort();
  // Exactly as large as the pieces say: one byte less is refused.
  if (codec::apply_delta(base, built.delta, want.size()) != want) std::abort();
  if (!want.empty()) {
    try {
      codec::apply_delta(base, built.delta, want.size() - 1);
      std::abort();
    } catch (const codec::DecodeError&) {
    }
  }
  return 0;
}
