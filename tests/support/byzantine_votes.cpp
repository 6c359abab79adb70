#include "tests/support/byzantine_votes.h"

#include "consensus/types.h"

namespace guts::testing {

std::function<std::vector<Bytes>(const crypto::SigningKey&, std::string_view, ByteView)>
equivocate_votes() {
  return [](const crypto::SigningKey& key, std::string_view ns, ByteView encoded) {
    auto vote = consensus::decode_vote(encoded);
    if (vote.kind != consensus::Kind::kNotarize) return std::vector<Bytes>{};
    auto other = vote.proposal;
    other.payload[0] ^= 0xff;  // a block nobody proposed
    return std::vector<Bytes>{consensus::encode_vote(
        consensus::sign_vote(key, ns, consensus::Kind::kNotarize, vote.signer, other))};
  };
}

}  // namespace guts::testing
