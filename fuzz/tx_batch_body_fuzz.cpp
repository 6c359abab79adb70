// POST /api/guts/transactions/batch bodies (api/tx_batch_body.h) from arbitrary bytes, both as
// the binary batch encoding and as JSON (the first byte picks): parsing never throws, and a
// body it takes holds 1 to kMaxApiBatchTxs transactions whose encodings decode again to the
// same transactions.
#include <cstdlib>

#include "api/tx_batch_body.h"
#include "state/tx_batch.h"

using namespace guts;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto b =
      api::parse_tx_batch_body(data[0] & 1 ? "application/octet-stream" : "application/json", body);
  if (!b.ok()) {
    if (!b.txs.empty() || (b.status != 400 && b.status != 422)) std::abort();
    return 0;
  }
  if (b.txs.empty() || b.txs.size() > api::kMaxApiBatchTxs) std::abort();
  auto again = state::decode_transactions(state::encode_transactions(b.txs), api::kMaxApiBatchTxs);
  if (again.size() != b.txs.size()) std::abort();
  for (size_t i = 0; i < again.size(); ++i)
    if (again[i].id() != b.txs[i].id()) std::abort();
  return 0;
}
