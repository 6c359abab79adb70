// Fuzzes every gossip message decoder (src/p2p/gossip.h) and the gossip state machine.
// Invariants: only codec::DecodeError escapes the decoders; an accepted message re-encodes to
// exactly the input (one encoding per value); Gossip::handle never throws, and whatever it
// accepts it stores within the routing-table and node bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "codec/codec.h"
#include "p2p/discovery.h"
#include "p2p/gossip.h"

using namespace guts;
using namespace guts::p2p;

namespace {

Bytes encode_any(const gossip::Message& m) {
  return std::visit([](const auto& v) { return v.encode(); }, m);
}

gossip::Gossip& engine() {
  static gossip::Gossip g = [] {
    crypto::Seed s;
    s.fill(7);
    gossip::GossipConfig c;
    c.network = "fuzz";
    c.max_nodes = 64;
    return gossip::Gossip(crypto::SigningKey::from_seed(s), c);
  }();
  return g;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteView in(data, size);
  try {
    auto m = gossip::decode(in);
    auto again = encode_any(m);
    if (again != Bytes(in.begin(), in.end())) std::abort();  // non-canonical input accepted
  } catch (const codec::DecodeError&) {
  }
  // Type-specific entry points must agree with decode().
  try {
    auto n = gossip::decode_node(in);
    if (n.encode() != Bytes(in.begin(), in.end())) std::abort();
    for (const auto& a : n.addresses) parse_host_port(a);  // decoder accepted only valid ones
  } catch (const codec::DecodeError&) {
  }
  try {
    gossip::decode_inventory(in);
  } catch (const codec::DecodeError&) {
  }
  try {
    gossip::decode_refs(in);
  } catch (const codec::DecodeError&) {
  }
  try {
    AddressEntry::decode(in);
  } catch (const codec::DecodeError&) {
  }
  crypto::PublicKey from{};
  uint64_t now = 1'800'000'000'000;
  // Byte 0 = 0xff: the rest (after a key selector) is re-signed by one of four keys, so the
  // fuzzer reaches the rules behind the signature check (latest-wins, pages, expiry, ...).
  if (size >= 2 && data[0] == 0xff) {
    try {
      auto m = gossip::decode(in.subspan(2));
      crypto::Seed s;
      s.fill(static_cast<uint8_t>(data[1] & 3));
      auto k = crypto::SigningKey::from_seed(s);
      Bytes signed_msg;
      bool resigned = true;
      if (auto* n = std::get_if<gossip::NodeAnnouncement>(&m)) {
        n->sign(k, "fuzz");
        signed_msg = n->encode();
      } else if (auto* i = std::get_if<gossip::InventoryAnnouncement>(&m)) {
        i->sign(k, "fuzz");
        signed_msg = i->encode();
      } else if (auto* r = std::get_if<gossip::RefsAnnouncement>(&m)) {
        r->sign(k, "fuzz");
        signed_msg = r->encode();
      } else {
        signed_msg = encode_any(m);  // requests; Peers entries keep their (bad) signatures
        resigned = false;
      }
      auto o = engine().handle(from, signed_msg, now);
      if (resigned && o.result == gossip::Outcome::Result::kViolation) std::abort();
    } catch (const codec::DecodeError&) {
    }
    return 0;
  }
  auto o = engine().handle(from, in, now);
  if (o.result == gossip::Outcome::Result::kViolation && o.reason.empty()) std::abort();
  if (engine().node_count() > 65) std::abort();
  engine().prune(1'800'000'000'000 + (size % 3) * uint64_t{30} * 24 * 3600 * 1000);
  return 0;
}
