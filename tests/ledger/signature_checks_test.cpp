#include "ledger/signature_checks.h"

#include <gtest/gtest.h>

#include <set>

#include "tests/support/keys.h"
#include "tests/support/signed_tx.h"

namespace guts::ledger {
namespace {

std::vector<state::Transaction> signed_txs(size_t n) {
  std::vector<state::Transaction> txs;
  for (size_t i = 0; i < n; ++i)
    txs.push_back(test_support::signed_tx(test_support::fixed_key(42), "test", i + 1,
                                          state::CreateRepo{"r" + std::to_string(i)}));
  return txs;
}

TEST(SignatureChecks, EveryForgedSignatureIsFoundWhateverThePool) {
  auto txs = signed_txs(300);
  std::set<size_t> forged;
  for (size_t i = 3; i < txs.size(); i += 7) {
    txs[i].signature[5] ^= 0x10;
    forged.insert(i);
  }
  for (size_t helpers : {0u, 1u, 3u}) {
    ComputePool pool(helpers, "test-verify");
    auto good = check_signatures(pool, txs, {});
    ASSERT_EQ(good.size(), txs.size());
    for (size_t i = 0; i < txs.size(); ++i)
      EXPECT_EQ(good[i] != 0, forged.count(i) == 0) << "helpers=" << helpers << " i=" << i;
  }
}

TEST(SignatureChecks, KnownSignaturesAreNotCheckedAgain) {
  auto txs = signed_txs(20);
  txs[4].signature[0] ^= 1;
  txs[9].signature[0] ^= 1;
  ComputePool pool(1, "test-verify");
  // The caller vouches for 4 (e.g. its door saw these very bytes): taken as good, unchecked.
  // Proof that it was not checked: its signature is bad.
  Digest vouched = txs[4].id();
  size_t asked = 0;
  auto good = check_signatures(pool, txs, [&](const Digest& id) {
    ++asked;
    return id == vouched;
  });
  EXPECT_EQ(asked, txs.size());
  for (size_t i = 0; i < txs.size(); ++i) EXPECT_EQ(good[i] != 0, i != 9) << i;
  EXPECT_TRUE(check_signatures(pool, {}, {}).empty());
}

}  // namespace
}  // namespace guts::ledger
