// Transactions and blocks from arbitrary bytes: decoding either fails with DecodeError or yields
// a value whose encoding is exactly the input (canonical encoding).
#include <cstdlib>

#include "codec/codec.h"
#include "state/block.h"
#include "state/tx.h"

using namespace guts;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteView input(data, size);
  try {
    auto tx = state::decode_transaction(input);
    auto again = tx.encode();
    if (again.size() != size || !std::equal(again.begin(), again.end(), data)) std::abort();
    (void)tx.verify_signature();
  } catch (const codec::DecodeError&) {
  }
  try {
    auto block = state::decode_block(input);
    auto again = block.encode();
    if (again.size() != size || !std::equal(again.begin(), again.end(), data)) std::abort();
  } catch (const codec::DecodeError&) {
  }
  return 0;
}
