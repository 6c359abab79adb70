// Fuzzes the responder side of the Guts session handshake (p2p::SessionHandshake). Byte 0:
//   mode 0: the rest is the raw byte stream from a dialer (split at byte 1's value);
//   mode 1: a genuine first message, then the rest as the raw third message (framed);
//   mode 2: a genuine Noise initiator whose third message carries the rest as its identity
//           payload (reaches the payload decoder and the signature check behind the AEAD).
// Only HandshakeError may escape; a completed handshake must have an authenticated remote.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "p2p/handshake.h"

using namespace guts;
using namespace guts::p2p;

namespace {
const LocalIdentity& responder_identity() {
  static const LocalIdentity id = [] {
    crypto::Seed s;
    s.fill(7);
    return LocalIdentity::create(crypto::SigningKey::from_seed(s), "fuzz");
  }();
  return id;
}
const noise::KeyPair& initiator_static() {
  static const noise::KeyPair kp = [] {
    noise::Key k;
    k.fill(9);
    return noise::KeyPair::from_private(k);
  }();
  return kp;
}
Bytes framed(ByteView m) {
  Bytes out(2 + m.size());
  out[0] = static_cast<uint8_t>(m.size() >> 8);
  out[1] = static_cast<uint8_t>(m.size());
  std::copy(m.begin(), m.end(), out.begin() + 2);
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  uint8_t mode = data[0] % 3;
  ByteView in(data + 2, size - 2);
  auto r = SessionHandshake::responder(responder_identity());
  try {
    if (mode == 0) {
      size_t split = std::min<size_t>(data[1], in.size());
      r.feed(in.subspan(0, split));
      if (!r.done()) r.feed(in.subspan(split));
    } else {
      noise::HandshakeConfig c;
      c.protocol_name = std::string(kNoiseProtocol);
      c.prologue = to_bytes(kHandshakePrologue);
      c.s = initiator_static();
      noise::HandshakeState hs(c);
      auto m2 = r.feed(framed(hs.write_message({})));
      if (mode == 1) {
        r.feed(framed(in.subspan(0, std::min<size_t>(in.size(), 65535))));
      } else {
        hs.read_message(ByteView(m2).subspan(2));
        auto m3 = hs.write_message(in.subspan(0, std::min<size_t>(in.size(), 900)));
        r.feed(framed(m3));
      }
    }
    if (r.done()) {
      auto s = r.take_session();
      if (!r.remote() || *r.remote() != s.remote) std::abort();
    }
  } catch (const HandshakeError&) {
  }
  return 0;
}
