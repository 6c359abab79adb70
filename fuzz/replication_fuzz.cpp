// Replication messages (replication/messages.h) from arbitrary bytes: decoding either fails
// with DecodeError or yields a message whose encoding is exactly the input (canonical).
#include <cstdlib>

#include "codec/codec.h"
#include "replication/messages.h"

using namespace guts;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto m = replication::wire::decode(ByteView(data, size));
    auto again = replication::wire::encode(m);
    if (again.size() != size || !std::equal(again.begin(), again.end(), data)) std::abort();
  } catch (const codec::DecodeError&) {
  }
  return 0;
}
