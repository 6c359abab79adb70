// The codec's primitives on arbitrary bytes: every read is bounded; varints are canonical.
#include <cstdlib>

#include "codec/codec.h"

using namespace guts;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  codec::Reader r(ByteView(data, size));
  try {
    while (!r.done()) {
      switch (r.u8() % 6) {
        case 0: {
          size_t start = r.position();
          uint64_t v = r.varint();
          if (codec::varint_size(v) != r.position() - start) std::abort();  // minimal form only
          break;
        }
        case 1:
          r.bytes(1024);
          break;
        case 2:
          r.str(1024);
          break;
        case 3:
          r.boolean();
          break;
        case 4:
          r.u64be();
          break;
        case 5:
          r.count(64);
          break;
      }
    }
    r.finish();
  } catch (const codec::DecodeError&) {
  }
  return 0;
}
