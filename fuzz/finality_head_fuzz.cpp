// Finalization head messages from untrusted peers (consensus/head.h, finality/relay_core.h): any
// bytes either decode and verify, or raise codec::DecodeError / return nullopt — nothing else;
// the relay core turns any finality-channel message (heads of any epoch, get head, get
// hand-over) into actions without throwing; the epoch peek of consensus messages never throws.
#include <cstddef>
#include <cstdint>

#include "codec/codec.h"
#include "consensus/head.h"
#include "finality/relay_core.h"

using namespace guts;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<crypto::PublicKey> validators = [] {
    std::vector<crypto::PublicKey> v;
    for (uint8_t i = 1; i <= 4; ++i) {
      crypto::Seed s;
      s.fill(i);
      v.push_back(crypto::SigningKey::from_seed(s).public_key());
    }
    return v;
  }();
  ByteView input(data, size);
  try {
    (void)consensus::verify_head(input, "guts/fuzz", validators);
  } catch (const codec::DecodeError&) {
  }
  (void)consensus::message_epoch(input);
  // A relay with two epochs (the second from height 10): heads of epoch 0, 1 and unknown ones.
  state::Genesis g;
  for (const auto& k : validators) g.validators.push_back({k, "127.0.0.1:1"});
  state::ValidatorChange c;
  c.activation_height = 10;
  c.validators = {g.validators[1], g.validators[2]};
  finality::RelayCore core("guts/fuzz", validators, size % 2 == 0);
  core.schedule(state::ValidatorSchedule(g, {c}));
  auto a = core.message(validators[0], input, 1000);
  (void)a;
  return 0;
}
