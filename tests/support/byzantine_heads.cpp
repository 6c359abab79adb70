#include "tests/support/byzantine_heads.h"

namespace guts::testing {

namespace {

Bytes forged_head(const std::optional<consensus::FinalityHead>& real, uint64_t nonce) {
  consensus::Certificate c;
  if (real) c = consensus::decode_certificate(real->certificate);
  c.kind = consensus::Kind::kFinalize;
  c.proposal.round.view += 1000 + nonce;
  c.proposal.payload[0] ^= 0x5a;
  c.proposal.payload[31] = static_cast<uint8_t>(nonce);
  if (c.signers.empty()) {
    c.participants = 4;
    c.signers = {0, 1, 2};
    c.signatures.resize(3);
  }
  for (auto& s : c.signatures) s[0] ^= 0xff;
  consensus::FinalityHead h{(real ? real->height : 0) + 1000 + nonce, c.view(), c.proposal.payload,
                            consensus::encode_certificate(c)};
  return consensus::encode_head(h);
}

}  // namespace

std::function<std::optional<Bytes>(const finality::HeadSend&)> forge_heads() {
  return [](const finality::HeadSend& h) -> std::optional<Bytes> {
    // Answers to "get head" carry nonce 1 (even when no head is known); announcements the
    // head's height, as the byzantine node always did.
    return forged_head(h.head, h.answer ? 1 : (h.head ? h.head->height : 0));
  };
}

}  // namespace guts::testing
