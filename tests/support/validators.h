// A validator set for consensus, finality and ledger tests: fixed keys, engine configurations,
// signed votes and certificates (header only, as keys.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "consensus/engine.h"
#include "crypto/hash.h"
#include "state/validator_set.h"
#include "tests/support/keys.h"

namespace guts::test_support {

// Validators 0..n-1 with the keys fixed_key(first)..fixed_key(first + n - 1), signing under
// namespace `ns` (another `first` makes another set).
struct Validators {
  std::string ns;
  std::vector<crypto::SigningKey> keys;
  std::vector<crypto::PublicKey> pks;

  explicit Validators(uint32_t n, std::string_view ns_ = "guts/test", uint8_t first = 1) : ns(ns_) {
    for (uint32_t i = 0; i < n; ++i) {
      keys.push_back(fixed_key(static_cast<uint8_t>(i + first)));
      pks.push_back(keys.back().public_key());
    }
  }
  // An engine configuration of validator `self` (genesis: sha256("genesis")).
  consensus::Config config(uint32_t self) const {
    consensus::Config c(keys[self]);
    c.ns = ns;
    c.participants = pks;
    c.genesis = crypto::sha256("genesis");
    return c;
  }
  consensus::Vote vote(uint32_t i, consensus::Kind k, const consensus::Proposal& p) const {
    return consensus::sign_vote(keys[i], ns, k, i, p);
  }
  consensus::Certificate cert(consensus::Kind k, const consensus::Proposal& p,
                              const std::vector<uint32_t>& signers) const {
    std::vector<consensus::Vote> vs;
    for (uint32_t i : signers) vs.push_back(vote(i, k, p));
    return consensus::assemble(k, p, pks.size(), std::move(vs));
  }
};

// A validator schedule (state/validator_set.h): epoch 0 = `first` from height 1, epoch 1 =
// `second` from `activation`, epochs of `epoch_length` blocks.
inline state::ValidatorSchedule two_epochs(const std::vector<crypto::PublicKey>& first,
                                           const std::vector<crypto::PublicKey>& second,
                                           uint64_t activation, uint64_t epoch_length = 0) {
  state::Genesis g;
  for (const auto& k : first) g.validators.push_back({k, "127.0.0.1:1"});
  state::ValidatorChange c;
  c.activation_height = activation;
  for (const auto& k : second) c.validators.push_back({k, "127.0.0.1:2"});
  state::ValidatorSchedule s(g, {c});
  s.set_epoch_length(epoch_length);
  return s;
}

}  // namespace guts::test_support
