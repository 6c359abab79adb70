#include "ledger/signature_checks.h"

namespace guts::ledger {

std::vector<char> check_signatures(ComputePool& pool, std::span<const state::Transaction> txs,
                                   const std::function<bool(const Digest&)>& known, bool urgent) {
  std::vector<char> good(txs.size(), 0);
  std::vector<size_t> unknown;
  for (size_t i = 0; i < txs.size(); ++i) {
    if (known && known(txs[i].id()))
      good[i] = 1;
    else
      unknown.push_back(i);
  }
  // Each call writes its own element: no two calls share a byte.
  pool.run(
      unknown.size(),
      [&](size_t k) {
        size_t i = unknown[k];
        good[i] = txs[i].verify_signature() ? 1 : 0;
      },
      urgent);
  return good;
}

}  // namespace guts::ledger
