// Blob replication messages (replication/blob_sync_messages.h) from arbitrary bytes: decoding
// either fails with DecodeError or yields a message whose encoding is exactly the input.
#include <cstdlib>

#include "codec/codec.h"
#include "replication/blob_sync_messages.h"

using namespace guts;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto m = replication::blobwire::decode(ByteView(data, size));
    auto again = replication::blobwire::encode(m);
    if (again.size() != size || !std::equal(again.begin(), again.end(), data)) std::abort();
  } catch (const codec::DecodeError&) {
  }
  return 0;
}
