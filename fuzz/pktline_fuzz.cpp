// libFuzzer target: the pkt-line decoder and side-band reader, fed in fuzzer-chosen chunks.
#include <cstddef>
#include <cstdint>
#include <string>

#include "git/pktline.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace guts::git;
  if (size == 0) return 0;
  // The first byte picks the chunk size so that incremental parsing is exercised too.
  size_t chunk = 1 + data[0] % 64;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    pkt::Decoder d;
    for (size_t off = 0; off < input.size(); off += chunk) {
      d.feed(input.substr(off, chunk));
      while (auto p = d.next()) {
        if (p->type == pkt::Type::kData && p->data.size() > pkt::kMaxPayload) __builtin_trap();
        // Re-encoding a decoded data packet must round-trip.
        if (p->type == pkt::Type::kData && pkt::decode_all(pkt::encode(p->data))[0].data != p->data)
          __builtin_trap();
      }
    }
  } catch (const guts::Error&) {
  }
  try {
    pkt::SidebandReader r;
    size_t seen = 0;
    r.on_data = [&](std::string_view s) { seen += s.size(); };
    r.on_progress = r.on_data;
    r.on_error = r.on_data;
    for (size_t off = 0; off < input.size(); off += chunk)
      if (r.feed(input.substr(off, chunk))) break;
    if (seen > input.size()) __builtin_trap();
  } catch (const guts::Error&) {
  }
  return 0;
}
