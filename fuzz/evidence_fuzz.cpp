// Stored byzantine-validator evidence (node/evidence.h) on arbitrary bytes: decode either throws
// codec::DecodeError or returns a record that encodes back to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "codec/codec.h"
#include "node/evidence.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  guts::node::EvidenceRecord r;
  try {
    r = guts::node::decode_evidence(bytes);
  } catch (const guts::codec::DecodeError&) {
    return 0;
  }
  // Varints have one canonical encoding only if the decoder rejects overlong ones; compare the
  // decoded record instead of the bytes.
  auto again = guts::node::decode_evidence(guts::node::encode_evidence(r));
  if (again.seq != r.seq || again.detected_ms != r.detected_ms ||
      again.fault.kind != r.fault.kind || again.fault.signer != r.fault.signer ||
      !(again.fault.first == r.fault.first) || !(again.fault.second == r.fault.second))
    std::abort();
  return 0;
}
