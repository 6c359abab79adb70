// Fuzzes p2p::FrameDecoder. Byte 0 picks the mode and the chunking:
//   even: the rest is a list of record plaintexts (u16be length || bytes), encrypted with the
//         decoder's key so the parser and reassembly behind the AEAD are reached;
//   odd:  the rest is fed as raw wire bytes (length prefixes, AEAD failures).
// Invariants checked: only guts::Error escapes; delivered messages respect the channel limits;
// pending bytes stay within max_pending_bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "p2p/frame.h"

using namespace guts;
using namespace guts::p2p;

namespace {
noise::Key fuzz_key() {
  noise::Key k;
  k.fill(0x42);
  return k;
}
FrameLimits fuzz_limits() {
  FrameLimits l;
  l.max_message_size = {{0, 4096}, {1, 100}, {2, 0}, {1000, 70000}};
  l.max_pending_bytes = 80000;
  l.rekey_interval = 5;
  return l;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  uint8_t mode = data[0];
  ByteView in(data + 1, size - 1);
  Bytes wire;
  if (mode % 2 == 0) {
    FrameEncoder enc(noise::CipherState(fuzz_key()), 5);
    size_t pos = 0;
    while (pos + 2 <= in.size()) {
      size_t len = (size_t{in[pos]} << 8 | in[pos + 1]) % (kMaxRecordPlaintext + 1);
      pos += 2;
      len = std::min(len, in.size() - pos);
      enc.raw_record(in.subspan(pos, len), wire);
      pos += len;
    }
  } else {
    wire.assign(in.begin(), in.end());
  }
  auto limits = fuzz_limits();
  FrameDecoder dec(noise::CipherState(fuzz_key()), limits);
  size_t chunk = 1 + (mode >> 1) * 97;
  try {
    for (size_t off = 0; off < wire.size(); off += chunk) {
      dec.feed(ByteView(wire).subspan(off, std::min(chunk, wire.size() - off)));
      while (auto ev = dec.next()) {
        if (ev->kind == FrameEvent::Kind::kMessage &&
            ev->payload.size() > limits.max_message_size.at(ev->channel)) {
          std::abort();
        }
        if (ev->kind == FrameEvent::Kind::kClose && ev->reason.size() > kMaxCloseReason) {
          std::abort();
        }
      }
      if (dec.pending() > limits.max_pending_bytes) std::abort();
    }
  } catch (const Error&) {
    // Protocol violation: the expected outcome for most inputs.
  }
  return 0;
}
